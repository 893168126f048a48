/**
 * The one place where AWS SDK errors become Recto errors. Errors are told apart by what the SDK
 * guarantees: the error `name` (the S3 error code), `$metadata.httpStatusCode`, `$retryable`, and
 * Node's `code` for network failures; never by message text or class. Anything this module does
 * not recognise is rethrown untouched (it becomes a logged 500 in lib/http), never guessed.
 *
 * The decisions, in one table:
 * | kind                  | from                                              | becomes |
 * |-----------------------|---------------------------------------------------|---------|
 * | not-found             | NoSuchKey, NotFound, HTTP 404 (not NoSuchBucket)  | the caller's 404 where it says a miss is one; else rethrown |
 * | precondition-failed   | PreconditionFailed, HTTP 412                      | handled by the caller (If-None-Match: the object exists; If-Match: SOURCE_CHANGED) |
 * | conflict              | ConditionalRequestConflict, HTTP 409              | handled by the caller (a concurrent conditional write) |
 * | range-not-satisfiable | InvalidRange, HTTP 416                            | handled by the caller (a range past the end) |
 * | throttled             | SlowDown and the SDK's throttling codes, HTTP 429 | 503 STORAGE_UNAVAILABLE, Retry-After 21 |
 * | unavailable           | HTTP 5xx, timeouts, resets, DNS, expired tokens   | 503 STORAGE_UNAVAILABLE, Retry-After 19 |
 * | integrity             | BadDigest, IncompleteBody (a body damaged on the way) | 503 STORAGE_UNAVAILABLE, Retry-After 19 |
 * | misconfigured         | AccessDenied, HTTP 403, NoSuchBucket, bad keys, wrong region | 500 STORAGE_MISCONFIGURED, logged at error level |
 * | unknown               | anything else                                     | rethrown as is |
 *
 * Why AccessDenied is a 500 and not a 403, 404 or 503: the client's credentials are checked by
 * lib/auth, not by S3; S3 refusing the function's own role means the deployment is wrong (IAM
 * policy, bucket policy, KMS key, a bucket in another account). A 403 would blame the client, a
 * 404 would hide the fault (and a HEAD miss would start a render whose PUT is refused too), and a
 * 503 would invite clients to retry something only an operator can fix. Note that S3 answers 403,
 * not 404, for a missing key when the role lacks s3:ListBucket: grant it on both buckets so that
 * misses are 404s; this module does not guess that a 403 means "missing".
 */
import { StorageError, UnavailableError, expected, type RectoError } from '../errors.js';
import { consoleStoreLogger, type StoreLogger } from './logger.js';
import { retryWindowMs } from './s3-client.js';

export const S3_ERROR_KINDS = [
  'not-found',
  'precondition-failed',
  'conflict',
  'range-not-satisfiable',
  'throttled',
  'unavailable',
  'integrity',
  'misconfigured',
  'unknown',
] as const;
export type S3ErrorKind = (typeof S3_ERROR_KINDS)[number];

/**
 * Seconds a client is told to wait, by kind: the whole retry window of the S3 client (every
 * attempt timing out, every backoff at its longest; retryWindowMs), which the request that
 * failed has just used up, so a retry does not land in the same fault; throttling backs off
 * more. A source replaced while it was read (`changed`) is no storage trouble: the next request
 * reads the new version at once.
 */
export const STORAGE_RETRY_AFTER_SECONDS = {
  throttled: Math.ceil(retryWindowMs('throttled') / 1000),
  unavailable: Math.ceil(retryWindowMs('unavailable') / 1000),
  changed: 1,
} as const;

export const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'LimitExceededException',
]);

const UNAVAILABLE_NAMES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // The SDK refreshes credentials and corrects clock skew by itself; if that still failed, the
  // next request may well succeed.
  'ExpiredToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
]);

/** Node's codes for a connection that failed or broke (a body cut short included). */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const INTEGRITY_NAMES: ReadonlySet<string> = new Set([
  'BadDigest',
  'InvalidDigest',
  'IncompleteBody',
  'XAmzContentSHA256Mismatch',
]);

const MISCONFIGURED_NAMES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'InvalidObjectState',
]);

/** What the SDK (or Node) tells about an error, read defensively: any of it may be missing. */
export interface S3ErrorFacts {
  readonly name?: string;
  readonly code?: string;
  readonly status?: number;
  readonly throttling: boolean;
  readonly requestId?: string;
  readonly attempts?: number;
}

/** Read the fields the SDK documents on its errors ($metadata, $retryable) and Node's `code`. */
export function s3ErrorFacts(error: unknown): S3ErrorFacts {
  if (typeof error !== 'object' || error === null) return { throttling: false };
  const record = error as Record<string, unknown>;
  const metadata = asRecord(record.$metadata);
  const retryable = asRecord(record.$retryable);
  const name = typeof record.name === 'string' ? record.name : undefined;
  const code = typeof record.code === 'string' ? record.code : undefined;
  const status = typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  const requestId = typeof metadata?.requestId === 'string' ? metadata.requestId : undefined;
  const attempts = typeof metadata?.attempts === 'number' ? metadata.attempts : undefined;
  return {
    ...(name === undefined ? {} : { name }),
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { status }),
    throttling: retryable?.throttling === true,
    ...(requestId === undefined ? {} : { requestId }),
    ...(attempts === undefined ? {} : { attempts }),
  };
}

