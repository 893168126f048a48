/**
 * A fast-check fuzz of the whole router, through the API Gateway handler the Lambda runs, on a
 * mocked S3 (test/hardening/gateway.ts). Paths are built from IIIF fragments, hostile fragments,
 * random text and random percent-encoding, with any method. Whatever arrives:
 *
 * - the answer is never a 5xx (501 only for a well-formed request of a format Recto lists but
 *   does not render), carries nosniff and CORS, and an error is `{ error, detail }` JSON whose
 *   detail echoes nothing raw;
 * - a request that fails while parsing makes no S3 call at all;
 * - every S3 key is inside DERIVATIVE_PREFIX or SOURCE_KEY_TEMPLATE (with auth off the one
 *   write is the record of an undescribed source);
 * - with auth on, anonymous and read-only callers never cause a write or a render.
 */
import fc from 'fast-check';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockedGateway, plain, type MockedGateway } from './gateway.js';
import { answerProblems, callProblems } from './support.js';

/** Error codes raised while parsing a request, before anything is looked up. */
const PARSE_CODES = new Set([
  'IIIF_INVALID_PATH', 'IIIF_INVALID_IDENTIFIER', 'IIIF_INVALID_REGION', 'IIIF_INVALID_SIZE', 'IIIF_INVALID_ROTATION',
  'IIIF_INVALID_QUALITY', 'IIIF_INVALID_FORMAT', 'NOT_FOUND', 'METHOD_NOT_ALLOWED',
]);

const NUM_RUNS = 2500;

// ---- arbitraries ------------------------------------------------------------------------

const iiifFragment = fc.constantFrom(
  'grid', 'fresh', 'nope', 'full', 'square', 'max', '^max', 'full', 'pct:50', '^pct:150', 'pct:0.0001', '10,20,300,400', 'pct:10,10,80,80',
  '0,0,1,1', '1000,800,1,1', '!200,200', '^!2000,2000', '200,', ',200', '^1000,', '200,100', '0', '90', '!180', '22.5', '360', '.5',
  'default.jpg', 'color.png', 'gray.webp', 'bitonal.tif', 'default.gif', 'default.jp2', 'default.pdf', 'info.json', 'presets', '2', '3', '',
);
const hostileFragment = fc.constantFrom(
  '..', '.', '%2e%2e', '%2E', '%2F', '%00', '%0d%0a', '%', '%E0%A4%A', '%C0%AE', '%ED%A0%80', '<script>', '%3Cb%3E', '&amp;', '"', "'", '\\',
  '%u002e', '%252e', '${jndi:x}', '{{7*7}}', ';', ',', '!', '^', 'pct:', '-0', '1e3', '0x10', 'NaN', 'Infinity', '9'.repeat(20), 'a'.repeat(600),
  '%E2%80%A8', '%C2%85', '%7F', '\u0000', '\r\n', '\u2028', 'é', '😀', '\uD800',
);
/** Random bytes percent-encoded, valid UTF-8 or not. */
const encodedBytes = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
const segment = fc.oneof(
  { weight: 6, arbitrary: iiifFragment },
  { weight: 3, arbitrary: hostileFragment },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 2, arbitrary: encodedBytes },
  { weight: 2, arbitrary: fc.tuple(iiifFragment, hostileFragment, iiifFragment).map((parts) => parts.join('')) },
);
/** Requests that are mostly well-formed, so the fuzz reaches resolution, storage and auth too. */
const wellFormedArb = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('/iiif/3', '/iiif/2', '/iiif'),
      fc.constantFrom('grid', 'fresh', 'nope', 'gr%69d'),
      fc.constantFrom('full', 'square', '0,0,500,400', 'pct:10,10,50,50', '999,799,5,5', '2000,0,10,10', 'pct:0.0001,0,0.0001,0.0001'),
      fc.constantFrom('max', '^max', 'full', '200,', ',150', '!300,300', 'pct:25', '^pct:200', '^2000,', '1001,', '20000,20000', 'pct:0.0001'),
      fc.constantFrom('0', '90', '!45', '180.5', '360', '.5'),
      fc.constantFrom('default.jpg', 'color.png', 'gray.webp', 'bitonal.gif', 'default.tif', 'default.jp2', 'default.pdf'),
    )
    .map(([p, ...parts]) => `${p}/${parts.join('/')}`),
  fc.tuple(fc.constantFrom('/iiif/3', '/iiif/2', '/iiif', '/iiif/presets'), fc.constantFrom('grid', 'fresh', 'nope')).map(([p, id]) => `${p}/${id}`),
  fc.tuple(fc.constantFrom('/iiif/3', '/iiif/2', '/iiif'), fc.constantFrom('grid', 'fresh', 'nope')).map(([p, id]) => `${p}/${id}/info.json`),
);
const prefix = fc.constantFrom('/iiif/3', '/iiif/2', '/iiif', '/iiif/presets', '/IIIF/3', '', '/iiif/4', '//iiif/3');
const pathArb = fc.oneof(
  { weight: 6, arbitrary: wellFormedArb },
  { weight: 8, arbitrary: fc.tuple(prefix, fc.array(segment, { minLength: 0, maxLength: 7 })).map(([p, parts]) => `${p}/${parts.join('/')}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }).map((s) => `/iiif/3/${s}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 8100, max: 8300 }).map((n) => `/iiif/3/${'a'.repeat(n)}/info.json`) },
);
const methodArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('GET') },
  { weight: 2, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'get', 'TRACE', 'CONNECT') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }) },
);
const headersArb = fc.record(
  {
    accept: fc.constantFrom('application/ld+json', '*/*', 'text/html', '<x>', ''),
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'javascript', 'http, https'),
  },
  { requiredKeys: [] },
);

