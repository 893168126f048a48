/**
 * Storage faults. Two kinds of injection, each for what it can reach:
 * - aws-sdk-client-mock replaces `client.send`, so errors arrive exactly as built here, with no
 *   SDK middleware (no retries): for the mapping of each error on each operation.
 * - The fault proxy (test/support/s3.ts) sits on the HTTP path to the embedded S3, so the SDK's
 *   retries, timeouts and error parsing run for real: for throttling bursts, timeouts, resets
 *   and bodies cut short.
 * Each case asserts the exact { code, status }, the Retry-After, and that nothing partial was
 * written: no object in the bucket, no file (nor .part) in the source cache.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AccessDenied,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type GetObjectCommandOutput,
  type S3Client as S3ClientType,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DerivativeStore } from '../../lib/store/derivatives.js';
import type { StoreLogAttributes, StoreLogger } from '../../lib/store/logger.js';
import { SourceStore, type SourceObject } from '../../lib/store/sources.js';
import { startFaultProxy, startTestS3, type FaultProxy, type TestS3 } from '../support/s3.js';

/** The local path of a source's whole file (SourceStore.obtain without the download flag). */
async function pathOf(store: Pick<SourceStore, 'obtain'>, object: SourceObject): Promise<string> {
  return (await store.obtain(object)).path;
}

function recordingLogger(): StoreLogger & { readonly entries: { level: string; message: string; attributes: StoreLogAttributes }[] } {
  const entries: { level: string; message: string; attributes: StoreLogAttributes }[] = [];
  return {
    entries,
    warn: (message, attributes) => entries.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => entries.push({ level: 'error', message, attributes }),
  };
}

/** An S3 error as the SDK builds it (HEAD answers have no body: name 'Unknown'). */
function s3Error(name: string, status: number, attempts = 1): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts }, message: name });
}

/** Our code reads the body as the Node.js Readable it is at run time. */
function body(stream: Readable): NonNullable<GetObjectCommandOutput['Body']> {
  return stream as unknown as NonNullable<GetObjectCommandOutput['Body']>;
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; status?: number; headers?: Record<string, string> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; status?: number; headers?: Record<string, string> };
  }
  throw new Error('expected a failure');
}

let cacheDir: string;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'recto-faults-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const SOURCE: SourceObject = { key: 'masters/abc.tif', etag: '"e1"', bytes: 10 };

