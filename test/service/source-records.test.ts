/**
 * lib/service/source-records.ts on the embedded S3: where a source record comes from (memory,
 * the stored JSON, a probe of the source), who may store it, when a stored one is not trusted,
 * and the one retry on SOURCE_CHANGED. The S3 request log proves what each call read and wrote.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError, UnavailableError } from '../../lib/errors.js';
import { probe } from '../../lib/render/index.js';
import { RECORD_SCHEMA, SourceRecords, type SourceRecord } from '../../lib/service/source-records.js';
import { DerivativeStore, SourceStore, type SourceObject } from '../../lib/store/index.js';
import { gridImage } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { rejection, startBench, type Bench, type Container } from './support.js';

let bench: Bench;
let small: Buffer;
let larger: Buffer;

beforeAll(async () => {
  bench = await startBench();
  small = (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png;
  larger = (await gridImage({ width: 640, height: 480, cols: 4, rows: 3 })).png;
});

afterAll(async () => {
  await bench.close();
});

/** The stored record of an identifier, parsed, or undefined. */
async function storedRecord(identifier: string): Promise<unknown> {
  const object = await bench.s3.getObject(bench.s3.derivativeBucket, `!recto/records/${identifier}/source.json`);
  return object === undefined ? undefined : (JSON.parse(object.body.toString('utf8')) as unknown);
}

function sourceChanged(): UnavailableError {
  return new UnavailableError('SOURCE_CHANGED', 'replaced while being read', 5);
}

/**
 * The container's records again, over its own stores, with a probe held back until `callers`
 * lookups of the stored record have come back: every caller has then reached the build.
 */
function gatedRecords(container: Container, callers: number): { records: SourceRecords; lookups: () => number } {
  let lookups = 0;
  class CountingDerivatives extends DerivativeStore {
    override async getJson<T>(key: string): Promise<T | undefined> {
      const found = await super.getJson<T>(key);
      lookups += 1;
      return found;
    }
  }
  const derivatives = new CountingDerivatives(bench.s3.client, { bucket: bench.s3.derivativeBucket, presignTtlSeconds: 3600 });
  const { maxInputPixels } = container.config.render;
  const records = new SourceRecords(container.services.sources, derivatives, '', async (input) => {
    await waitFor(() => lookups >= callers, 10_000, 5, `${callers} record lookups`);
    return probe(input, { maxInputPixels });
  });
  return { records, lookups: () => lookups };
}

