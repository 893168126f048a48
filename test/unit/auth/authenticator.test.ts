import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator, type Principal } from '../../../lib/auth/index.js';
import type { AuthConfig } from '../../../lib/config.js';
import {
  NOW,
  NOW_S,
  TEST_ISSUER,
  generateSigningKey,
  signToken,
  signWithSecret,
  startJwksServer,
  unsignedToken,
  type JwksServer,
  type SigningKey,
} from '../../support/jwt.js';
import { BASE_CONFIG, essentials, failureOf, invalidToken, thrownBy } from './helpers.js';

let server: JwksServer;
let ecKey: SigningKey;
let rsaKey: SigningKey;
let strangerKey: SigningKey;
let config: AuthConfig;

beforeAll(async () => {
  [ecKey, rsaKey, strangerKey] = await Promise.all([
    generateSigningKey('ES256', 'ec-1'),
    generateSigningKey('RS256', 'rsa-1'),
    generateSigningKey('ES256', 'stranger'),
  ]);
  server = await startJwksServer([ecKey.publicJwk, rsaKey.publicJwk]);
  config = { ...BASE_CONFIG, jwksUrl: server.url };
});

afterAll(async () => {
  await server.close();
});

function authenticator(overrides: Partial<AuthConfig> = {}): Authenticator {
  return new Authenticator({ ...config, ...overrides }, { currentDate: () => NOW });
}

