/**
 * The Retry-After of STORAGE_UNAVAILABLE comes from the S3 client's own retry policy: the whole
 * window one request may spend before the client gives up (every attempt into both timeouts,
 * every backoff at its longest), so a client told to retry does not come back into the fault the
 * request has just waited out. The SDK's backoff constants are copied into lib/store; this test
 * holds the copy to the SDK installed.
 */
import { Retry, MAXIMUM_RETRY_DELAY, DEFAULT_MAX_ATTEMPTS } from '@smithy/core/retry';
import { describe, expect, it } from 'vitest';
import { S3_CLIENT_DEFAULTS, SDK_RETRY_BACKOFF, retryWindowMs } from '../../lib/store/s3-client.js';
import { STORAGE_RETRY_AFTER_SECONDS, raiseS3Error } from '../../lib/store/s3-errors.js';
import { UnavailableError } from '../../lib/errors.js';

const quiet = { warn: () => undefined, error: () => undefined };

describe('the storage Retry-After', () => {
  it('uses the backoff of the AWS SDK that is installed', () => {
    // Assess
    expect(SDK_RETRY_BACKOFF).toEqual({ transientBaseMs: Retry.delay(), throttlingBaseMs: Retry.throttlingDelay(), maxDelayMs: MAXIMUM_RETRY_DELAY });
    expect(S3_CLIENT_DEFAULTS.maxAttempts).toBe(DEFAULT_MAX_ATTEMPTS);
  });

  it.each([
    // 3 attempts of 1 s + 5 s, then backoffs of at most 50 + 100 ms (transient) or 1 + 2 s (throttled).
    ['unavailable', S3_CLIENT_DEFAULTS, 18_150],
    ['throttled', S3_CLIENT_DEFAULTS, 21_000],
    // One attempt: no backoff at all.
    ['unavailable', { maxAttempts: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 }, 6_000],
    // Ten attempts: the throttling backoff reaches the SDK's 20 s ceiling (1, 2, 4, 8, 16, 20, 20, 20, 20 s).
    ['throttled', { maxAttempts: 10, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 }, 60_000 + 111_000],
  ] as const)('computes the retry window of %s storage from the client settings %j: %i ms', (kind, settings, windowMs) => {
    // Act
    const computed = retryWindowMs(kind, settings);

    // Assess
    expect(computed).toBe(windowMs);
  });

  it('tells clients to wait the whole window, rounded up: 19 s when storage fails, 21 s when it throttles, 1 s for a replaced source', () => {
    // Assess
    expect(STORAGE_RETRY_AFTER_SECONDS).toEqual({ unavailable: 19, throttled: 21, changed: 1 });
    expect(STORAGE_RETRY_AFTER_SECONDS.unavailable * 1000).toBeGreaterThanOrEqual(retryWindowMs('unavailable'));
    expect(STORAGE_RETRY_AFTER_SECONDS.throttled * 1000).toBeGreaterThanOrEqual(retryWindowMs('throttled'));
  });

  it.each([
    ['a 500 that outlasted the retries', Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500, attempts: 3 } }), '19'],
    ['SlowDown that outlasted the retries', Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503, attempts: 3 }, $retryable: { throttling: true } }), '21'],
  ])('puts the window into the 503 for %s, header and message alike', (_what, cause, seconds) => {
    // Act
    let error: unknown;
    try {
      raiseS3Error(cause, { operation: 'HeadObject', bucket: 'derivatives', key: 'k', subject: 'a derivative', logger: quiet });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': seconds } });
    expect((error as Error).message).toMatch(new RegExp(`; retry after ${seconds} s$`));
  });
});
