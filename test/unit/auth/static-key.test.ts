/** JWT_PUBLIC_KEY: one static key, as PEM or JWK, and the configuration mistakes it refuses. */
import { exportPKCS8 } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../../lib/auth/index.js';
import { ConfigError, type AuthConfig } from '../../../lib/config.js';
import { NOW, generateSigningKey, signToken, signWithSecret, type SigningKey } from '../../support/jwt.js';
import { BASE_CONFIG, essentials, failureOf, invalidToken } from './helpers.js';

let ecKey: SigningKey;
let rsaKey: SigningKey;
let edKey: SigningKey;

beforeAll(async () => {
  [ecKey, rsaKey, edKey] = await Promise.all([
    generateSigningKey('ES256', 'ec'),
    generateSigningKey('RS256', 'rsa'),
    generateSigningKey('EdDSA', 'ed'),
  ]);
});

function withKey(publicKey: string, overrides: Partial<AuthConfig> = {}): Authenticator {
  return new Authenticator({ ...BASE_CONFIG, publicKey, ...overrides }, { currentDate: () => NOW });
}

/** The ConfigError a constructor throws, as { variable, message }. */
function configErrorOf(build: () => unknown): { variable: string; message: string } {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return { variable: error.variable, message: error.message };
    throw error;
  }
  throw new Error('Expected a ConfigError but the constructor returned');
}

describe('Authenticator with a static public key', () => {
  it('verifies an ES256 token against a PEM key', async () => {
    // Prepare
    const token = await signToken(ecKey, { claims: { scope: 'iiif:read' } });

    // Act
    const principal = await withKey(ecKey.spki).authenticate(`Bearer ${token}`);

    // Assess
    expect([...principal.scopes]).toEqual(['iiif:read']);
  });

  it('verifies an RS256 token against a JWK given as JSON', async () => {
    // Prepare
    const token = await signToken(rsaKey, { claims: { scope: 'iiif:render' } });

    // Act
    const principal = await withKey(JSON.stringify(rsaKey.publicJwk)).authenticate(`Bearer ${token}`);

    // Assess
    expect([...principal.scopes]).toEqual(['iiif:render']);
  });

  it('verifies an EdDSA token against a PEM key written on one line with literal \\n', async () => {
    // Prepare: how PEM often arrives through an environment variable
    const oneLine = edKey.spki.trim().replace(/\n/g, '\\n');
    const token = await signToken(edKey);

    // Act
    const principal = await withKey(oneLine).authenticate(`Bearer ${token}`);

    // Assess
    expect(principal.subject).toBe('user-1');
  });

  it('refuses an RS256 token against an EC key with 401, not a 500 from a jose TypeError', async () => {
    // Prepare: RS256 is on the allow-list, but the key cannot verify it
    const token = await signToken(rsaKey);

    // Act
    const failure = await failureOf(withKey(ecKey.spki).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token algorithm is not accepted'));
  });

  it('refuses an HS256 token signed with the PEM text as the secret (key confusion)', async () => {
    // Prepare
    const token = await signWithSecret(new TextEncoder().encode(rsaKey.spki), { claims: { scope: 'iiif:render' } });

    // Act
    const failure = await failureOf(withKey(rsaKey.spki).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token algorithm is not accepted'));
  });

  it('refuses a token signed by another key of the same type', async () => {
    // Prepare
    const other = await generateSigningKey('ES256');
    const token = await signToken(other);

    // Act
    const failure = await failureOf(withKey(ecKey.spki).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token signature is invalid'));
  });

  it('honours the alg of a JWK: an RSA JWK marked RS256 refuses PS256 tokens', async () => {
    // Prepare: an RSA key pair used for PS256, published as a JWK that says RS256
    const psKey = await generateSigningKey('PS256');
    const token = await signToken(psKey);
    const jwk = JSON.stringify({ ...psKey.publicJwk, alg: 'RS256' });

    // Act
    const failure = await failureOf(withKey(jwk, { algorithms: ['RS256', 'PS256'] }).authenticate(`Bearer ${token}`));

    // Assess
    expect(essentials(failure)).toEqual(invalidToken('The token algorithm is not accepted'));
  });
});

describe('Authenticator configuration errors', () => {
  it('refuses a PEM private key', async () => {
    // Prepare
    const pem = await exportPKCS8(ecKey.privateKey);

    // Act
    const error = configErrorOf(() => withKey(pem));

    // Assess
    expect(error).toEqual({
      variable: 'JWT_PUBLIC_KEY',
      message: 'JWT_PUBLIC_KEY: expected a public key but received a PEM private key; give its public half (-----BEGIN PUBLIC KEY-----)',
    });
  });

  it('refuses a private JWK', () => {
    // Prepare
    const jwk = JSON.stringify({ ...ecKey.publicJwk, d: 'c2VjcmV0' });

    // Act
    const error = configErrorOf(() => withKey(jwk));

    // Assess
    expect(error.variable).toBe('JWT_PUBLIC_KEY');
    expect(error.message).toBe('JWT_PUBLIC_KEY: expected a public JWK but received a private or symmetric one; remove the secret members (d, p, q, dp, dq, qi, k)');
  });

  it('refuses a JWK Set and points at JWT_JWKS_URL', () => {
    // Act
    const error = configErrorOf(() => withKey(JSON.stringify({ keys: [ecKey.publicJwk] })));

    // Assess
    expect(error.message).toBe('JWT_PUBLIC_KEY: expected one JWK but received a JWK Set; serve a set at a URL and use JWT_JWKS_URL');
  });

  it('refuses text that is neither PEM nor JSON', () => {
    // Act
    const error = configErrorOf(() => withKey('not a key'));

    // Assess
    expect(error.message).toBe('JWT_PUBLIC_KEY: expected a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK as JSON, but the value is neither');
  });

  it('refuses a key that fits none of the allowed algorithms, naming JWT_ALGORITHMS', () => {
    // Act
    const error = configErrorOf(() => withKey(ecKey.spki, { algorithms: ['RS256', 'EdDSA'] }));

    // Assess
    expect(error).toEqual({
      variable: 'JWT_ALGORITHMS',
      message: 'JWT_ALGORITHMS: none of RS256, EdDSA can be verified with the ec prime256v1 key in JWT_PUBLIC_KEY; allow one of ES256',
    });
  });

  it('refuses both a JWKS URL and a static key', () => {
    // Act
    const error = configErrorOf(() => withKey(ecKey.spki, { jwksUrl: new URL('https://issuer.test/jwks.json') }));

    // Assess
    expect(error.variable).toBe('JWT_PUBLIC_KEY');
    expect(error.message).toBe('JWT_PUBLIC_KEY: set either JWT_JWKS_URL or JWT_PUBLIC_KEY, not both (which one should win is not obvious, so neither does)');
  });

  it('refuses auth on with no key source at all', () => {
    // Act
    const error = configErrorOf(() => new Authenticator(BASE_CONFIG));

    // Assess
    expect(error.variable).toBe('JWT_JWKS_URL');
  });
});
