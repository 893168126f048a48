/**
 * The one mapping of SDK errors to Recto errors (lib/store/s3-errors.ts), by name, status,
 * $retryable and Node's code, as the SDK builds them.
 */
import { AccessDenied, NoSuchBucket, NoSuchKey, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { NotFoundError } from '../../lib/errors.js';
import type { StoreLogAttributes, StoreLogger } from '../../lib/store/logger.js';
import { classifyS3Error, raiseS3Error, s3ErrorFacts, type S3ErrorContext } from '../../lib/store/s3-errors.js';

/** An error shaped as the SDK throws it for an S3 answer. */
function sdkError(name: string, status: number, extra: { attempts?: number; throttling?: boolean; requestId?: string } = {}): S3ServiceException {
  const error = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: extra.attempts ?? 1, ...(extra.requestId === undefined ? {} : { requestId: extra.requestId }) },
    message: `message of ${name}`,
  });
  // The SDK sets $retryable after construction, from the error's traits.
  return extra.throttling === undefined ? error : Object.assign(error, { $retryable: { throttling: extra.throttling } });
}

/** An error shaped as Node's http client throws it. */
function networkError(code: string, name = 'Error'): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, name });
}

function recordingLogger(): StoreLogger & { readonly entries: { level: string; message: string; attributes: StoreLogAttributes }[] } {
  const entries: { level: string; message: string; attributes: StoreLogAttributes }[] = [];
  return {
    entries,
    warn: (message, attributes) => entries.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => entries.push({ level: 'error', message, attributes }),
  };
}

