/**
 * createS3Client: the settings it resolves to, with and without an endpoint.
 */
import { describe, expect, it } from 'vitest';
import { createS3Client, S3_CLIENT_DEFAULTS, transferTimeoutMs } from '../../lib/store/s3-client.js';

describe('createS3Client', () => {
  it('uses path-style addressing, us-east-1 and checksums only where required with an endpoint', async () => {
    // Act
    const client = createS3Client({ endpoint: new URL('http://127.0.0.1:4569'), credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

    // Assess
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('us-east-1');
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await client.config.maxAttempts()).toBe(3);
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' });
    client.destroy();
  });

  it('keeps virtual-hosted addressing and the SDK checksums against AWS itself', async () => {
    // Act
    const client = createS3Client({ region: 'eu-west-1', maxAttempts: 5, retryMode: 'adaptive' });

    // Assess
    expect(client.config.forcePathStyle).toBe(false);
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    expect(await client.config.maxAttempts()).toBe(5);
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
    client.destroy();
  });

  it('sets connection, request and socket timeouts, throwing on a request timeout, with keep-alive agents', () => {
    // Act
    const client = createS3Client({ region: 'eu-west-1', requestTimeoutMs: 2500, connectionTimeoutMs: 700 });
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };

    // Assess
    return handler.configProvider.then((config) => {
      expect(config).toMatchObject({ connectionTimeout: 700, requestTimeout: 2500, socketTimeout: 2500, throwOnRequestTimeout: true });
      client.destroy();
    });
  });

  it.each([
    [{ maxAttempts: 0 }, 'Expected a whole number from 1 to 10 for maxAttempts but received "0"'],
    [{ maxAttempts: 1.5 }, 'Expected a whole number from 1 to 10 for maxAttempts but received "1.5"'],
    [{ requestTimeoutMs: -1 }, 'Expected a whole number from 1 to 900000 for requestTimeoutMs but received "-1"'],
    [{ connectionTimeoutMs: 0 }, 'Expected a whole number from 1 to 60000 for connectionTimeoutMs but received "0"'],
    [{ retryMode: 'legacy' as 'standard' }, 'Expected one of standard, adaptive for retryMode but received "legacy"'],
  ])('refuses %j as API misuse', (options, message) => {
    // Act
    const act = () => createS3Client(options);

    // Assess
    expect(act).toThrow(new TypeError(message));
  });
});

describe('transferTimeoutMs', () => {
  it('gives a small body the request timeout, and a large one the time to send it at 8 MiB/s on top', () => {
    // Act
    const times = [0, 1024, 8 * 1024 * 1024, 512 * 1024 * 1024].map((bytes) => transferTimeoutMs(bytes));

    // Assess: an upload's answer only comes once its whole body is sent.
    expect(times).toEqual([S3_CLIENT_DEFAULTS.requestTimeoutMs, S3_CLIENT_DEFAULTS.requestTimeoutMs + 1, S3_CLIENT_DEFAULTS.requestTimeoutMs + 1000, S3_CLIENT_DEFAULTS.requestTimeoutMs + 64_000]);
  });
});