describe('storage faults injected with aws-sdk-client-mock', () => {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const mock = mockClient(client);
  let logger: ReturnType<typeof recordingLogger>;
  let sources: SourceStore;
  let derivatives: DerivativeStore;

  beforeEach(() => {
    mock.reset();
    logger = recordingLogger();
    sources = new SourceStore(client, { bucket: 'masters', keyTemplate: 'masters/{id}.tif', cache: { dir: cacheDir, maxBytes: 1_000_000 }, logger });
    derivatives = new DerivativeStore(client, { bucket: 'derivatives', presignTtlSeconds: 3600, logger, conflictWaitMs: 200 });
  });
  afterAll(() => {
    mock.restore();
  });

  it('answers 503 STORAGE_UNAVAILABLE with Retry-After 21 when HEAD is still throttled after the retries', async () => {
    // Prepare
    mock.on(HeadObjectCommand).rejects(s3Error('SlowDown', 503, 3));

    // Act
    const error = await failure(sources.head('abc'));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '21' } });
    expect(logger.entries.map((e) => e.level)).toEqual(['warn']);
  });

  it.each([
    ['HEAD of a source', () => sources.head('abc'), HeadObjectCommand, s3Error('Unknown', 403)],
    ['a ranged GET of a source', () => sources.readRange('abc', 0, 9), GetObjectCommand, new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } })],
    ['the GET of a whole source', () => pathOf(sources, SOURCE), GetObjectCommand, new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } })],
    ['HEAD of a derivative', () => derivatives.exists('iiif/x.jpg'), HeadObjectCommand, s3Error('Unknown', 403)],
    ['the PUT of a derivative', () => derivatives.put('iiif/x.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"e1"' }), PutObjectCommand, new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } })],
    ['the GET of a source record', () => derivatives.getJson('iiif/abc/record.json'), GetObjectCommand, new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } })],
  ] as const)('answers AccessDenied on %s with 500 STORAGE_MISCONFIGURED, no Retry-After, logged as an error', async (_what, act, command, rejection) => {
    // Prepare
    mock.on(command).rejects(rejection);

    // Act
    const error = await failure(act());

    // Assess
    expect(error).toMatchObject({ name: 'StorageError', code: 'STORAGE_MISCONFIGURED', status: 500, headers: {} });
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: 'error', attributes: { kind: 'misconfigured', httpStatus: 403 } });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it("answers a PUT refused with 412 PreconditionFailed with 'exists'", async () => {
    // Prepare
    mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    // Act
    const result = await derivatives.put('iiif/x.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"e1"' });

    // Assess
    expect(result).toBe('exists');
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(logger.entries).toEqual([]);
  });

  it("answers a 409 ConditionalRequestConflict with 'exists' once the other writer's object appears", async () => {
    // Prepare
    mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    mock.on(HeadObjectCommand).rejectsOnce(new NotFound({ message: 'NotFound', $metadata: { httpStatusCode: 404 } })).resolves({});

    // Act
    const result = await derivatives.put('iiif/x.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"e1"' });

    // Assess
    expect(result).toBe('exists');
    expect(mock.commandCalls(HeadObjectCommand)).toHaveLength(2);
  });

  it("tries again after a 409 when the other writer gave up, and answers 'created'", async () => {
    // Prepare
    mock.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).resolves({});
    mock.on(HeadObjectCommand).rejects(new NotFound({ message: 'NotFound', $metadata: { httpStatusCode: 404 } }));

    // Act
    const result = await derivatives.put('iiif/x.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"e1"' });

    // Assess
    expect(result).toBe('created');
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(2);
    expect(mock.commandCalls(PutObjectCommand)[1]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('answers 503 when conflicting writes neither finish nor give up', async () => {
    // Prepare
    mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    mock.on(HeadObjectCommand).rejects(new NotFound({ message: 'NotFound', $metadata: { httpStatusCode: 404 } }));

    // Act
    const error = await failure(derivatives.put('iiif/x.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"e1"' }));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('sends every derivative with If-None-Match, a SHA-256 of the body and the source ETag', async () => {
    // Prepare
    mock.on(PutObjectCommand).resolves({});

    // Act
    await derivatives.put('iiif/x.jpg', Buffer.from('abc'), { contentType: 'image/jpeg', sourceEtag: '"e1"' });

    // Assess
    expect(mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'derivatives',
      Key: 'iiif/x.jpg',
      IfNoneMatch: '*',
      ContentType: 'image/jpeg',
      ContentLength: 3,
      CacheControl: 'public, max-age=31536000, immutable',
      Metadata: { 'source-etag': '"e1"' },
      ChecksumSHA256: 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=',
    });
  });

  it('answers a source deleted between HEAD and GET with 404 SOURCE_NOT_FOUND naming it, and caches nothing', async () => {
    // Prepare
    mock.on(HeadObjectCommand).resolves({ ETag: '"e1"', ContentLength: 10 });
    mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    const source = await sources.head('abc');

    // Act
    const error = await failure(pathOf(sources, source));

    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_NOT_FOUND', status: 404, message: 'Expected an existing source for the identifier but received "abc"' });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('answers a source replaced mid-way (412 on If-Match) with 503 SOURCE_CHANGED, and caches nothing', async () => {
    // Prepare
    mock.on(GetObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    // Act
    const fetched = await failure(pathOf(sources, SOURCE));
    const ranged = await failure(sources.readRange('abc', 0, 9, '"e1"'));

    // Assess
    expect(fetched).toMatchObject({ code: 'SOURCE_CHANGED', status: 503, headers: { 'retry-after': '1' } });
    expect(ranged).toMatchObject({ code: 'SOURCE_CHANGED', status: 503, headers: { 'retry-after': '1' } });
    expect(mock.commandCalls(GetObjectCommand)[0]?.args[0].input.IfMatch).toBe('"e1"');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('answers a GET that ignores If-Match and returns another ETag with SOURCE_CHANGED, and caches nothing', async () => {
    // Prepare
    mock.on(GetObjectCommand).resolves({ ETag: '"e2"', ContentLength: 10, Body: body(Readable.from([Buffer.alloc(10)])) });

    // Act
    const error = await failure(pathOf(sources, SOURCE));

    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_CHANGED', status: 503 });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('answers a body that breaks mid-way with 503 STORAGE_UNAVAILABLE, and leaves no partial file', async () => {
    // Prepare
    const broken = new Readable({ read() {} });
    broken.push(Buffer.alloc(4));
    setTimeout(() => broken.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 20);
    mock.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentLength: 10, Body: body(broken) });

    // Act
    const error = await failure(pathOf(sources, SOURCE));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(await readdir(cacheDir)).toEqual([]);
    expect(sources.cacheStats).toMatchObject({ downloads: 0, entries: 0, bytes: 0 });
  });

  it('answers a body failing its checksum (a plain Error from the SDK) with 503, and leaves no partial file', async () => {
    // Prepare
    const damaged = new Readable({ read() {} });
    damaged.push(Buffer.alloc(10));
    setTimeout(() => damaged.destroy(new Error('Checksum mismatch: expected "a" but received "b" in response header "x-amz-checksum-crc32".')), 20);
    mock.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentLength: 10, Body: body(damaged) });

    // Act
    const error = await failure(pathOf(sources, SOURCE));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(error.message).toBe('Expected 10 bytes for the source "abc" but received "10 bytes and an error"; the transfer was cut short, retry after 19 s');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('answers a body shorter than the source with 503 STORAGE_UNAVAILABLE, and leaves no partial file', async () => {
    // Prepare
    mock.on(GetObjectCommand).resolves({ ETag: '"e1"', Body: body(Readable.from([Buffer.alloc(6)])) });

    // Act
    const error = await failure(pathOf(sources, SOURCE));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(error.message).toBe('Expected 10 bytes for the source "abc" but received "6 bytes"; the transfer was cut short, retry after 19 s');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('answers a timed-out record read with 503 STORAGE_UNAVAILABLE', async () => {
    // Prepare
    mock.on(GetObjectCommand).rejects(Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $metadata: { attempts: 3 } }));

    // Act
    const error = await failure(derivatives.getJson('iiif/abc/record.json'));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
  });

  it.each([
    ['AccessDenied', 'STORAGE_MISCONFIGURED', 500],
    ['InternalError', 'STORAGE_UNAVAILABLE', 503],
  ] as const)('answers a per-key %s in a DeleteObjects answer with %s', async (code, expectedCode, status) => {
    // Prepare
    mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'iiif/abc/a.jpg' }], IsTruncated: false });
    mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'iiif/abc/a.jpg', Code: code, Message: code }] });

    // Act
    const error = await failure(derivatives.deletePrefix('iiif/abc/'));

    // Assess
    expect(error).toMatchObject({ code: expectedCode, status });
  });

  it('deletes 1500 listed keys in two DeleteObjects calls of 1000 and 500', async () => {
    // Prepare
    const keys = Array.from({ length: 1500 }, (_, i) => `iiif/abc/${i}.jpg`);
    mock
      .on(ListObjectsV2Command)
      .resolvesOnce({ Contents: keys.slice(0, 1000).map((Key) => ({ Key })), IsTruncated: true, NextContinuationToken: 't' })
      .resolvesOnce({ Contents: keys.slice(1000).map((Key) => ({ Key })), IsTruncated: false })
      .resolves({ IsTruncated: false });
    mock.on(DeleteObjectsCommand).resolves({});

    // Act
    const deleted = await derivatives.deletePrefix('iiif/abc/');

    // Assess
    expect(deleted).toBe(1500);
    const calls = mock.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input.Delete?.Objects?.length);
    expect(calls).toEqual([1000, 500]);
    expect(mock.commandCalls(ListObjectsV2Command).every((call) => call.args[0].input.MaxKeys === 1000)).toBe(true);
  });

  it('rethrows an S3 error it does not know, unchanged', async () => {
    // Prepare
    const unknown = s3Error('InvalidArgument', 400);
    mock.on(HeadObjectCommand).rejects(unknown);

    // Act
    const error = await failure(sources.head('abc'));

    // Assess
    expect(error).toBe(unknown);
  });
});