describe('Authenticator.authenticate with a JWKS URL', () => {
  it('returns an anonymous principal without scopes when there is no Authorization header', async () => {
    // Prepare
    const auth = authenticator();

    // Act
    const principal = await auth.authenticate(undefined);

    // Assess
    expect(principal.anonymous).toBe(true);
    expect(principal.subject).toBeUndefined();
    expect([...principal.scopes]).toEqual([]);
  });

  it('returns the subject and the scopes of a valid ES256 token', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { sub: 'reader-7', scope: 'iiif:read openid' } });

    // Act
    const principal = await authenticator().authenticate(`Bearer ${token}`);

    // Assess
    expect(principal.anonymous).toBe(false);
    expect(principal.subject).toBe('reader-7');
    expect([...principal.scopes].sort()).toEqual(['iiif:read', 'openid']);
  });

  it('accepts an RS256 token from the same key set and a lower-case scheme', async () => {
    // Prepare
    const token = await signToken(rsaKey, { claims: { scope: 'iiif:render' } });

    // Act
    const principal = await authenticator().authenticate(`bearer ${token}`);

    // Assess
    expect([...principal.scopes]).toEqual(['iiif:render']);
  });

  it('reads the scopes from an scp array', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { scp: ['iiif:read', 'iiif:render'] } });

    // Act
    const principal = await authenticator().authenticate(`Bearer ${token}`);

    // Assess
    expect([...principal.scopes].sort()).toEqual(['iiif:read', 'iiif:render']);
  });

  it('reads the scopes from an scp string and merges them with the scope claim', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { scope: 'iiif:read', scp: 'iiif:render  extra' } });

    // Act
    const principal = await authenticator().authenticate(`Bearer ${token}`);

    // Assess
    expect([...principal.scopes].sort()).toEqual(['extra', 'iiif:read', 'iiif:render']);
  });

  it.each([
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNzd29yZA==', 'Expected the Bearer scheme'],
    ['an empty value', '', 'Expected the Bearer scheme'],
    ['the scheme alone', 'Bearer', 'Expected one Bearer token'],
    ['two tokens', 'Bearer a.b.c d.e.f', 'Expected one Bearer token'],
    ['two joined Authorization headers', 'Bearer a.b.c, Bearer d.e.f', 'Expected one Bearer token'],
    ['a token68 that is not a JWT', 'Bearer abc+def/ghi=', 'The token is not a JWT'],
    ['a JWT with two parts', 'Bearer abc.def', 'The token is not a JWT'],
    ['header and payload that are not JSON', 'Bearer abc.def.ghi', 'The token is malformed'],
  ])('rejects %s with 401 invalid_token', async (_case, header, description) => {
    // Act
    const failure = await failureOf(authenticator().authenticate(header));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken(description));
  });

  it('rejects an invalid token even when reads are public, rather than treating it as anonymous', async () => {
    // Prepare
    const token = await signToken(strangerKey, { header: { kid: ecKey.kid } });

    // Act
    const failure = await failureOf(authenticator({ publicRead: true }).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
  });

  it('never echoes a Basic password in the error message', async () => {
    // Act
    const failure = await failureOf(authenticator().authenticate('Basic c2VjcmV0LXBhc3N3b3Jk'));

    // Assess
    expect(failure.message).toBe('Expected the Bearer scheme for the Authorization header but received "Basic"');
  });

  it('rejects an expired token', async () => {
    // Prepare: expired 31 s ago, one second past the 30 s tolerance
    const token = await signToken(ecKey, { claims: { iat: NOW_S - 3600, exp: NOW_S - 31 } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token has expired'));
  });

  it('says when an expired token expired, in ISO 8601, and where to get a new one (not a raw epoch)', async () => {
    // Prepare: expired 31 s ago
    const exp = NOW_S - 31;
    const token = await signToken(ecKey, { claims: { iat: NOW_S - 3600, exp } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess: the message (the JSON detail) reads as a time; the challenge keeps its fixed text.
    const at = new Date(exp * 1000).toISOString().replace(/\.000Z$/, 'Z');
    expect(failure.message).toBe(`The token expired at ${at} (exp ${exp}), 31 s before this request; get a new token from its issuer ("${TEST_ISSUER}")`);
    expect(essentials(failure)).toEqual(invalidToken('The token has expired'));
  });

  it('says from when a token that is not valid yet is valid, in ISO 8601', async () => {
    // Prepare
    const nbf = NOW_S + 31;
    const token = await signToken(ecKey, { claims: { nbf } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(failure.message).toBe(`The token is not valid before ${new Date(nbf * 1000).toISOString().replace(/\.000Z$/, 'Z')} (nbf ${nbf}), 31 s after this request; use it from then on, or check the clocks of the issuer and of this service`);
  });

  it('rejects a token that is not valid yet', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { nbf: NOW_S + 31 } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token is not valid yet'));
  });

  it('rejects a token from another issuer and says which value it got', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { iss: 'https://evil.test/' } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token issuer is not accepted'));
    expect(failure.message).toBe('Expected an acceptable value for the iss claim but received "https://evil.test/"');
  });

  it('rejects a token for another audience', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { aud: ['someone-else'] } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token audience is not accepted'));
  });

  it('accepts a token without aud whose client_id is the audience (a Cognito access token)', async () => {
    // Prepare
    const token = await signToken(ecKey, { omit: ['aud'], claims: { client_id: 'recto', token_use: 'access', scope: 'iiif:read' } });

    // Act
    const principal = await authenticator().authenticate(`Bearer ${token}`);

    // Assess
    expect([principal.anonymous, [...principal.scopes]]).toEqual([false, ['iiif:read']]);
  });

  it('does not read client_id when the token has an aud that names someone else', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { aud: 'someone-else', client_id: 'recto' } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token audience is not accepted'));
    expect(failure.message).toBe('Expected an acceptable value for the aud claim but received "someone-else"');
  });

  it.each([
    ['no aud and no client_id', {}, 'Expected the aud claim in the token but it has none'],
    ['no aud and another client_id', { client_id: 'another-app' }, 'Expected an acceptable value for the client_id claim of a token without aud but received "another-app"'],
  ])('rejects a token with %s as having no audience', async (_case, claims, message) => {
    // Prepare
    const token = await signToken(ecKey, { omit: ['aud'], claims });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token has no aud claim'));
    expect(failure.message).toBe(message);
  });

  it('rejects an aud that is neither a string nor an array of strings', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { aud: [7] } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The aud claim is malformed'));
    expect(failure.message).toBe('Expected a string or an array of strings for the aud claim but received "[7]"');
  });

  it('checks the audience only after the lifetime: an expired Cognito access token is refused as expired', async () => {
    // Prepare
    const token = await signToken(ecKey, { omit: ['aud'], claims: { client_id: 'recto', iat: NOW_S - 7200, exp: NOW_S - 3600 } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token has expired'));
  });

  it('rejects a token without exp', async () => {
    // Prepare
    const token = await signToken(ecKey, { omit: ['exp'] });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token has no exp claim'));
  });

  it('rejects a token without iat, which the max-age check needs', async () => {
    // Prepare
    const token = await signToken(ecKey, { omit: ['iat'] });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token has no iat claim'));
  });

  it('rejects an unsigned token (alg: none)', async () => {
    // Prepare: built by hand, with the kid of a real key to look as legitimate as possible
    const token = unsignedToken({ header: { kid: ecKey.kid }, claims: { scope: 'iiif:render' } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token algorithm is not accepted'));
  });

  it.each([
    ['the RSA public key as PEM', () => rsaKey.spki, () => rsaKey.kid],
    ['the RSA public key as JWK JSON', () => JSON.stringify(rsaKey.publicJwk), () => rsaKey.kid],
    ['the EC public key as PEM', () => ecKey.spki, () => ecKey.kid],
  ])('rejects an HS256 token signed with %s as the secret (key confusion)', async (_case, secret, kid) => {
    // Prepare
    const token = await signWithSecret(new TextEncoder().encode(secret()), { header: { kid: kid() }, claims: { scope: 'iiif:render' } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token algorithm is not accepted'));
  });

  it('rejects a token signed by an unknown key that claims a known kid', async () => {
    // Prepare
    const token = await signToken(strangerKey, { header: { kid: ecKey.kid } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
  });

  it('rejects a token signed by an unknown key under its own kid', async () => {
    // Prepare
    const token = await signToken(strangerKey);

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token is signed with an unknown key'));
  });

  it('rejects a valid token whose payload was altered to add a scope', async () => {
    // Prepare: swap in a payload that grants render, keep the original signature
    const token = await signToken(ecKey, { claims: { scope: 'iiif:read' } });
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ iss: config.issuer, aud: config.audience, iat: NOW_S, exp: NOW_S + 60, scope: 'iiif:render' })).toString('base64url');

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${header ?? ''}.${forged}.${signature ?? ''}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
  });

  it.each([
    ['a numeric scope claim', { scope: 42 }, 'The scope claim is malformed'],
    ['an scp array holding a number', { scp: ['iiif:read', 7] }, 'The scp claim is malformed'],
    ['an object as scp', { scp: { read: true } }, 'The scp claim is malformed'],
    ['a numeric sub', { sub: 12 }, 'The sub claim is malformed'],
  ])('rejects %s as malformed rather than ignoring it', async (_case, claims, description) => {
    // Prepare
    const token = await signToken(ecKey, { claims });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken(description));
  });

  it('says in the message what a malformed claim held, JSON-escaped', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { scp: ['iiif:read', 7] } });

    // Act
    const failure = await failureOf(authenticator().authenticate(`Bearer ${token}`));

    // Assess
    expect(failure.message).toBe('Expected an array of strings or a space-separated string for the scp claim but received "[\\"iiif:read\\",7]"');
  });
});

describe('Authenticator.authorize and can', () => {
  const reader: Principal = { anonymous: false, subject: 'r', scopes: new Set(['iiif:read']) };
  const renderer: Principal = { anonymous: false, subject: 'w', scopes: new Set(['iiif:render']) };
  const scopeless: Principal = { anonymous: false, subject: 'n', scopes: new Set(['openid']) };
  const anonymous: Principal = { anonymous: true, scopes: new Set() };

  it('lets the read scope read but answers 403 insufficient_scope when it asks to render', () => {
    // Prepare
    const auth = authenticator();

    // Act
    const failure = thrownBy(() => {
      auth.authorize(reader, 'render');
    });

    // Assess
    expect(auth.can(reader, 'read')).toBe(true);
    expect(auth.can(reader, 'render')).toBe(false);
    expect(essentials(failure)).toEqual({
      code: 'AUTH_INSUFFICIENT_SCOPE',
      status: 403,
      headers: { 'www-authenticate': 'Bearer realm="recto", error="insufficient_scope", scope="iiif:render"' },
    });
    expect(failure.message).toBe('Expected a token with the "iiif:render" scope for rendering a derivative that does not exist yet but received one with the scopes "iiif:read"');
  });

  it('lets the render scope read and render (render implies read)', () => {
    // Prepare
    const auth = authenticator();

    // Act
    const allowed = [auth.can(renderer, 'read'), auth.can(renderer, 'render')];

    // Assess
    expect(allowed).toEqual([true, true]);
    expect(() => {
      auth.authorize(renderer, 'render');
    }).not.toThrow();
  });

  it('answers an anonymous read with 401 missing token and a scope hint when reads are not public', () => {
    // Act
    const failure = thrownBy(() => {
      authenticator().authorize(anonymous, 'read');
    });

    // Assess
    expect(essentials(failure)).toEqual({
      code: 'AUTH_MISSING_TOKEN',
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="recto", scope="iiif:read"' },
    });
  });

  it('lets anonymous clients read with public read, but never render', () => {
    // Prepare
    const auth = authenticator({ publicRead: true });

    // Act
    const failure = thrownBy(() => {
      auth.authorize(anonymous, 'render');
    });

    // Assess
    expect(auth.can(anonymous, 'read')).toBe(true);
    expect(essentials(failure)).toEqual({
      code: 'AUTH_MISSING_TOKEN',
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="recto", scope="iiif:render"' },
    });
  });

  it('gives a token without Recto scopes what anonymous clients get, and 403 beyond it', () => {
    // Prepare
    const closed = authenticator();
    const open = authenticator({ publicRead: true });

    // Act
    const failure = thrownBy(() => {
      closed.authorize(scopeless, 'read');
    });

    // Assess
    expect(essentials(failure)).toEqual({
      code: 'AUTH_INSUFFICIENT_SCOPE',
      status: 403,
      headers: { 'www-authenticate': 'Bearer realm="recto", error="insufficient_scope", scope="iiif:read"' },
    });
    expect(open.can(scopeless, 'read')).toBe(true);
    expect(open.can(scopeless, 'render')).toBe(false);
  });

  it('uses the scope names from the configuration', async () => {
    // Prepare
    const auth = authenticator({ readScope: 'images.view', renderScope: 'images.make' });
    const token = await signToken(ecKey, { claims: { scp: ['images.view'] } });
    const principal = await auth.authenticate(`Bearer ${token}`);

    // Act
    const failure = thrownBy(() => {
      auth.authorize(principal, 'render');
    });

    // Assess
    expect(auth.can(principal, 'read')).toBe(true);
    expect(failure.headers).toEqual({ 'www-authenticate': 'Bearer realm="recto", error="insufficient_scope", scope="images.make"' });
  });
});

describe('Authenticator with auth off', () => {
  it('gives every request a principal holding both scopes, whatever the header says, without fetching keys', async () => {
    // Prepare: no key source configured at all, as with IIIF_AUTH=off
    const auth = new Authenticator({ ...BASE_CONFIG, enabled: false, readScope: 'r', renderScope: 'w' });
    const before = server.requests;

    // Act
    const principals = await Promise.all([auth.authenticate(undefined), auth.authenticate('Bearer garbage'), auth.authenticate('Basic x')]);

    // Assess
    for (const principal of principals) {
      expect([...principal.scopes].sort()).toEqual(['r', 'w']);
      expect(auth.can(principal, 'render')).toBe(true);
      expect(() => {
        auth.authorize(principal, 'render');
      }).not.toThrow();
    }
    expect(server.requests).toBe(before);
  });
});
