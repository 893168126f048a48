/**
 * Attacks on the auth beyond the basic list, and the key server failing.
 * Every case runs against real keys, real signatures and a real JWKS over HTTP.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authenticator, MAX_TOKEN_LENGTH, clearKeyCaches, type AuthenticatorOptions } from '../../../lib/auth/index.js';
import type { AuthConfig } from '../../../lib/config.js';
import {
  NOW,
  NOW_S,
  closedPortUrl,
  generateSigningKey,
  signToken,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from '../../support/jwt.js';
import { BASE_CONFIG, essentials, failureOf, invalidToken } from './helpers.js';

const servers: JwksServer[] = [];
let keyA: SigningKey;
let keyB: SigningKey;
let attackerKey: SigningKey;

beforeAll(async () => {
  [keyA, keyB, attackerKey] = await Promise.all([
    generateSigningKey('ES256', 'key-a'),
    generateSigningKey('ES256', 'key-b'),
    generateSigningKey('ES256', 'attacker'),
  ]);
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function jwksServer(...keys: SigningKey[]): Promise<JwksServer> {
  const server = await startJwksServer(keys.map((key) => key.publicJwk));
  servers.push(server);
  return server;
}

function authenticatorFor(url: URL, options: AuthenticatorOptions = {}, overrides: Partial<AuthConfig> = {}): Authenticator {
  return new Authenticator({ ...BASE_CONFIG, jwksUrl: url, ...overrides }, { currentDate: () => NOW, ...options });
}

/** A token signed by `key` whose compact form is exactly `length` characters. */
async function tokenOfLength(key: SigningKey, length: number): Promise<string> {
  // Each 3 bytes of claim add 4 characters; lengths that the payload alone cannot reach
  // (≡ 1 mod 4) are reached by also varying the header.
  for (const cty of ['', 'x', 'xy']) {
    const header = cty === '' ? {} : { cty };
    const base = await signToken(key, { claims: { pad: '' }, header });
    const estimate = Math.floor(((length - base.length) * 3) / 4);
    for (let pad = Math.max(0, estimate - 3); pad <= estimate + 3; pad += 1) {
      const token = await signToken(key, { claims: { pad: 'p'.repeat(pad) }, header });
      if (token.length === length) return token;
    }
  }
  throw new Error(`Could not build a token of ${length} characters`);
}