// ---- checks -----------------------------------------------------------------------------

interface Outcome {
  readonly status: number;
  readonly code: string | undefined;
  readonly problems: string[];
}

async function exercise(gateway: MockedGateway, method: string, path: string, headers: Readonly<Record<string, string>>, writes: boolean): Promise<Outcome> {
  gateway.resetCalls();
  const answer = plain(await gateway.send(method, path, headers));
  const problems = answerProblems(answer, method);
  const calls = gateway.calls();
  let code: string | undefined;
  if (answer.status >= 400) {
    // HEAD has no body: the same request as GET tells the code.
    const body = method === 'HEAD' ? plain(await gateway.send('GET', path, headers)).body : answer.body;
    try {
      code = (JSON.parse(body) as { error?: string }).error;
    } catch {
      code = undefined;
    }
  }
  if (answer.status >= 500 && !(answer.status === 501 && code === 'FORMAT_NOT_SUPPORTED')) problems.push(`a ${answer.status} ${String(code)}`);
  if (code !== undefined && PARSE_CODES.has(code) && calls.length > 0) problems.push(`${code} after ${calls.length} S3 calls: ${calls.map((c) => c.command).join(', ')}`);
  problems.push(...callProblems(calls, gateway.config, { writes }));
  if (method === 'HEAD' && answer.body !== '') problems.push('a body on HEAD');
  return { status: answer.status, code, problems };
}

function describeFailure(method: string, path: string, outcome: Outcome): string {
  return `${method} ${JSON.stringify(path.slice(0, 200))} → ${outcome.status} ${String(outcome.code)}: ${outcome.problems.join('; ')}`;
}

// ---- the fuzz ---------------------------------------------------------------------------

describe('the router under fuzzing, auth off, every derivative present', () => {
  let gateway: MockedGateway;

  beforeAll(async () => {
    gateway = await startMockedGateway({ derivativesExist: true });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it(`answers ${NUM_RUNS} random requests without a 5xx, with JSON errors, no S3 call for a malformed one and every key inside the prefixes`, async () => {
    // Prepare
    const statuses = new Map<number, number>();

    // Act
    await fc.assert(
      fc.asyncProperty(methodArb, pathArb, headersArb, async (method, path, headers) => {
        const outcome = await exercise(gateway, method, path, headers, true);
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        if (outcome.problems.length > 0) throw new Error(describeFailure(method, path, outcome));
      }),
      { numRuns: NUM_RUNS },
    );

    // Assess: the fuzz reached every kind of answer, not only the router's 404.
    console.info('statuses, auth off:', JSON.stringify([...statuses].sort()));
    for (const status of [200, 204, 302, 303, 400, 404, 405]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    expect(gateway.renders()).toBe(0);
  });

  it('never lets a method name into an error message unescaped', async () => {
    // Act
    const answer = plain(await gateway.send('<SCRIPT>&', '/iiif/3/grid/info.json'));

    // Assess
    expect(answer.status).toBe(405);
    expect(answerProblems(answer)).toEqual([]);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'METHOD_NOT_ALLOWED',
      detail: 'Expected GET, HEAD or OPTIONS but received "\\u003cSCRIPT\\u003e\\u0026"',
    });
  });
});

describe('the router under fuzzing, auth on, every derivative missing', () => {
  let gateway: MockedGateway;
  const tokens = new Map<string, string | undefined>();

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (scope: string | undefined) =>
      new SignJWT(scope === undefined ? {} : { scope })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
        .setIssuer('https://issuer.example/')
        .setAudience('recto')
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
    gateway = await startMockedGateway({
      derivativesExist: false,
      env: { IIIF_AUTH: 'on', JWT_PUBLIC_KEY: await exportSPKI(publicKey), JWT_ISSUER: 'https://issuer.example/', JWT_AUDIENCE: 'recto', IIIF_PUBLIC_READ: 'true' },
    });
    tokens.set('anonymous', undefined);
    tokens.set('read-only', await sign('iiif:read'));
    tokens.set('no Recto scope', await sign('openid profile'));
    tokens.set('no scope claim', await sign(undefined));
    tokens.set('forged', `${(await sign('iiif:render')).slice(0, -4)}AAAA`);
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('never lets an anonymous, read-only, scopeless or forged caller write to S3 or start a render', async () => {
    // Prepare
    const callerArb = fc.constantFrom(...tokens.keys());
    const seen = new Map<number, number>();

    // Act
    await fc.assert(
      fc.asyncProperty(callerArb, methodArb, pathArb, async (caller, method, path) => {
        const token = tokens.get(caller);
        const outcome = await exercise(gateway, method, path, token === undefined ? {} : { authorization: `Bearer ${token}` }, false);
        seen.set(outcome.status, (seen.get(outcome.status) ?? 0) + 1);
        if (outcome.status === 302) outcome.problems.push('a redirect to a derivative that does not exist');
        if (outcome.problems.length > 0) throw new Error(`${caller}: ${describeFailure(method, path, outcome)}`);
      }),
      { numRuns: NUM_RUNS },
    );

    // Assess: misses were refused (401, 403), info.json of an undescribed source was read (200).
    console.info('statuses, auth on:', JSON.stringify([...seen].sort()));
    expect(gateway.renders()).toBe(0);
    for (const status of [200, 401, 403, 400, 404]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
  });
});
