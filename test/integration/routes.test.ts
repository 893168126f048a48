/**
 * Every route of the README's URLs table over real HTTP against the local stack (auth on, tokens from its dev
 * keys): info.json for 2.1 and 3.0, the base URI, images (302, then the bytes from the embedded
 * S3), HEAD, OPTIONS, 405, 404s, Link and Cache-Control headers, and CORS on every answer.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDistance, decode, GRID_ID, sharedGrid, startTestStack, type Answer, type TestStack } from '../support/stack.js';

const V3_INFO_TYPE = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"';
const V3_PROFILE = '<http://iiif.io/api/image/3/level2.json>;rel="profile"';
const V2_PROFILE = '<http://iiif.io/api/image/2/level2.json>;rel="profile"';
/** Headers the HTTP layer adds on its own (framing, keep-alive), not the application's. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

let t: TestStack;
let token: string;

beforeAll(async () => {
  const grid = await sharedGrid();
  // A second, smaller source whose identifier needs escaping (":"), and one with a "/".
  const small = await sharp(grid.png).extract({ left: 0, top: 0, width: 400, height: 300 }).png().toBuffer();
  t = await startTestStack({ sources: { 'a:b.png': small } });
  await t.putSource('dir/page.png', small, 'image/png');
  token = await t.token();
});

afterAll(async () => {
  await t.close();
});

function expectCommonHeaders(answer: Answer): void {
  expect(answer.headers['access-control-allow-origin']).toBe('*');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
}

function expectJsonError(answer: Answer, status: number, code: string): { error: string; detail: string } {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json');
  expectCommonHeaders(answer);
  const body = answer.json() as { error: string; detail: string };
  expect(Object.keys(body)).toEqual(['error', 'detail']);
  expect(body.error).toBe(code);
  expect(body.detail.length).toBeGreaterThan(10);
  return body;
}

/** The application's headers; a redirect's max-age counts down by the second, so only its form is kept. */
function applicationHeaders(answer: Answer): Record<string, string> {
  return Object.fromEntries(
    Object.entries(answer.headers)
      .filter(([name]) => !TRANSPORT_HEADERS.has(name))
      .map(([name, value]) => [name, name === 'cache-control' ? value.replace(/max-age=\d+/, 'max-age=N') : value]),
  );
}

/** When a presigned URL stops working, from its X-Amz-Date and X-Amz-Expires. */
function presignedExpiry(location: string): number {
  const url = new URL(location);
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (match === null) throw new Error(`Expected an X-Amz-Date in ${url.pathname} but found ${JSON.stringify(date)}`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) + Number(url.searchParams.get('X-Amz-Expires')) * 1000;
}