function caught(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('classifyS3Error', () => {
  it.each([
    ['NoSuchKey from GET', 'not-found', new NoSuchKey({ message: 'x', $metadata: { httpStatusCode: 404 } })],
    ['NotFound from HEAD', 'not-found', new NotFound({ message: 'x', $metadata: { httpStatusCode: 404 } })],
    ['a bare 404', 'not-found', sdkError('Unknown', 404)],
    ['NoSuchBucket (a 404 that is a deployment fault)', 'misconfigured', new NoSuchBucket({ message: 'x', $metadata: { httpStatusCode: 404 } })],
    ['PreconditionFailed', 'precondition-failed', sdkError('PreconditionFailed', 412)],
    ['a bare 412 from HEAD', 'precondition-failed', sdkError('Unknown', 412)],
    ['ConditionalRequestConflict', 'conflict', sdkError('ConditionalRequestConflict', 409)],
    ['InvalidRange', 'range-not-satisfiable', sdkError('InvalidRange', 416)],
    ['SlowDown', 'throttled', sdkError('SlowDown', 503)],
    ['a throttling trait', 'throttled', sdkError('Whatever', 400, { throttling: true })],
    ['a bare 429', 'throttled', sdkError('Unknown', 429)],
    ['InternalError', 'unavailable', sdkError('InternalError', 500)],
    ['a bare 503 from HEAD', 'unavailable', sdkError('Unknown', 503)],
    ['a 502 from a proxy', 'unavailable', sdkError('Unknown', 502)],
    ['RequestTimeout (a 400)', 'unavailable', sdkError('RequestTimeout', 400)],
    ['RequestTimeTooSkewed (a 403)', 'unavailable', sdkError('RequestTimeTooSkewed', 403)],
    ['ExpiredToken', 'unavailable', sdkError('ExpiredToken', 400)],
    ['a timeout', 'unavailable', networkError('ETIMEDOUT', 'TimeoutError')],
    ['a TimeoutError without code', 'unavailable', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['a refused connection', 'unavailable', networkError('ECONNREFUSED')],
    ['a reset connection', 'unavailable', networkError('ECONNRESET')],
    ['a DNS failure', 'unavailable', networkError('ENOTFOUND')],
    ['a body cut short', 'unavailable', networkError('ERR_STREAM_PREMATURE_CLOSE')],
    ['BadDigest', 'integrity', sdkError('BadDigest', 400)],
    ['IncompleteBody', 'integrity', sdkError('IncompleteBody', 400)],
    ['AccessDenied', 'misconfigured', new AccessDenied({ message: 'x', $metadata: { httpStatusCode: 403 } })],
    ['a bare 403 from HEAD', 'misconfigured', sdkError('Unknown', 403)],
    ['InvalidAccessKeyId', 'misconfigured', sdkError('InvalidAccessKeyId', 403)],
    ['SignatureDoesNotMatch', 'misconfigured', sdkError('SignatureDoesNotMatch', 403)],
    ['PermanentRedirect (wrong region)', 'misconfigured', sdkError('PermanentRedirect', 301)],
    ['a bare 301 from HEAD', 'misconfigured', sdkError('Unknown', 301)],
    ['an unknown 400', 'unknown', sdkError('InvalidArgument', 400)],
    ['an abort (ours, not storage)', 'unknown', Object.assign(new Error('Request aborted'), { name: 'AbortError' })],
    ['a TypeError', 'unknown', new TypeError('bug')],
    ['a string', 'unknown', 'oops'],
    ['undefined', 'unknown', undefined],
  ])('sorts %s as %s', (_what, kind, error) => {
    // Assess
    expect(classifyS3Error(error)).toBe(kind);
  });
});

describe('s3ErrorFacts', () => {
  it('reads name, status, attempts and request id, and nothing from non-objects', () => {
    // Assess
    expect(s3ErrorFacts(sdkError('SlowDown', 503, { attempts: 3, requestId: 'R1', throttling: true }))).toEqual({
      name: 'SlowDown',
      status: 503,
      throttling: true,
      requestId: 'R1',
      attempts: 3,
    });
    expect(s3ErrorFacts(null)).toEqual({ throttling: false });
  });
});

describe('raiseS3Error', () => {
  const context = (logger: StoreLogger, extra: Partial<S3ErrorContext> = {}): S3ErrorContext => ({
    operation: 'HeadObject',
    bucket: 'masters',
    key: 'tiff/abc.tif',
    subject: 'source "abc"',
    logger,
    ...extra,
  });

  it('turns throttling into 503 STORAGE_UNAVAILABLE with Retry-After 21, logged as a warning', () => {
    // Prepare
    const logger = recordingLogger();
    const cause = sdkError('SlowDown', 503, { attempts: 3, requestId: 'REQ' });

    // Act
    const error = caught(() => raiseS3Error(cause, context(logger)));

    // Assess
    expect(error).toMatchObject({ name: 'UnavailableError', code: 'STORAGE_UNAVAILABLE', status: 503, retryAfterSeconds: 21, headers: { 'retry-after': '21' }, cause });
    expect((error as Error).message).toBe(
      'Expected an answer from storage for HeadObject of source "abc" but received "SlowDown (HTTP 503) after 3 attempts"; retry after 21 s',
    );
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        message: 'Storage is unavailable; answering 503',
        attributes: { kind: 'throttled', operation: 'HeadObject', bucket: 'masters', key: 'tiff/abc.tif', s3Error: 'SlowDown', httpStatus: 503, requestId: 'REQ', attempts: 3 },
      },
    ]);
  });

  it.each([
    ['a 5xx', sdkError('InternalError', 500), '"InternalError (HTTP 500)"'],
    ['a HEAD 503 without a body', sdkError('Unknown', 503), '"an error (HTTP 503)"'],
    ['a timeout', networkError('ETIMEDOUT', 'TimeoutError'), '"TimeoutError"'],
    ['a refused connection', networkError('ECONNREFUSED'), '"ECONNREFUSED"'],
    ['a damaged body', sdkError('BadDigest', 400), '"BadDigest (HTTP 400)"'],
  ])('turns %s into 503 STORAGE_UNAVAILABLE with Retry-After 19', (_what, cause, received) => {
    // Act
    const error = caught(() => raiseS3Error(cause, context(recordingLogger(), { operation: 'GetObject' })));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect((error as Error).message).toBe(`Expected an answer from storage for GetObject of source "abc" but received ${received}; retry after 19 s`);
  });

  it('turns AccessDenied into 500 STORAGE_MISCONFIGURED with no Retry-After, logged as an error with the details', () => {
    // Prepare
    const logger = recordingLogger();
    const cause = new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403, requestId: 'RID', attempts: 1 } });

    // Act
    const error = caught(() => raiseS3Error(cause, context(logger, { operation: 'PutObject', bucket: 'derivatives', key: 'iiif/x.jpg', subject: 'a derivative' })));

    // Assess
    expect(error).toMatchObject({ name: 'StorageError', code: 'STORAGE_MISCONFIGURED', status: 500, headers: {}, cause });
    expect((error as Error).message).toBe(
      'Expected storage to accept the service for PutObject of a derivative but received "AccessDenied (HTTP 403)"; this is a fault of this deployment, not of the request, and is logged for its operators',
    );
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({
      level: 'error',
      attributes: { kind: 'misconfigured', operation: 'PutObject', bucket: 'derivatives', key: 'iiif/x.jpg', s3Error: 'AccessDenied', httpStatus: 403, requestId: 'RID' },
    });
    expect(logger.entries[0]?.message).toContain('check the function role');
  });

  it('never names the bucket or key in a message a client may read', () => {
    // Act
    const messages = [sdkError('SlowDown', 503), sdkError('AccessDenied', 403)].map((cause) => (caught(() => raiseS3Error(cause, context(recordingLogger()))) as Error).message);

    // Assess
    for (const message of messages) {
      expect(message).not.toContain('masters');
      expect(message).not.toContain('tiff/abc.tif');
    }
  });

  it("turns a miss into the caller's 404 where it says a miss is one", () => {
    // Prepare
    const notFound = new NotFoundError('SOURCE_NOT_FOUND', 'Expected an existing source for the identifier but received "abc"');

    // Act
    const error = caught(() => raiseS3Error(sdkError('NotFound', 404), context(recordingLogger(), { onNotFound: () => notFound })));

    // Assess
    expect(error).toBe(notFound);
  });

  it.each([
    ['a miss where none is expected', sdkError('NotFound', 404)],
    ['a precondition failure', sdkError('PreconditionFailed', 412)],
    ['a conflict', sdkError('ConditionalRequestConflict', 409)],
    ['an unknown S3 error', sdkError('InvalidArgument', 400)],
    ['a bug', new TypeError('undefined is not a function')],
  ])('rethrows %s unchanged, never guessing', (_what, cause) => {
    // Prepare
    const logger = recordingLogger();

    // Act
    const error = caught(() => raiseS3Error(cause, context(logger)));

    // Assess
    expect(error).toBe(cause);
    expect(logger.entries).toEqual([]);
  });

  it('writes through the Powertools logger the function uses, details as JSON keys', () => {
    // Prepare: POWERTOOLS_DEV makes Powertools write through the global console, which a spy can
    // read; the test config silences Powertools by default.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const logger: StoreLogger = new Logger({ serviceName: 'recto-test' });
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => {
      lines.push(line);
    });

    // Act
    try {
      caught(() => raiseS3Error(sdkError('AccessDenied', 403), context(logger)));
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }

    // Assess
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'ERROR', service: 'recto-test', kind: 'misconfigured', operation: 'HeadObject', bucket: 'masters', key: 'tiff/abc.tif', s3Error: 'AccessDenied', httpStatus: 403 });
  });
});
