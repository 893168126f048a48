/**
 * Auth over real HTTP against the local stack, whose JWKS (its dev key) the service fetches
 * from the stack itself. Tokens are minted with the stack's dev key (or, for attacks, with other
 * keys, HMAC secrets or no signature at all). Every refusal is checked for its status, code and
 * exact WWW-Authenticate challenge, and for what it did not do: no render, no write to S3.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridImage } from '../support/fixtures.js';
import { generateSigningKey, signWithSecret, unsignedToken, type SigningKey } from '../support/jwt.js';
import { GRID_ID, startTestStack, type Answer, type TestStack } from '../support/stack.js';

const READ = 'iiif:read';
const RENDER = 'iiif:render';
const MISSING_READ = 'Bearer realm="recto", scope="iiif:read"';
const MISSING_RENDER = 'Bearer realm="recto", scope="iiif:render"';
const INSUFFICIENT_RENDER = 'Bearer realm="recto", error="insufficient_scope", scope="iiif:render"';
const INSUFFICIENT_READ = 'Bearer realm="recto", error="insufficient_scope", scope="iiif:read"';
const invalid = (description: string): string => `Bearer realm="recto", error="invalid_token", error_description="${description}"`;

/** Small sources, one per test that must start from an identifier nobody has asked for yet. */
const FRESH = ['fresh-later', 'fresh-read-only', 'fresh-public', 'fresh-public-read-only', 'fresh-no-scope', 'fresh-attacks', 'fresh-query'] as const;

async function freshSources(): Promise<Record<string, Buffer>> {
  const png = (await gridImage({ width: 200, height: 100, cols: 2, rows: 1 })).png;
  return Object.fromEntries(FRESH.map((name) => [`${name}.png`, png]));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A token signed with the stack's dev key (or `key`), with sensible claims unless overridden. */
function mint(t: TestStack, claims: JWTPayload, options: { key?: SigningKey; kid?: string } = {}): Promise<string> {
  const now = nowSeconds();
  const payload: JWTPayload = { iss: 'recto-local', aud: 'recto', sub: 'tester', iat: now, exp: now + 600, scope: `${READ} ${RENDER}`, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) Reflect.deleteProperty(payload, name);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? options.key?.kid ?? t.stack.keys.kid, typ: 'JWT' })
    .sign(options.key?.privateKey ?? t.stack.keys.privateKey);
}

function expectRefusal(answer: Answer, status: 401 | 403, code: string, challenge: string): void {
  expect({ status: answer.status, challenge: answer.headers['www-authenticate'], code: (answer.json() as { error: string }).error }).toEqual({ status, challenge, code });
  expect(answer.headers['content-type']).toBe('application/json');
  expect(answer.headers['access-control-allow-origin']).toBe('*');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
}

/** Snapshot what a request could change: every object in the derivative bucket, and the renders. */
async function footprint(t: TestStack): Promise<{ objects: string[]; renders: number }> {
  return { objects: (await t.listDerivatives()).map((object) => `${object.key} ${object.lastModified.toISOString()}`), renders: t.engine.count };
}

