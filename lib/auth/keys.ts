/**
 * Where verification keys come from: a remote JWKS (`JWT_JWKS_URL`) or one static public key
 * (`JWT_PUBLIC_KEY`). Either way the result is a jose key resolver plus the algorithms it can
 * verify, and the resolver is the one place where "the keys are unavailable" (503) is told
 * apart from "this token names no key we know" (401).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors,
  importSPKI,
  type CryptoKey,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import { ConfigError, type AuthConfig, type JwtAlgorithm } from '../config.js';
import { UnavailableError } from '../errors.js';

/** How the remote JWKS is fetched and cached. Defaults suit Lambda; tests shorten them. */
export interface JwksOptions {
  /** Give up on a JWKS request after this long (then 503). */
  readonly timeoutMs?: number;
  /** After a fetch, a token with an unknown `kid` does not trigger another fetch for this long. */
  readonly cooldownMs?: number;
  /** Refetch the JWKS when it is older than this, so removed (revoked) keys stop working. */
  readonly cacheMaxAgeMs?: number;
}

export const JWKS_DEFAULTS = {
  /** Well inside API Gateway's 30 s, with room left for the render. */
  timeoutMs: 3_000,
  /** jose's default: at most one refetch per 30 s however many unknown `kid`s arrive. */
  cooldownMs: 30_000,
  /** jose's default: a key removed from the JWKS is refused within 10 minutes. */
  cacheMaxAgeMs: 600_000,
} as const satisfies Required<JwksOptions>;

/** Seconds a client should wait after a 503 for unreachable keys. */
export const KEYS_RETRY_AFTER_SECONDS = 5;

/** Resolves the key for a token and says which algorithms may be used at all. */
export interface KeySource {
  /** The allow-list, narrowed to what the key(s) can verify. */
  readonly algorithms: readonly JwtAlgorithm[];
  readonly getKey: JWTVerifyGetKey;
}

/**
 * The key source for this configuration.
 *
 * @throws ConfigError naming `JWT_JWKS_URL`, `JWT_PUBLIC_KEY` or `JWT_ALGORITHMS` when the keys
 *   are missing, ambiguous, private, unreadable or fit none of the allowed algorithms.
 */
export function createKeySource(config: AuthConfig, jwks: JwksOptions = {}): KeySource {
  if (config.jwksUrl !== undefined && config.publicKey !== undefined) {
    throw new ConfigError('JWT_PUBLIC_KEY', 'set either JWT_JWKS_URL or JWT_PUBLIC_KEY, not both (which one should win is not obvious, so neither does)');
  }
  if (config.jwksUrl !== undefined) return remoteKeySource(config.jwksUrl, config.algorithms, jwks);
  if (config.publicKey !== undefined) return staticKeySource(config.publicKey, config.algorithms);
  throw new ConfigError('JWT_JWKS_URL', 'set JWT_JWKS_URL or JWT_PUBLIC_KEY, or IIIF_AUTH=off to run without auth');
}

// ---- remote JWKS --------------------------------------------------------------------------

/**
 * One jose resolver per URL (and fetch options) for the life of the container: its key cache,
 * refetch cooldown and in-flight request are shared by every invocation a warm Lambda serves.
 */
const remoteKeySets = new Map<string, RemoteJWKSet>();

/**
 * Forget every cached key set and imported key. Production never needs this (keys refresh on
 * their own); it is for tests and local stacks that start a new key server on a URL an earlier
 * one used, within the same process.
 */
export function clearKeyCaches(): void {
  remoteKeySets.clear();
  importedKeys.clear();
}