describe('info.json', () => {
  it('answers 3.0 with the JSON-LD media type, whatever the Accept header, and an id equal to the requested URL', async () => {
    // Prepare
    const accepts = [undefined, 'application/json', 'application/ld+json', '*/*'];

    // Act
    const answers = await Promise.all(accepts.map((accept) => t.request(`/iiif/3/${GRID_ID}/info.json`, { token, headers: accept === undefined ? {} : { accept } })));

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe(V3_INFO_TYPE);
      // One Content-Type whatever Accept says: nothing for a cache to tell apart.
      expect(answer.headers.vary).toBeUndefined();
      expect(answer.headers.link).toBe(V3_PROFILE);
      expectCommonHeaders(answer);
      const info = answer.json() as Record<string, unknown>;
      expect(Object.keys(info)[0]).toBe('@context');
      expect(info).toMatchObject({
        '@context': 'http://iiif.io/api/image/3/context.json',
        id: `${t.url}/iiif/3/${GRID_ID}`,
        type: 'ImageService3',
        protocol: 'http://iiif.io/api/image',
        profile: 'level2',
        width: 1000,
        height: 1000,
      });
    }
  });

  it('answers 2.1 as application/json, or application/ld+json when Accept asks for it, with @id equal to the requested URL', async () => {
    // Act
    const plain = await t.request(`/iiif/2/${GRID_ID}/info.json`, { token });
    const linkedData = await t.request(`/iiif/2/${GRID_ID}/info.json`, { token, headers: { accept: 'application/ld+json' } });

    // Assess
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('application/json');
    expect(linkedData.status).toBe(200);
    expect(linkedData.headers['content-type']).toBe('application/ld+json');
    for (const answer of [plain, linkedData]) {
      expectCommonHeaders(answer);
      // The Content-Type depends on Accept: a shared cache must key on it.
      expect(answer.headers.vary).toBe('Accept');
      expect(answer.headers.link).toBe(V2_PROFILE);
      const info = answer.json() as { '@context': string; '@id': string; width: number; height: number; profile: unknown[] };
      expect(info['@context']).toBe('http://iiif.io/api/image/2/context.json');
      expect(info['@id']).toBe(`${t.url}/iiif/2/${GRID_ID}`);
      expect(info.profile[0]).toBe('http://iiif.io/api/image/2/level2.json');
      expect([info.width, info.height]).toEqual([1000, 1000]);
    }
  });

  it.each([
    ['3', 'a%3Ab', 'id'],
    ['2', 'a%3Ab', '@id'],
    ['3', 'a:b', 'id'],
    ['3', '%61%3a%62', 'id'],
    ['3', 'dir%2Fpage', 'id'],
    ['2', 'dir%2fpage', '@id'],
  ])('gives version %s of identifier %s an %s equal to the requested URL byte for byte', async (version, identifier, field) => {
    // Act
    const answer = await t.send(`/iiif/${version}/${identifier}/info.json`, { token });

    // Assess
    expect(answer.status).toBe(200);
    const info = answer.json() as Record<string, unknown>;
    expect(info[field]).toBe(`${t.url}/iiif/${version}/${identifier}`);
    expect([info.width, info.height]).toEqual([400, 300]);
  });

  it('answers an unknown identifier with 404 SOURCE_NOT_FOUND as JSON, with CORS', async () => {
    // Act
    const answer = await t.request('/iiif/3/no-such-image/info.json', { token });

    // Assess
    const body = expectJsonError(answer, 404, 'SOURCE_NOT_FOUND');
    expect(body.detail).toBe('Expected an existing source for the identifier but received "no-such-image"');
  });
});

describe('the base URI', () => {
  it.each([
    ['/iiif/3/grid', '/iiif/3/grid/info.json'],
    ['/iiif/2/grid', '/iiif/2/grid/info.json'],
    ['/iiif/3/a%3Ab', '/iiif/3/a%3Ab/info.json'],
    ['/iiif/grid', '/iiif/grid/info.json'],
  ])('redirects %s with 303 to %s, with an empty body', async (path, target) => {
    // Act
    const answer = await t.send(path);

    // Assess
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe(`${t.url}${target}`);
    expect(answer.body.length).toBe(0);
    expectCommonHeaders(answer);
  });

  it('serves unversioned paths as IIIF_DEFAULT_VERSION, 2 by default', async () => {
    // Act
    const info = await t.request(`/iiif/${GRID_ID}/info.json`, { token });
    const fullSize = await t.request(`/iiif/${GRID_ID}/full/full/0/default.png`, { token });

    // Assess
    expect(info.status).toBe(200);
    expect(info.headers['content-type']).toBe('application/json');
    expect((info.json() as Record<string, unknown>)['@id']).toBe(`${t.url}/iiif/${GRID_ID}`);
    // "full" is a size in 2.1 only.
    expect(fullSize.status).toBe(302);
    expect(fullSize.headers.link).toBe(`${V2_PROFILE}, <${t.url}/iiif/${GRID_ID}/full/full/0/default.png>;rel="canonical"`);
  });
});

