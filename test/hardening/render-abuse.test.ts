/**
 * Abuse of rendering over real HTTP: huge and tiny sizes, `^max`, the limits at
 * their exact edges, arbitrary rotations of the largest canvas the limits allow, decompression
 * bombs (a header that lies, and a real 256-megapixel PNG of zeros), and sources that are no
 * image, empty, or cut short. Each answers a clean 4xx or 5xx with a message that says what was
 * expected, stores nothing when it fails, and the next request is served.
 *
 * The stack runs with IIIF_MAX_WIDTH=4000 and IIIF_MAX_AREA=12000000 (a 4000x3000 source is
 * exactly at the limit) and RENDER_MEMORY_MB=512, so that the memory refusal can be shown on
 * renders small enough for a test. Peak memory itself is measured in memory.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotatedCanvas } from '../../lib/render/geometry.js';
import { baselineJpeg, gridImage, NOT_AN_IMAGE, pngBomb, tiff, truncated, ZERO_BYTES } from '../support/fixtures.js';
import { decode, GRID_ID, startTestStack, type Answer, type TestStack } from '../support/stack.js';
import { zeroPng } from './bombs.js';
import { answerProblems } from './support.js';

const LIMITS = { IIIF_MAX_WIDTH: '4000', IIIF_MAX_AREA: '12000000', RENDER_MEMORY_MB: '512' };

let t: TestStack;
let token: string;
let healthChecks = 0;

beforeAll(async () => {
  const large = await gridImage({ width: 4000, height: 3000, cols: 8, rows: 6 });
  const small = await gridImage({ width: 600, height: 400, cols: 6, rows: 4 });
  const jpeg = await baselineJpeg(small.png);
  const striped = await tiff(small.png, { compression: 'deflate' });
  t = await startTestStack({
    env: LIMITS,
    sources: {
      'large.jpg': await baselineJpeg(large.png),
      'bomb.png': pngBomb(50_000, 50_000),
      'lie.png': pngBomb(16_000, 16_000),
      'zeros.png': await zeroPng(16_000, 16_000),
      'not-an-image.png': NOT_AN_IMAGE,
      'empty.png': ZERO_BYTES,
      'truncated-jpeg.jpg': truncated(jpeg),
      'truncated-tiff.tif': truncated(striped, 0.6),
    },
  });
  token = await t.token();
}, 120_000);

afterAll(async () => {
  await t.close();
});

/** The error body, after checking it is a clean JSON error that says what it expected. */
function failure(answer: Answer): { status: number; code: string; detail: string } {
  expect(answerProblems({ status: answer.status, headers: answer.headers, body: answer.text() })).toEqual([]);
  const body = answer.json() as { error: string; detail: string };
  expect(body.detail).toMatch(/^Expected .+ for .+ but received .+/);
  return { status: answer.status, code: body.error, detail: body.detail };
}

/** A fresh render of the grid, to show the process is still serving. */
async function expectHealthy(): Promise<void> {
  healthChecks += 1;
  const width = 100 + healthChecks;
  const answer = await t.request(`/iiif/3/${GRID_ID}/full/${width},/0/default.png`, { token });
  expect(answer.status).toBe(302);
  const image = await decode((await t.follow(answer.headers.location ?? '')).body);
  expect([image.width, image.height]).toEqual([width, width]);
}

async function imagesOf(identifier: string): Promise<string[]> {
  return (await t.listDerivatives()).map((object) => object.key).filter((key) => key.startsWith(`${identifier}/`));
}

async function served(path: string): Promise<{ width: number; height: number }> {
  const answer = await t.request(path, { token });
  expect(answer.status, answer.text()).toBe(302);
  const image = await decode((await t.follow(answer.headers.location ?? '')).body);
  return { width: image.width, height: image.height };
}

describe('sizes at and past the limits', () => {
  it('serves full/max of a source exactly at maxArea, and ^max no larger', async () => {
    // Act
    const max = await served('/iiif/3/large/full/max/0/default.jpg');
    const upscaled = await served('/iiif/3/large/full/^max/0/default.jpg');

    // Assess
    expect(max).toEqual({ width: 4000, height: 3000 });
    expect(upscaled).toEqual({ width: 4000, height: 3000 });
  });

  it('upscales a one-pixel region with ^max only as far as maxWidth and maxArea allow', async () => {
    // Act
    const size = await served('/iiif/3/large/0,0,1,1/^max/0/default.png');

    // Assess
    expect(size.width).toBeLessThanOrEqual(4000);
    expect(size.width).toBe(size.height);
    expect(size.width * size.height).toBeLessThanOrEqual(12_000_000);
    expect(size.width * size.height).toBeGreaterThan(11_900_000);
  });

  it.each([
    ['3', 'full/^4001,/0/default.jpg', 'IIIF_LIMIT_EXCEEDED', /maxWidth/],
    ['3', 'full/^4000,3001/0/default.jpg', 'IIIF_LIMIT_EXCEEDED', /maxArea/],
    ['2', 'full/4001,/0/default.jpg', 'IIIF_LIMIT_EXCEEDED', /maxWidth/],
    ['3', 'full/99999999,/0/default.jpg', 'IIIF_UPSCALE_NOT_ALLOWED', /\^/],
    ['3', 'full/^99999999,/0/default.jpg', 'IIIF_LIMIT_EXCEEDED', /maxWidth/],
    ['3', 'full/^999999999999999,999999999999999/0/default.jpg', 'IIIF_LIMIT_EXCEEDED', /max/],
    ['3', 'full/pct:0.0001/0/default.jpg', 'IIIF_SIZE_TOO_SMALL', /at least 1x1/],
    ['2', 'full/pct:0.0001/0/default.jpg', 'IIIF_SIZE_TOO_SMALL', /at least 1x1/],
    ['3', '0,0,1,1/pct:49/0/default.jpg', 'IIIF_SIZE_TOO_SMALL', /at least 1x1/],
  ])('refuses /iiif/%s/large/%s with 400 %s, renders nothing and stores nothing', async (version, path, code, mentions) => {
    // Prepare
    const renders = t.engine.count;
    const before = await imagesOf('large');

    // Act
    const answer = await t.request(`/iiif/${version}/large/${path}`, { token });

    // Assess
    const body = failure(answer);
    expect([body.status, body.code]).toEqual([400, code]);
    expect(body.detail).toMatch(mentions);
    expect(t.engine.count).toBe(renders);
    expect(await imagesOf('large')).toEqual(before);
  });
});

