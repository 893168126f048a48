/**
 * lib/http/app.ts with the real services over the embedded S3 and auth on (tokens signed with a
 * real key, verified against a JWKS served over HTTP): what every kind of route answers, status,
 * headers and body; HEAD; errors as JSON `{ error, detail }` with the status of lib/errors.ts's
 * table (lib/http/errors.ts), jose's refusals as RFC 6750 challenges, and an unexpected Error as
 * a bare, logged 500; one request-log line per request, never with the token.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ERROR_CODES, RectoError, UnavailableError, type ErrorCode } from '../../lib/errors.js';
import { createHttpApp, type HttpApp } from '../../lib/http/app.js';
import { errorResponse } from '../../lib/http/errors.js';
import type { HttpResponse } from '../../lib/http/types.js';
import { estimateRenderSeconds, renderBatch } from '../../lib/render/index.js';
import type { RenderEngine } from '../../lib/service/produce.js';
import { gridImage, truncated } from '../support/fixtures.js';
import { closedPortUrl, generateSigningKey, NOW_S, signToken, startJwksServer, TEST_AUDIENCE, TEST_ISSUER, unsignedToken, type JwksServer, type SigningKey } from '../support/jwt.js';
import { startFaultProxy } from '../support/s3.js';
import { CapturingLogger } from '../support/stack.js';
import { manualClock, startBench, type Bench, type Clock, type Container } from '../service/support.js';

const BASE = 'https://images.test/prod';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Link, Location, Retry-After, WWW-Authenticate',
  'x-content-type-options': 'nosniff',
};
const JSON_ERROR = { ...CORS, 'content-type': 'application/json', 'cache-control': 'no-store' };
const V2_PROFILE = 'http://iiif.io/api/image/2/level2.json';
const V3_PROFILE = 'http://iiif.io/api/image/3/level2.json';
const NOT_FOUND_DETAIL = 'No IIIF route matches this path. Expected /iiif/{2|3}/{identifier}/info.json or /iiif/{2|3}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}, with "/" in identifiers encoded as %2F.';

let bench: Bench;
let key: SigningKey;
let jwks: JwksServer;
let clock: Clock;
let container: Container;
let app: HttpApp;
let renderToken: string;
let readToken: string;

/** The environment of an app with auth on against the test JWKS. */
function authEnv(): Record<string, string> {
  return { IIIF_AUTH: 'on', JWT_JWKS_URL: jwks.url.href, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE, PRESIGN_TTL_SECONDS: '900', RENDER_MEMORY_MB: '512', IIIF_DEFAULT_VERSION: '2' };
}

beforeAll(async () => {
  bench = await startBench();
  key = await generateSigningKey('ES256');
  jwks = await startJwksServer([key.publicJwk]);
  clock = manualClock();
  container = await bench.container({ env: authEnv(), overrides: { now: clock.now } });
  app = createHttpApp(container.services);
  renderToken = await signToken(key, { claims: { scope: 'iiif:read iiif:render' } });
  readToken = await signToken(key, { claims: { scope: 'iiif:read' } });
  await bench.putSource('corrupt', truncated(bench.grid.png));
});

afterAll(async () => {
  await jwks.close();
  await bench.close();
});

interface Call {
  readonly method?: string;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

function call(path: string, options: Call = {}, on: HttpApp = app): Promise<HttpResponse> {
  const headers = { ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }), ...options.headers };
  return on.handle({ method: options.method ?? 'GET', path, headers, baseUrl: BASE });
}

