/**
 * Storage faults and bad sources over real HTTP against the local stack. Faults are injected
 * with aws-sdk-client-mock on the S3 client the stack's services use: one command (matched by
 * bucket, and key where it matters) fails as the SDK would report it once its own retries are
 * spent, and every other command passes through to the embedded S3 (`callThrough`). Each case
 * checks the documented answer (503 with Retry-After for throttling, 5xx and timeouts; 500
 * STORAGE_MISCONFIGURED for AccessDenied; 404 for a source gone; 422 for an unreadable one),
 * that nothing was left in the derivative bucket, and that the same request succeeds once the
 * fault is gone.
 *
 * Sources larger than 2 MB are probed with a ranged read, so the whole object is first read by
 * the render: the GET faults use those (one per case, as a successful read is then cached).
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { baselineJpeg, corrupted, gridImage, NOT_AN_IMAGE, truncated, ZERO_BYTES } from '../support/fixtures.js';
import { decode, GRID_ID, sharedGrid, startTestStack, type Answer, type TestStack } from '../support/stack.js';

// ---- errors as the SDK reports them -------------------------------------------------------

/** An S3 error answer after the SDK's 3 attempts (HEAD answers have no body: name 'Unknown'). */
function s3Error(name: string, status: number, options: { throttling?: boolean } = {}): S3ServiceException {
  const error = new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: 3 }, message: name });
  if (options.throttling === true) Object.assign(error, { $retryable: { throttling: true } });
  return error;
}

/** What the SDK's Node handler throws when no answer came within its request timeout. */
function timeout(): Error {
  return Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError', $metadata: { attempts: 3 } });
}

/** A connection reset by the peer, as Node reports it. */
function reset(): Error {
  return Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET', $metadata: { attempts: 3 } });
}

interface Fault {
  readonly name: string;
  readonly error: () => Error;
  readonly status: 500 | 503;
  readonly code: 'STORAGE_UNAVAILABLE' | 'STORAGE_MISCONFIGURED';
  /** undefined: no Retry-After header at all. */
  readonly retryAfter: string | undefined;
}

/** HEAD has no body, so the SDK knows only the status (the name is 'Unknown'). */
const HEAD_FAULTS: readonly Fault[] = [
  { name: '503 (SlowDown, no body)', error: () => s3Error('Unknown', 503), status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '19' },
  { name: 'throttling (429)', error: () => s3Error('Unknown', 429), status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '21' },
  { name: 'a timeout', error: timeout, status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '19' },
  { name: 'AccessDenied (403, no body)', error: () => s3Error('Unknown', 403), status: 500, code: 'STORAGE_MISCONFIGURED', retryAfter: undefined },
];

/** GET and PUT answers carry an error document: the SDK knows its code. */
const BODY_FAULTS: readonly Fault[] = [
  { name: 'SlowDown', error: () => s3Error('SlowDown', 503, { throttling: true }), status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '21' },
  { name: 'InternalError', error: () => s3Error('InternalError', 500), status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '19' },
  { name: 'a timeout', error: timeout, status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '19' },
  { name: 'a connection reset', error: reset, status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '19' },
  { name: 'AccessDenied', error: () => s3Error('AccessDenied', 403), status: 500, code: 'STORAGE_MISCONFIGURED', retryAfter: undefined },
];

// ---- the stack ----------------------------------------------------------------------------

let t: TestStack;
let token: string;
let s3Mock: AwsClientStub<S3Client>;
/** Sources never asked for before their test (a record is built on first use). */
const UNPROBED = HEAD_FAULTS.map((_, index) => `unprobed-${index}`);
/** Sources over 2 MB, so the render is the first whole read (one per GET case). */
const LARGE = [...BODY_FAULTS.map((_, index) => `large-${index}`), 'large-vanishing'];

