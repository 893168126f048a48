/**
 * Auth attacks over real HTTP. lib/auth's own tests (test/unit/auth/
 * attacks.test.ts) prove each refusal with an injected clock; here the same attacks go through
 * the whole stack, so what is proved is what a client meets: a 401 with a challenge, no storage
 * call, no render, no write, and for a key URL in the token header, no request to it. Then a
 * sweep: anonymous and read-only clients, over every route and method, never cause a render or a
 * write. And a fuzz of the Authorization header: never a 5xx.
 */
import fc from 'fast-check';
import { base64url, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridImage } from '../support/fixtures.js';
import { generateSigningKey, signToken, signWithSecret, startJwksServer, TEST_AUDIENCE, TEST_ISSUER, type JwksServer, type SigningKey } from '../support/jwt.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { plain, startMockedGateway, type MockedGateway } from './gateway.js';
import { answerProblems, callProblems, parseS3Call, pool } from './support.js';

let t: TestStack;
let trusted: SigningKey;
let attacker: SigningKey;
let jwks: JwksServer;
let attackerJwks: JwksServer;
/** Every token minted here, to look for in the logs afterwards. */
const minted: string[] = [];

const now = (): number => Math.floor(Date.now() / 1000);

async function token(key: SigningKey, options: { scope?: string; claims?: Record<string, unknown>; header?: Record<string, unknown> } = {}): Promise<string> {
  const signed = await signToken(key, {
    claims: { iat: now(), exp: now() + 600, ...(options.scope === undefined ? {} : { scope: options.scope }), ...options.claims },
    ...(options.header === undefined ? {} : { header: options.header }),
  });
  minted.push(signed);
  return signed;
}

beforeAll(async () => {
  [trusted, attacker] = await Promise.all([generateSigningKey('ES256', 'trusted'), generateSigningKey('ES256', 'attacker')]);
  jwks = await startJwksServer([trusted.publicJwk]);
  attackerJwks = await startJwksServer([{ ...attacker.publicJwk, kid: 'trusted' }]);
  t = await startTestStack({
    env: { JWT_JWKS_URL: jwks.url.href, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE },
    sources: { 'cold.png': (await gridImage({ width: 300, height: 200 })).png },
  });
  // The grid's record exists; cold's does not (its first describer would write it).
  expect((await t.request(`/iiif/3/${GRID_ID}/info.json`, { token: await token(trusted, { scope: 'iiif:read iiif:render' }) })).status).toBe(200);
});

afterAll(async () => {
  await t.close();
  await jwks.close();
  await attackerJwks.close();
});

