/**
 * The suite's own parts: the port of Python's random, the validation image, the pixel model
 * and comparisons, the Link parser and the raw HTTP client. And the suite against a server that
 * gets things wrong, so a pass elsewhere means something.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/build/bundle.js';
import { GRID_SIZE, cellColour, validationPixels, validationPng } from '../../infra/cli/conformance/grid.js';
import { HttpClient, linkFor, parseLinkHeader, splitUrl } from '../../infra/cli/conformance/http.js';
import { compareRectangle, compareWithView, decodeImage, expectationAt, fullView, isBitonal, isGrayscale, sniffFormat } from '../../infra/cli/conformance/pixels.js';
import { PythonRandom, VALIDATOR_SEED, makeRandomString } from '../../infra/cli/conformance/python-random.js';
import { applicability, runSuite } from '../../infra/cli/conformance/suite.js';
import { CONFORMANCE_TESTS, upscaledMax } from '../../infra/cli/conformance/tests.js';

const ID = '67352ccc-d1b0-11e1-89ae-279075081939';

describe('PythonRandom', () => {
  // Expected values printed by CPython 3.11: random.seed(31337); [random.randint(…) …].
  it('draws what CPython draws after random.seed(31337)', () => {
    const random = new PythonRandom(VALIDATOR_SEED);
    expect(Array.from({ length: 10 }, () => random.randint(0, 9))).toEqual([8, 2, 4, 9, 0, 3, 2, 5, 1, 8]);
  });

  it('matches CPython across ranges of different bit lengths', () => {
    const sizes = new PythonRandom(31337);
    expect([sizes.randint(450, 750), sizes.randint(450, 750), sizes.randint(450, 750), sizes.randint(450, 750)]).toEqual([708, 537, 604, 478]);
    const mixed = new PythonRandom(31337);
    expect([mixed.randint(1100, 2000), mixed.randint(1100, 2000), mixed.randint(1100, 2000)]).toEqual([1796, 1616, 1274]);
    expect([mixed.randint(1, 359), mixed.randint(1, 359), mixed.randint(1, 359)]).toEqual([155, 305, 29]);
  });

  it('makes the validator random strings, with "?", "#" and "/" replaced by "$"', () => {
    expect(makeRandomString(new PythonRandom(31337), 6)).toBe('pEV7JG');
    expect(makeRandomString(new PythonRandom(31337), 12)).toBe('pEV7JGX=wfZZ');
  });

  it('refuses a seed that is not a 32-bit unsigned integer', () => {
    expect(() => new PythonRandom(-1)).toThrow('Expected an integer from 0 to 4294967295 for seed but received -1');
  });
});

describe('the validation image', () => {
  it('is a 1000 x 1000 RGB PNG whose squares follow colorInfo[column][row]', async () => {
    // Prepare
    const png = await validationPng();
    // Act
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // Assess
    expect([info.width, info.height, info.channels]).toEqual([1000, 1000, 3]);
    const at = (x: number, y: number): number[] => [...data.subarray((y * 1000 + x) * 3, (y * 1000 + x) * 3 + 3)];
    expect(at(0, 0)).toEqual([61, 170, 126]); // colorInfo[0][0]
    expect(at(950, 50)).toEqual([146, 137, 176]); // colorInfo[9][0]: column 9, row 0
    expect(at(50, 950)).toEqual([65, 246, 84]); // colorInfo[0][9]
    expect(at(999, 999)).toEqual([161, 119, 182]); // colorInfo[9][9]
    expect(at(199, 100)).toEqual([171, 43, 102]); // colorInfo[1][1], its last column
    expect(data.equals(validationPixels())).toBe(true);
  });

  it('names its squares by column then row', () => {
    expect(cellColour(9, 0)).toEqual({ r: 146, g: 137, b: 176 });
    expect(() => cellColour(10, 0)).toThrow('Expected a square from (0, 0) to (9, 9) but received (10, 0)');
  });
});

describe('the pixel model', () => {
  it('puts the top-right square top-left when mirrored', () => {
    const expectation = expectationAt(fullView(GRID_SIZE, GRID_SIZE, { mirror: true }), 1000, 1000, 50, 50);
    expect(expectation).toEqual({ kind: 'colour', rgb: cellColour(9, 0), margin: expect.any(Number) as number });
  });

  it('puts the bottom-left square top-left after a clockwise quarter turn', () => {
    const expectation = expectationAt(fullView(GRID_SIZE, GRID_SIZE, { rotation: 90 }), 1000, 1000, 50, 50);
    expect(expectation).toMatchObject({ kind: 'colour', rgb: cellColour(0, 9) });
  });

  it('flips, then turns, for a mirrored rotation', () => {
    // !90: mirror (top-left ← top-right), then turn (top-left ← bottom-left): square (9, 9).
    const expectation = expectationAt(fullView(GRID_SIZE, GRID_SIZE, { mirror: true, rotation: 90 }), 1000, 1000, 50, 50);
    expect(expectation).toMatchObject({ kind: 'colour', rgb: cellColour(9, 9) });
  });

  it('expects background in the corners of an arbitrary rotation', () => {
    expect(expectationAt(fullView(GRID_SIZE, GRID_SIZE, { rotation: 45 }), 1414, 1414, 5, 5)).toMatchObject({ kind: 'background' });
  });

  it('matches the validation image with itself and rejects it mirrored or shifted', async () => {
    // Prepare
    const png = await validationPng();
    const mirrored = await sharp(png).flop().png().toBuffer();
    const shifted = await sharp(png).extract({ left: 10, top: 0, width: 990, height: 1000 }).extend({ right: 10, background: '#fff' }).png().toBuffer();
    // Act
    const same = compareWithView(await decodeImage(png), fullView());
    const flipped = compareWithView(await decodeImage(mirrored), fullView());
    const moved = compareWithView(await decodeImage(shifted), fullView());
    // Assess
    expect(same.ok).toBe(true);
    expect(same.meanDifference).toBe(0);
    expect(flipped.ok).toBe(false);
    expect(moved.ok).toBe(false);
    expect(moved.withinTolerance).toBeLessThan(0.95);
  });

  it('reads one square as compare_rectangle does, within 6 of its colour', async () => {
    const png = await validationPng();
    const square = await decodeImage(await sharp(png).extract({ left: 300, top: 700, width: 100, height: 100 }).png().toBuffer());
    expect(compareRectangle(square, 3, 7).ok).toBe(true);
    expect(compareRectangle(square, 7, 3)).toEqual({ ok: false, summary: expect.stringContaining('largest difference') as string });
  });

  it('tells grey from colour and two tones from grey', async () => {
    const png = await validationPng();
    const grey = await decodeImage(await sharp(png).toColourspace('b-w').png().toBuffer());
    const colour = await decodeImage(png);
    const twoTone = await decodeImage(await sharp(png).threshold(128).png().toBuffer());
    expect(isGrayscale(grey).ok).toBe(true);
    expect(isGrayscale(colour).ok).toBe(false);
    expect(isBitonal(twoTone).share).toBe(1);
    expect(isBitonal(grey).ok).toBe(false);
  });

  it('knows formats by their signatures', async () => {
    const png = await validationPng();
    expect(sniffFormat(png)).toBe('png');
    expect(sniffFormat(await sharp(png).jpeg().toBuffer())).toBe('jpeg');
    expect(sniffFormat(await sharp(png).tiff().toBuffer())).toBe('tiff');
    expect(sniffFormat(Buffer.from('not an image'))).toBeUndefined();
  });

  it('scales ^max to the advertised limits', () => {
    expect(upscaledMax({ maxArea: 100_000_000 })).toEqual({ width: 10_000, height: 10_000, exact: true });
    expect(upscaledMax({ maxWidth: 3000, maxArea: 100_000_000 })).toEqual({ width: 3000, height: 3000, exact: true });
    expect(upscaledMax({})).toEqual({ width: 1000, height: 1000, exact: true });
  });
});

describe('parseLinkHeader', () => {
  it('reads the profile and canonical links Recto sends', () => {
    const links = parseLinkHeader('<http://iiif.io/api/image/3/level2.json>;rel="profile", <http://h/iiif/3/x/full/max/0/default.jpg>;rel="canonical"');
    expect(linkFor(links, 'profile')).toBe('http://iiif.io/api/image/3/level2.json');
    expect(linkFor(links, 'canonical')).toBe('http://h/iiif/3/x/full/max/0/default.jpg');
  });

  it('reads unquoted, spaced and multiple rel values', () => {
    const links = parseLinkHeader('<a>; rel=canonical, <b> ; type="x"; rel="Profile alternate"');
    expect(links).toEqual([{ uri: 'a', rels: ['canonical'] }, { uri: 'b', rels: ['profile', 'alternate'] }]);
  });
});

describe('the HTTP client', () => {
  let server: Server;
  let base: string;
  const seen: { url: string; authorization: string | undefined; origin: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push({ url: request.url ?? '', authorization: request.headers.authorization, origin: request.headers.origin });
      if (request.url === '/hop') {
        response.writeHead(302, { location: `http://localhost:${(server.address() as AddressInfo).port}/landed` }).end();
      } else {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  it('sends the path bytes as written, as urllib does', async () => {
    const client = new HttpClient({ timeoutMs: 5000 });
    await client.request(`${base}/iiif/3/id/a\\b<c>^\`/max/0/default.jpg`);
    client.close();
    expect(seen.at(-1)?.url).toBe('/iiif/3/id/a\\b<c>^`/max/0/default.jpg');
    expect(splitUrl('http://h:1/x\\y').path).toBe('/x\\y');
  });

  it('follows a redirect with the validator headers but the token only to the IIIF origin', async () => {
    const client = new HttpClient({ timeoutMs: 5000, token: 'T', tokenOrigin: base });
    const answer = await client.follow(`${base}/hop`);
    client.close();
    expect(answer.hops.map((hop) => hop.status)).toEqual([302, 200]);
    expect(seen.slice(-2)).toEqual([
      { url: '/hop', authorization: 'Bearer T', origin: 'http://iiif.io/' },
      { url: '/landed', authorization: undefined, origin: 'http://iiif.io/' },
    ]);
  });
});

describe('the suite against a server that gets things wrong', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const mirrored = await sharp(await validationPng()).flop().jpeg().toBuffer();
    server = createServer((request, response) => {
      const path = request.url ?? '';
      if (path.endsWith('/info.json')) {
        const info = { '@context': 'http://iiif.io/api/image/3/context.json', id: `${base}/${ID}`, type: 'ImageService3', protocol: 'http://iiif.io/api/image', profile: 'level2', width: 1000, height: 1000, extraFeatures: ['canonicalLinkHeader'] };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info));
      } else if (path === `/iiif/3/${ID}`) {
        response.writeHead(200).end('no redirect here');
      } else {
        // Every image request: a mirrored image, 200, no Link, no CORS.
        response.writeHead(200, { 'content-type': 'image/jpeg' }).end(mirrored);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iiif/3`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  it('fails each test the server breaks, saying what it expected and received', async () => {
    // Act
    const result = await runSuite(
      { base, identifier: ID, version: '3' },
      { only: ['id_squares', 'baseurl_redirect', 'region_error_random', 'linkheader_canonical', 'cors', 'jsonld', 'size_nofull'] },
    );
    // Assess
    const outcome = (id: string) => result.outcomes.find((candidate) => candidate.test.id === id);
    expect(result.outcomes.map((candidate) => [candidate.test.id, candidate.outcome])).toEqual([
      ['id_squares', 'fail'],
      ['region_error_random', 'fail'],
      ['size_nofull', 'fail'],
      ['jsonld', 'fail'],
      ['baseurl_redirect', 'fail'],
      ['cors', 'fail'],
      ['linkheader_canonical', 'fail'],
    ]);
    expect(outcome('baseurl_redirect')?.checks[0]).toMatchObject({ ok: false, expected: 'Redirect Status (3xx)', received: 'Status 200' });
    expect(outcome('linkheader_canonical')?.checks.find((check) => !check.ok)).toMatchObject({ expected: 'a Link header', received: 'No Link header' });
    expect(outcome('region_error_random')?.checks[0]).toMatchObject({ ok: false, expected: 'HTTP 400' });
    expect(outcome('id_squares')?.checks.find((check) => !check.ok)?.details).toContain('content');
  });
});

describe('applicability', () => {
  const features = { level: 2, extraQualities: ['color', 'gray'], extraFormats: ['webp'], extraFeatures: ['sizeAboveFull'], limits: {} } as const;
  const test = (id: string) => {
    const found = CONFORMANCE_TESTS.find((candidate) => candidate.id === id);
    if (found === undefined) throw new Error(`no test ${id}`);
    return found;
  };

  it('runs what level 2 requires whether advertised or not', () => {
    expect(applicability(test('size_bwh'), '3', features)).toEqual({ applies: true, reason: 'required at level 2' });
  });

  it('skips an optional format or quality the server does not list', () => {
    expect(applicability(test('format_gif'), '3', features)).toEqual({ applies: false, reason: 'optional and not advertised in info.json (gif)' });
    expect(applicability(test('quality_bitonal'), '2', features).applies).toBe(false);
    expect(applicability(test('format_webp'), '2', features).applies).toBe(true);
  });

  it('keys 2.1 upscaling on sizeAboveFull, its 2.1 name', () => {
    expect(applicability(test('size_up'), '2', features)).toEqual({ applies: true, reason: 'advertised (sizeAboveFull)' });
    expect(applicability(test('size_up'), '3', features).applies).toBe(false);
  });

  it('keeps 3.0-only tests off 2.1 servers', () => {
    expect(applicability(test('size_nofull'), '2', features)).toEqual({ applies: false, reason: 'not a 2.1 test' });
  });
});

describe('docs/conformance.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'conformance.md'), 'utf8');

  it('has a row in its results table for every test of the suite', () => {
    const rows = [...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(rows).toEqual(expect.arrayContaining(CONFORMANCE_TESTS.map((test) => test.id)));
    expect(rows).toHaveLength(CONFORMANCE_TESTS.length);
  });
});