describe('storage faults injected on the HTTP path (real SDK retries and timeouts)', () => {
  let s3: TestS3;
  let proxy: FaultProxy;
  let client: S3ClientType;
  let logger: ReturnType<typeof recordingLogger>;
  let sources: SourceStore;
  let derivatives: DerivativeStore;
  const sourceBody = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 253));

  beforeAll(async () => {
    s3 = await startTestS3();
    proxy = await startFaultProxy(s3.endpoint);
    client = s3.createClient({ endpoint: proxy.endpoint, maxAttempts: 3, requestTimeoutMs: 400, connectionTimeoutMs: 200 });
    await s3.putObject(s3.sourceBucket, 'masters/abc.tif', sourceBody);
  });
  afterAll(async () => {
    await proxy.close();
    await s3.close();
  });
  beforeEach(() => {
    logger = recordingLogger();
    sources = new SourceStore(client, { bucket: s3.sourceBucket, keyTemplate: 'masters/{id}.tif', cache: { dir: cacheDir, maxBytes: 1_000_000 }, logger });
    derivatives = new DerivativeStore(client, { bucket: s3.derivativeBucket, presignTtlSeconds: 3600, logger });
  });
  afterEach(() => {
    expect(proxy.pending()).toBe(0);
  });

  it('rides out a burst of SlowDown answers with the SDK retries', async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', path: `/${s3.sourceBucket}/masters/abc.tif`, times: 2, action: { status: 503, code: 'SlowDown' } });
    const before = proxy.log.length;

    // Act
    const source = await sources.head('abc');

    // Assess
    expect(source.bytes).toBe(50_000);
    expect(proxy.log.slice(before).map((entry) => entry.fault)).toEqual([true, true, false]);
  });

  it('answers 503 with Retry-After 21 when SlowDown outlasts the retries', async () => {
    // Prepare
    proxy.inject({ method: 'GET', path: `/${s3.sourceBucket}/masters/abc.tif`, times: 3, action: { status: 503, code: 'SlowDown' } });

    // Act
    const error = await failure(sources.readRange('abc', 0, 99));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '21' } });
    expect(error.message).toBe('Expected an answer from storage for GetObject of source "abc" but received "SlowDown (HTTP 503) after 3 attempts"; retry after 21 s');
  });

  it('answers 503 with Retry-After 19 when HEAD keeps failing with a bodiless 503', async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', times: 3, action: { status: 503 } });

    // Act
    const error = await failure(derivatives.exists('iiif/abc/full/max/0/default.jpg'));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
  });

  it('gives up on a storage slower than the request timeout within the attempts, with a 503', async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', times: 3, action: { delayMs: 3_000 } });
    const started = Date.now();

    // Act
    const error = await failure(sources.head('abc'));

    // Assess
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(error.message).toMatch(/^Expected an answer from storage for HeadObject of source "abc" but received "TimeoutError.*after 3 attempts"; retry after 19 s$/);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 400);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('recovers from one slow answer and one reset connection by retrying', async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', times: 1, action: { delayMs: 1_000 } });
    proxy.inject({ method: 'GET', times: 1, action: { reset: true } });

    // Act
    const source = await sources.head('abc');
    const path = await pathOf(sources, source);

    // Assess
    expect(await readFile(path)).toEqual(sourceBody);
  });

  it('answers a body cut short on the wire with 503, leaves no file, and fetches whole the next time', async () => {
    // Prepare
    const source = await sources.head('abc');
    proxy.inject({ method: 'GET', times: 1, action: { truncateAfterBytes: 20_000 } });

    // Act
    const error = await failure(pathOf(sources, source));
    const leftBehind = await readdir(cacheDir);
    const path = await pathOf(sources, source);

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503, headers: { 'retry-after': '19' } });
    expect(leftBehind).toEqual([]);
    expect(await readFile(path)).toEqual(sourceBody);
  });

  it('answers AccessDenied on the GET of a source with 500, caching nothing', async () => {
    // Prepare
    const source = await sources.head('abc');
    proxy.inject({ method: 'GET', times: 1, action: { status: 403, code: 'AccessDenied' } });

    // Act
    const error = await failure(pathOf(sources, source));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_MISCONFIGURED', status: 500, headers: {} });
    expect(await readdir(cacheDir)).toEqual([]);
    expect(logger.entries[0]).toMatchObject({ level: 'error', attributes: { operation: 'GetObject', bucket: s3.sourceBucket, key: 'masters/abc.tif', s3Error: 'AccessDenied', httpStatus: 403 } });
  });

  it('answers a bodiless 403 on HEAD with 500', async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', times: 1, action: { status: 403 } });

    // Act
    const error = await failure(sources.head('abc'));

    // Assess
    expect(error).toMatchObject({ code: 'STORAGE_MISCONFIGURED', status: 500 });
  });

  it.each([
    ['AccessDenied', 403, 1, 'STORAGE_MISCONFIGURED', 500],
    ['InternalError', 500, 3, 'STORAGE_UNAVAILABLE', 503],
    ['SlowDown', 503, 3, 'STORAGE_UNAVAILABLE', 503],
  ] as const)('answers %s on the PUT of a derivative with %s and stores nothing', async (code, status, times, expectedCode, expectedStatus) => {
    // Prepare
    const key = `iiif/put-${code}/full/max/0/default.jpg`;
    proxy.inject({ method: 'PUT', times, action: { status, code } });

    // Act
    const error = await failure(derivatives.put(key, Buffer.from('jpeg'), { contentType: 'image/jpeg', sourceEtag: '"e"' }));

    // Assess
    expect(error).toMatchObject({ code: expectedCode, status: expectedStatus });
    expect(await s3.listKeys(s3.derivativeBucket, `iiif/put-${code}/`)).toEqual([]);
  });

  it('stores a derivative once when its PUT times out and is retried', async () => {
    // Prepare
    const key = 'iiif/put-slow/full/max/0/default.jpg';
    proxy.inject({ method: 'PUT', times: 1, action: { delayMs: 1_000 } });

    // Act
    const result = await derivatives.put(key, Buffer.from('whole jpeg'), { contentType: 'image/jpeg', sourceEtag: '"e"' });

    // Assess
    expect(result).toBe('created');
    expect((await s3.getObject(s3.derivativeBucket, key))?.body.toString()).toBe('whole jpeg');
    expect(await s3.listKeys(s3.derivativeBucket, 'iiif/put-slow/')).toEqual([key]);
  });
});
