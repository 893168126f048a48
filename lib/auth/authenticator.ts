/**
 * Bearer JWTs → a Principal, and the scope rules (README, Auth and scopes):
 * - the read scope allows info.json and derivatives that already exist;
 * - the render scope allows that and rendering missing ones (render implies read);
 * - `IIIF_PUBLIC_READ` lets anyone read; nobody renders without the render scope;
 * - `IIIF_AUTH=off` lets everything through (local stack, conformance runs).
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { defined, type AuthConfig } from '../config.js';
import { AuthError, RectoError, expected, quote } from '../errors.js';
import { parseBearer } from './bearer.js';
import { formatChallenge, invalidToken } from './challenge.js';
import { createKeySource, type JwksOptions, type KeySource } from './keys.js';

/** What a request wants to do. */
export const ACCESS = ['read', 'render'] as const;
export type Access = (typeof ACCESS)[number];

/** Who is asking, as far as the token says. */
export interface Principal {
  /** True when no token was sent (and when auth is off: nobody was authenticated then either). */
  readonly anonymous: boolean;
  /** The token's `sub`, when it has one. */
  readonly subject?: string;
  /** From `scope` and `scp`; with auth off, both Recto scopes. */
  readonly scopes: ReadonlySet<string>;
}

export interface AuthenticatorOptions {
  /** The clock tokens are checked against (`exp`, `nbf`, `iat`); tests inject a fixed one. */
  readonly currentDate?: () => Date;
  /** JWKS fetch timeout, refetch cooldown and cache age; the defaults suit Lambda. */
  readonly jwks?: JwksOptions;
}

const NO_SCOPES: ReadonlySet<string> = new Set();
const ANONYMOUS: Principal = Object.freeze({ anonymous: true, scopes: NO_SCOPES });

/**
 * Verifies Bearer JWTs and applies the scope rules. Build one per container (at cold start):
 * the key material it holds (a remote JWKS cache or an imported static key) is meant to live
 * across invocations.
 */
export class Authenticator {
  readonly #config: AuthConfig;
  readonly #now: () => Date;
  readonly #keys: KeySource | undefined;
  readonly #unrestricted: Principal;

  /**
   * @throws ConfigError when auth is on and the keys are missing, ambiguous, private,
   *   unreadable, or fit none of `JWT_ALGORITHMS` (see createKeySource).
   */
  constructor(config: AuthConfig, options: AuthenticatorOptions = {}) {
    this.#config = config;
    this.#now = options.currentDate ?? (() => new Date());
    this.#keys = config.enabled ? createKeySource(config, options.jwks) : undefined;
    this.#unrestricted = Object.freeze({ anonymous: true, scopes: new Set([config.readScope, config.renderScope]) });
  }

  /**
   * The principal behind an Authorization header value (or `undefined` when there is none).
   * A token in a query string is never looked at: only this header counts.
   *
   * @returns an anonymous principal when the header is absent; with auth off, a principal
   *   holding both scopes whatever the header says.
   * @throws AuthError `AUTH_INVALID_TOKEN` (401, `WWW-Authenticate: Bearer realm="recto",
   *   error="invalid_token", error_description="…"`) for a malformed, oversized, unsigned,
   *   wrongly signed, expired, not-yet-valid, too long-lived or foreign token.
   * @throws UnavailableError `AUTH_KEYS_UNAVAILABLE` (503, `Retry-After`) when the JWKS cannot
   *   be fetched.
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (this.#keys === undefined) return this.#unrestricted;
    if (authorization === undefined) return ANONYMOUS;
    const token = parseBearer(authorization);
    const payload = await this.#verify(token, this.#keys);
    return principalFrom(payload);
  }

  /** Whether the principal may do this (see the rules at the top of this file). */
  can(principal: Principal, access: Access): boolean {
    const { enabled, publicRead, readScope, renderScope } = this.#config;
    if (!enabled) return true;
    if (principal.scopes.has(renderScope)) return true;
    if (access === 'render') return false;
    // A token without either scope still reads what anonymous clients may read.
    return principal.scopes.has(readScope) || publicRead;
  }

