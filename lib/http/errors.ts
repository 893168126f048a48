/**
 * Errors become responses here and nowhere else (Hono's http-exception pattern): an error that
 * knows its status renders itself; anything else is logged and answered with a bare 500.
 */
import { RectoError } from '../errors.js';
import { COMMON_HEADERS } from './headers.js';
import type { HttpResponse } from './types.js';

export interface ErrorLogger {
  error(message: string, extra: { error: unknown }): void;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  /** The stable code, e.g. `IIIF_INVALID_SIZE`. */
  readonly error: string;
  /** What went wrong and what to do, for a person. */
  readonly detail: string;
}

export function errorResponse(error: unknown, logger: ErrorLogger): HttpResponse {
  if (error instanceof RectoError) {
    return jsonError(error.status, { error: error.code, detail: error.message }, error.headers);
  }
  logger.error('Unhandled error', { error });
  return jsonError(500, { error: 'INTERNAL_ERROR', detail: 'An unexpected error occurred. It has been logged.' }, {});
}

function jsonError(status: number, body: ErrorBody, headers: Readonly<Record<string, string>>): HttpResponse {
  return {
    status,
    headers: {
      ...COMMON_HEADERS,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}