describe('images', () => {
  it('answers 302 with an empty body and a presigned Location that serves the right pixels', async () => {
    // Prepare
    const grid = await sharedGrid();

    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/100,200,300,400/max/0/default.png`, { token });
    const image = await t.follow(answer.headers.location ?? '');

    // Assess
    expect(answer.status).toBe(302);
    expect(answer.body.length).toBe(0);
    expectCommonHeaders(answer);
    const location = new URL(answer.headers.location ?? '');
    expect(location.origin).toBe(t.stack.s3Endpoint.origin);
    expect(decodeURIComponent(location.pathname)).toBe(`/${t.derivativeBucket}/${GRID_ID}/100,200,300,400/300,400/0/default.png`);
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    const decoded = await decode(image.body);
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['png', 300, 400]);
    // The centre of every square the region holds, exactly (a crop, no resampling).
    for (let col = 1; col <= 3; col++) {
      for (let row = 2; row <= 5; row++) {
        expect(decoded.at(col * 100 + 50 - 100, row * 100 + 50 - 200)).toEqual(grid.cellColour(col, row));
      }
    }
  });

  it('is followed end to end by a plain fetch, from the IIIF URL to the image bytes', async () => {
    // Prepare
    const grid = await sharedGrid();

    // Act
    const response = await fetch(`${t.url}/iiif/2/${GRID_ID}/full/!200,200/0/default.jpg`, { headers: { authorization: `Bearer ${token}` } });
    const bytes = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(200);
    expect(response.redirected).toBe(true);
    const location = new URL(response.url);
    expect(location.origin).toBe(t.stack.s3Endpoint.origin);
    expect(decodeURIComponent(location.pathname)).toBe(`/${t.derivativeBucket}/${GRID_ID}/full/200,200/0/default.jpg`);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const decoded = await decode(bytes);
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['jpeg', 200, 200]);
    for (const [col, row] of [[0, 0], [9, 0], [4, 5], [0, 9], [9, 9]] as const) {
      expect(colourDistance(decoded.at(col * 20 + 10, row * 20 + 10), grid.cellColour(col, row))).toBeLessThanOrEqual(12);
    }
  });

  it("stores the derivative immutable, typed, and tagged with the source ETag, and storage answers with CORS for the stack's page only", async () => {
    // Prepare
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/250,250/0/default.webp`, { token });
    const sourceHead = await t.stack.services.sources.head(GRID_ID);

    // Act
    const image = await t.follow(answer.headers.location ?? '', { origin: t.url });
    const elsewhere = await t.follow(answer.headers.location ?? '', { origin: 'https://viewer.example' });

    // Assess
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/webp');
    expect(image.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(image.headers['x-amz-meta-source-etag']).toBe(sourceHead.etag);
    expect(image.headers['access-control-allow-origin']).toBe(t.url);
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
    const decoded = await decode(image.body);
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['webp', 250, 250]);
  });

  it.each([
    ['3', '100,200,300,400/max/0/default.png', '100,200,300,400/max/0/default.png'],
    ['2', '100,200,300,400/full/0/default.png', '100,200,300,400/full/0/default.png'],
    ['3', 'full/!200,200/0/default.jpg', 'full/200,200/0/default.jpg'],
    ['2', 'full/!200,200/0/default.jpg', 'full/200,/0/default.jpg'],
    ['3', 'pct:10,20,30,40/pct:50/!90/gray.png', '100,200,300,400/150,200/!90/gray.png'],
    ['2', 'pct:10,20,30,40/pct:50/!90/gray.png', '100,200,300,400/150,/!90/gray.png'],
    ['3', 'square/^1200,/22.50/default.png', 'full/^1200,1200/22.5/default.png'],
  ])('sends the profile and the %s canonical Link for %s', async (version, path, canonical) => {
    // Act
    const answer = await t.request(`/iiif/${version}/${GRID_ID}/${path}`, { token });

    // Assess
    expect(answer.status).toBe(302);
    const profile = version === '3' ? V3_PROFILE : V2_PROFILE;
    expect(answer.headers.link).toBe(`${profile}, <${t.url}/iiif/${version}/${GRID_ID}/${canonical}>;rel="canonical"`);
  });

  it.each([
    ['a:b', 'a%3Ab'],
    ['a%3Ab', 'a%3Ab'],
    ['%61%3a%62', 'a%3Ab'],
    ['dir%2Fpage', 'dir%2Fpage'],
    ['dir%2fpage', 'dir%2Fpage'],
  ])('encodes identifier %s exactly once, as %s, in the canonical Link and the storage key', async (sent, encoded) => {
    // Act
    const answer = await t.send(`/iiif/3/${sent}/full/max/0/default.png`, { token });

    // Assess
    expect(answer.status).toBe(302);
    expect(answer.headers.link).toBe(`${V3_PROFILE}, <${t.url}/iiif/3/${encoded}/full/max/0/default.png>;rel="canonical"`);
    const key = decodeURIComponent(new URL(answer.headers.location ?? '').pathname).slice(`/${t.derivativeBucket}/`.length);
    expect(key).toBe(`${encoded}/full/400,300/0/default.png`);
    expect(await t.derivativeExists(key)).toBe(true);
  });

  it('keeps Cache-Control on the redirect within the validity left to the presigned URL', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const first = await t.request(`/iiif/3/${GRID_ID}/full/max/0/default.png`, { token });
    const second = await t.request(`/iiif/3/${GRID_ID}/full/max/0/default.png`, { token });

    // Assess
    const ttl = t.stack.config.presignTtlSeconds;
    for (const answer of [first, second]) {
      expect(answer.status).toBe(302);
      const match = /^private, max-age=(\d+)$/.exec(answer.headers['cache-control'] ?? '');
      expect(match).not.toBeNull();
      const maxAge = Number(match?.[1]);
      const location = answer.headers.location ?? '';
      expect(Number(new URL(location).searchParams.get('X-Amz-Expires'))).toBe(ttl);
      // Never cached past the URL's end; and time-bucketed signing leaves more than half the TTL.
      expect(maxAge * 1000).toBeLessThanOrEqual(presignedExpiry(location) - before);
      expect(maxAge).toBeGreaterThanOrEqual(Math.floor(ttl / 2) - 5);
    }
    // The same URL for the same key within one signing window (unless the window turned between).
    if (presignedExpiry(first.headers.location ?? '') === presignedExpiry(second.headers.location ?? '')) {
      expect(second.headers.location).toBe(first.headers.location);
    }
  });
});

