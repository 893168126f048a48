/**
 * DerivativeStore against the embedded S3 over HTTP: conditional creation, presigned URLs fetched
 * with fetch(), JSON records, listing and deleting by prefix.
 */
import { createHash } from 'node:crypto';
import { GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_CREDENTIALS } from '../../infra/local/s3.js';
import { DerivativeStore } from '../../lib/store/derivatives.js';
import type { StoreLogAttributes, StoreLogger } from '../../lib/store/logger.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
});

function store(options: { now?: () => Date; pageSize?: number; logger?: StoreLogger; presignTtlSeconds?: number } = {}): DerivativeStore {
  return new DerivativeStore(s3.client, { bucket: s3.derivativeBucket, presignTtlSeconds: options.presignTtlSeconds ?? 3600, ...options });
}

function recordingLogger(): StoreLogger & { readonly entries: { level: string; message: string; attributes: StoreLogAttributes }[] } {
  const entries: { level: string; message: string; attributes: StoreLogAttributes }[] = [];
  return {
    entries,
    warn: (message, attributes) => entries.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => entries.push({ level: 'error', message, attributes }),
  };
}

describe('DerivativeStore.put and exists', () => {
  it('creates a derivative with its type, immutable caching, the source ETag and a SHA-256 checksum', async () => {
    // Prepare
    const key = 'iiif/abc/full/max/0/default.jpg';
    const body = Buffer.from('jpeg bytes');
    const derivatives = store();

    // Act
    const result = await derivatives.put(key, body, { contentType: 'image/jpeg', sourceEtag: '"feed"' });

    // Assess
    expect(result).toBe('created');
    const stored = await s3.getObject(s3.derivativeBucket, key);
    expect(stored?.body).toEqual(body);
    expect(stored?.contentType).toBe('image/jpeg');
    expect(stored?.cacheControl).toBe('public, max-age=31536000, immutable');
    expect(stored?.metadata).toEqual({ 'source-etag': '"feed"' });
    const put = s3.requests.find((r) => r.method === 'PUT' && r.path === `/${s3.derivativeBucket}/${key}`);
    expect(put?.headers['if-none-match']).toBe('*');
    expect(put?.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(body).digest('base64'));
    expect(put?.headers['content-encoding']).toBeUndefined();
  });

  it.each([
    ['short', 'recto%3Alifetime=short', [{ Key: 'recto:lifetime', Value: 'short' }]],
    ['long', undefined, []],
    [undefined, undefined, []],
  ] as const)('tags a derivative of lifetime %s on its PUT as the lifecycle rule expects', async (lifetime, header, tags) => {
    // Prepare
    const key = `iiif/tags-${String(lifetime)}/full/37,/0/default.jpg`;

    // Act
    await store().put(key, Buffer.from('odd size'), { contentType: 'image/jpeg', sourceEtag: '"feed"', ...(lifetime === undefined ? {} : { lifetime }) });

    // Assess
    const put = s3.requests.find((r) => r.method === 'PUT' && r.path === `/${s3.derivativeBucket}/${key}`);
    expect(put?.headers['x-amz-tagging']).toBe(header);
    const tagging = await s3.client.send(new GetObjectTaggingCommand({ Bucket: s3.derivativeBucket, Key: key }));
    expect(tagging.TagSet ?? []).toEqual(tags);
  });

  it('replaces a stored derivative in place with an unconditional, checksummed PUT when asked to', async () => {
    // Prepare
    const key = 'iiif/forced/full/max/0/default.jpg';
    const derivatives = store();
    await derivatives.put(key, Buffer.from('old bytes'), { contentType: 'image/jpeg', sourceEtag: '"old"' });
    const body = Buffer.from('new bytes');

    // Act
    const result = await derivatives.put(key, body, { contentType: 'image/jpeg', sourceEtag: '"new"', replace: true });

    // Assess
    expect(result).toBe('created');
    const stored = await s3.getObject(s3.derivativeBucket, key);
    expect(stored?.body).toEqual(body);
    expect(stored?.metadata).toEqual({ 'source-etag': '"new"' });
    const put = s3.requests.filter((r) => r.method === 'PUT' && r.path === `/${s3.derivativeBucket}/${key}`).at(-1);
    expect(put?.headers['if-none-match']).toBeUndefined();
    expect(put?.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(body).digest('base64'));
  });

  it("answers 'exists' and keeps the first object when the key is already stored", async () => {
    // Prepare
    const key = 'iiif/twice/full/max/0/default.png';
    const derivatives = store();
    await derivatives.put(key, Buffer.from('first'), { contentType: 'image/png', sourceEtag: '"1"' });

    // Act
    const second = await derivatives.put(key, Buffer.from('second'), { contentType: 'image/png', sourceEtag: '"1"' });

    // Assess
    expect(second).toBe('exists');
    expect((await s3.getObject(s3.derivativeBucket, key))?.body.toString()).toBe('first');
  });

  it('stores exactly one object when ten puts of the same key race', async () => {
    // Prepare
    const key = 'iiif/race/full/max/0/default.webp';
    const derivatives = store();
    const bodies = Array.from({ length: 10 }, (_, i) => Buffer.alloc(200_000, i));

    // Act
    const results = await Promise.all(bodies.map((body) => derivatives.put(key, body, { contentType: 'image/webp', sourceEtag: '"r"' })));

    // Assess
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(results.filter((r) => r === 'exists')).toHaveLength(9);
    const stored = await s3.getObject(s3.derivativeBucket, key);
    const winner = results.indexOf('created');
    expect(stored?.body).toEqual(bodies[winner]);
    expect(await s3.listKeys(s3.derivativeBucket, 'iiif/race/')).toEqual([key]);
  });

  it('uses a given Cache-Control instead of the default', async () => {
    // Act
    await store().put('iiif/cc/full/max/0/default.jpg', Buffer.from('x'), { contentType: 'image/jpeg', sourceEtag: '"x"', cacheControl: 'public, max-age=60' });

    // Assess
    expect((await s3.getObject(s3.derivativeBucket, 'iiif/cc/full/max/0/default.jpg'))?.cacheControl).toBe('public, max-age=60');
  });

  it('tells whether a key exists', async () => {
    // Prepare
    await s3.putObject(s3.derivativeBucket, 'iiif/here/full/max/0/default.jpg', 'x');

    // Act
    const here = await store().exists('iiif/here/full/max/0/default.jpg');
    const gone = await store().exists('iiif/not-here/full/max/0/default.jpg');

    // Assess
    expect(here).toBe(true);
    expect(gone).toBe(false);
  });
});

