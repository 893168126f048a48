/**
 * RFC 6750 §3 `WWW-Authenticate: Bearer …` challenges. Every 401 and 403 Recto answers carries
 * one, built here and only here, so the realm, the parameter order and the escaping are the
 * same everywhere.
 */
import { AuthError } from '../errors.js';

/** The realm every challenge names. */
export const REALM = 'recto';

/** The RFC 6750 §3.1 error codes Recto uses (`invalid_request` answers 400, which we never do). */
export const BEARER_ERRORS = ['invalid_token', 'insufficient_scope'] as const;
export type BearerError = (typeof BEARER_ERRORS)[number];

/** What a challenge says beyond the realm. */
export interface Challenge {
  /** Absent when the client sent no credentials at all (RFC 6750 §3.1: no error code then). */
  readonly error?: BearerError;
  /** For people; fixed text chosen by us, never a piece of the token. */
  readonly description?: string;
  /** The scope that would have allowed the request. */
  readonly scope?: string;
}

/**
 * Format a challenge: `Bearer realm="recto", error="…", error_description="…", scope="…"`,
 * parameters in that order and only those that are set.
 */
export function formatChallenge(challenge: Challenge): string {
  const params = [`realm=${quoteParam(REALM)}`];
  if (challenge.error !== undefined) params.push(`error=${quoteParam(challenge.error)}`);
  if (challenge.description !== undefined) params.push(`error_description=${quoteParam(challenge.description)}`);
  if (challenge.scope !== undefined) params.push(`scope=${quoteParam(challenge.scope)}`);
  return `Bearer ${params.join(', ')}`;
}

/**
 * An HTTP quoted-string (RFC 9110 §5.6.4) that is safe in a header whatever it is given:
 * anything outside printable ASCII (CR and LF included, so no header can be injected) becomes
 * `?`, and `"` and `\` are backslash-escaped so the value cannot close its quotes early.
 */
export function quoteParam(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The 401 for credentials that are present but unusable: `AUTH_INVALID_TOKEN` with an
 * `error="invalid_token"` challenge. `description` goes into the header; `message` (default:
 * the description) may add escaped detail for logs and the JSON body.
 */
export function invalidToken(description: string, options: { readonly message?: string; readonly cause?: unknown } = {}): AuthError {
  return new AuthError('AUTH_INVALID_TOKEN', options.message ?? description, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    headers: { 'www-authenticate': formatChallenge({ error: 'invalid_token', description }) },
  });
}
