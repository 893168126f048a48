/**
 * lib/auth: Bearer JWT verification (jose) and the scope rules. The handler builds one
 * Authenticator at cold start and calls `authenticate` then `authorize` per request.
 */
export { ACCESS, Authenticator, type Access, type AuthenticatorOptions, type Principal } from './authenticator.js';
export { MAX_TOKEN_LENGTH } from './bearer.js';
export { REALM, formatChallenge, type Challenge } from './challenge.js';
export { JWKS_DEFAULTS, KEYS_RETRY_AFTER_SECONDS, clearKeyCaches, type JwksOptions } from './keys.js';