  /**
   * Throws unless the principal may do this.
   *
   * @throws AuthError `AUTH_MISSING_TOKEN` (401, `WWW-Authenticate: Bearer realm="recto",
   *   scope="…"`) for an anonymous principal.
   * @throws AuthError `AUTH_INSUFFICIENT_SCOPE` (403, `WWW-Authenticate: Bearer realm="recto",
   *   error="insufficient_scope", scope="…"`) for a token without the scope.
   */
  authorize(principal: Principal, access: Access): void {
    if (this.can(principal, access)) return;
    const scope = access === 'render' ? this.#config.renderScope : this.#config.readScope;
    const action = access === 'render' ? 'rendering a derivative that does not exist yet' : 'reading images';
    if (principal.anonymous) {
      throw new AuthError('AUTH_MISSING_TOKEN', `Expected a Bearer token with the ${quote(scope)} scope for ${action} but received no Authorization header`, {
        headers: { 'www-authenticate': formatChallenge({ scope }) },
      });
    }
    throw new AuthError('AUTH_INSUFFICIENT_SCOPE', `Expected a token with the ${quote(scope)} scope for ${action} but received one with ${describeScopes(principal.scopes)}`, {
      headers: { 'www-authenticate': formatChallenge({ error: 'insufficient_scope', scope }) },
    });
  }

  async #verify(token: string, keys: KeySource): Promise<JWTPayload> {
    const { issuer, audience, clockToleranceSeconds, maxTokenAgeSeconds } = this.#config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        algorithms: [...keys.algorithms],
        ...defined('issuer', issuer),
        // The audience is checked below, once every other claim has passed: jose cannot accept
        // Cognito's access tokens, which carry the app client in client_id and have no aud.
        clockTolerance: clockToleranceSeconds,
        // Requires `iat` and refuses tokens issued longer ago than this.
        maxTokenAge: maxTokenAgeSeconds,
        // A token that never expires is only bounded by `iat`; access tokens carry `exp` (RFC 9068).
        requiredClaims: ['exp'],
        currentDate: this.#now(),
      }));
    } catch (error) {
      if (error instanceof RectoError) throw error; // 503 from the key resolver
      throw fromJoseError(error, this.#now());
    }
    if (audience !== undefined) checkAudience(payload, audience);
    // maxTokenAge bounds how old a token may be, not how long it claims to live: refuse a
    // token minted to last for years even while it is young.
    const { iat, exp } = payload;
    if (iat !== undefined && exp !== undefined && exp - iat > maxTokenAgeSeconds) {
      throw invalidToken(`The token lifetime exceeds ${maxTokenAgeSeconds} seconds`, {
        message: `Expected a token lifetime (exp - iat) of at most ${maxTokenAgeSeconds} seconds for the token but received ${exp - iat}`,
      });
    }
    return payload;
  }
}

// ---- claims → principal --------------------------------------------------------------------

function principalFrom(payload: JWTPayload): Principal {
  const scopes = new Set<string>();
  // Read as unknown: jose's types promise a string `sub`, but nothing checked it yet.
  const claims: Readonly<Record<string, unknown>> = payload;
  const { scope, scp, sub } = claims;
  if (scope !== undefined) {
    if (typeof scope !== 'string') throw badClaim('scope', 'a space-separated string', scope);
    addScopes(scopes, scope);
  }
  if (scp !== undefined) {
    if (typeof scp === 'string') {
      addScopes(scopes, scp);
    } else if (Array.isArray(scp) && scp.every((item): item is string => typeof item === 'string')) {
      for (const item of scp) addScopes(scopes, item);
    } else {
      throw badClaim('scp', 'an array of strings or a space-separated string', scp);
    }
  }
  if (sub !== undefined && typeof sub !== 'string') throw badClaim('sub', 'a string', sub);
  return Object.freeze({ anonymous: false, ...defined('subject', sub), scopes });
}

/**
 * The token is meant for us: `aud` (a string or an array of strings) names the audience, or,
 * in a token with no `aud` at all, `client_id` does (Cognito access tokens, RFC 9068 §2.2's
 * client_id). A token with neither is refused as having no audience.
 */
function checkAudience(payload: JWTPayload, audience: string): void {
  const claims: Readonly<Record<string, unknown>> = payload;
  const { aud, client_id: clientId } = claims;
  if (aud === undefined) {
    if (clientId === audience) return;
    throw invalidToken('The token has no aud claim', {
      message: clientId === undefined ? 'Expected the aud claim in the token but it has none' : expected('an acceptable value', 'the client_id claim of a token without aud', show(clientId)),
    });
  }
  const values = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(values) || !values.every((value): value is string => typeof value === 'string')) {
    throw badClaim('aud', 'a string or an array of strings', aud);
  }
  if (!values.includes(audience)) {
    throw invalidToken('The token audience is not accepted', { message: expected('an acceptable value', 'the aud claim', show(aud)) });
  }
}

function addScopes(scopes: Set<string>, value: string): void {
  for (const item of value.split(/\s+/)) if (item !== '') scopes.add(item);
}

function badClaim(claim: string, what: string, value: unknown): AuthError {
  return invalidToken(`The ${claim} claim is malformed`, { message: expected(what, `the ${claim} claim`, show(value)) });
}

