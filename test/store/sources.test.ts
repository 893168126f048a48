/**
 * SourceStore against the embedded S3 over HTTP: keys, HEAD, ranged reads, and the /tmp cache
 * (single download, sharing, eviction, budgets, a source changed or deleted mid-way).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceStore, type SourceObject } from '../../lib/store/sources.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

/** The local path of a source's whole file (SourceStore.obtain without the download flag). */
async function pathOf(store: Pick<SourceStore, 'obtain'>, object: SourceObject): Promise<string> {
  return (await store.obtain(object)).path;
}

const md5 = (body: Buffer | string) => `"${createHash('md5').update(body).digest('hex')}"`;
/** Deterministic bytes: byte i is i mod 251. */
const bytes = (length: number, seed = 0) => Buffer.from(Array.from({ length }, (_, i) => (i + seed) % 251));

let s3: TestS3;
let cacheDir: string;

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'recto-cache-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

function store(options: { maxBytes?: number; minResidencyMs?: number; keyTemplate?: string } = {}): SourceStore {
  return new SourceStore(s3.client, {
    bucket: s3.sourceBucket,
    keyTemplate: options.keyTemplate ?? 'masters/{id}.bin',
    cache: { dir: cacheDir, maxBytes: options.maxBytes ?? 10_000_000, minResidencyMs: options.minResidencyMs ?? 0 },
  });
}

async function cacheFiles(): Promise<string[]> {
  return (await readdir(cacheDir)).sort();
}

describe('SourceStore.keyFor', () => {
  it('puts the decoded identifier into the template', () => {
    // Assess
    expect(store().keyFor('a b/c%2Fd')).toBe('masters/a b/c%2Fd.bin');
    expect(store({ keyTemplate: '{id}' }).keyFor('x.jpg')).toBe('x.jpg');
  });

  it.each([
    ['', 'Expected a non-empty identifier for the identifier but received ""'],
    ['..', 'Expected an identifier without "." or ".." path segments for the identifier but received ".."'],
    ['a/../b', 'Expected an identifier without "." or ".." path segments for the identifier but received "a/../b"'],
    ['./a', 'Expected an identifier without "." or ".." path segments for the identifier but received "./a"'],
    ['a\u0000b', 'Expected an identifier without control characters for the identifier but received "a\\u0000b"'],
    ['a\nb', 'Expected an identifier without control characters for the identifier but received "a\\nb"'],
  ])('refuses the identifier %j with a 400', (identifier, message) => {
    // Act
    const act = () => store().keyFor(identifier);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'IIIF_INVALID_IDENTIFIER', status: 400, message }) as Error);
  });

  it('refuses an identifier that would make a key longer than 1024 bytes', () => {
    // Prepare: 'masters/' + '.bin' is 12 bytes; 1013 more make 1025.
    const identifier = 'é'.repeat(506) + 'x';

    // Act
    const act = () => store().keyFor(identifier);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'IIIF_INVALID_IDENTIFIER', status: 400 }) as Error);
    expect(store().keyFor('é'.repeat(506))).toHaveLength(1024 - 506);
  });

  it('refuses a template without {id} as API misuse', () => {
    // Act
    const act = () => new SourceStore(s3.client, { bucket: 'b', keyTemplate: 'masters/x', cache: { dir: cacheDir, maxBytes: 0 } });

    // Assess
    expect(act).toThrow(new TypeError('Expected a key template containing {id} for keyTemplate but received "masters/x"'));
  });
});

