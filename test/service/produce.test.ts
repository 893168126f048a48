/**
 * lib/service/produce.ts (Producer) on the embedded S3 with the real renderer: what it stores
 * (the right pixels, under the right key, once), how it answers a key already stored, what it
 * does with a render or upload that fails, `replace` and `signal`, and a source that cannot be
 * had (deleted, replaced) failing the whole call before anything is rendered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolve, storageKey } from '../../lib/iiif/index.js';
import type { ProduceItem, ProduceTrace, Stored } from '../../lib/service/produce.js';
import type { SourceRecord } from '../../lib/service/source-records.js';
import { gridImage, truncated } from '../support/fixtures.js';
import { startFaultProxy, type FaultProxy } from '../support/s3.js';
import { checkGrid } from '../render/grid-check.js';
import { decode } from '../render/support.js';
import { GRID, rejection, request, startBench, type Bench, type Container } from './support.js';

let bench: Bench;
let a: Container;
let grid: SourceRecord;

beforeAll(async () => {
  bench = await startBench();
  a = await bench.container();
  grid = await a.services.records.get(GRID);
});

afterAll(async () => {
  await bench.close();
});

/** The item for a 3.0 path of a record's source, keyed as the service keys it. */
function item(record: SourceRecord, path: string, container: Container = a): ProduceItem {
  const plan = resolve(request(record.identifier, path), record.probe, container.config.limits);
  return { key: storageKey(plan, container.config.derivativePrefix), plan };
}

/** What a produce call reported, item by item. */
function outcomes() {
  const stored = new Map<string, Stored>();
  const failed = new Map<string, unknown>();
  return {
    stored,
    failed,
    options: {
      stored: (done: ProduceItem, outcome: Stored) => {
        stored.set(done.key, outcome);
      },
      failed: (done: ProduceItem, error: unknown) => {
        failed.set(done.key, error);
      },
    },
  };
}

/** The four 512-pixel tiles of the grid's full-size level. */
const TILES = ['0,0,512,512/512,/0/default', '512,0,488,512/488,/0/default', '0,512,512,488/512,/0/default', '512,512,488,488/488,/0/default'];

describe('Producer.one', () => {
  it('stores a derivative whose pixels are the grid\'s, with its type, cache policy and source ETag', async () => {
    // Prepare
    const wanted = item(grid, '100,200,600,300/300,/0/default.png');
    expect(wanted.key).toBe('grid/100,200,600,300/300,150/0/default.png');

    // Act
    const outcome = await a.services.producer.one(grid, wanted);

    // Assess
    expect(outcome).toBe('created');
    const stored = (await bench.s3.getObject(bench.s3.derivativeBucket, wanted.key)) ?? expect.fail('not stored');
    expect({ type: stored.contentType, cache: stored.cacheControl, etag: stored.metadata['source-etag'] }).toEqual({
      type: 'image/png',
      cache: 'public, max-age=31536000, immutable',
      etag: grid.source.etag,
    });
    const pixels = await decode(stored.body);
    expect([pixels.width, pixels.height]).toEqual([300, 150]);
    const check = checkGrid(pixels, wanted.plan, bench.grid);
    expect(check.failures).toEqual([]);
    expect(check.checked).toBe(18);
  });

  it('answers \'exists\' when another writer stored the key first, and leaves that object as it was', async () => {
    // Prepare
    const wanted = item(grid, 'full/120,/0/default.jpg');
    await bench.s3.putObject(bench.s3.derivativeBucket, wanted.key, 'the first writer\'s bytes');

    // Act
    const outcome = await a.services.producer.one(grid, wanted);

    // Assess
    expect(outcome).toBe('exists');
    expect((await bench.s3.getObject(bench.s3.derivativeBucket, wanted.key))?.body.toString()).toBe('the first writer\'s bytes');
  });

  it('throws the render\'s error for a corrupt source (SOURCE_UNREADABLE, 422) and stores nothing', async () => {
    // Prepare: a PNG cut in half: its header probes, its pixels do not decode.
    await bench.putSource('corrupt', truncated(bench.grid.png));
    const record = await a.services.records.get('corrupt');
    const before = a.engine.count;

    // Act
    const failure = await rejection(a.services.producer.one(record, item(record, 'full/200,/0/default.jpg')));

    // Assess
    expect(failure).toEqual({ name: 'SourceError', code: 'SOURCE_UNREADABLE', status: 422 });
    expect(a.engine.count - before).toBe(1);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, 'corrupt/')).toEqual([]);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, '!recto/records/corrupt/')).toEqual(['!recto/records/corrupt/source.json']);
  });

  it('times the render and the upload with the injected clock, and counts the source it downloaded', async () => {
    // Prepare: a clock that moves 5 ms each time it is read, and a container whose /tmp is empty.
    let ms = 0;
    const timed = await bench.container({ overrides: { now: () => (ms += 5) } });
    const record = await timed.services.records.get(GRID);
    const trace: ProduceTrace = { sourceBytesRead: 0 };

    // Act
    await timed.services.producer.one(record, item(record, 'full/90,/0/default.jpg', timed), { trace });

    // Assess
    expect(trace).toEqual({ sourceBytesRead: record.source.bytes, renderMs: 5, uploadMs: 5 });
  });
});