describe('DerivativeStore.presign', () => {
  const key = 'iiif/id%2Fwith space/0,0,512,512/512,/0/default.jpg';
  const body = Buffer.from('a tile, served by the embedded S3');

  beforeAll(async () => {
    await store().put(key, body, { contentType: 'image/jpeg', sourceEtag: '"s"' });
  });

  it('gives a URL that serves the bytes with their Content-Type and Cache-Control', async () => {
    // Act
    const presigned = await store().presign(key);
    const answer = await fetch(presigned.url);

    // Assess
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer())).toEqual(body);
    expect(answer.headers.get('content-type')).toBe('image/jpeg');
    expect(answer.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new URL(presigned.url).searchParams.get('X-Amz-Expires')).toBe('3600');
  });

  it('gives the same URL within a window of half the TTL, and says how long it stays valid', async () => {
    // Prepare: TTL 3600 s, so windows start at :00 and :30.
    const at = (iso: string) => store({ now: () => new Date(iso) }).presign(key);

    // Act
    const start = await at('2030-01-01T10:00:00.000Z');
    const later = await at('2030-01-01T10:29:59.999Z');

    // Assess
    expect(later.url).toBe(start.url);
    expect(new URL(start.url).searchParams.get('X-Amz-Date')).toBe('20300101T100000Z');
    expect(start.expiresAt.toISOString()).toBe('2030-01-01T11:00:00.000Z');
    expect(later.expiresAt.toISOString()).toBe('2030-01-01T11:00:00.000Z');
    expect(start.maxAgeSeconds).toBe(3600);
    expect(later.maxAgeSeconds).toBe(1800);
  });

  it('gives a new URL in the next window', async () => {
    // Act
    const before = await store({ now: () => new Date('2030-01-01T10:29:59.999Z') }).presign(key);
    const after = await store({ now: () => new Date('2030-01-01T10:30:00.000Z') }).presign(key);

    // Assess
    expect(after.url).not.toBe(before.url);
    expect(new URL(after.url).searchParams.get('X-Amz-Date')).toBe('20300101T103000Z');
    expect(after.expiresAt.toISOString()).toBe('2030-01-01T11:30:00.000Z');
    expect(after.maxAgeSeconds).toBe(3600);
  });

  it('gives URLs that the store refuses once they have expired', async () => {
    // Prepare: signed two hours ago with a one-hour TTL.
    const past = new Date(Date.now() - 2 * 3600_000);

    // Act
    const presigned = await store({ now: () => past }).presign(key);
    const answer = await fetch(presigned.url);

    // Assess
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('caps the validity it reports at the expiry of temporary credentials', async () => {
    // Prepare
    const now = new Date('2030-01-01T10:00:00.000Z');
    const client = new S3Client({
      endpoint: s3.endpoint.href,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: () => Promise.resolve({ ...LOCAL_S3_CREDENTIALS, sessionToken: 'token', expiration: new Date('2030-01-01T10:10:00.000Z') }),
    });
    const derivatives = new DerivativeStore(client, { bucket: s3.derivativeBucket, presignTtlSeconds: 3600, now: () => now });

    // Act
    const presigned = await derivatives.presign(key);
    client.destroy();

    // Assess
    expect(presigned.maxAgeSeconds).toBe(600);
    expect(presigned.expiresAt.toISOString()).toBe('2030-01-01T10:10:00.000Z');
  });
});