describe('with auth on', () => {
  let t: TestStack;
  let other: SigningKey;

  beforeAll(async () => {
    t = await startTestStack({ sources: await freshSources() });
    other = await generateSigningKey('ES256');
  });

  afterAll(async () => {
    await t.close();
  });

  const attacks: readonly [string, (t: TestStack) => Promise<string | undefined>, 401 | 403, string, string][] = [
    ['no token', () => Promise.resolve(undefined), 401, 'AUTH_MISSING_TOKEN', MISSING_READ],
    ['a token that is not a JWT', () => Promise.resolve('abc'), 401, 'AUTH_INVALID_TOKEN', invalid('The token is not a JWT')],
    ['a token with characters outside base64url', () => Promise.resolve('eyJhbGciOiJFUzI1NiJ9.!!!.abc'), 401, 'AUTH_INVALID_TOKEN', invalid('Expected one Bearer token')],
    ['a token whose header is not JSON', () => Promise.resolve('bm90LWpzb24.e30.abc'), 401, 'AUTH_INVALID_TOKEN', invalid('The token is malformed')],
    ['an expired token', (s) => mint(s, { iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }), 401, 'AUTH_INVALID_TOKEN', invalid('The token has expired')],
    ['a token not valid yet (nbf)', (s) => mint(s, { nbf: nowSeconds() + 3600 }), 401, 'AUTH_INVALID_TOKEN', invalid('The token is not valid yet')],
    ['a token from another issuer', (s) => mint(s, { iss: 'https://elsewhere.example/' }), 401, 'AUTH_INVALID_TOKEN', invalid('The token issuer is not accepted')],
    ['a token for another audience', (s) => mint(s, { aud: 'another-api' }), 401, 'AUTH_INVALID_TOKEN', invalid('The token audience is not accepted')],
    ['an unsigned token (alg none)', (s) => Promise.resolve(unsignedToken({ claims: { iss: 'recto-local', aud: 'recto', iat: nowSeconds(), exp: nowSeconds() + 600, scope: `${READ} ${RENDER}` }, header: { kid: s.stack.keys.kid } })), 401, 'AUTH_INVALID_TOKEN', invalid('The token algorithm is not accepted')],
    [
      'an HS256 token keyed with the public ES256 key',
      (s) => signWithSecret(new TextEncoder().encode(JSON.stringify(s.stack.keys.publicJwks.keys[0])), { claims: { iss: 'recto-local', aud: 'recto', iat: nowSeconds(), exp: nowSeconds() + 600, scope: `${READ} ${RENDER}` }, header: { kid: s.stack.keys.kid } }),
      401,
      'AUTH_INVALID_TOKEN',
      invalid('The token algorithm is not accepted'),
    ],
    ['a token signed by another key under the stack key id', (s) => mint(s, {}, { key: other, kid: s.stack.keys.kid }), 401, 'AUTH_INVALID_TOKEN', invalid('The token signature is invalid')],
    ['a token signed by another key with its own key id', (s) => mint(s, {}, { key: other }), 401, 'AUTH_INVALID_TOKEN', invalid('The token is signed with an unknown key')],
    ['a token whose scope claim is not a string', (s) => mint(s, { scope: [READ, RENDER] }), 401, 'AUTH_INVALID_TOKEN', invalid('The scope claim is malformed')],
  ];

  it.each(attacks)('refuses %s on an image miss with its status, code and exact challenge, before any S3 call', async (_what, token, status, code, challenge) => {
    // Prepare
    const before = await footprint(t);
    const sent = await token(t);
    t.s3Calls.length = 0;

    // Act
    const answer = await t.send(`/iiif/3/fresh-attacks/full/111,/0/default.png`, sent === undefined ? {} : { token: sent });

    // Assess
    expectRefusal(answer, status, code, challenge);
    expect(t.s3Calls).toEqual([]);
    expect(await footprint(t)).toEqual(before);
  });

  it('refuses info.json and existing derivatives to a client without a token', async () => {
    // Prepare
    const created = await t.request(`/iiif/3/${GRID_ID}/full/90,/0/default.png`, { token: await t.token() });

    // Act
    const info = await t.request(`/iiif/3/${GRID_ID}/info.json`);
    const hit = await t.request(`/iiif/3/${GRID_ID}/full/90,/0/default.png`);

    // Assess
    expect(created.status).toBe(302);
    expectRefusal(info, 401, 'AUTH_MISSING_TOKEN', MISSING_READ);
    expectRefusal(hit, 401, 'AUTH_MISSING_TOKEN', MISSING_READ);
  });

  it('refuses a read-only token asking for a missing derivative with 403, and writes and renders nothing', async () => {
    // Prepare
    const readOnly = await t.token([READ]);
    const before = await footprint(t);
    t.s3Calls.length = 0;

    // Act
    const answer = await t.request('/iiif/3/fresh-read-only/full/50,/0/default.png', { token: readOnly });

    // Assess
    expectRefusal(answer, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_RENDER);
    expect(t.s3Calls.filter((call) => call.startsWith('PutObjectCommand'))).toEqual([]);
    expect(await footprint(t)).toEqual(before);
  });

  it('lets a read-only token read info.json and a derivative that exists, and nothing else', async () => {
    // Prepare
    const readOnly = await t.token([READ]);
    const created = await t.request(`/iiif/2/${GRID_ID}/full/80,/0/default.png`, { token: await t.token() });
    const before = await footprint(t);

    // Act
    const info = await t.request(`/iiif/2/${GRID_ID}/info.json`, { token: readOnly });
    const hit = await t.request(`/iiif/3/${GRID_ID}/full/80,80/0/default.png`, { token: readOnly });
    const miss = await t.request(`/iiif/3/${GRID_ID}/full/81,81/0/default.png`, { token: readOnly });

    // Assess
    expect(created.status).toBe(302);
    expect(info.status).toBe(200);
    expect(info.headers['cache-control']).toBe('private, max-age=300');
    expect(hit.status).toBe(302);
    expect(hit.headers.location).toBe(created.headers.location);
    expectRefusal(miss, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_RENDER);
    expect(await footprint(t)).toEqual(before);
  });

  it('keeps a source record built for a read-only client in memory, and stores it once a client who may render asks', async () => {
    // Prepare
    const readOnly = await t.token([READ]);

    // Act
    const info = await t.request('/iiif/3/fresh-later/info.json', { token: readOnly });
    const afterRead = await t.derivativeExists('!recto/records/fresh-later/source.json');
    const rendered = await t.request('/iiif/3/fresh-later/full/max/0/default.png', { token: await t.token() });

    // Assess
    expect(info.status).toBe(200);
    expect((info.json() as { width: number }).width).toBe(200);
    expect(afterRead).toBe(false);
    expect(rendered.status).toBe(302);
    expect(await t.derivativeExists('!recto/records/fresh-later/source.json')).toBe(true);
    expect(await t.derivativeExists('fresh-later/full/200,100/0/default.png')).toBe(true);
  });

  it('refuses a valid token without either scope with 403 naming the read scope, and writes nothing', async () => {
    // Prepare
    const noScope = await mint(t, { scope: undefined });
    const before = await footprint(t);

    // Act
    const info = await t.request('/iiif/3/fresh-no-scope/info.json', { token: noScope });
    const image = await t.request('/iiif/3/fresh-no-scope/full/max/0/default.png', { token: noScope });

    // Assess
    expectRefusal(info, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_READ);
    expectRefusal(image, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_READ);
    expect(await footprint(t)).toEqual(before);
  });

  it('takes scopes from an scp array as well as from the scope string', async () => {
    // Prepare
    const both = await mint(t, { scope: undefined, scp: [READ, RENDER] });
    const readOnly = await mint(t, { scope: undefined, scp: [READ] });

    // Act
    const rendered = await t.request(`/iiif/3/${GRID_ID}/full/70,/0/default.png`, { token: both });
    const refused = await t.request(`/iiif/3/${GRID_ID}/full/71,/0/default.png`, { token: readOnly });
    const read = await t.request(`/iiif/3/${GRID_ID}/full/70,70/0/default.png`, { token: readOnly });

    // Assess
    expect(rendered.status).toBe(302);
    expect(await t.derivativeExists(`${GRID_ID}/full/70,70/0/default.png`)).toBe(true);
    expectRefusal(refused, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_RENDER);
    expect(await t.derivativeExists(`${GRID_ID}/full/71,71/0/default.png`)).toBe(false);
    expect(read.status).toBe(302);
  });

  it.each(['access_token', 'token', 'authorization', 'jwt'])('ignores a valid token sent as ?%s= in the query string (401)', async (parameter) => {
    // Prepare
    const token = await t.token();
    const before = await footprint(t);

    // Act
    const answer = await t.send(`/iiif/3/fresh-query/full/60,/0/default.png?${parameter}=${token}`);

    // Assess
    expectRefusal(answer, 401, 'AUTH_MISSING_TOKEN', MISSING_READ);
    expect(await footprint(t)).toEqual(before);
  });
});