function body(response: HttpResponse): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('the routes', () => {
  it('answers OPTIONS on any path with 204 and the CORS preflight headers, without auth or storage', async () => {
    // Prepare
    const mark = bench.mark();
    const fetched = jwks.requests;

    // Act
    const answers = await Promise.all(['/iiif/3/grid/info.json', '/iiif/3/grid/full/max/0/default.jpg', '/nowhere'].map((path) => call(path, { method: 'OPTIONS' })));

    // Assess
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 204,
        headers: { ...CORS, 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': 'Authorization, Accept, Content-Type, Range', 'access-control-max-age': '86400' },
        body: '',
      });
    }
    expect([bench.since(mark), jwks.requests - fetched]).toEqual([[], 0]);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('answers %s with 405 and Allow', async (method) => {
    // Act
    const answer = await call('/iiif/3/grid/info.json', { method, token: renderToken });

    // Assess
    expect(answer.status).toBe(405);
    expect(answer.headers).toEqual({ ...JSON_ERROR, allow: 'GET, HEAD, OPTIONS' });
    expect(body(answer)).toEqual({ error: 'METHOD_NOT_ALLOWED', detail: `Expected GET, HEAD or OPTIONS but received "${method}"` });
  });

  it.each([
    ['/iiif/3/ms%2F0001', `${BASE}/iiif/3/ms%2F0001/info.json`],
    ['/iiif/2/grid', `${BASE}/iiif/2/grid/info.json`],
    ['/iiif/grid', `${BASE}/iiif/grid/info.json`],
  ])('redirects the base URI %s to its info.json with 303', async (path, location) => {
    // Act
    const answer = await call(path);

    // Assess
    expect(answer).toEqual({ status: 303, headers: { ...CORS, location }, body: '' });
  });

  it('answers a base URI whose identifier is malformed with 400, not a redirect', async () => {
    // Act
    const answer = await call('/iiif/3/%E0%A4%A');

    // Assess
    expect([answer.status, body(answer).error]).toEqual([400, 'IIIF_INVALID_IDENTIFIER']);
  });

  it('answers a 3.0 info.json with its JSON-LD type whatever the Accept header, the id the client used, and the profile Link', async () => {
    // Act
    const answer = await call('/iiif/3/grid/info.json', { token: readToken, headers: { accept: 'application/json' } });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers).toEqual({
      ...CORS,
      'content-type': 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"',
      'cache-control': 'private, max-age=300',
      link: `<${V3_PROFILE}>;rel="profile"`,
    });
    expect(body(answer)).toMatchObject({ id: `${BASE}/iiif/3/grid`, type: 'ImageService3', protocol: 'http://iiif.io/api/image', profile: 'level2', width: 1000, height: 1000 });
  });

  it.each([
    [undefined, 'application/json'],
    ['application/ld+json', 'application/ld+json'],
    ['text/html, application/ld+json;q=0.9', 'application/ld+json'],
    ['application/json', 'application/json'],
  ])('answers a 2.1 info.json asked with Accept %j as %s', async (accept, type) => {
    // Act
    const answer = await call('/iiif/2/grid/info.json', { token: readToken, ...(accept === undefined ? {} : { headers: { accept } }) });

    // Assess
    expect(answer.status).toBe(200);
    expect([answer.headers['content-type'], answer.headers.link]).toEqual([type, `<${V2_PROFILE}>;rel="profile"`]);
    expect(body(answer)).toMatchObject({ '@id': `${BASE}/iiif/2/grid`, '@context': 'http://iiif.io/api/image/2/context.json', width: 1000 });
  });

  it('gives info.json the id the client used, byte for byte, on the default-version route', async () => {
    // Act
    const answer = await call('/iiif/gr%69d/info.json', { token: readToken });

    // Assess
    expect(answer.headers['content-type']).toBe('application/json');
    expect(body(answer)['@id']).toBe(`${BASE}/iiif/gr%69d`);
  });

  it('redirects an image request with 302 to a presigned URL of the derivative, cacheable privately for the URL\'s life, with profile and canonical Links', async () => {
    // Act
    const v3 = await call('/iiif/3/grid/full/200,/0/default.jpg', { token: renderToken });
    const v2 = await call('/iiif/2/grid/full/200,/0/default.jpg', { token: readToken });

    // Assess
    expect(v3.headers).toEqual({
      ...CORS,
      location: expect.any(String) as unknown,
      'cache-control': 'private, max-age=900',
      link: `<${V3_PROFILE}>;rel="profile", <${BASE}/iiif/3/grid/full/200,200/0/default.jpg>;rel="canonical"`,
    });
    expect([v3.status, v3.body, v2.status, v2.body]).toEqual([302, '', 302, '']);
    expect(v2.headers.link).toBe(`<${V2_PROFILE}>;rel="profile", <${BASE}/iiif/2/grid/full/200,/0/default.jpg>;rel="canonical"`);
    const location = new URL(v3.headers.location ?? '');
    expect(decodeURIComponent(location.pathname)).toBe('/recto-derivatives/grid/full/200,200/0/default.jpg');
    expect(location.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(v2.headers.location).toBe(v3.headers.location);
  });

  it('never lets a redirect be cached for longer than its URL has left to live', async () => {
    // Prepare
    await call('/iiif/3/grid/full/210,/0/default.jpg', { token: renderToken });
    clock.advance(100_000);
    try {
      // Act
      const later = await call('/iiif/3/grid/full/210,/0/default.jpg', { token: readToken });

      // Assess
      expect(later.status).toBe(302);
      expect(later.headers['cache-control']).toBe('private, max-age=800');
    } finally {
      clock.advance(-100_000);
    }
  });

  it('lists the presets for a read-only token, and refuses an anonymous caller', async () => {
    // Act
    const listed = await call('/iiif/presets/grid', { token: readToken });
    const anonymous = await call('/iiif/presets/grid');

    // Assess
    expect(listed.status).toBe(200);
    expect(listed.headers).toEqual({ ...CORS, 'content-type': 'application/json', 'cache-control': 'private, max-age=300' });
    expect(body(listed)).toMatchObject({ id: 'grid', presets: [{ name: 'thumbnail', url: `${BASE}/iiif/3/grid/full/!400,400/0/default.jpg`, width: 400, height: 400 }, { name: 'web', error: 'IIIF_UPSCALE_NOT_ALLOWED' }, { name: 'print-gray', width: 1000 }] });
    expect([anonymous.status, body(anonymous).error]).toEqual([401, 'AUTH_MISSING_TOKEN']);
  });

  it.each([
    ['an unescaped slash in an identifier', '/iiif/3/ms/0001/info.json'],
    ['a path outside /iiif', '/favicon.ico'],
    ['an image path one segment short', '/iiif/3/grid/full/max/0'],
    ['a path of 8193 characters', `/iiif/3/${'a'.repeat(8175)}/info.json`],
  ])('answers %s with 404 NOT_FOUND, before auth and storage', async (_what, path) => {
    // Prepare
    const mark = bench.mark();

    // Act
    const answer = await call(path);

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.headers).toEqual(JSON_ERROR);
    expect(body(answer)).toEqual({ error: 'NOT_FOUND', detail: NOT_FOUND_DETAIL });
    expect(bench.since(mark)).toEqual([]);
  });

  it('answers HEAD as GET, with an empty body: info.json, an image, and an error', async () => {
    // Act
    const pairs = await Promise.all(
      ['/iiif/3/grid/info.json', '/iiif/3/grid/full/220,/0/default.jpg', '/iiif/3/nowhere/info.json'].map(async (path) => [await call(path, { token: renderToken }), await call(path, { method: 'HEAD', token: renderToken })] as const),
    );

    // Assess
    for (const [get, head] of pairs) {
      expect({ status: head.status, headers: head.headers, body: head.body }).toEqual({ status: get.status, headers: get.headers, body: '' });
    }
    expect(pairs.map(([get]) => get.status)).toEqual([200, 302, 404]);
  });
});