describe('rotations of the largest canvas', () => {
  it('turns a 12-megapixel image by 45 degrees onto its 24-megapixel bounding box', async () => {
    // Act
    const size = await served('/iiif/3/large/full/max/45/default.png');

    // Assess
    expect(size).toEqual(rotatedCanvas({ width: 4000, height: 3000 }, 45));
    expect(size.width * size.height).toBeGreaterThan(24_000_000);
  });

  it('refuses the same canvas as WebP, which would need more memory than RENDER_MEMORY_MB allows, with 501 before rendering', async () => {
    // Prepare
    const renders = t.engine.count;
    const before = await imagesOf('large');

    // Act
    const answer = await t.request('/iiif/3/large/full/max/45/default.webp', { token });

    // Assess
    const body = failure(answer);
    expect([body.status, body.code]).toEqual([501, 'RENDER_TOO_LARGE']);
    expect(body.detail).toMatch(/^Expected a render needing at most 256 MB of memory for the image but received "4950x4950 webp turned from a jpeg source, needing about \d+ MB"; ask for a smaller size, another format or a right-angle rotation$/);
    expect(answer.headers['retry-after']).toBeUndefined();
    expect(t.engine.count).toBe(renders);
    expect(await imagesOf('large')).toEqual(before);
    await expectHealthy();
  });
});

describe('decompression bombs', () => {
  it('refuses a PNG whose header claims 50000x50000 with 422 SOURCE_TOO_LARGE, from its header alone, and stores no record', async () => {
    // Act
    const info = await t.request('/iiif/3/bomb/info.json', { token });
    const image = await t.request('/iiif/3/bomb/full/!100,100/0/default.png', { token });

    // Assess
    for (const answer of [info, image]) {
      const body = failure(answer);
      expect([body.status, body.code]).toEqual([422, 'SOURCE_TOO_LARGE']);
      expect(body.detail).toBe('Expected at most 268402689 pixels for the source but received "50000x50000"');
    }
    expect(await imagesOf('bomb')).toEqual([]);
    await expectHealthy();
  });

  it('decodes a real 256-megapixel PNG of zeros (a few hundred KB) for a thumbnail, and refuses it at full size', async () => {
    // Act
    const info = await t.request('/iiif/3/zeros/info.json', { token });
    const thumbnail = await served('/iiif/3/zeros/full/!500,500/0/default.png');
    const full = await t.request('/iiif/2/zeros/full/full/0/default.png', { token });

    // Assess
    expect(info.status).toBe(200);
    expect(info.json()).toMatchObject({ width: 16_000, height: 16_000 });
    expect(thumbnail).toEqual({ width: 500, height: 500 });
    const body = failure(full);
    expect([body.status, body.code]).toEqual([400, 'IIIF_LIMIT_EXCEEDED']);
    await expectHealthy();
  });

  it('answers a PNG whose header claims 16000x16000 over a few bytes of data with 422 SOURCE_UNREADABLE once it is decoded', async () => {
    // Act
    const info = await t.request('/iiif/3/lie/info.json', { token });
    const image = await t.request('/iiif/3/lie/full/!300,300/0/default.png', { token });

    // Assess
    expect(info.status).toBe(200);
    const body = failure(image);
    expect([body.status, body.code]).toEqual([422, 'SOURCE_UNREADABLE']);
    expect(await imagesOf('lie')).toEqual([]);
    expect(await t.derivativeExists('!recto/records/lie/source.json')).toBe(true);
    await expectHealthy();
  });
});

describe('sources that are not images, empty, or cut short', () => {
  it.each([
    ['not-an-image', 'bytes that are no image', 422],
    ['empty', 'an empty file', 422],
    ['truncated-jpeg', 'a truncated JPEG (its header intact)', 200],
    ['truncated-tiff', 'a truncated TIFF', 422],
  ])('answers %s (%s) with 422 SOURCE_UNREADABLE and a message, stores no image, and serves the next request', async (identifier, _what, infoStatus) => {
    // Act
    const info = await t.request(`/iiif/3/${identifier}/info.json`, { token });
    const image = await t.request(`/iiif/3/${identifier}/full/max/0/default.jpg`, { token });

    // Assess
    expect(info.status).toBe(infoStatus);
    if (infoStatus !== 200) expect(failure(info).code).toBe('SOURCE_UNREADABLE');
    const body = failure(image);
    expect([body.status, body.code]).toEqual([422, 'SOURCE_UNREADABLE']);
    expect(body.detail).toMatch(/^Expected (a readable image|an image) for the source but received /);
    expect(image.headers['retry-after']).toBeUndefined();
    expect((await imagesOf(identifier)).filter((key) => !key.endsWith('/source.json'))).toEqual([]);
    await expectHealthy();
  });
});