/** The resolver's failures that are the token's doing; anything else means the keys are unavailable. */
const TOKEN_KEY_ERRORS: ReadonlySet<string> = new Set<errors.AnyJOSEError['code']>([
  // Its kid (or alg) matches no key, even after the refetch jose allows outside the cooldown.
  'ERR_JWKS_NO_MATCHING_KEY',
  // It names no kid and several keys fit; we do not try each (that multiplies the work per token).
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

function remoteKeySource(url: URL, algorithms: readonly JwtAlgorithm[], options: JwksOptions): KeySource {
  const settings = { ...JWKS_DEFAULTS, ...options };
  const id = `${url.href} ${settings.timeoutMs} ${settings.cooldownMs} ${settings.cacheMaxAgeMs}`;
  let keySet = remoteKeySets.get(id);
  if (keySet === undefined) {
    // The resolver never reads `jku`, `x5u` or `jwk` headers: keys come from this URL only.
    keySet = createRemoteJWKSet(url, {
      timeoutDuration: settings.timeoutMs,
      cooldownDuration: settings.cooldownMs,
      cacheMaxAge: settings.cacheMaxAgeMs,
    });
    remoteKeySets.set(id, keySet);
  }
  const resolve = keySet;
  const where = `${url.origin}${url.pathname}`;
  return {
    algorithms,
    // Wrapping the resolution step is what tells a fetch failure (connection refused, timeout,
    // non-200, invalid JSON or JWKS) from a verification failure, which jose raises later.
    getKey: async (header, token) => {
      try {
        return await resolve(header, token);
      } catch (error) {
        if (error instanceof errors.JOSEError && TOKEN_KEY_ERRORS.has(error.code)) throw error;
        throw new UnavailableError(
          'AUTH_KEYS_UNAVAILABLE',
          `Expected the JSON Web Key Set at ${where} to be readable for verifying the token but fetching it failed (${describeFailure(error)}); try again later`,
          KEYS_RETRY_AFTER_SECONDS,
          { cause: error },
        );
      }
    },
  };
}

function describeFailure(error: unknown): string {
  if (error instanceof errors.JOSEError) return error.code;
  if (error instanceof Error) {
    // fetch() wraps the socket error: "fetch failed" caused by ECONNREFUSED and the like.
    const cause: unknown = error.cause;
    if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
    return error.name;
  }
  return 'unknown error';
}

// ---- static key ---------------------------------------------------------------------------

/** Imported CryptoKeys by algorithm and SPKI, so each is imported once per container. */
const importedKeys = new Map<string, Promise<CryptoKey>>();

function staticKeySource(text: string, allowList: readonly JwtAlgorithm[]): KeySource {
  const { key, alg } = readPublicKey(text);
  const fitting = algorithmsFor(key).filter((candidate) => alg === undefined || candidate === alg);
  // jose would throw a TypeError (a 500) for a token whose alg does not fit the key's type, so
  // only the algorithms this key can verify are ever allowed through.
  const algorithms = allowList.filter((candidate) => fitting.includes(candidate));
  if (algorithms.length === 0) {
    throw new ConfigError(
      'JWT_ALGORITHMS',
      `none of ${allowList.join(', ')} can be verified with the ${describeKey(key)} in JWT_PUBLIC_KEY; allow one of ${fitting.join(', ') || '(none: unsupported key type)'}`,
    );
  }
  const spki = key.export({ type: 'spki', format: 'pem' }).toString();
  return {
    algorithms,
    getKey: (header) => {
      // jose checked the header's alg against `algorithms` before calling us.
      const algorithm = header.alg;
      const id = `${algorithm}\n${spki}`;
      let imported = importedKeys.get(id);
      if (imported === undefined) {
        imported = importSPKI(spki, algorithm);
        importedKeys.set(id, imported);
        imported.catch(() => importedKeys.delete(id));
      }
      return imported;
    },
  };
}

/** Parse `JWT_PUBLIC_KEY`: PEM (SPKI, PKCS#1 or a certificate) or one JWK as JSON. */
function readPublicKey(raw: string): { key: KeyObject; alg?: string } {
  // Environment variables often carry PEM with literal "\n" sequences instead of newlines.
  const text = raw.includes('\n') ? raw.trim() : raw.trim().replace(/\\n/g, '\n');
  if (text.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new ConfigError('JWT_PUBLIC_KEY', 'expected a PEM public key or a JWK as JSON, but the value starts with "{" and is not valid JSON');
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw new ConfigError('JWT_PUBLIC_KEY', 'expected a JWK (a JSON object) but received another JSON value');
    }
    if ('keys' in jwk) throw new ConfigError('JWT_PUBLIC_KEY', 'expected one JWK but received a JWK Set; serve a set at a URL and use JWT_JWKS_URL');
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) {
      throw new ConfigError('JWT_PUBLIC_KEY', 'expected a public JWK but received a private or symmetric one; remove the secret members (d, p, q, dp, dq, qi, k)');
    }
    const alg = 'alg' in jwk && typeof jwk.alg === 'string' ? jwk.alg : undefined;
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      return alg === undefined ? { key } : { key, alg };
    } catch (cause) {
      throw new ConfigError('JWT_PUBLIC_KEY', `expected a public JWK that Node can import but it was refused (${cause instanceof Error ? cause.message : 'unknown error'})`);
    }
  }
  if (/PRIVATE KEY-----/.test(text)) {
    throw new ConfigError('JWT_PUBLIC_KEY', 'expected a public key but received a PEM private key; give its public half (-----BEGIN PUBLIC KEY-----)');
  }
  try {
    return { key: createPublicKey(text) };
  } catch {
    throw new ConfigError('JWT_PUBLIC_KEY', 'expected a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK as JSON, but the value is neither');
  }
}

/** The JWS algorithms a public key can verify (RFC 7518 §3, RFC 8037). */
function algorithmsFor(key: KeyObject): readonly JwtAlgorithm[] {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // jose refuses RSA keys under 2048 bits with a TypeError at verification time.
      if ((details.modulusLength ?? 0) < 2048) return [];
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      if ((details.modulusLength ?? 0) < 2048) return [];
      return ['PS256', 'PS384', 'PS512'];
    case 'ec':
      switch (details.namedCurve) {
        case 'prime256v1': return ['ES256'];
        case 'secp384r1': return ['ES384'];
        case 'secp521r1': return ['ES512'];
        default: return [];
      }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  const extra = details.namedCurve ?? (details.modulusLength === undefined ? '' : `${details.modulusLength}-bit`);
  return `${key.asymmetricKeyType ?? 'unknown'}${extra === '' ? '' : ` ${extra}`} key`;
}