describe('with IIIF_PUBLIC_READ and PUBLIC_BASE_URL', () => {
  let open: HttpApp;

  beforeAll(async () => {
    const c = await bench.container({ env: { ...authEnv(), IIIF_PUBLIC_READ: 'true', PUBLIC_BASE_URL: 'https://images.example.org/' }, overrides: { now: clock.now } });
    open = createHttpApp(c.services);
  });

  it('lets an anonymous caller read, with public caching, under the public base URL', async () => {
    // Act
    const info = await call('/iiif/3/grid/info.json', {}, open);
    const base = await call('/iiif/3/grid', {}, open);

    // Assess
    expect([info.status, info.headers['cache-control'], body(info).id]).toEqual([200, 'public, max-age=300', 'https://images.example.org/iiif/3/grid']);
    expect(base.headers.location).toBe('https://images.example.org/iiif/3/grid/info.json');
  });

  it('does not let an anonymous caller render: 401 with a challenge for the render scope', async () => {
    // Act
    const answer = await call('/iiif/3/grid/full/230,/0/default.jpg', {}, open);

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="recto", scope="iiif:render"');
    expect(body(answer).error).toBe('AUTH_MISSING_TOKEN');
  });
});

describe('errors', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('turns %s into its status and a JSON { error, detail } body', (code) => {
    // Prepare
    const logger = new CapturingLogger();

    // Act
    const answer = errorResponse(new RectoError(code, 'What went wrong, for a person.'), logger);

    // Assess
    expect(answer).toEqual({ status: ERROR_CODES[code], headers: JSON_ERROR, body: JSON.stringify({ error: code, detail: 'What went wrong, for a person.' }) });
    expect(logger.lines).toEqual([]);
  });

  it('adds the headers an error carries (Retry-After of a 503)', () => {
    // Act
    const answer = errorResponse(new UnavailableError('STORAGE_UNAVAILABLE', 'Storage is busy', 2), new CapturingLogger());

    // Assess
    expect(answer.headers).toEqual({ ...JSON_ERROR, 'retry-after': '2' });
  });

  it.each([
    ['a malformed size, even from an anonymous caller (parsed before auth)', '/iiif/3/grid/full/abc/0/default.jpg', undefined, 400, 'IIIF_INVALID_SIZE', {}],
    ['a format the grammar has but Recto does not write', '/iiif/3/grid/full/max/0/default.pdf', 'read', 501, 'FORMAT_NOT_SUPPORTED', {}],
    ['no token', '/iiif/3/grid/info.json', undefined, 401, 'AUTH_MISSING_TOKEN', { 'www-authenticate': 'Bearer realm="recto", scope="iiif:read"' }],
    ['a miss for a read-only token', '/iiif/3/grid/full/240,/0/default.jpg', 'read', 403, 'AUTH_INSUFFICIENT_SCOPE', { 'www-authenticate': 'Bearer realm="recto", error="insufficient_scope", scope="iiif:render"' }],
    ['a source that does not exist', '/iiif/3/nowhere/info.json', 'render', 404, 'SOURCE_NOT_FOUND', {}],
    ['a corrupt source', '/iiif/3/corrupt/full/100,/0/default.jpg', 'render', 422, 'SOURCE_UNREADABLE', {}],
    ['a render memory cannot hold', '/iiif/3/grid/full/^9000,/0/default.webp', 'render', 501, 'RENDER_TOO_LARGE', {}],
  ] as const)('answers %s with its status and code', async (_what, path, who, status, code, headers) => {
    // Act
    const answer = await call(path, who === undefined ? {} : { token: who === 'read' ? readToken : renderToken });

    // Assess
    expect(answer.status).toBe(status);
    expect(answer.headers).toEqual({ ...JSON_ERROR, ...headers });
    expect(body(answer)).toEqual({ error: code, detail: expect.any(String) as unknown });
  });

  it.each([
    ['an expired token', () => signToken(key, { claims: { scope: 'iiif:read', iat: NOW_S - 7200, exp: NOW_S - 3600 } }), 'The token has expired'],
    ['a token not valid yet', () => signToken(key, { claims: { scope: 'iiif:read', nbf: NOW_S + 3600, exp: NOW_S + 7200 } }), 'The token is not valid yet'],
    ['a token signed by another key under the same kid', async () => signToken({ ...(await generateSigningKey('ES256')), kid: key.kid }), 'The token signature is invalid'],
    ['a token signed by a key the JWKS does not have', async () => signToken(await generateSigningKey('ES256')), 'The token is signed with an unknown key'],
    ['an unsigned token', () => Promise.resolve(unsignedToken({ claims: { scope: 'iiif:read' } })), 'The token algorithm is not accepted'],
    ['a token from another issuer', () => signToken(key, { claims: { iss: 'https://elsewhere.test/' } }), 'The token issuer is not accepted'],
    ['a token for another audience', () => signToken(key, { claims: { aud: 'someone-else' } }), 'The token audience is not accepted'],
    ['something that is not a JWT', () => Promise.resolve('not-a-jwt'), 'The token is not a JWT'],
  ])('answers %s with 401 AUTH_INVALID_TOKEN and an RFC 6750 invalid_token challenge', async (_what, make, description) => {
    // Prepare
    const token = await make();

    // Act
    const answer = await call('/iiif/3/grid/info.json', { token });

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.headers).toEqual({ ...JSON_ERROR, 'www-authenticate': `Bearer realm="recto", error="invalid_token", error_description="${description}"` });
    expect(body(answer).error).toBe('AUTH_INVALID_TOKEN');
    expect(answer.body).not.toContain(token);
  });

  it('answers 503 AUTH_KEYS_UNAVAILABLE with Retry-After, not 401, when the JWKS cannot be reached', async () => {
    // Prepare
    const c = await bench.container({ env: { ...authEnv(), JWT_JWKS_URL: (await closedPortUrl()).href }, overrides: { now: clock.now } });

    // Act
    const answer = await call('/iiif/3/grid/info.json', { token: readToken }, createHttpApp(c.services));

    // Assess
    expect(answer.status).toBe(503);
    expect(answer.headers).toEqual({ ...JSON_ERROR, 'retry-after': '5' });
    expect(body(answer).error).toBe('AUTH_KEYS_UNAVAILABLE');
  });

  it('answers 503 STORAGE_UNAVAILABLE with Retry-After when storage fails the HEAD of a derivative', async () => {
    // Prepare: lib/store reports storage faults on the console.
    const proxy = await startFaultProxy(bench.s3.endpoint);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const c = await bench.container({ overrides: { s3: bench.s3.createClient({ endpoint: proxy.endpoint }) } });
      const faulty = createHttpApp(c.services);
      await call('/iiif/3/grid/info.json', {}, faulty);
      proxy.inject({ method: 'HEAD', path: '/recto-derivatives/grid/full/250,250/0/default.jpg', action: { status: 503 } });

      // Act
      const answer = await call('/iiif/3/grid/full/250,/0/default.jpg', {}, faulty);

      // Assess
      expect(answer.status).toBe(503);
      expect(answer.headers).toEqual({ ...JSON_ERROR, 'retry-after': '19' });
      expect(body(answer).error).toBe('STORAGE_UNAVAILABLE');
      expect(c.engine.count).toBe(0);
      expect(warn.mock.calls.map((args) => String(args[0]))).toEqual([expect.stringContaining('"key":"grid/full/250,250/0/default.jpg"')]);
    } finally {
      warn.mockRestore();
      await proxy.close();
    }
  });

  it('answers an unexpected Error with a bare 500 INTERNAL_ERROR that says nothing of it, and logs it', async () => {
    // Prepare: a render engine with a bug.
    const secret = 'libvips exploded on /tmp/recto-sources/0f3a9c (secret-7731)';
    const engine: RenderEngine = { render: () => Promise.reject(new Error(secret)), renderBatch, estimateRenderSeconds };
    const c = await bench.container({ overrides: { engine } });
    const broken = createHttpApp(c.services);

    // Act
    const answer = await call('/iiif/3/grid/full/260,/0/default.jpg', {}, broken);

    // Assess
    expect(answer).toEqual({ status: 500, headers: JSON_ERROR, body: JSON.stringify({ error: 'INTERNAL_ERROR', detail: 'An unexpected error occurred. It has been logged.' }) });
    const logged = c.logger.entries().filter((entry) => entry.message === 'Unhandled error');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'ERROR', error: { name: 'Error', message: secret } });
    expect(c.logger.requests()).toMatchObject([{ level: 'WARN', status: 500, error: 'INTERNAL_ERROR', cache: 'miss' }]);
  });
});