describe('Producer.produce', () => {
  it('stores every key of a tile level and a size, rendering only the size one by one (the tiles share one decode)', async () => {
    // Prepare
    const items = [...TILES.map((path) => item(grid, `${path}.jpg`)), item(grid, 'full/250,/0/default.jpg')];
    const { stored, failed, options } = outcomes();
    const before = a.engine.count;

    // Act
    await a.services.producer.produce(grid, items, options);

    // Assess
    expect(failed).toEqual(new Map());
    expect([...stored.entries()].sort()).toEqual(items.map((each) => [each.key, 'created']).sort());
    expect(a.engine.plans.slice(before).map((plan) => `${plan.size.width},${plan.size.height}`)).toEqual(['250,250']);
    const keys = await bench.s3.listKeys(bench.s3.derivativeBucket, 'grid/');
    expect(keys).toEqual(expect.arrayContaining(items.map((each) => each.key)));
    const last = items[3] ?? expect.fail('no tile');
    const pixels = await decode((await bench.s3.getObject(bench.s3.derivativeBucket, last.key))?.body ?? Buffer.alloc(0));
    expect(checkGrid(pixels, last.plan, bench.grid).failures).toEqual([]);
  });

  it('reports an item whose upload fails through `failed`, and stores the others', async () => {
    // Prepare: storage refuses the upload of one tile with a 503 (which lib/store reports on the console).
    const proxy: FaultProxy = await startFaultProxy(bench.s3.endpoint);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const faulty = await bench.container({ overrides: { s3: bench.s3.createClient({ endpoint: proxy.endpoint }) } });
      const items = TILES.map((path) => item(grid, `${path}.png`));
      const refused = items[1] ?? expect.fail('no tile');
      proxy.inject({ method: 'PUT', path: `/${bench.s3.derivativeBucket}/${refused.key}`, action: { status: 503, code: 'ServiceUnavailable' } });
      const { stored, failed, options } = outcomes();

      // Act
      await faulty.services.producer.produce(grid, items, options);

      // Assess
      expect([...failed.keys()]).toEqual([refused.key]);
      expect(failed.get(refused.key)).toMatchObject({ name: 'UnavailableError', code: 'STORAGE_UNAVAILABLE', status: 503 });
      expect([...stored.keys()].sort()).toEqual(items.filter((each) => each !== refused).map((each) => each.key).sort());
      const keys = await bench.s3.listKeys(bench.s3.derivativeBucket, 'grid/');
      expect(keys.filter((key) => items.some((each) => each.key === key)).sort()).toEqual([...stored.keys()].sort());
      expect(proxy.pending()).toBe(0);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      await proxy.close();
    }
  });

  it('reports every item of a corrupt source through `failed` (SOURCE_UNREADABLE) instead of throwing', async () => {
    // Prepare
    await bench.putSource('corrupt-many', truncated(bench.grid.png));
    const record = await a.services.records.get('corrupt-many');
    const items = ['full/100,/0/default.jpg', 'full/50,/0/default.jpg'].map((path) => item(record, path));
    const { stored, failed, options } = outcomes();

    // Act
    await a.services.producer.produce(record, items, options);

    // Assess
    expect(stored.size).toBe(0);
    expect([...failed.entries()].map(([key, error]) => [key, (error as { code?: string }).code]).sort()).toEqual(items.map((each) => [each.key, 'SOURCE_UNREADABLE']).sort());
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, 'corrupt-many/')).toEqual([]);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, '!recto/records/corrupt-many/')).toEqual(['!recto/records/corrupt-many/source.json']);
  });

  it('overwrites only the keys named in `replace`; other keys already stored are left and reported \'exists\'', async () => {
    // Prepare
    const [replaced, kept, created] = ['full/110,/0/default.jpg', 'full/111,/0/default.jpg', 'full/112,/0/default.jpg'].map((path) => item(grid, path)) as [ProduceItem, ProduceItem, ProduceItem];
    await bench.s3.putObject(bench.s3.derivativeBucket, replaced.key, 'stale');
    await bench.s3.putObject(bench.s3.derivativeBucket, kept.key, 'kept');
    const { stored, failed, options } = outcomes();

    // Act
    await a.services.producer.produce(grid, [replaced, kept, created], { ...options, replace: new Set([replaced.key]) });

    // Assess
    expect(failed.size).toBe(0);
    expect(Object.fromEntries(stored)).toEqual({ [replaced.key]: 'created', [kept.key]: 'exists', [created.key]: 'created' });
    const body = async (key: string) => (await bench.s3.getObject(bench.s3.derivativeBucket, key))?.body ?? Buffer.alloc(0);
    expect((await body(kept.key)).toString()).toBe('kept');
    const pixels = await decode(await body(replaced.key));
    expect([pixels.width, pixels.height]).toEqual([110, 110]);
    expect(checkGrid(pixels, replaced.plan, bench.grid).failures).toEqual([]);
  });

  it('starts no new render once `signal` is aborted: aborted after the first store, one render at a time, one key is stored', async () => {
    // Prepare
    const items = TILES.map((path) => item(grid, `${path}.webp`));
    const controller = new AbortController();
    const stored: string[] = [];

    // Act
    await a.services.producer.produce(grid, items, {
      concurrency: 1,
      signal: controller.signal,
      stored: (done) => {
        stored.push(done.key);
        controller.abort();
      },
    });

    // Assess
    expect(stored).toHaveLength(1);
    const keys = await bench.s3.listKeys(bench.s3.derivativeBucket, 'grid/');
    expect(keys.filter((key) => key.endsWith('.webp'))).toEqual(stored);
  });

  it('renders and stores nothing when `signal` is aborted before it starts', async () => {
    // Prepare
    const items = [item(grid, 'full/77,/0/default.gif'), item(grid, '0,0,100,100/77,/0/default.gif')];
    const before = a.engine.count;
    const { stored, failed, options } = outcomes();

    // Act
    await a.services.producer.produce(grid, items, { ...options, signal: AbortSignal.abort() });

    // Assess
    expect([stored.size, failed.size, a.engine.count - before]).toEqual([0, 0, 0]);
    expect((await bench.s3.listKeys(bench.s3.derivativeBucket, 'grid/')).filter((key) => key.endsWith('.gif'))).toEqual([]);
  });

  describe('when the source cannot be had', () => {
    let writer: Container;
    let small: Buffer;

    beforeAll(async () => {
      writer = await bench.container();
      small = (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png;
    });

    it.each([
      ['deleted', 'SOURCE_NOT_FOUND', 404, 'NotFoundError', (id: string) => bench.s3.deleteObject(bench.s3.sourceBucket, id)],
      ['replaced', 'SOURCE_CHANGED', 503, 'UnavailableError', (id: string) => bench.putSource(id, Buffer.from(small).reverse())],
    ])('throws before rendering anything when the source was %s since its record was made', async (what, code, status, name, change) => {
      // Prepare: a record stored by one container; another, whose /tmp holds nothing, produces.
      const identifier = `${what}-source`;
      await bench.putSource(identifier, small);
      await writer.services.records.get(identifier);
      await change(identifier);
      const b = await bench.container();
      const record = await b.services.records.get(identifier);
      const items = ['full/100,/0/default.jpg', '0,0,150,100/75,/0/default.jpg', '150,0,150,100/75,/0/default.jpg'].map((path) => item(record, path, b));
      const { stored, failed, options } = outcomes();

      // Act
      const failure = await rejection(b.services.producer.produce(record, items, options));

      // Assess
      expect(failure).toMatchObject({ code, status, name });
      expect([stored.size, failed.size, b.engine.count]).toEqual([0, 0, 0]);
      expect(await bench.s3.listKeys(bench.s3.derivativeBucket, `${identifier}/`)).toEqual([]);
      expect(await bench.s3.listKeys(bench.s3.derivativeBucket, `!recto/records/${identifier}/`)).toEqual([`!recto/records/${identifier}/source.json`]);
    });

    it('counts the source download once in `trace.sourceBytesRead`, however many items read it, and not at all the next time', async () => {
      // Prepare: a container that has the record but not the source on disk.
      await bench.putSource('counted', small);
      await writer.services.records.get('counted');
      const b = await bench.container();
      const record = await b.services.records.get('counted');
      const first: ProduceTrace = { sourceBytesRead: 0 };
      const second: ProduceTrace = { sourceBytesRead: 0 };
      const mark = bench.mark();

      // Act
      await b.services.producer.produce(record, ['full/100,/0/default.jpg', 'full/60,/0/default.png', 'full/30,/0/gray.jpg'].map((path) => item(record, path, b)), { trace: first });
      await b.services.producer.produce(record, [item(record, 'full/40,/0/default.jpg', b)], { trace: second });

      // Assess
      expect(first.sourceBytesRead).toBe(small.length);
      expect(second.sourceBytesRead).toBe(0);
      expect(bench.since(mark).filter((r) => r === 'GET /recto-sources/counted')).toHaveLength(1);
    });
  });
});
