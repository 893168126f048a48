/**
 * The S3 client every part of Recto uses, built in one place so that timeouts, retries and the
 * settings an S3-compatible endpoint needs are the same everywhere.
 *
 * - Retries: the SDK's own (standard by default, adaptive on request), which retry throttling
 *   (SlowDown), 5xx, timeouts and broken connections with jittered backoff. What is still
 *   failing after `maxAttempts` becomes a 503 in s3-errors.ts.
 * - Timeouts: a connection timeout, a request timeout up to the response headers (made to throw,
 *   not only warn), and the same value as a socket idle timeout, which also catches a body that
 *   stalls half-way.
 * - Keep-alive agents: a warm Lambda reuses its connections to S3.
 * - With an `endpoint` (the embedded S3 of the local stack and tests, or an S3-compatible store):
 *   path-style addressing, and flexible checksums only where an operation requires them
 *   (`WHEN_REQUIRED`). The SDK's default (`WHEN_SUPPORTED`) sends streamed bodies as
 *   `aws-chunked` with a CRC32 trailer, which s3rver (and some other S3-compatible stores) stores
 *   verbatim, chunk framing and all: a corrupt object with a 200. Integrity is kept anyway: Recto
 *   uploads Buffers with an explicit SHA-256 checksum (see derivatives.ts), which S3 verifies.
 *   Against AWS itself (no endpoint) the SDK defaults stay on.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { expected } from '../errors.js';

export const RETRY_MODES = ['standard', 'adaptive'] as const;
export type RetryMode = (typeof RETRY_MODES)[number];

/** Every default of the client, in one literal. */
export const S3_CLIENT_DEFAULTS = {
  /** Only used with an endpoint; against AWS the region comes from AWS_REGION (set by Lambda). */
  endpointRegion: 'us-east-1',
  maxAttempts: 3,
  retryMode: 'standard',
  connectionTimeoutMs: 1_000,
  /** Up to the response headers of one attempt; also the socket idle timeout. */
  requestTimeoutMs: 5_000,
  /** Per client; a Lambda serves one request at a time, the local stack and prewarm more. */
  maxSockets: 50,
} as const satisfies { retryMode: RetryMode } & Record<string, string | number>;

/**
 * The AWS SDK's standard retry backoff, as the SDK this project locks applies it: before retry n
 * (n = 0 for the first retry) it waits a random time up to min(maxDelayMs, base × 2^n), with a
 * larger base for throttling. test/store/retry-after.test.ts checks these against the SDK.
 */
export const SDK_RETRY_BACKOFF = {
  transientBaseMs: 50,
  throttlingBaseMs: 1_000,
  maxDelayMs: 20_000,
} as const;

export interface RetrySettings {
  readonly maxAttempts: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/**
 * The longest one S3 request can take before the client gives up: every attempt running into
 * both timeouts, and the longest backoff before each retry. A client that is told storage is in
 * trouble should not come back sooner: the fault this client just waited out in full is then
 * most likely still there (the Retry-After of STORAGE_UNAVAILABLE, in s3-errors.ts).
 */
export function retryWindowMs(kind: 'throttled' | 'unavailable', settings: RetrySettings = S3_CLIENT_DEFAULTS): number {
  const base = kind === 'throttled' ? SDK_RETRY_BACKOFF.throttlingBaseMs : SDK_RETRY_BACKOFF.transientBaseMs;
  let backoff = 0;
  for (let retry = 0; retry < settings.maxAttempts - 1; retry += 1) backoff += Math.min(SDK_RETRY_BACKOFF.maxDelayMs, base * 2 ** retry);
  return settings.maxAttempts * (settings.connectionTimeoutMs + settings.requestTimeoutMs) + backoff;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3ClientOptions {
  /** An S3-compatible endpoint (the local stack's embedded S3); unset for AWS S3. */
  readonly endpoint?: URL;
  readonly region?: string;
  readonly requestTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Attempts in all, the first included (1 = no retries). */
  readonly maxAttempts?: number;
  readonly retryMode?: RetryMode;
  /** Static credentials (tests, the local stack); unset means the SDK's default chain. */
  readonly credentials?: S3Credentials;
}

/** The slowest upload rate a transfer's time limit allows for: well below what Lambda gets from S3. */
const SLOWEST_UPLOAD_BYTES_PER_SECOND = 8 * 1024 * 1024;

/**
 * The time limit for sending `bytes` in one request: the client's own request timeout counts up
 * to the answer's headers, which an upload only gets once its whole body is sent, so a large body
 * gets the time it needs at a slow rate on top (pass it to send() as `requestTimeout`).
 */
export function transferTimeoutMs(bytes: number): number {
  return S3_CLIENT_DEFAULTS.requestTimeoutMs + Math.ceil((bytes / SLOWEST_UPLOAD_BYTES_PER_SECOND) * 1000);
}

/**
 * Build the S3 client. Throws a TypeError (API misuse) for out-of-range options.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const maxAttempts = checkInteger(options.maxAttempts, S3_CLIENT_DEFAULTS.maxAttempts, 1, 10, 'maxAttempts');
  const requestTimeoutMs = checkInteger(options.requestTimeoutMs, S3_CLIENT_DEFAULTS.requestTimeoutMs, 1, 900_000, 'requestTimeoutMs');
  const connectionTimeoutMs = checkInteger(options.connectionTimeoutMs, S3_CLIENT_DEFAULTS.connectionTimeoutMs, 1, 60_000, 'connectionTimeoutMs');
  const retryMode = options.retryMode ?? S3_CLIENT_DEFAULTS.retryMode;
  if (!(RETRY_MODES as readonly string[]).includes(retryMode)) {
    throw new TypeError(expected(`one of ${RETRY_MODES.join(', ')}`, 'retryMode', retryMode));
  }
  const agent = { keepAlive: true, maxSockets: S3_CLIENT_DEFAULTS.maxSockets };
  const custom = options.endpoint !== undefined;
  const region = options.region ?? (custom ? S3_CLIENT_DEFAULTS.endpointRegion : undefined);
  return new S3Client({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint.href }),
    ...(region === undefined ? {} : { region }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    forcePathStyle: custom,
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    maxAttempts,
    retryMode,
    requestHandler: {
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Without this a request timeout is only a console warning (smithy's default).
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeoutMs,
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}

function checkInteger(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(expected(`a whole number from ${min} to ${max}`, name, String(value)));
  }
  return value;
}