describe('the request log', () => {
  it('has one line per request, with its status, cache, source bytes and render, and never the token', async () => {
    // Prepare: an app of its own, with nothing on disk.
    const c = await bench.container({ env: authEnv(), overrides: { now: clock.now } });
    const logged = createHttpApp(c.services);
    const small = (await gridImage({ width: 120, height: 90, cols: 4, rows: 3 })).png;
    await bench.putSource('logged', small);

    // Act
    const statuses = [];
    statuses.push((await call('/iiif/3/logged/full/60,/0/default.jpg', { token: renderToken }, logged)).status);
    statuses.push((await call('/iiif/3/logged/full/60,/0/default.jpg', { token: renderToken }, logged)).status);
    statuses.push((await call('/iiif/2/logged/info.json', { token: readToken }, logged)).status);
    statuses.push((await call('/iiif/3/logged/full/61,/0/default.jpg', { token: readToken }, logged)).status);
    statuses.push((await call('/iiif/3/a/b/info.json', { token: readToken }, logged)).status);
    statuses.push((await call('/iiif/3/logged/info.json', { method: 'HEAD', token: readToken }, logged)).status);

    // Assess
    const lines = c.logger.requests();
    expect(statuses).toEqual([302, 302, 200, 403, 404, 200]);
    expect(lines.map((line) => [line.level, line.method, line.path, line.status, line.cache, line.sourceBytes, line.stored, line.error])).toEqual([
      ['INFO', 'GET', '/iiif/3/logged/full/60,/0/default.jpg', 302, 'miss', small.length, 'created', undefined],
      ['INFO', 'GET', '/iiif/3/logged/full/60,/0/default.jpg', 302, 'hit', 0, undefined, undefined],
      ['INFO', 'GET', '/iiif/2/logged/info.json', 200, undefined, 0, undefined, undefined],
      ['INFO', 'GET', '/iiif/3/logged/full/61,/0/default.jpg', 403, 'miss', 0, undefined, 'AUTH_INSUFFICIENT_SCOPE'],
      ['INFO', 'GET', '/iiif/3/a/b/info.json', 404, undefined, 0, undefined, 'NOT_FOUND'],
      ['INFO', 'HEAD', '/iiif/3/logged/info.json', 200, undefined, 0, undefined, undefined],
    ]);
    expect(typeof lines[0]?.renderMs).toBe('number');
    const everything = c.logger.lines.join('\n');
    for (const secret of [renderToken, readToken, renderToken.split('.')[2] ?? renderToken, 'Bearer', 'authorization', 'X-Amz-Signature']) expect(everything).not.toContain(secret);
  });
});