describe('methods', () => {
  it.each([
    `/iiif/3/${GRID_ID}/info.json`,
    `/iiif/2/${GRID_ID}/full/max/0/default.jpg`,
    `/iiif/3/${GRID_ID}`,
    '/iiif/3/no-such-image/info.json',
  ])('answers an OPTIONS preflight of %s with 204, no token needed', async (path) => {
    // Act
    const answer = await t.request(path, {
      method: 'OPTIONS',
      headers: { origin: 'https://viewer.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

    // Assess
    expect(answer.status).toBe(204);
    expect(answer.body.length).toBe(0);
    expectCommonHeaders(answer);
    expect(answer.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(answer.headers['access-control-allow-headers']).toBe('Authorization, Accept, Content-Type, Range');
    expect(answer.headers['access-control-max-age']).toBe('86400');
  });

  it.each([
    ['info.json', `/iiif/3/${GRID_ID}/info.json`, 200],
    ['an image', `/iiif/3/${GRID_ID}/full/120,/0/default.png`, 302],
    ['the base URI', `/iiif/2/${GRID_ID}`, 303],
    ['an unknown identifier', '/iiif/3/no-such-image/info.json', 404],
    ['a malformed request', `/iiif/3/${GRID_ID}/full/max/0/default.bmp`, 400],
  ])('answers HEAD of %s as GET, without a body', async (_what, path, status) => {
    // Prepare
    const get = await t.request(path, { token });

    // Act
    const head = await t.request(path, { token, method: 'HEAD' });

    // Assess
    expect(get.status).toBe(status);
    expect(head.status).toBe(status);
    expect(head.body.length).toBe(0);
    expect(applicationHeaders(head)).toEqual(applicationHeaders(get));
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('answers %s with 405, an Allow header and a JSON error', async (method) => {
    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/max/0/default.jpg`, { token, method });

    // Assess
    const body = expectJsonError(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(answer.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(body.detail).toBe(`Expected GET, HEAD or OPTIONS but received "${method}"`);
  });
});

describe('not found', () => {
  it('answers an image of an unknown identifier with 404 SOURCE_NOT_FOUND and stores nothing', async () => {
    // Prepare
    const before = await t.listDerivatives();

    // Act
    const answer = await t.request('/iiif/3/no-such-image/full/max/0/default.jpg', { token });

    // Assess
    expectJsonError(answer, 404, 'SOURCE_NOT_FOUND');
    expect(await t.listDerivatives()).toEqual(before);
  });

  it.each([
    '/iiif/3/dir/page/full/max/0/default.jpg',
    '/iiif/2/dir/page/info.json',
    '/iiif/dir/page/full/max/0/default.jpg',
    '/iiif/3/dir/page',
  ])('answers %s, an identifier with an unescaped slash, with 404, while its escaped form is served', async (path) => {
    // Act
    const answer = await t.send(path, { token });
    const escaped = await t.send(path.replace('dir/page', 'dir%2Fpage'), { token });

    // Assess
    expectJsonError(answer, 404, 'NOT_FOUND');
    expect([200, 302, 303]).toContain(escaped.status);
  });

  it.each(['/favicon.ico', '/iiif', '/iiif/3', '/iiif/3/grid/info.json/extra', '/iiif/3/grid/full/max/0', '/iiif/3/grid/full/max/0/default.jpg/x'])(
    'answers %s, which no route matches, with a JSON 404',
    async (path) => {
      // Act
      const answer = await t.send(path, { token });

      // Assess
      expectJsonError(answer, 404, 'NOT_FOUND');
    },
  );
});

describe('IIIF_DEFAULT_VERSION=3 behind a PUBLIC_BASE_URL', () => {
  const PUBLIC = 'https://images.example.org/prod';
  let v3: TestStack;
  let v3Token: string;

  beforeAll(async () => {
    v3 = await startTestStack({ env: { IIIF_DEFAULT_VERSION: '3', PUBLIC_BASE_URL: `${PUBLIC}/` } });
    v3Token = await v3.token();
  });

  afterAll(async () => {
    await v3.close();
  });

  it('serves unversioned info.json as 3.0 with the public base URL as its id', async () => {
    // Act
    const answer = await v3.request(`/iiif/${GRID_ID}/info.json`, { token: v3Token });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(V3_INFO_TYPE);
    expect((answer.json() as Record<string, unknown>).id).toBe(`${PUBLIC}/iiif/${GRID_ID}`);
  });

  it('redirects the unversioned base URI to the public info.json', async () => {
    // Act
    const answer = await v3.request(`/iiif/${GRID_ID}`);

    // Assess
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe(`${PUBLIC}/iiif/${GRID_ID}/info.json`);
  });

  it('parses unversioned image requests as 3.0 and links the public canonical URL', async () => {
    // Act
    const fullSize = await v3.request(`/iiif/${GRID_ID}/full/full/0/default.png`, { token: v3Token });
    const image = await v3.request(`/iiif/${GRID_ID}/full/!100,100/0/default.png`, { token: v3Token });

    // Assess
    const body = expectJsonError(fullSize, 400, 'IIIF_INVALID_SIZE');
    expect(body.detail).toMatch(/ for size but received "full"$/);
    expect(image.status).toBe(302);
    expect(image.headers.link).toBe(`${V3_PROFILE}, <${PUBLIC}/iiif/${GRID_ID}/full/100,100/0/default.png>;rel="canonical"`);
    // The redirect still goes to storage, not to the public base.
    expect(new URL(image.headers.location ?? '').origin).toBe(v3.stack.s3Endpoint.origin);
  });
});