describe('with IIIF_PUBLIC_READ=true', () => {
  let t: TestStack;

  beforeAll(async () => {
    t = await startTestStack({ env: { IIIF_PUBLIC_READ: 'true' }, sources: await freshSources() });
  });

  afterAll(async () => {
    await t.close();
  });

  it('serves info.json to anonymous clients, cacheable publicly', async () => {
    // Act
    const info = await t.request(`/iiif/3/${GRID_ID}/info.json`);

    // Assess
    expect(info.status).toBe(200);
    expect(info.headers['cache-control']).toBe('public, max-age=300');
  });

  it('redirects an anonymous client to a derivative that exists', async () => {
    // Prepare
    const created = await t.request(`/iiif/3/${GRID_ID}/full/75,/0/default.png`, { token: await t.token() });

    // Act
    const hit = await t.request(`/iiif/3/${GRID_ID}/full/75,75/0/default.png`);

    // Assess
    expect(created.status).toBe(302);
    expect(hit.status).toBe(302);
    expect(hit.headers.location).toBe(created.headers.location);
  });

  it('refuses an anonymous client a missing derivative with 401 asking for the render scope, and writes and renders nothing', async () => {
    // Prepare
    const before = await footprint(t);
    t.s3Calls.length = 0;

    // Act
    const answer = await t.request('/iiif/3/fresh-public/full/40,/0/default.png');

    // Assess
    expectRefusal(answer, 401, 'AUTH_MISSING_TOKEN', MISSING_RENDER);
    expect(t.s3Calls.filter((call) => call.startsWith('PutObjectCommand'))).toEqual([]);
    expect(await footprint(t)).toEqual(before);
  });

  it('refuses a read-only token a missing derivative with 403, and writes nothing', async () => {
    // Prepare
    const before = await footprint(t);

    // Act
    const answer = await t.request('/iiif/3/fresh-public-read-only/full/40,/0/default.png', { token: await t.token([READ]) });

    // Assess
    expectRefusal(answer, 403, 'AUTH_INSUFFICIENT_SCOPE', INSUFFICIENT_RENDER);
    expect(await footprint(t)).toEqual(before);
  });

  it('still refuses a bad token with 401 rather than treating its bearer as anonymous', async () => {
    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/info.json`, { token: await mint(t, { exp: nowSeconds() - 3600, iat: nowSeconds() - 7200 }) });

    // Assess
    expectRefusal(answer, 401, 'AUTH_INVALID_TOKEN', invalid('The token has expired'));
  });
});

describe('with IIIF_AUTH=off', () => {
  let t: TestStack;

  beforeAll(async () => {
    t = await startTestStack({ env: { IIIF_AUTH: 'off' } });
  });

  afterAll(async () => {
    await t.close();
  });

  it('renders for a client without a token, and ignores whatever Authorization header is sent', async () => {
    // Act
    const anonymous = await t.request(`/iiif/3/${GRID_ID}/full/65,/0/default.png`);
    const garbage = await t.request(`/iiif/3/${GRID_ID}/full/66,/0/default.png`, { token: 'not-a-token' });
    const info = await t.request(`/iiif/3/${GRID_ID}/info.json`);

    // Assess
    expect(anonymous.status).toBe(302);
    expect(garbage.status).toBe(302);
    expect(info.status).toBe(200);
    expect(await t.derivativeExists(`${GRID_ID}/full/65,65/0/default.png`)).toBe(true);
    expect(await t.derivativeExists(`${GRID_ID}/full/66,66/0/default.png`)).toBe(true);
    expect(t.engine.count).toBe(2);
  });
});