describe('SourceStore.head', () => {
  it('tells the key, ETag, size, type and date of a source', async () => {
    // Prepare
    const body = bytes(1234);
    await s3.putObject(s3.sourceBucket, 'masters/head one.bin', body, { contentType: 'image/tiff' });

    // Act
    const source = await store().head('head one');

    // Assess
    expect(source).toEqual({ key: 'masters/head one.bin', etag: md5(body), bytes: 1234, contentType: 'image/tiff', lastModified: expect.any(Date) as Date });
    expect(Math.abs(source.lastModified!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('answers a missing source with SOURCE_NOT_FOUND naming the identifier', async () => {
    // Act
    const error = await store().head('no "such" source').catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      name: 'NotFoundError',
      code: 'SOURCE_NOT_FOUND',
      status: 404,
      message: 'Expected an existing source for the identifier but received "no \\"such\\" source"',
    });
  });
});

describe('SourceStore.readRange', () => {
  const body = bytes(5000, 3);
  let etag: string;

  beforeAll(async () => {
    etag = await s3.putObject(s3.sourceBucket, 'masters/ranged.bin', body);
  });

  it('reads exactly the bytes asked for', async () => {
    // Act
    const part = await store().readRange('ranged', 100, 199);

    // Assess
    expect(part).toEqual(body.subarray(100, 200));
  });

  it('reads a single byte (the embedded S3 answers bytes=0-0 with everything)', async () => {
    // Act
    const first = await store().readRange('ranged', 0, 0, etag);

    // Assess
    expect(first).toEqual(body.subarray(0, 1));
  });

  it('reads what there is when the range runs past the end, and nothing when it starts past it', async () => {
    // Act
    const tail = await store().readRange('ranged', 4990, 9999);
    const beyond = await store().readRange('ranged', 6000, 6100);

    // Assess
    expect(tail).toEqual(body.subarray(4990));
    expect(beyond.length).toBe(0);
  });

  it('refuses a read pinned to an ETag the source no longer has with SOURCE_CHANGED', async () => {
    // Act
    const error = await store().readRange('ranged', 0, 9, '"0123456789abcdef0123456789abcdef"').catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_CHANGED', status: 503, headers: { 'retry-after': '1' } });
    expect((error as Error).message).toBe(
      'Expected the version of the source that was looked up for the source "ranged" but received "a different ETag"; it was replaced while being read, retry after 1 s',
    );
  });

  it('answers a missing source with SOURCE_NOT_FOUND', async () => {
    // Act
    const error = await store().readRange('absent', 0, 9).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_NOT_FOUND', status: 404 });
  });

  it('refuses a backwards or negative range as API misuse', async () => {
    // Act
    const backwards = await store().readRange('ranged', 10, 9).catch((caught: unknown) => caught);
    const negative = await store().readRange('ranged', -1, 9).catch((caught: unknown) => caught);

    // Assess
    expect(backwards).toEqual(new TypeError('Expected whole numbers with 0 <= start <= endInclusive for the byte range but received "10-9"'));
    expect(negative).toBeInstanceOf(TypeError);
  });
});

describe('SourceStore.fetch', () => {
  async function putSource(identifier: string, body: Buffer): Promise<SourceObject> {
    await s3.putObject(s3.sourceBucket, `masters/${identifier}.bin`, body);
    return store().head(identifier);
  }

  it('downloads a source once and answers later fetches from the cache', async () => {
    // Prepare
    const body = bytes(20_000);
    const source = await putSource('once', body);
    const sources = store();
    const before = s3.count('GET', `/${s3.sourceBucket}/masters/once.bin`);

    // Act
    const first = await pathOf(sources, source);
    const second = await pathOf(sources, source);

    // Assess
    expect(second).toBe(first);
    expect(await readFile(first)).toEqual(body);
    expect(s3.count('GET', `/${s3.sourceBucket}/masters/once.bin`) - before).toBe(1);
    expect(sources.cacheStats).toEqual({ hits: 1, shared: 0, downloads: 1, evictions: 0, bytes: 20_000, entries: 1 });
    expect(first.startsWith(cacheDir)).toBe(true);
    expect(await cacheFiles()).toHaveLength(1);
  });

  it('pins the download to the ETag with If-Match', async () => {
    // Prepare
    const source = await putSource('pinned', bytes(10));

    // Act
    await pathOf(store(), source);

    // Assess
    const get = s3.requests.filter((r) => r.method === 'GET' && r.path === `/${s3.sourceBucket}/masters/pinned.bin`).at(-1);
    expect(get?.headers['if-match']).toBe(source.etag);
  });

  it('shares one download between concurrent fetches of the same source', async () => {
    // Prepare
    const body = bytes(300_000, 9);
    const source = await putSource('shared', body);
    const sources = store();

    // Act
    const paths = await Promise.all(Array.from({ length: 8 }, () => pathOf(sources, source)));

    // Assess
    expect(new Set(paths).size).toBe(1);
    expect(await readFile(paths[0]!)).toEqual(body);
    expect(s3.count('GET', `/${s3.sourceBucket}/masters/shared.bin`)).toBe(1);
    expect(sources.cacheStats).toMatchObject({ downloads: 1, shared: 7, hits: 0 });
  });

  it('tells exactly one of concurrent obtains that it downloaded, and later ones that they did not', async () => {
    // Prepare
    const source = await putSource('obtained', bytes(200_000, 5));
    const sources = store();

    // Act
    const together = await Promise.all(Array.from({ length: 6 }, () => sources.obtain(source)));
    const later = await sources.obtain(source);

    // Assess
    expect(together.filter((answer) => answer.downloaded)).toHaveLength(1);
    expect(new Set(together.map((answer) => answer.path)).size).toBe(1);
    expect(later).toEqual({ path: together[0]!.path, downloaded: false });
  });

  it('evicts the least recently used source to stay within the byte budget', async () => {
    // Prepare: three 1000-byte sources, room for two.
    const [a, b, c] = await Promise.all(['lru-a', 'lru-b', 'lru-c'].map((id, i) => putSource(id, bytes(1000, i))));
    const sources = store({ maxBytes: 2500 });
    const pathA = await pathOf(sources, a!);
    const pathB = await pathOf(sources, b!);
    await pathOf(sources, a!); // A is now more recent than B

    // Act
    const pathC = await pathOf(sources, c!);

    // Assess
    await expect(stat(pathB)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(pathA)).toEqual(bytes(1000, 0));
    expect(await readFile(pathC)).toEqual(bytes(1000, 2));
    expect(sources.cacheStats).toMatchObject({ bytes: 2000, entries: 2, evictions: 1, downloads: 3, hits: 1 });
    expect(await cacheFiles()).toHaveLength(2);
  });

  it('downloads an evicted source again when it is needed again', async () => {
    // Prepare
    const [a, b] = await Promise.all(['again-a', 'again-b'].map((id, i) => putSource(id, bytes(1500, i))));
    const sources = store({ maxBytes: 2000 });
    await pathOf(sources, a!);
    await pathOf(sources, b!); // evicts A

    // Act
    const path = await pathOf(sources, a!);

    // Assess
    expect(await readFile(path)).toEqual(bytes(1500, 0));
    expect(s3.count('GET', `/${s3.sourceBucket}/masters/again-a.bin`)).toBe(2);
  });

  it('spares recently used sources from eviction for the minimum residency', async () => {
    // Prepare
    const [a, b] = await Promise.all(['young-a', 'young-b'].map((id, i) => putSource(id, bytes(1500, i))));
    let now = 1_000_000;
    const sources = new SourceStore(s3.client, {
      bucket: s3.sourceBucket,
      keyTemplate: 'masters/{id}.bin',
      cache: { dir: cacheDir, maxBytes: 2000, minResidencyMs: 60_000, now: () => now },
    });
    const pathA = await pathOf(sources, a!);

    // Act
    now += 59_000;
    await pathOf(sources, b!);
    const kept = await readFile(pathA);
    now += 2_000;
    await pathOf(sources, b!); // a hit: nothing to make room for
    const stillKept = sources.cacheStats.bytes;
    const c = await putSource('young-c', bytes(10, 5));
    await pathOf(sources, c);

    // Assess
    expect(kept).toEqual(bytes(1500, 0));
    expect(stillKept).toBe(3000);
    await expect(stat(pathA)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sources.cacheStats).toMatchObject({ bytes: 1510, entries: 2 });
  });

  it('still works with a budget of 0, keeping the file until another source is fetched', async () => {
    // Prepare
    const [a, b] = await Promise.all(['zero-a', 'zero-b'].map((id, i) => putSource(id, bytes(700, i))));
    const sources = store({ maxBytes: 0 });

    // Act
    const pathA = await pathOf(sources, a!);
    const contentA = await readFile(pathA);
    const pathB = await pathOf(sources, b!);

    // Assess
    expect(contentA).toEqual(bytes(700, 0));
    await expect(stat(pathA)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(pathB)).toEqual(bytes(700, 1));
    expect(await cacheFiles()).toHaveLength(1);
  });

  it('still works for a source larger than the whole budget', async () => {
    // Prepare
    const source = await putSource('huge', bytes(50_000));
    const sources = store({ maxBytes: 10_000 });

    // Act
    const path = await pathOf(sources, source);

    // Assess
    expect((await stat(path)).size).toBe(50_000);
    expect(sources.cacheStats).toMatchObject({ bytes: 50_000, entries: 1 });
  });

  it('adopts the files an earlier process left in the cache directory', async () => {
    // Prepare
    const source = await putSource('adopted', bytes(4096));
    const first = await pathOf(store(), source);
    const before = s3.count('GET', `/${s3.sourceBucket}/masters/adopted.bin`);

    // Act
    const restarted = store();
    const again = await pathOf(restarted, source);

    // Assess
    expect(again).toBe(first);
    expect(s3.count('GET', `/${s3.sourceBucket}/masters/adopted.bin`)).toBe(before);
    expect(restarted.cacheStats).toMatchObject({ hits: 1, downloads: 0, bytes: 4096 });
  });

  it('fails with SOURCE_CHANGED, leaving no file, when the source is replaced between HEAD and GET', async () => {
    // Prepare
    const source = await putSource('replaced', bytes(2048, 1));
    await s3.putObject(s3.sourceBucket, 'masters/replaced.bin', bytes(2048, 2));
    const sources = store();

    // Act
    const error = await pathOf(sources, source).catch((caught: unknown) => caught);
    const fresh = await pathOf(sources, await sources.head('replaced'));

    // Assess
    expect(error).toMatchObject({ name: 'UnavailableError', code: 'SOURCE_CHANGED', status: 503, headers: { 'retry-after': '1' } });
    expect((error as Error).message).toContain('for the source "replaced" but received "a different ETag"');
    expect(await readFile(fresh)).toEqual(bytes(2048, 2));
    expect(await cacheFiles()).toHaveLength(1);
  });

  it('fails with SOURCE_NOT_FOUND naming the identifier, leaving no file, when the source is deleted between HEAD and GET', async () => {
    // Prepare
    const source = await putSource('deleted', bytes(2048));
    await s3.deleteObject(s3.sourceBucket, 'masters/deleted.bin');

    // Act
    const error = await pathOf(store(), source).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      code: 'SOURCE_NOT_FOUND',
      status: 404,
      message: 'Expected an existing source for the identifier but received "deleted"',
    });
    expect(await cacheFiles()).toEqual([]);
  });

  it('keeps different versions of the same key apart', async () => {
    // Prepare
    const v1 = await putSource('versions', bytes(100, 1));
    const sources = store();
    const path1 = await pathOf(sources, v1);
    const v2 = await putSource('versions', bytes(100, 2));

    // Act
    const path2 = await pathOf(sources, v2);

    // Assess
    expect(path2).not.toBe(path1);
    expect(await readFile(path2)).toEqual(bytes(100, 2));
  });
});
