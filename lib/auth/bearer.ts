/**
 * The Authorization header → one compact JWT, or a 401. Runs before any parsing of the token
 * so that oversized or oddly shaped input costs nothing (no base64, no JSON, no crypto).
 */
import { quote } from '../errors.js';
import { invalidToken } from './challenge.js';

/**
 * The longest token we look at. Access tokens with a few dozen scopes stay well under 2 KiB;
 * 8 KiB is also API Gateway's and most proxies' header budget, so nothing legitimate is lost.
 */
export const MAX_TOKEN_LENGTH = 8192;

/** Room for the scheme and whitespace around the token before even running a regex. */
const MAX_AUTHORIZATION_LENGTH = MAX_TOKEN_LENGTH + 64;

/** RFC 7235 §2.1 / RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a token68. */
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * JWS compact serialization: three base64url parts. The signature may be empty here so an
 * unsigned (`alg: none`) token reaches jose and is refused for its algorithm, which says why.
 */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Extract the token from an Authorization header value.
 *
 * @throws AuthError `AUTH_INVALID_TOKEN` (401) when the value is too long, uses another scheme,
 *   holds more or less than one token (duplicate headers joined by a comma included), or the
 *   token is not a compact JWT.
 */
export function parseBearer(authorization: string): string {
  const value = authorization.trim();
  if (value.length > MAX_AUTHORIZATION_LENGTH) throw tooLong(value.length);
  const match = BEARER_CREDENTIALS.exec(value);
  if (match === null) {
    const scheme = /^\S*/.exec(value)?.[0] ?? '';
    if (scheme.toLowerCase() !== 'bearer') {
      // Echo the scheme word only: whatever follows it may be a password (Basic).
      throw invalidToken('Expected the Bearer scheme', {
        message: `Expected the Bearer scheme for the Authorization header but received ${quote(scheme)}`,
      });
    }
    throw invalidToken('Expected one Bearer token', {
      message: 'Expected one token after "Bearer" for the Authorization header but received none, several or invalid characters',
    });
  }
  const token = match[1] ?? '';
  if (token.length > MAX_TOKEN_LENGTH) throw tooLong(token.length);
  if (!COMPACT_JWT.test(token)) {
    throw invalidToken('The token is not a JWT', {
      message: 'Expected a JWT (three base64url parts separated by dots) for the Bearer token but received something else',
    });
  }
  return token;
}

function tooLong(length: number) {
  return invalidToken(`The token is longer than ${MAX_TOKEN_LENGTH} characters`, {
    message: `Expected a token of at most ${MAX_TOKEN_LENGTH} characters for the Authorization header but received ${length}`,
  });
}