describe('attacks on the token, over HTTP', () => {
  /** A cold derivative: with a valid render token it would be rendered and written. */
  const COLD = `/iiif/3/${GRID_ID}/full/222,/0/default.png`;

  const attacks: readonly { name: string; request: () => Promise<{ path: string; authorization?: string }>; description: RegExp }[] = [
    {
      name: 'a valid render token in the query string (access_token), no header',
      request: async () => ({ path: `${COLD}?access_token=${await token(trusted, { scope: 'iiif:render' })}` }),
      description: /^$/,
    },
    {
      name: 'a valid render token in the query string (token, jwt), no header',
      request: async () => {
        const valid = await token(trusted, { scope: 'iiif:render' });
        return { path: `${COLD}?token=${valid}&jwt=${valid}&authorization=Bearer%20${valid}` };
      },
      description: /^$/,
    },
    {
      name: 'a token of 8193 characters',
      request: () => Promise.resolve({ path: COLD, authorization: `Bearer ${'a'.repeat(8190)}.b.` }),
      description: /longer than 8192/,
    },
    {
      name: 'a token signed by an unknown key under a kid the key set does not have',
      request: async () => ({ path: COLD, authorization: `Bearer ${await token(attacker, { scope: 'iiif:render' })}` }),
      description: /unknown key/,
    },
    {
      name: 'a token signed by an unknown key claiming the trusted kid, with jku and x5u pointing at the attacker\'s key set',
      request: async () => ({
        path: COLD,
        authorization: `Bearer ${await token(attacker, { scope: 'iiif:render', header: { kid: 'trusted', jku: attackerJwks.url.href, x5u: attackerJwks.url.href } })}`,
      }),
      description: /signature is invalid/,
    },
    {
      name: 'a token with the attacker\'s public key embedded in its jwk header',
      request: async () => ({
        path: COLD,
        authorization: `Bearer ${await token(attacker, { scope: 'iiif:render', header: { kid: 'trusted', jwk: await exportJWK(attacker.publicKey) } })}`,
      }),
      description: /signature is invalid/,
    },
    {
      name: 'a trusted token that claims to live ten years',
      request: async () => ({ path: COLD, authorization: `Bearer ${await token(trusted, { scope: 'iiif:render', claims: { exp: now() + 10 * 365 * 86_400 } })}` }),
      description: /lifetime exceeds/,
    },
    {
      name: 'a trusted token expired 40 s ago (the tolerance is 30 s)',
      request: async () => ({ path: COLD, authorization: `Bearer ${await token(trusted, { scope: 'iiif:render', claims: { iat: now() - 600, exp: now() - 40 } })}` }),
      description: /expired/,
    },
    {
      name: 'a trusted token not valid for another 40 s',
      request: async () => ({ path: COLD, authorization: `Bearer ${await token(trusted, { scope: 'iiif:render', claims: { nbf: now() + 40 } })}` }),
      description: /not valid yet/,
    },
    {
      name: 'an unsigned token (alg none)',
      request: () => {
        const encode = (value: unknown): string => base64url.encode(JSON.stringify(value));
        const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600, scope: 'iiif:render' })}.`;
        return Promise.resolve({ path: COLD, authorization: `Bearer ${unsigned}` });
      },
      description: /algorithm is not accepted/,
    },
    {
      name: 'a token signed with HS256 using the trusted public key as the secret',
      request: async () => {
        const secret = new TextEncoder().encode(JSON.stringify(trusted.publicJwk));
        const forged = await signWithSecret(secret, { claims: { iat: now(), exp: now() + 600, scope: 'iiif:render' }, header: { kid: 'trusted' } });
        minted.push(forged);
        return { path: COLD, authorization: `Bearer ${forged}` };
      },
      description: /algorithm is not accepted/,
    },
    {
      name: 'a trusted token whose payload was edited to add the render scope',
      request: async () => {
        const [header = '', , signature = ''] = (await token(trusted, { scope: 'iiif:read' })).split('.');
        const payload = base64url.encode(JSON.stringify({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600, scope: 'iiif:read iiif:render' }));
        return { path: COLD, authorization: `Bearer ${header}.${payload}.${signature}` };
      },
      description: /signature is invalid/,
    },
  ];

  it.each(attacks)('refuses $name with 401, and neither reads storage, renders nor writes', async (attack) => {
    // Prepare
    const { path, authorization } = await attack.request();
    const keyServerRequests = attackerJwks.requests;
    const before = await t.listDerivatives();
    t.s3Calls.length = 0;
    const renders = t.engine.count;

    // Act
    const answer = await t.send(path, { headers: authorization === undefined ? {} : { authorization } });

    // Assess
    expect(answer.status).toBe(401);
    expect(answerProblems({ status: answer.status, headers: answer.headers, body: answer.text() })).toEqual([]);
    const challenge = answer.headers['www-authenticate'] ?? '';
    expect(challenge).toMatch(/^Bearer realm="recto"/);
    if (authorization === undefined) {
      // No header at all: the query string was not read.
      expect((answer.json() as { error: string }).error).toBe('AUTH_MISSING_TOKEN');
    } else {
      expect((answer.json() as { error: string }).error).toBe('AUTH_INVALID_TOKEN');
      expect(/error_description="([^"]*)"/.exec(challenge)?.[1]).toMatch(attack.description);
    }
    // Parsed first (a malformed request costs nothing), then refused before storage is asked.
    expect(t.s3Calls).toEqual([]);
    expect(t.engine.count).toBe(renders);
    expect(await t.listDerivatives()).toEqual(before);
    expect(attackerJwks.requests).toBe(keyServerRequests);
  });

  it('accepts a trusted token expired 20 s ago, within the 30 s clock tolerance, and renders for it', async () => {
    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/223,/0/default.png`, {
      token: await token(trusted, { scope: 'iiif:render', claims: { iat: now() - 600, exp: now() - 20 } }),
    });

    // Assess
    expect(answer.status).toBe(302);
    expect(attackerJwks.requests).toBe(0);
  });
});

