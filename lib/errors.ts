/**
 * Every error Recto raises on purpose. Each carries the HTTP status it becomes and a stable
 * `code` that tests and clients can rely on; messages are for people and may change.
 * lib/http turns these into responses in exactly one place (see lib/http/errors.ts).
 */

export const ERROR_CODES = {
  // 400: the request as written is not a IIIF request we can answer
  IIIF_INVALID_PATH: 400,
  IIIF_INVALID_IDENTIFIER: 400,
  IIIF_INVALID_REGION: 400,
  IIIF_INVALID_SIZE: 400,
  IIIF_INVALID_ROTATION: 400,
  IIIF_INVALID_QUALITY: 400,
  IIIF_INVALID_FORMAT: 400,
  IIIF_REGION_OUT_OF_BOUNDS: 400,
  IIIF_SIZE_TOO_SMALL: 400,
  IIIF_UPSCALE_NOT_ALLOWED: 400,
  IIIF_LIMIT_EXCEEDED: 400,
  /** A pre-warm message (SQS body, S3 Batch Operations task) that is not one. */
  PREWARM_INVALID_MESSAGE: 400,
  // 401 / 403: credentials
  AUTH_MISSING_TOKEN: 401,
  AUTH_INVALID_TOKEN: 401,
  AUTH_INSUFFICIENT_SCOPE: 403,
  // 404 / 405
  NOT_FOUND: 404,
  SOURCE_NOT_FOUND: 404,
  /** A pre-warm job names a preset the deployment does not have. */
  PRESET_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // 429: this caller has started too many new renders this minute (RENDER_RATE_PER_MINUTE)
  RENDER_RATE_LIMITED: 429,
  // 422: the source exists but cannot be made into this image
  SOURCE_UNREADABLE: 422,
  SOURCE_TOO_LARGE: 422,
  // 501: a valid request for something this deployment does not do
  FORMAT_NOT_SUPPORTED: 501,
  /** A render that would need more memory than this deployment gives one (RENDER_MEMORY_MB). */
  RENDER_TOO_LARGE: 501,
  SOURCE_FORMAT_NOT_SUPPORTED: 501,
  // 500: the deployment itself is wrong (storage permissions, a missing bucket); never the client's fault
  STORAGE_MISCONFIGURED: 500,
  // 503: try again later
  STORAGE_UNAVAILABLE: 503,
  /** The source object changed (new ETag) while it was being read: re-read its record and retry. */
  SOURCE_CHANGED: 503,
  AUTH_KEYS_UNAVAILABLE: 503,
  RENDER_DEFERRED: 503,
  RENDER_TIMEOUT: 503,
  /** A render too long for a request could not be handed to the pre-warm queue. */
  RENDER_QUEUE_UNAVAILABLE: 503,
  /**
   * A render of a master that is not a tiled pyramid (a JPEG 2000) that needs more decoding than
   * a request may do: it waits for the master's access copy (a tiled pyramidal TIFF).
   */
  SOURCE_NEEDS_ACCESS_COPY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode];

export interface RectoErrorOptions {
  readonly cause?: unknown;
  /** Extra response headers this error needs (WWW-Authenticate, Retry-After, Allow). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The base of every deliberate error: status and code are fixed by the code table above. */
export class RectoError extends Error {
  override readonly name: string = 'RectoError';
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: RectoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code];
    this.headers = options.headers ?? {};
  }
}

/** A part of a IIIF request that is malformed or out of range: always a 400. */
export class IiifRequestError extends RectoError {
  override readonly name = 'IiifRequestError';
}

/** A missing source, route or derivative. */
export class NotFoundError extends RectoError {
  override readonly name = 'NotFoundError';
}

/** Missing, invalid or insufficient credentials (401 / 403). */
export class AuthError extends RectoError {
  override readonly name = 'AuthError';
}

/** The source exists but cannot be rendered (corrupt, too large, unsupported format). */
export class SourceError extends RectoError {
  override readonly name = 'SourceError';
}

/** A valid request this deployment does not support (501). */
export class UnsupportedError extends RectoError {
  override readonly name = 'UnsupportedError';
}

/**
 * Storage refused the service itself (access denied, no such bucket, bad credentials): a
 * deployment fault, answered 500 and logged with the details; retrying does not help.
 */
export class StorageError extends RectoError {
  override readonly name = 'StorageError';
}

/** An answer that says when to ask again: its Retry-After header, from `retryAfterSeconds`. */
abstract class RetryLaterError extends RectoError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
    options: RectoErrorOptions = {},
  ) {
    super(code, message, {
      ...options,
      headers: { ...options.headers, 'retry-after': String(retryAfterSeconds) },
    });
  }
}

/** The caller has used up a rate limit for now: 429 with Retry-After. */
export class RateLimitError extends RetryLaterError {
  override readonly name = 'RateLimitError';
}

/** Storage, key servers or the render budget are unavailable for now: 503 with Retry-After. */
export class UnavailableError extends RetryLaterError {
  override readonly name = 'UnavailableError';
}

/**
 * "Expected ⟨what⟩ for ⟨part⟩ but received ⟨value⟩", the value JSON-escaped and truncated so
 * raw input is never echoed (sharp's lib/is.mjs message shape).
 */
export function expected(what: string, part: string, received: string): string {
  return `Expected ${what} for ${part} but received ${quote(received)}`;
}

const MAX_ECHO_LENGTH = 64;

/** JSON-escape a value for a message, cutting it to a readable length. */
export function quote(value: string): string {
  const cut = value.length > MAX_ECHO_LENGTH ? `${value.slice(0, MAX_ECHO_LENGTH)}…` : value;
  // JSON.stringify escapes quotes, backslashes and C0 controls; also escape DEL and the C1
  // controls (which it leaves raw), the line separators, and < > & so a message is inert if a
  // client ever renders it as HTML.
  return JSON.stringify(cut).replace(/[<>&\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