/** Sort an SDK error into the kinds of the table above. */
export function classifyS3Error(error: unknown): S3ErrorKind {
  const { name = '', code = '', status, throttling } = s3ErrorFacts(error);
  // Names first: some carry statuses that would mislead (RequestTimeTooSkewed is a 403,
  // RequestTimeout a 400, NoSuchBucket a 404).
  if (name === 'NoSuchBucket') return 'misconfigured';
  if (name === 'NoSuchKey' || name === 'NotFound') return 'not-found';
  if (name === 'PreconditionFailed') return 'precondition-failed';
  if (name === 'ConditionalRequestConflict') return 'conflict';
  if (name === 'InvalidRange') return 'range-not-satisfiable';
  if (throttling || THROTTLING_NAMES.has(name)) return 'throttled';
  if (UNAVAILABLE_NAMES.has(name) || NETWORK_CODES.has(code)) return 'unavailable';
  if (INTEGRITY_NAMES.has(name)) return 'integrity';
  if (MISCONFIGURED_NAMES.has(name)) return 'misconfigured';
  // HEAD answers have no body, so the SDK only knows their status.
  switch (status) {
    case 404:
      return 'not-found';
    case 412:
      return 'precondition-failed';
    case 409:
      return 'conflict';
    case 416:
      return 'range-not-satisfiable';
    case 429:
      return 'throttled';
    case 301:
    case 307:
    case 403:
      return 'misconfigured';
    default:
      return status !== undefined && status >= 500 && status <= 599 ? 'unavailable' : 'unknown';
  }
}

export const S3_OPERATIONS = [
  'HeadObject',
  'GetObject',
  'PutObject',
  'ListObjectsV2',
  'DeleteObjects',
] as const;
export type S3Operation = (typeof S3_OPERATIONS)[number];

export interface S3ErrorContext {
  readonly operation: S3Operation;
  readonly bucket: string;
  readonly key?: string;
  /**
   * What the request was about, for messages a client may read, e.g. `source "abc"` (quoted
   * with quote()). Never a bucket name.
   */
  readonly subject: string;
  /** The error a miss becomes here. Without it a miss is not expected and is rethrown as is. */
  readonly onNotFound?: () => RectoError;
  readonly logger?: StoreLogger;
}

/**
 * Throw the Recto error an SDK error stands for, or the error itself when it is not one this
 * module knows (see the table at the top).
 * @throws UnavailableError STORAGE_UNAVAILABLE (503, Retry-After); StorageError
 *   STORAGE_MISCONFIGURED (500); the caller's onNotFound error; or `error` unchanged.
 */
export function raiseS3Error(error: unknown, context: S3ErrorContext): never {
  const kind = classifyS3Error(error);
  const facts = s3ErrorFacts(error);
  const logger = context.logger ?? consoleStoreLogger;
  const details = {
    kind,
    operation: context.operation,
    bucket: context.bucket,
    ...(context.key === undefined ? {} : { key: context.key }),
    s3Error: facts.name ?? facts.code,
    httpStatus: facts.status,
    requestId: facts.requestId,
    attempts: facts.attempts,
  };
  switch (kind) {
    case 'not-found':
      if (context.onNotFound !== undefined) throw context.onNotFound();
      throw error;
    case 'throttled':
    case 'unavailable':
    case 'integrity': {
      const retryAfter = kind === 'throttled' ? STORAGE_RETRY_AFTER_SECONDS.throttled : STORAGE_RETRY_AFTER_SECONDS.unavailable;
      logger.warn('Storage is unavailable; answering 503', details);
      throw new UnavailableError(
        'STORAGE_UNAVAILABLE',
        `${expected('an answer from storage', `${context.operation} of ${context.subject}`, describe(facts))}; retry after ${retryAfter} s`,
        retryAfter,
        { cause: error },
      );
    }
    case 'misconfigured':
      logger.error(
        'Storage refused the service itself: check the function role (s3:GetObject on the source bucket; s3:GetObject, s3:PutObject, s3:ListBucket, s3:DeleteObject on the derivative bucket), the bucket names and the region',
        details,
      );
      throw new StorageError(
        'STORAGE_MISCONFIGURED',
        `${expected('storage to accept the service', `${context.operation} of ${context.subject}`, describe(facts))}; this is a fault of this deployment, not of the request, and is logged for its operators`,
        { cause: error },
      );
    case 'precondition-failed':
    case 'conflict':
    case 'range-not-satisfiable':
    case 'unknown':
      throw error;
  }
}

/** "SlowDown (HTTP 503) after 3 attempts": for messages, from fields only (never the S3 message). */
function describe(facts: S3ErrorFacts): string {
  const what = facts.name !== undefined && facts.name !== 'Unknown' && facts.name !== 'Error' ? facts.name : (facts.code ?? 'an error');
  const status = facts.status === undefined ? '' : ` (HTTP ${facts.status})`;
  const attempts = facts.attempts !== undefined && facts.attempts > 1 ? ` after ${facts.attempts} attempts` : '';
  return `${what}${status}${attempts}`;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