/** A claim value as text for quote(): strings as they are, other JSON values as JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function describeScopes(scopes: ReadonlySet<string>): string {
  if (scopes.size === 0) return 'no scopes';
  return `the scopes ${quote([...scopes].join(' '))}`;
}

// ---- jose errors → 401 -----------------------------------------------------------------------

/**
 * Token failures jose reports, by code (never by message or class name), with the fixed text
 * that goes into `error_description`.
 */
const JOSE_DESCRIPTIONS = {
  ERR_JWS_INVALID: 'The token is malformed',
  ERR_JWT_INVALID: 'The token is malformed',
  ERR_JOSE_ALG_NOT_ALLOWED: 'The token algorithm is not accepted',
  ERR_JOSE_NOT_SUPPORTED: 'The token uses an unsupported feature',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The token signature is invalid',
  ERR_JWKS_NO_MATCHING_KEY: 'The token is signed with an unknown key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'The token names no key (kid) and several keys match',
  ERR_JWT_EXPIRED: 'The token has expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'The token claims are not accepted',
} as const satisfies Partial<Record<errors.AnyJOSEError['code'], string>>;

type TokenErrorCode = keyof typeof JOSE_DESCRIPTIONS;

function isTokenErrorCode(code: string): code is TokenErrorCode {
  return Object.hasOwn(JOSE_DESCRIPTIONS, code);
}

/** A jose token failure as a 401; anything else (a TypeError is our misuse) is rethrown as is. */
function fromJoseError(error: unknown, now: Date): AuthError {
  if (!(error instanceof errors.JOSEError) || !isTokenErrorCode(error.code)) throw error;
  const failure = error as errors.AnyJOSEError;
  if (failure.code === 'ERR_JWT_EXPIRED' || failure.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    return invalidToken(describeClaimFailure(failure.code, failure.claim, failure.reason), {
      message: describeTimeClaim(failure.code, failure.claim, failure.reason, failure.payload, now) ?? describeClaimDetail(failure.claim, failure.payload),
      cause: error,
    });
  }
  return invalidToken(JOSE_DESCRIPTIONS[error.code], { cause: error });
}

function describeClaimFailure(code: 'ERR_JWT_EXPIRED' | 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: string, reason: string): string {
  if (reason === 'missing') return `The token has no ${claim} claim`;
  if (reason === 'invalid') return `The token ${claim} claim is not a number`;
  switch (claim) {
    case 'exp': return 'The token has expired';
    case 'nbf': return 'The token is not valid yet';
    // JWTExpired for iat: issued longer ago than the max age; otherwise issued in the future.
    case 'iat': return code === 'ERR_JWT_EXPIRED' ? 'The token was issued too long ago' : 'The token was issued in the future';
    case 'iss': return 'The token issuer is not accepted';
    case 'aud': return 'The token audience is not accepted';
    default: return JOSE_DESCRIPTIONS[code];
  }
}

/**
 * For logs and the JSON body, when a time claim (exp, nbf, iat) failed its check: the time it
 * holds in ISO 8601 (a raw epoch tells a person nothing) and what to do about it. Chosen by
 * jose's code, claim and reason, never by its message. Undefined for any other failure.
 */
function describeTimeClaim(code: 'ERR_JWT_EXPIRED' | 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: string, reason: string, payload: JWTPayload, now: Date): string | undefined {
  const value = payload[claim];
  if (reason !== 'check_failed' || typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const at = isoSeconds(value);
  if (at === undefined) return undefined;
  const seconds = Math.round(Math.abs(now.getTime() / 1000 - value));
  const renew = `get a new token from its issuer${typeof payload.iss === 'string' ? ` (${quote(payload.iss)})` : ''}`;
  switch (claim) {
    case 'exp': return `The token expired at ${at} (exp ${value}), ${seconds} s before this request; ${renew}`;
    case 'nbf': return `The token is not valid before ${at} (nbf ${value}), ${seconds} s after this request; use it from then on, or check the clocks of the issuer and of this service`;
    case 'iat': return code === 'ERR_JWT_EXPIRED'
      ? `The token was issued at ${at} (iat ${value}), ${seconds} s before this request, longer ago than this service accepts; ${renew}`
      : `The token was issued at ${at} (iat ${value}), ${seconds} s after this request; check the clocks of the issuer and of this service`;
    default: return undefined;
  }
}

/** Seconds since the epoch as ISO 8601 in UTC, to the second; undefined outside Date's range. */
function isoSeconds(epochSeconds: number): string | undefined {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** For logs and the JSON body: which claim and what it held, escaped and cut short. */
function describeClaimDetail(claim: string, payload: JWTPayload): string {
  const value = payload[claim];
  if (value === undefined) return `Expected the ${claim} claim in the token but it has none`;
  return expected('an acceptable value', `the ${claim} claim`, show(value));
}