describe('DerivativeStore JSON records', () => {
  it('writes a record and reads it back', async () => {
    // Prepare
    const record = { schema: 1, identifier: 'a "quoted" id', width: 1000, height: 800 };

    // Act
    await store().putJson('iiif/records/a.json', record);
    const read = await store().getJson<typeof record>('iiif/records/a.json');

    // Assess
    expect(read).toEqual(record);
    const stored = await s3.getObject(s3.derivativeBucket, 'iiif/records/a.json');
    expect(stored?.contentType).toBe('application/json');
    expect(stored?.cacheControl).toBe('no-cache');
  });

  it('replaces an earlier record', async () => {
    // Prepare
    await store().putJson('iiif/records/b.json', { version: 1 });

    // Act
    await store().putJson('iiif/records/b.json', { version: 2 });

    // Assess
    expect(await store().getJson('iiif/records/b.json')).toEqual({ version: 2 });
  });

  it('answers undefined when there is no record', async () => {
    // Act
    const read = await store().getJson('iiif/records/none.json');

    // Assess
    expect(read).toBeUndefined();
  });

  it('treats a record that does not parse as absent, and logs it', async () => {
    // Prepare
    await s3.putObject(s3.derivativeBucket, 'iiif/records/broken.json', '{"schema": 1,');
    const logger = recordingLogger();

    // Act
    const read = await store({ logger }).getJson('iiif/records/broken.json');

    // Assess
    expect(read).toBeUndefined();
    expect(logger.entries).toEqual([
      { level: 'warn', message: 'Ignoring a JSON record that does not parse', attributes: { bucket: s3.derivativeBucket, key: 'iiif/records/broken.json', bytes: 13 } },
    ]);
  });
});

describe('DerivativeStore.list and deletePrefix', () => {
  it('lists every object under a prefix across pages', async () => {
    // Prepare
    const keys = Array.from({ length: 7 }, (_, i) => `iiif/listed/${i}/max/0/default.jpg`);
    for (const key of keys) await s3.putObject(s3.derivativeBucket, key, key);
    await s3.putObject(s3.derivativeBucket, 'iiif/listed-other/x', 'not under the prefix');
    const before = s3.requests.length;

    // Act
    const listed = [];
    for await (const object of store({ pageSize: 3 }).list('iiif/listed/')) listed.push(object);

    // Assess
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(listed.map((o) => o.bytes)).toEqual(keys.map((k) => k.length));
    expect(listed.every((o) => o.lastModified instanceof Date)).toBe(true);
    const lists = s3.requests.slice(before).filter((r) => r.method === 'GET' && r.query.get('list-type') === '2');
    expect(lists.map((r) => r.query.get('max-keys'))).toEqual(['3', '3', '3']);
  });

  it('deletes everything under a prefix in pages and leaves its neighbours', async () => {
    // Prepare
    const keys = Array.from({ length: 10 }, (_, i) => `iiif/purge/${String(i).padStart(2, '0')}.jpg`);
    for (const key of keys) await s3.putObject(s3.derivativeBucket, key, 'x');
    await s3.putObject(s3.derivativeBucket, 'iiif/purge-neighbour/keep.jpg', 'x');
    const before = s3.requests.length;

    // Act
    const deleted = await store({ pageSize: 4 }).deletePrefix('iiif/purge/');

    // Assess
    expect(deleted).toBe(10);
    expect(await s3.listKeys(s3.derivativeBucket, 'iiif/purge/')).toEqual([]);
    expect(await s3.listKeys(s3.derivativeBucket, 'iiif/purge-neighbour/')).toEqual(['iiif/purge-neighbour/keep.jpg']);
    const deletes = s3.requests.slice(before).filter((r) => r.method === 'POST' && r.query.has('delete'));
    expect(deletes).toHaveLength(3);
  });

  it('deletes more than 1000 objects, 1000 per DeleteObjects call', async () => {
    // Prepare
    const count = 1003;
    await s3.seed(s3.derivativeBucket, Array.from({ length: count }, (_, i) => `iiif/many/${i}.jpg`), 'x');
    const before = s3.requests.length;

    // Act
    const deleted = await store().deletePrefix('iiif/many/');

    // Assess
    expect(deleted).toBe(count);
    expect(await s3.listKeys(s3.derivativeBucket, 'iiif/many/')).toEqual([]);
    const deletes = s3.requests.slice(before).filter((r) => r.method === 'POST' && r.query.has('delete'));
    expect(deletes).toHaveLength(2);
  });

  it('answers 0 for a prefix with nothing under it', async () => {
    // Act
    const deleted = await store().deletePrefix('iiif/nothing-here/');

    // Assess
    expect(deleted).toBe(0);
  });

  it('refuses to delete the whole bucket', async () => {
    // Act
    const error = await store().deletePrefix('').catch((caught: unknown) => caught);

    // Assess
    expect(error).toEqual(new TypeError('Expected a non-empty prefix for deletePrefix but received ""'));
  });
});