describe('SourceRecords.get', () => {
  let a: Container;

  beforeAll(async () => {
    a = await bench.container();
  });

  it('builds a record by probing the source (one HEAD, one whole read of a small source), stores it, and counts the bytes read', async () => {
    // Prepare
    const etag = await bench.putSource('built', small);
    const stats = { sourceBytesRead: 0 };
    const mark = bench.mark();

    // Act
    const record = await a.services.records.get('built', stats);

    // Assess
    expect(bench.since(mark)).toEqual([
      'GET /recto-derivatives/!recto/records/built/source.json',
      'HEAD /recto-sources/built',
      'GET /recto-sources/built',
      'PUT /recto-derivatives/!recto/records/built/source.json',
    ]);
    expect(record).toEqual({
      schema: RECORD_SCHEMA,
      identifier: 'built',
      source: { key: 'built', etag, bytes: small.length, lastModified: expect.any(String) as unknown, contentType: 'image/png' },
      probe: expect.objectContaining({ format: 'png', width: 300, height: 200, levels: [{ width: 300, height: 200 }] }) as unknown,
    });
    expect(stats.sourceBytesRead).toBe(small.length);
    expect(await storedRecord('built')).toEqual(record);
  });

  it('answers from memory the second time, with no request at all', async () => {
    // Prepare
    await bench.putSource('remembered', small);
    const first = await a.services.records.get('remembered');
    const stats = { sourceBytesRead: 0 };
    const mark = bench.mark();

    // Act
    const second = await a.services.records.get('remembered', stats);

    // Assess
    expect(bench.since(mark)).toEqual([]);
    expect(second).toBe(first);
    expect(stats.sourceBytesRead).toBe(0);
  });

  it('reads the stored record in another container without touching the source', async () => {
    // Prepare
    await bench.putSource('shared', small);
    const first = await a.services.records.get('shared');
    const b = await bench.container();
    const stats = { sourceBytesRead: 0 };
    const mark = bench.mark();

    // Act
    const second = await b.services.records.get('shared', stats);

    // Assess
    expect(bench.since(mark)).toEqual(['GET /recto-derivatives/!recto/records/shared/source.json']);
    expect(second).toEqual(first);
    expect(stats.sourceBytesRead).toBe(0);
  });

  it('probes a source over 2 MB from its first 256 KiB alone, in one ranged read', async () => {
    // Prepare: noise does not compress, so this PNG is about 3.6 MB.
    const noise = await sharp(randomBytes(1200 * 1000 * 3), { raw: { width: 1200, height: 1000, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    expect(noise.length).toBeGreaterThan(2 * 1024 * 1024);
    await bench.putSource('big', noise);
    const stats = { sourceBytesRead: 0 };
    const mark = bench.s3.requests.length;

    // Act
    const record = await a.services.records.get('big', stats);

    // Assess
    const reads = bench.s3.requests.slice(mark).filter((r) => r.method === 'GET' && r.path === '/recto-sources/big');
    expect(reads.map((r) => r.headers.range)).toEqual(['bytes=0-262143']);
    expect(stats.sourceBytesRead).toBe(256 * 1024);
    expect({ width: record.probe.width, height: record.probe.height, bytes: record.source.bytes }).toEqual({ width: 1200, height: 1000, bytes: noise.length });
  });

  it('builds a record asked for by five callers at once only once', async () => {
    // Prepare
    await bench.putSource('crowd', small);
    const { records } = gatedRecords(a, 5);
    const mark = bench.mark();

    // Act
    const got = await Promise.all(Array.from({ length: 5 }, () => records.get('crowd')));

    // Assess
    const requests = bench.since(mark);
    expect(requests.filter((r) => r === 'HEAD /recto-sources/crowd')).toHaveLength(1);
    expect(requests.filter((r) => r === 'PUT /recto-derivatives/!recto/records/crowd/source.json')).toHaveLength(1);
    expect(new Set(got).size).toBe(1);
  });

  it('with persist false keeps the record in memory only, and the first caller who may write stores it, once', async () => {
    // Prepare
    await bench.putSource('unstored', small);
    const m0 = bench.mark();

    // Act 1: a caller who may not write, twice.
    await a.services.records.get('unstored', undefined, { persist: false });
    await a.services.records.get('unstored', undefined, { persist: false });

    // Assess 1: the source was read, nothing was written.
    const first = bench.since(m0);
    expect(first).toContain('HEAD /recto-sources/unstored');
    expect(first.filter((r) => r.startsWith('PUT '))).toEqual([]);
    expect(await storedRecord('unstored')).toBeUndefined();

    // Act 2: a caller who may write, twice.
    const m1 = bench.mark();
    const record = await a.services.records.get('unstored');
    const m2 = bench.mark();
    await a.services.records.get('unstored');

    // Assess 2: the first stored the record from memory (no source read), the second did nothing.
    expect(bench.since(m1).slice(0, m2 - m1)).toEqual(['PUT /recto-derivatives/!recto/records/unstored/source.json']);
    expect(bench.since(m2)).toEqual([]);
    expect(await storedRecord('unstored')).toEqual(record);
  });

  it('stores the record when a caller who may write joins a build started by one who may not', async () => {
    // Prepare
    await bench.putSource('joined', small);
    const { records, lookups } = gatedRecords(a, 2);
    const mark = bench.mark();

    // Act: the read-only caller starts the build (held at its probe), then the writer comes.
    const readOnly = records.get('joined', undefined, { persist: false });
    await waitFor(() => lookups() === 1, 10_000, 5, 'the first lookup');
    const writer = await records.get('joined', undefined, { persist: true });

    // Assess
    const requests = bench.since(mark);
    expect(requests.filter((r) => r === 'HEAD /recto-sources/joined')).toHaveLength(1);
    expect(requests.filter((r) => r === 'PUT /recto-derivatives/!recto/records/joined/source.json')).toHaveLength(1);
    expect(writer).toBe(await readOnly);
    expect(await storedRecord('joined')).toEqual(writer);
  });

  const good = (identifier: string): SourceRecord => ({
    schema: RECORD_SCHEMA,
    identifier,
    source: { key: identifier, etag: '"0123"', bytes: 10 },
    probe: { format: 'png', width: 1, height: 1, levels: [{ width: 1, height: 1 }], orientation: 1, space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1 },
  });

  it.each([
    ['not JSON', () => '{"schema":1,'],
    ['of another schema', (id: string) => JSON.stringify({ ...good(id), schema: RECORD_SCHEMA + 1 })],
    ['of another identifier', (id: string) => JSON.stringify(good(`${id}-other`))],
    ['without a probe width', (id: string) => JSON.stringify({ ...good(id), probe: { ...good(id).probe, width: '1' } })],
    ['without a source ETag', (id: string) => JSON.stringify({ ...good(id), source: { key: id, bytes: 10 } })],
    ['a JSON array', () => '[]'],
  ])('rebuilds a stored record that is %s, and stores the new one', async (_what, body) => {
    // Prepare: a container that has never seen the identifier, and a bad record in S3.
    const identifier = `damaged-${bench.mark()}`;
    const etag = await bench.putSource(identifier, small);
    await bench.s3.putObject(bench.s3.derivativeBucket, `!recto/records/${identifier}/source.json`, body(identifier), { contentType: 'application/json' });
    const fresh = await bench.container();
    const mark = bench.mark();

    // Act
    const record = await fresh.services.records.get(identifier);

    // Assess
    expect(bench.since(mark)).toEqual([
      `GET /recto-derivatives/!recto/records/${identifier}/source.json`,
      `HEAD /recto-sources/${identifier}`,
      `GET /recto-sources/${identifier}`,
      `PUT /recto-derivatives/!recto/records/${identifier}/source.json`,
    ]);
    expect({ schema: record.schema, etag: record.source.etag, width: record.probe.width }).toEqual({ schema: RECORD_SCHEMA, etag, width: 300 });
    expect(await storedRecord(identifier)).toEqual(record);
  });
});

describe('SourceRecords.withCurrent', () => {
  let a: Container;

  beforeAll(async () => {
    a = await bench.container();
  });

  it('runs the work once more, on a record built afresh, when the work reports SOURCE_CHANGED', async () => {
    // Prepare: a stored, remembered record; then the source replaced with no purge.
    const before = await bench.putSource('replaced', small);
    await a.services.records.get('replaced');
    const after = await bench.putSource('replaced', larger);
    const seen: SourceRecord[] = [];
    const mark = bench.mark();

    // Act
    const width = await a.services.records.withCurrent('replaced', {}, (record) => {
      seen.push(record);
      return seen.length === 1 ? Promise.reject(sourceChanged()) : Promise.resolve(record.probe.width);
    });

    // Assess: the second try saw the new version, read from the source, not a cache.
    expect(width).toBe(640);
    expect(seen.map((record) => record.source.etag)).toEqual([before, after]);
    expect(bench.since(mark)).toEqual(['HEAD /recto-sources/replaced', 'GET /recto-sources/replaced', 'PUT /recto-derivatives/!recto/records/replaced/source.json']);
    expect(await storedRecord('replaced')).toEqual(seen[1]);
  });

  it('retries once when the record\'s own build meets SOURCE_CHANGED (the source replaced between its HEAD and its read)', async () => {
    // Prepare: a source store that replaces the object right after its first HEAD.
    await bench.putSource('racing', small);
    let replacedEtag = '';
    class RacingSources extends SourceStore {
      override async head(identifier: string): Promise<SourceObject> {
        const object = await super.head(identifier);
        if (replacedEtag === '') replacedEtag = await bench.putSource('racing', larger);
        return object;
      }
    }
    const sources = new RacingSources(bench.s3.client, { bucket: bench.s3.sourceBucket, keyTemplate: '{id}', cache: a.config.sourceCache });
    const records = new SourceRecords(sources, a.services.derivatives, '', (input) => probe(input, { maxInputPixels: a.config.render.maxInputPixels }));
    const seen: SourceRecord[] = [];

    // Act
    const width = await records.withCurrent('racing', {}, (record) => {
      seen.push(record);
      return Promise.resolve(record.probe.width);
    });

    // Assess: the work ran once, on the version that was there after the race.
    expect(width).toBe(640);
    expect(seen.map((record) => record.source.etag)).toEqual([replacedEtag]);
  });

  it('throws SOURCE_CHANGED when it happens on the retry too, after exactly two tries', async () => {
    // Prepare
    await bench.putSource('unsettled', small);
    let tries = 0;

    // Act
    const failure = await rejection(
      a.services.records.withCurrent('unsettled', {}, () => {
        tries += 1;
        return Promise.reject(sourceChanged());
      }),
    );

    // Assess
    expect(failure).toEqual({ name: 'UnavailableError', code: 'SOURCE_CHANGED', status: 503, retryAfter: '5' });
    expect(tries).toBe(2);
  });

  it.each([
    ['SOURCE_UNREADABLE', () => new SourceError('SOURCE_UNREADABLE', 'corrupt')],
    ['STORAGE_UNAVAILABLE', () => new UnavailableError('STORAGE_UNAVAILABLE', 'down', 5)],
    ['a plain Error', () => new Error('boom')],
  ])('does not retry %s: the work runs once and its error is thrown as it is', async (_name, make) => {
    // Prepare: the record is already remembered, so any request would be a fresh rebuild.
    await bench.putSource('steady', small);
    await a.services.records.get('steady');
    const error = make();
    let tries = 0;
    const mark = bench.mark();

    // Act
    const thrown = await a.services.records
      .withCurrent('steady', {}, () => {
        tries += 1;
        return Promise.reject(error);
      })
      .catch((caught: unknown) => caught);

    // Assess: one try, and no record built afresh.
    expect(thrown).toBe(error);
    expect(tries).toBe(1);
    expect(bench.since(mark)).toEqual([]);
  });

  it('never runs the work when the source does not exist (SOURCE_NOT_FOUND, not retried)', async () => {
    // Prepare
    let tries = 0;
    const mark = bench.mark();

    // Act
    const failure = await rejection(
      a.services.records.withCurrent('nowhere', {}, () => {
        tries += 1;
        return Promise.resolve();
      }),
    );

    // Assess
    expect(failure).toEqual({ name: 'NotFoundError', code: 'SOURCE_NOT_FOUND', status: 404 });
    expect(tries).toBe(0);
    expect(bench.since(mark)).toEqual(['GET /recto-derivatives/!recto/records/nowhere/source.json', 'HEAD /recto-sources/nowhere']);
  });

  it('passes persist and stats through to the record it gets', async () => {
    // Prepare
    await bench.putSource('passed', small);
    const stats = { sourceBytesRead: 0 };

    // Act
    await a.services.records.withCurrent('passed', { persist: false, stats }, () => Promise.resolve());

    // Assess
    expect(stats.sourceBytesRead).toBe(small.length);
    expect(await storedRecord('passed')).toBeUndefined();
  });
});

describe('SourceRecords.forget', () => {
  it('drops a remembered record: the next get reads the stored JSON again', async () => {
    // Prepare
    const a = await bench.container();
    await bench.putSource('forgotten', small);
    await a.services.records.get('forgotten');

    // Act
    a.services.records.forget('forgotten');
    const mark = bench.mark();
    await a.services.records.get('forgotten');

    // Assess
    expect(bench.since(mark)).toEqual(['GET /recto-derivatives/!recto/records/forgotten/source.json']);
  });

  it('drops a record held only in memory: the next caller describes the source again', async () => {
    // Prepare
    const a = await bench.container();
    await bench.putSource('fleeting', small);
    await a.services.records.get('fleeting', undefined, { persist: false });

    // Act
    a.services.records.forget('fleeting');
    const mark = bench.mark();
    await a.services.records.get('fleeting', undefined, { persist: false });

    // Assess: described again (its bytes are in the /tmp cache, so no GET of the source).
    expect(bench.since(mark)).toEqual(['GET /recto-derivatives/!recto/records/fleeting/source.json', 'HEAD /recto-sources/fleeting']);
  });
});