describe('anonymous and read-only clients', () => {
  it('never cause a render or a write, over every route, method and cold derivative', async () => {
    // Prepare
    const readOnly = await token(trusted, { scope: 'iiif:read' });
    const scopeless = await token(trusted, { scope: 'openid' });
    const callers: readonly (string | undefined)[] = [undefined, readOnly, scopeless];
    const paths = [
      `/iiif/3/${GRID_ID}/full/333,/0/default.png`, `/iiif/2/${GRID_ID}/full/334,/0/default.jpg`, `/iiif/${GRID_ID}/0,0,10,10/10,/90/gray.webp`,
      `/iiif/3/${GRID_ID}/full/max/45/default.png`, '/iiif/3/cold/full/max/0/default.png', '/iiif/3/cold/info.json', '/iiif/2/cold/info.json',
      '/iiif/3/cold', '/iiif/presets/cold', `/iiif/presets/${GRID_ID}`, '/iiif/3/nope/full/max/0/default.png', '/iiif/3/nope/info.json',
    ];
    const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE'];
    const requests = callers.flatMap((caller) => paths.flatMap((path) => methods.map((method) => ({ caller, path, method }))));
    const before = await t.listDerivatives();
    t.s3Calls.length = 0;
    const renders = t.engine.count;

    // Act
    const answers = await pool(requests, 6, ({ caller, path, method }) =>
      t.send(path, { method, ...(caller === undefined ? {} : { token: caller }) }),
    );

    // Assess
    const statuses = new Set(answers.map((answer) => answer.status));
    expect([...statuses].every((status) => [200, 204, 303, 401, 403, 404, 405].includes(status))).toBe(true);
    expect(statuses.has(401) && statuses.has(403) && statuses.has(200)).toBe(true);
    expect(callProblems(t.s3Calls.map(parseS3Call), t.stack.config, { writes: false })).toEqual([]);
    expect(t.engine.count).toBe(renders);
    expect(await t.listDerivatives()).toEqual(before);
  });
});

describe('the Authorization header under fuzzing', () => {
  let gateway: MockedGateway;

  beforeAll(async () => {
    gateway = await startMockedGateway({
      derivativesExist: false,
      env: { IIIF_AUTH: 'on', JWT_PUBLIC_KEY: trusted.spki, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE },
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('answers any header value with 401 or 403 (or a read), never a 5xx, a render or a write, and never logs the value', async () => {
    // Prepare
    const part = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.base64String({ maxLength: 60 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')),
      fc.jsonValue().map((value) => base64url.encode(JSON.stringify(value))),
      fc.record({ alg: fc.constantFrom('ES256', 'RS256', 'none', 'HS256', 'EdDSA', 'PS256', '', 'ES256K'), kid: fc.string(), crit: fc.array(fc.string()), b64: fc.boolean(), typ: fc.string() }, { requiredKeys: ['alg'] })
        .map((header) => base64url.encode(JSON.stringify(header))),
    );
    const value = fc.oneof(
      fc.tuple(part, part, part).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer  ', ''), fc.string({ unit: 'binary', maxLength: 100 })).map(([scheme, rest]) => `${scheme} ${rest}`),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.integer({ min: 8000, max: 9000 }).map((n) => `Bearer ${'x'.repeat(n)}.y.z`),
    );

    // Act
    await fc.assert(
      fc.asyncProperty(value, fc.constantFrom('/iiif/3/grid/full/100,/0/default.jpg', '/iiif/3/grid/info.json', '/iiif/3/fresh/info.json'), async (authorization, path) => {
        gateway.resetCalls();
        const answer = plain(await gateway.send('GET', path, { authorization }));
        const problems = answerProblems(answer);
        if (![200, 401, 403].includes(answer.status)) problems.push(`status ${answer.status} ${answer.body.slice(0, 200)}`);
        problems.push(...callProblems(gateway.calls(), gateway.config, { writes: false }));
        if (problems.length > 0) throw new Error(`${JSON.stringify(authorization.slice(0, 120))} ${path}: ${problems.join('; ')}`);
      }),
      { numRuns: 1500 },
    );

    // Assess
    expect(gateway.renders()).toBe(0);
    const logged = gateway.logger.lines.join('\n');
    expect(logged).not.toMatch(/bearer|authorization/i);
  });
});

describe('the logs of all of the above', () => {
  it('hold no token, signature, Authorization header or query string', () => {
    // Prepare
    const logged = t.logger.lines.join('\n');

    // Assess
    expect(minted.length).toBeGreaterThan(10);
    for (const each of minted) {
      expect(logged).not.toContain(each);
      expect(logged).not.toContain(each.split('.')[2] ?? each);
    }
    expect(logged).not.toMatch(/bearer|authorization|access_token|\?token=/i);
  });
});