beforeAll(async () => {
  const grid = await sharedGrid();
  // Stored uncompressed: 3 MB, over the size below which a source is read whole to probe it.
  const large = await sharp(grid.raw.data, { raw: { width: grid.width, height: grid.height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
  expect(large.length).toBeGreaterThan(2 * 1024 * 1024);
  const small = await gridImage({ width: 200, height: 100, cols: 2, rows: 1 });
  const jpeg = await baselineJpeg((await gridImage({ width: 600, height: 400 })).png);
  const sources: Record<string, Buffer> = {
    'corrupt.jpg': corrupted(jpeg),
    'truncated.jpg': truncated(jpeg),
    'not-an-image.png': NOT_AN_IMAGE,
    'empty.png': ZERO_BYTES,
    'unrecorded.png': small.png,
    'record-read.png': small.png,
  };
  for (const name of UNPROBED) sources[`${name}.png`] = small.png;
  for (const name of LARGE) sources[`${name}.png`] = large;
  t = await startTestStack({ sources });
  token = await t.token();
  // The grid's record exists before the derivative faults, so they reach only what they test.
  expect((await t.request(`/iiif/3/${GRID_ID}/info.json`, { token })).status).toBe(200);
  for (const name of LARGE) expect((await t.request(`/iiif/3/${name}/info.json`, { token })).status).toBe(200);
  s3Mock = mockClient(t.stack.services.s3);
  s3Mock.send.callThrough();
  // lib/store reports storage faults on stderr; they are expected here.
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  s3Mock.reset();
  s3Mock.send.callThrough();
});

afterAll(async () => {
  s3Mock.restore();
  vi.restoreAllMocks();
  await t.close();
});

/** Every object key in the derivative bucket with its time: what a failed request must not change. */
async function footprint(): Promise<string[]> {
  return (await t.listDerivatives()).map((object) => `${object.key} ${object.lastModified.toISOString()}`);
}

function expectFault(answer: Answer, fault: Pick<Fault, 'status' | 'code' | 'retryAfter'>): void {
  expect({ status: answer.status, code: (answer.json() as { error: string }).error, retryAfter: answer.headers['retry-after'] }).toEqual({
    status: fault.status,
    code: fault.code,
    retryAfter: fault.retryAfter,
  });
  expect(answer.headers['content-type']).toBe('application/json');
  expect(answer.headers['access-control-allow-origin']).toBe('*');
}

/** The request again with storage healthy: a 302 whose Location serves an image of this size. */
async function expectRecovery(path: string, width: number, height: number): Promise<void> {
  s3Mock.reset();
  s3Mock.send.callThrough();
  const answer = await t.request(path, { token });
  expect(answer.status).toBe(302);
  const image = await decode((await t.follow(answer.headers.location ?? '')).body);
  expect([image.width, image.height]).toEqual([width, height]);
}

// ---- the cases ----------------------------------------------------------------------------

describe('HEAD faults', () => {
  it.each(HEAD_FAULTS.map((fault, index) => ({ ...fault, size: 140 + index })))(
    'answers $name on the HEAD of a derivative with $status $code, stores nothing, and recovers',
    async (fault) => {
      // Prepare
      const path = `/iiif/3/${GRID_ID}/full/${fault.size},/0/default.png`;
      s3Mock.on(HeadObjectCommand, { Bucket: t.derivativeBucket }).rejects(fault.error());
      const before = await footprint();
      const renders = t.engine.count;

      // Act
      const answer = await t.request(path, { token });

      // Assess
      expectFault(answer, fault);
      expect(t.engine.count).toBe(renders);
      expect(await footprint()).toEqual(before);
      await expectRecovery(path, fault.size, fault.size);
    },
  );

  it.each(HEAD_FAULTS.map((fault, index) => ({ ...fault, identifier: UNPROBED[index] ?? '' })))(
    'answers $name on the HEAD of a source with $status $code, stores no record, and recovers',
    async (fault) => {
      // Prepare
      s3Mock.on(HeadObjectCommand, { Bucket: t.sourceBucket }).rejects(fault.error());
      const before = await footprint();

      // Act
      const info = await t.request(`/iiif/3/${fault.identifier}/info.json`, { token });
      const image = await t.request(`/iiif/3/${fault.identifier}/full/max/0/default.png`, { token });

      // Assess
      expectFault(info, fault);
      expectFault(image, fault);
      expect(await footprint()).toEqual(before);
      await expectRecovery(`/iiif/3/${fault.identifier}/full/max/0/default.png`, 200, 100);
    },
  );
});

describe('GET faults', () => {
  it.each(BODY_FAULTS.map((fault, index) => ({ ...fault, identifier: LARGE[index] ?? '' })))(
    'answers $name on the GET of a source for a render with $status $code, stores nothing, and recovers',
    async (fault) => {
      // Prepare
      const path = `/iiif/3/${fault.identifier}/full/100,/0/default.png`;
      s3Mock.on(GetObjectCommand, { Bucket: t.sourceBucket }).rejects(fault.error());
      const before = await footprint();

      // Act
      const answer = await t.request(path, { token });

      // Assess
      expectFault(answer, fault);
      expect(s3Mock.commandCalls(GetObjectCommand, { Bucket: t.sourceBucket })).toHaveLength(1);
      expect(await footprint()).toEqual(before);
      await expectRecovery(path, 100, 100);
    },
  );

  it('answers a throttled GET of a source record with 503 and Retry-After, and recovers', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand, { Bucket: t.derivativeBucket, Key: '!recto/records/record-read/source.json' }).rejects(s3Error('SlowDown', 503, { throttling: true }));
    const before = await footprint();

    // Act
    const answer = await t.request('/iiif/2/record-read/info.json', { token });

    // Assess
    expectFault(answer, { status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '21' });
    expect(await footprint()).toEqual(before);
    await expectRecovery('/iiif/2/record-read/full/max/0/default.png', 200, 100);
  });
});

describe('PUT faults', () => {
  it.each(BODY_FAULTS.map((fault, index) => ({ ...fault, size: 150 + index })))(
    'answers $name on the PUT of a derivative with $status $code, leaves no object, and recovers',
    async (fault) => {
      // Prepare
      const path = `/iiif/3/${GRID_ID}/full/${fault.size},/0/default.png`;
      const key = `${GRID_ID}/full/${fault.size},${fault.size}/0/default.png`;
      s3Mock.on(PutObjectCommand, { Bucket: t.derivativeBucket, Key: key }).rejects(fault.error());
      const before = await footprint();

      // Act
      const answer = await t.request(path, { token });

      // Assess
      expectFault(answer, fault);
      expect(s3Mock.commandCalls(PutObjectCommand, { Key: key })).toHaveLength(1);
      expect(await t.derivativeExists(key)).toBe(false);
      expect(await footprint()).toEqual(before);
      await expectRecovery(path, fault.size, fault.size);
    },
  );

  it('answers a failed PUT of a new source record with 503 and stores nothing', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand, { Bucket: t.derivativeBucket, Key: '!recto/records/unrecorded/source.json' }).rejects(s3Error('SlowDown', 503, { throttling: true }));
    const before = await footprint();

    // Act
    const answer = await t.request('/iiif/3/unrecorded/full/max/0/default.png', { token });

    // Assess
    expectFault(answer, { status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: '21' });
    expect(await footprint()).toEqual(before);
    await expectRecovery('/iiif/3/unrecorded/full/max/0/default.png', 200, 100);
  });

  it('treats a 412 on the PUT (another writer stored the key first) as success, and redirects to that object', async () => {
    // Prepare: the other writer's object lands just before ours is refused.
    const key = `${GRID_ID}/full/160,160/0/default.png`;
    const theirs = await sharp({ create: { width: 160, height: 160, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
    s3Mock.on(PutObjectCommand, { Bucket: t.derivativeBucket, Key: key }).callsFake(async () => {
      await t.s3.send(new PutObjectCommand({ Bucket: t.derivativeBucket, Key: key, Body: theirs, ContentType: 'image/png' }));
      throw s3Error('PreconditionFailed', 412);
    });
    const renders = t.engine.count;

    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/160,/0/default.png`, { token });

    // Assess
    expect(answer.status).toBe(302);
    expect(t.engine.count).toBe(renders + 1);
    const served = await t.follow(answer.headers.location ?? '');
    expect(served.body).toEqual(theirs);
    const line = t.logger.requests().find((entry) => entry.path === `/iiif/3/${GRID_ID}/full/160,/0/default.png`);
    expect(line).toMatchObject({ status: 302, cache: 'miss', stored: 'exists' });
  });
});

describe('sources that go away or cannot be read', () => {
  it('answers 404 SOURCE_NOT_FOUND for a source deleted between the lookup and the render, and stores nothing', async () => {
    // Prepare: the source disappears right after the derivative lookup, before the render reads it.
    const identifier = 'large-vanishing';
    const head = HeadObjectCommand;
    s3Mock.on(head, { Bucket: t.derivativeBucket }).callsFakeOnce(async (input: { Key: string }) => {
      await t.deleteSource(t.stack.services.sources.keyFor(identifier));
      return t.s3.send(new HeadObjectCommand({ Bucket: t.derivativeBucket, Key: input.Key }));
    });
    const before = await footprint();

    // Act
    const answer = await t.request(`/iiif/3/${identifier}/full/120,/0/default.png`, { token });

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual({ error: 'SOURCE_NOT_FOUND', detail: `Expected an existing source for the identifier but received "${identifier}"` });
    expect(await footprint()).toEqual(before);
  });

  it.each([
    ['a corrupt JPEG', 'corrupt', 200],
    ['a truncated JPEG', 'truncated', 200],
    ['bytes that are no image', 'not-an-image', 422],
    ['an empty file', 'empty', 422],
  ])('answers 422 SOURCE_UNREADABLE for %s, stores no image, and keeps serving others', async (_what, identifier, infoStatus) => {
    // Act
    const info = await t.request(`/iiif/3/${identifier}/info.json`, { token });
    const answer = await t.request(`/iiif/3/${identifier}/full/max/0/default.png`, { token });
    const healthy = await t.request(`/iiif/3/${GRID_ID}/full/${identifier.length + 30},/0/default.png`, { token });

    // Assess
    // A damaged body behind a readable header shows only when the pixels are decoded.
    expect(info.status).toBe(infoStatus);
    expect(answer.status).toBe(422);
    const body = answer.json() as { error: string; detail: string };
    expect(body.error).toBe('SOURCE_UNREADABLE');
    expect(body.detail).toMatch(/^Expected (a readable image|an image) for the source but received /);
    expect(answer.headers['retry-after']).toBeUndefined();
    expect((await t.listImages()).filter((object) => object.key.startsWith(`${identifier}/`))).toEqual([]);
    expect(healthy.status).toBe(302);
  });
});
