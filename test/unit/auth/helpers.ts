/** Shared set-up for the lib/auth tests: a base configuration and error capture. */
import type { AuthConfig } from '../../../lib/config.js';
import { RectoError } from '../../../lib/errors.js';
import { TEST_AUDIENCE, TEST_ISSUER } from '../../support/jwt.js';

/** Auth on, no public read, default scopes and algorithms, the test issuer and audience. */
export const BASE_CONFIG: AuthConfig = {
  enabled: true,
  publicRead: false,
  readScope: 'iiif:read',
  renderScope: 'iiif:render',
  issuer: TEST_ISSUER,
  audience: TEST_AUDIENCE,
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  clockToleranceSeconds: 30,
  maxTokenAgeSeconds: 86_400,
};

/** What a test asserts about a deliberate error. */
export interface Failure {
  readonly name: string;
  readonly code: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly message: string;
}

function toFailure(error: unknown): Failure {
  if (error instanceof RectoError) {
    return { name: error.name, code: error.code, status: error.status, headers: error.headers, message: error.message };
  }
  throw error;
}

/** The RectoError a promise rejects with (anything else fails the test, as does fulfilment). */
export async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    return toFailure(error);
  }
  throw new Error('Expected a rejection but the promise fulfilled');
}

/** The RectoError a function throws. */
export function thrownBy(action: () => unknown): Failure {
  try {
    action();
  } catch (error) {
    return toFailure(error);
  }
  throw new Error('Expected a throw but the function returned');
}

/** The 401 every invalid token gets, with this description. */
export function invalidToken(description: string) {
  return {
    code: 'AUTH_INVALID_TOKEN',
    status: 401,
    headers: { 'www-authenticate': `Bearer realm="recto", error="invalid_token", error_description="${description}"` },
  };
}

/** Only the parts of a failure the tests compare exactly. */
export function essentials(failure: Failure) {
  return { code: failure.code, status: failure.status, headers: failure.headers };
}