describe('oversized tokens', () => {
  it('rejects a token one character over the limit before parsing it or fetching keys', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const token = 'a'.repeat(MAX_TOKEN_LENGTH - 3) + '.b.';

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}x`));

    // Assess
    expect(`${token}x`.length).toBe(8193);
    expect(essentials(failure)).toEqual(invalidToken('The token is longer than 8192 characters'));
    expect(failure.message).toBe('Expected a token of at most 8192 characters for the Authorization header but received 8193');
    expect(server.requests).toBe(0);
  });

  it('rejects a megabyte-long header without looking inside it', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const header = `Bearer ${'A'.repeat(1024 * 1024)}`;

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(header));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token is longer than 8192 characters'));
    expect(server.requests).toBe(0);
  });

  it('accepts a valid token of exactly 8192 characters', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const token = await tokenOfLength(keyA, MAX_TOKEN_LENGTH);

    // Act
    const principal = await authenticatorFor(server.url).authenticate(`Bearer ${token}`);

    // Assess
    expect(token.length).toBe(8192);
    expect(principal.subject).toBe('user-1');
  });
});

describe('key ids and key headers', () => {
  it('rejects a kid that is not in the JWKS, and unknown kids do not make it refetch within the cooldown', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const auth = authenticatorFor(server.url);
    const tokens = await Promise.all(['ghost-1', 'ghost-2', 'ghost-3'].map((kid) => signToken(attackerKey, { header: { kid } })));

    // Act
    const failures = [];
    for (const token of tokens) failures.push(await failureOf(auth.authenticate(`Bearer ${token}`)));

    // Assess
    for (const failure of failures) expect(essentials(failure)).toEqual(invalidToken('The token is signed with an unknown key'));
    expect(server.requests).toBe(1);
  });

  it('ignores a jku header pointing at a foreign key set: the foreign server receives no request', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const foreign = await jwksServer(attackerKey);
    const token = await signToken(attackerKey, { header: { jku: foreign.url.href }, claims: { scope: 'iiif:render' } });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token is signed with an unknown key'));
    expect(foreign.requests).toBe(0);
  });

  it('ignores an x5u header and a jku header even when the token reuses a trusted kid', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const foreign = await jwksServer(attackerKey);
    const token = await signToken(attackerKey, {
      header: { kid: keyA.kid, jku: foreign.url.href, x5u: foreign.url.href },
      claims: { scope: 'iiif:render' },
    });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
    expect(foreign.requests).toBe(0);
  });

  it('ignores a public key embedded in the jwk header', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const { kty, crv, x, y } = attackerKey.publicJwk;
    const embedded = { kty, crv, x, y };
    const token = await signToken(attackerKey, { header: { kid: keyA.kid, jwk: embedded } });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
  });

  it('rejects a token without a kid when several keys could have signed it', async () => {
    // Prepare
    const server = await jwksServer(keyA, keyB);
    const token = await signToken(keyA, { header: { kid: undefined } });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token names no key (kid) and several keys match'));
  });

  it('accepts a token without a kid when exactly one key fits', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const token = await signToken(keyA, { header: { kid: undefined } });

    // Act
    const principal = await authenticatorFor(server.url).authenticate(`Bearer ${token}`);

    // Assess
    expect(principal.subject).toBe('user-1');
  });
});

describe('JWKS rotation', () => {
  it('accepts a new key once refetched after the cooldown, and refuses the old key once removed and the cache expires', async () => {
    // Prepare: fake only Date, which jose's JWKS cache reads; sockets and timeouts stay real.
    // The defaults are in force: 30 s refetch cooldown, 10 min cache age.
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2031-06-01T00:00:00Z').getTime();
    vi.setSystemTime(t0);
    const server = await jwksServer(keyA);
    const auth = authenticatorFor(server.url);
    const [tokenA, tokenB] = await Promise.all([signToken(keyA), signToken(keyB)]);
    const bearer = (token: string) => `Bearer ${token}`;

    // Act and assess, step by step
    // 1. The first request fetches the set; key A works.
    expect((await auth.authenticate(bearer(tokenA))).subject).toBe('user-1');
    expect(server.requests).toBe(1);

    // 2. Key B is published. 10 s after the fetch, within the cooldown, B's kid is unknown and
    //    does not trigger a refetch (so a flood of made-up kids cannot hammer the key server).
    server.serve([keyA.publicJwk, keyB.publicJwk]);
    vi.setSystemTime(t0 + 10_000);
    expect(essentials(await failureOf(auth.authenticate(bearer(tokenB))))).toEqual(invalidToken('The token is signed with an unknown key'));
    expect(server.requests).toBe(1);

    // 3. Past the cooldown, B's unknown kid triggers a refetch and B is accepted.
    vi.setSystemTime(t0 + 31_000);
    expect((await auth.authenticate(bearer(tokenB))).subject).toBe('user-1');
    expect(server.requests).toBe(2);

    // 4. Key A is removed. Until the cached set is 10 minutes old, A still verifies: that is
    //    the revocation window.
    server.serve([keyB.publicJwk]);
    vi.setSystemTime(t0 + 31_000 + 599_000);
    expect((await auth.authenticate(bearer(tokenA))).subject).toBe('user-1');
    expect(server.requests).toBe(2);

    // 5. Once the cache is older than 10 minutes the set is refetched, and A is refused.
    vi.setSystemTime(t0 + 31_000 + 601_000);
    expect(essentials(await failureOf(auth.authenticate(bearer(tokenA))))).toEqual(invalidToken('The token is signed with an unknown key'));
    expect(server.requests).toBe(3);
    expect((await auth.authenticate(bearer(tokenB))).subject).toBe('user-1');
    expect(server.requests).toBe(3);
  });

  it('fetches the key set again after clearKeyCaches, as a restarted local stack needs', async () => {
    // Prepare: the same URL now serves a different key (a key server restarted on a reused port)
    const server = await jwksServer(keyA);
    await authenticatorFor(server.url).authenticate(`Bearer ${await signToken(keyA)}`);
    server.serve([keyB.publicJwk]);

    // Act
    clearKeyCaches();
    const principal = await authenticatorFor(server.url).authenticate(`Bearer ${await signToken(keyB)}`);

    // Assess
    expect(principal.subject).toBe('user-1');
    expect(server.requests).toBe(2);
  });

  it('shares one key cache between authenticators for the same URL, as warm invocations do', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const token = await signToken(keyA);

    // Act
    await authenticatorFor(server.url).authenticate(`Bearer ${token}`);
    await authenticatorFor(server.url).authenticate(`Bearer ${token}`);

    // Assess
    expect(server.requests).toBe(1);
  });
});

describe('token lifetime and clock skew', () => {
  it('rejects an exp far in the future even though the token is young', async () => {
    // Prepare: issued now, valid for ten years
    const server = await jwksServer(keyA);
    const token = await signToken(keyA, { claims: { iat: NOW_S, exp: NOW_S + 10 * 365 * 86_400 } });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token lifetime exceeds 86400 seconds'));
    expect(failure.message).toBe('Expected a token lifetime (exp - iat) of at most 86400 seconds for the token but received 315360000');
  });

  it('accepts a lifetime of exactly the max age and rejects one second more', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const auth = authenticatorFor(server.url);
    const [atMax, overMax] = await Promise.all([
      signToken(keyA, { claims: { exp: NOW_S + 86_400 } }),
      signToken(keyA, { claims: { exp: NOW_S + 86_401 } }),
    ]);

    // Act
    const accepted = await auth.authenticate(`Bearer ${atMax}`);
    const failure = await failureOf(auth.authenticate(`Bearer ${overMax}`));

    // Assess
    expect(accepted.subject).toBe('user-1');
    expect(essentials(failure)).toEqual(invalidToken('The token lifetime exceeds 86400 seconds'));
  });

  it('rejects a token issued longer ago than the max age (plus tolerance)', async () => {
    // Prepare: a day and 31 s old, exp still ahead
    const server = await jwksServer(keyA);
    const token = await signToken(keyA, { claims: { iat: NOW_S - 86_431, exp: NOW_S - 86_431 + 86_400 + 60 } });

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token was issued too long ago'));
  });

  it('accepts an expired token until exactly the 30 s tolerance has passed, and rejects it from then on', async () => {
    // Prepare: exp is NOW; the clock moves
    const server = await jwksServer(keyA);
    let clock = NOW;
    const auth = authenticatorFor(server.url, { currentDate: () => clock });
    const token = await signToken(keyA, { claims: { iat: NOW_S - 600, exp: NOW_S } });

    // Act
    clock = new Date(NOW.getTime() + 29_999);
    const justInside = await auth.authenticate(`Bearer ${token}`);
    clock = new Date(NOW.getTime() + 30_000);
    const atEdge = await failureOf(auth.authenticate(`Bearer ${token}`));

    // Assess: RFC 7519 §4.1.4, not accepted "on or after" exp (+ tolerance)
    expect(justInside.subject).toBe('user-1');
    expect(essentials(atEdge)).toEqual(invalidToken('The token has expired'));
  });

  it('accepts nbf exactly 30 s ahead of the clock and rejects it 31 s ahead', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const auth = authenticatorFor(server.url);
    const [atEdge, pastEdge] = await Promise.all([
      signToken(keyA, { claims: { nbf: NOW_S + 30 } }),
      signToken(keyA, { claims: { nbf: NOW_S + 31 } }),
    ]);

    // Act
    const accepted = await auth.authenticate(`Bearer ${atEdge}`);
    const failure = await failureOf(auth.authenticate(`Bearer ${pastEdge}`));

    // Assess
    expect(accepted.subject).toBe('user-1');
    expect(essentials(failure)).toEqual(invalidToken('The token is not valid yet'));
  });

  it('accepts iat exactly 30 s in the future and rejects it 31 s ahead', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    const auth = authenticatorFor(server.url);
    const [atEdge, pastEdge] = await Promise.all([
      signToken(keyA, { claims: { iat: NOW_S + 30, exp: NOW_S + 3600 } }),
      signToken(keyA, { claims: { iat: NOW_S + 31, exp: NOW_S + 3600 } }),
    ]);

    // Act
    const accepted = await auth.authenticate(`Bearer ${atEdge}`);
    const failure = await failureOf(auth.authenticate(`Bearer ${pastEdge}`));

    // Assess
    expect(accepted.subject).toBe('user-1');
    expect(essentials(failure)).toEqual(invalidToken('The token was issued in the future'));
  });
});

describe('an unavailable key server', () => {
  const unavailable = {
    code: 'AUTH_KEYS_UNAVAILABLE',
    status: 503,
    headers: { 'retry-after': '5' },
  };

  it('answers 503 with Retry-After when nothing listens at the JWKS URL', async () => {
    // Prepare
    const url = await closedPortUrl();
    const token = await signToken(keyA);

    // Act
    const failure = await failureOf(authenticatorFor(url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(unavailable);
    expect(failure.name).toBe('UnavailableError');
    expect(failure.message).toBe(`Expected the JSON Web Key Set at ${url.origin}${url.pathname} to be readable for verifying the token but fetching it failed (ECONNREFUSED); try again later`);
  });

  it.each([
    ['answers 500', { kind: 'status', status: 500 }],
    ['answers 503', { kind: 'status', status: 503 }],
    ['answers a redirect', { kind: 'status', status: 302 }],
    ['answers invalid JSON', { kind: 'body', body: '<html>oops</html>' }],
    ['answers JSON that is not a key set', { kind: 'body', body: '{"keys":"none"}' }],
  ] as const)('answers 503 when the JWKS server %s', async (_case, behaviour) => {
    // Prepare
    const server = await jwksServer(keyA);
    server.behave(behaviour);
    const token = await signToken(keyA);

    // Act
    const failure = await failureOf(authenticatorFor(server.url).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(unavailable);
    expect(server.requests).toBe(1);
  });

  it('answers 503 within the timeout when the JWKS server never answers', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    server.behave({ kind: 'hang' });
    const token = await signToken(keyA);
    const started = performance.now();

    // Act
    const failure = await failureOf(authenticatorFor(server.url, { jwks: { timeoutMs: 200 } }).authenticate(`Bearer ${token}`));

    // Assess
    const elapsed = performance.now() - started;
    expect(essentials(failure)).toEqual(unavailable);
    expect(failure.message).toContain('(ERR_JWKS_TIMEOUT)');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('verifies again as soon as the key server recovers', async () => {
    // Prepare
    const server = await jwksServer(keyA);
    server.behave({ kind: 'status', status: 502 });
    const auth = authenticatorFor(server.url);
    const token = await signToken(keyA);
    const first = await failureOf(auth.authenticate(`Bearer ${token}`));

    // Act
    server.serve([keyA.publicJwk]);
    const principal = await auth.authenticate(`Bearer ${token}`);

    // Assess
    expect(essentials(first)).toEqual(unavailable);
    expect(principal.subject).toBe('user-1');
    expect(server.requests).toBe(2);
  });

  it('still answers 401, not 503, for a token that fails before any key is needed', async () => {
    // Prepare
    const url = await closedPortUrl();

    // Act
    const failure = await failureOf(authenticatorFor(url).authenticate('Bearer abc.def.ghi'));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token is malformed'));
  });
});
