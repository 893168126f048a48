/**
 * lib/service/prewarm.ts (Prewarmer.run) on the embedded S3 with the real renderer: the report's
 * counts (planned, rendered, skipped, failed, unavailable) against what is really stored; a dry
 * run that writes nothing; `force` replacing in place; an unknown preset refused before any
 * request; a source replaced since its record was made retried on a fresh record. Also the
 * report helpers `failure` and `withDefaults`. (Resuming, replaying viewer URLs and planning
 * have their own files: prewarm-resume, prewarm-replay and prewarm-jobs.)
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, SourceError, StorageError, UnavailableError } from '../../lib/errors.js';
import { failure, withDefaults, type ProgressEvent } from '../../lib/service/prewarm.js';
import { gridImage, truncated } from '../support/fixtures.js';
import { GRID, manualClock, rejection, startBench, type Bench, type Container } from './support.js';

let bench: Bench;
let a: Container;

beforeAll(async () => {
  bench = await startBench();
  a = await bench.container({ overrides: { now: manualClock().now } });
});

afterAll(async () => {
  await bench.close();
});

/** The 1000x1000 grid's info.json sizes (1000 down to 63) and the 400x400 thumbnail preset. */
const SIZES_AND_THUMBNAIL = ['full/1000,1000', 'full/500,500', 'full/250,250', 'full/125,125', 'full/63,63', 'full/400,400'].map((path) => `${path}/0/default.jpg`);

/** A copy of the grid under a new identifier. */
async function gridCopy(identifier: string): Promise<void> {
  await bench.putSource(identifier, bench.grid.png);
}

/** Stored images of an identifier (its record left out), sorted. */
async function images(identifier: string): Promise<string[]> {
  return (await bench.s3.listKeys(bench.s3.derivativeBucket, `${identifier}/`)).filter((key) => !key.endsWith('/source.json'));
}

describe('Prewarmer.run', () => {
  it('reports what it planned, rendered and could not apply, stores exactly that, and tells its progress', async () => {
    // Prepare
    await gridCopy('counted');
    const events: ProgressEvent[] = [];
    const before = a.engine.count;

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'counted', sizes: true, presets: ['thumbnail', 'web'] }, { onProgress: (event) => events.push(event) });

    // Assess
    const keys = SIZES_AND_THUMBNAIL.map((path) => `counted/${path}`);
    const stored = await images('counted');
    expect(stored).toEqual([...keys].sort());
    let bytes = 0;
    for (const key of stored) bytes += (await bench.s3.getObject(bench.s3.derivativeBucket, key))?.body.length ?? 0;
    expect(report).toEqual({
      identifier: 'counted',
      status: 'done',
      planned: 6,
      rendered: 6,
      skipped: 0,
      failed: [],
      unavailable: [{ origin: 'preset web', request: 'full/1600,/0/default.jpg', code: 'IIIF_UPSCALE_NOT_ALLOWED', reason: 'Expected at most the region\'s 1000x1000 pixels without "^" for size but received "1600,"' }],
      bytes,
      ms: 0,
    });
    expect(events[0]).toEqual({ type: 'planned', identifier: 'counted', total: 6, existing: 0 });
    expect(events.slice(1).map((event) => (event.type === 'job' ? [event.key, event.outcome, event.bytes > 0] : event.type)).sort()).toEqual(keys.map((key) => [key, 'rendered', true]).sort());
    expect(a.engine.count - before).toBe(6);
  });

  it('skips what is already stored: a second run renders nothing and writes nothing', async () => {
    // Prepare
    await gridCopy('again');
    await a.services.prewarmer.run({ identifier: 'again', sizes: true, presets: ['thumbnail'] });
    const before = a.engine.count;
    const mark = bench.mark();

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'again', sizes: true, presets: ['thumbnail'] });

    // Assess
    expect({ status: report.status, planned: report.planned, rendered: report.rendered, skipped: report.skipped, bytes: report.bytes }).toEqual({ status: 'done', planned: 6, rendered: 0, skipped: 6, bytes: 0 });
    expect(a.engine.count).toBe(before);
    expect(bench.since(mark).filter((r) => r.startsWith('PUT '))).toEqual([]);
  });

  it('counts every derivative of a corrupt source as failed, not retryable, and stores none', async () => {
    // Prepare: its header probes, its pixels do not decode.
    await bench.putSource('broken', truncated(bench.grid.png));

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'broken', sizes: true });

    // Assess
    expect({ status: report.status, planned: report.planned, rendered: report.rendered, skipped: report.skipped }).toEqual({ status: 'failed', planned: 5, rendered: 0, skipped: 0 });
    expect(report.failed.map((each) => each.key).sort()).toEqual(SIZES_AND_THUMBNAIL.slice(0, 5).map((path) => `broken/${path}`).sort());
    // The code is stable; the message names what the decoder said, which differs by render path.
    expect(new Set(report.failed.map(({ code, retryable }) => `${code} ${String(retryable)}`))).toEqual(new Set(['SOURCE_UNREADABLE false']));
    expect(report.failed.every(({ message }) => message.startsWith('Expected a readable image for the source but received '))).toBe(true);
    expect(await images('broken')).toEqual([]);
  });

  it('reports a source that does not exist as the image\'s own error, without throwing', async () => {
    // Act
    const report = await a.services.prewarmer.run({ identifier: 'absent', tiles: true });

    // Assess
    expect(report).toEqual({
      identifier: 'absent',
      status: 'failed',
      planned: 0,
      rendered: 0,
      skipped: 0,
      failed: [],
      unavailable: [],
      bytes: 0,
      ms: 0,
      error: { key: 'absent', code: 'SOURCE_NOT_FOUND', message: 'Expected an existing source for the identifier but received "absent"', retryable: false },
    });
  });

  it('renders an explicit path and lists one that does not parse as unavailable', async () => {
    // Prepare
    await gridCopy('paths');

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'paths', paths: ['0,0,100,100/50,/0/default.png', 'full/nope/0/default.png'] });

    // Assess
    expect({ status: report.status, planned: report.planned, rendered: report.rendered }).toEqual({ status: 'done', planned: 1, rendered: 1 });
    expect(report.unavailable).toEqual([{ origin: 'path', request: 'full/nope/0/default.png', code: 'IIIF_INVALID_SIZE', reason: expect.stringMatching(/^Expected .* for size but received "nope"$/) as unknown }]);
    expect(await images('paths')).toEqual(['paths/0,0,100,100/50,50/0/default.png']);
  });

  it('with dryRun lists what it would render, skipping what is stored, and writes nothing at all, not even the record', async () => {
    // Prepare: a source never described, one of its sizes already stored.
    await gridCopy('dry');
    await bench.s3.putObject(bench.s3.derivativeBucket, 'dry/full/500,500/0/default.jpg', 'stored before');
    const before = a.engine.count;
    const mark = bench.mark();

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'dry', sizes: true }, { dryRun: true });

    // Assess
    expect({ status: report.status, planned: report.planned, rendered: report.rendered, skipped: report.skipped }).toEqual({ status: 'done', planned: 5, rendered: 0, skipped: 1 });
    expect([...(report.pending ?? [])].sort()).toEqual(['full/1000,1000', 'full/250,250', 'full/125,125', 'full/63,63'].map((path) => `dry/${path}/0/default.jpg`).sort());
    expect(bench.since(mark).filter((r) => r.startsWith('PUT ') || r.startsWith('DELETE ') || r.startsWith('POST '))).toEqual([]);
    expect(a.engine.count).toBe(before);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, 'dry/')).toEqual(['dry/full/500,500/0/default.jpg']);
  });

  it('with force re-describes the source and replaces every stored derivative in place, one unconditional PUT each', async () => {
    // Prepare: a run, with one key already holding bytes that are not an image.
    await gridCopy('forced');
    await bench.s3.putObject(bench.s3.derivativeBucket, 'forced/full/250,250/0/default.jpg', 'not an image');
    const first = await a.services.prewarmer.run({ identifier: 'forced', sizes: true });
    const mark = bench.s3.requests.length;

    // Act
    const report = await a.services.prewarmer.run({ identifier: 'forced', sizes: true, force: true });

    // Assess
    expect([first.rendered, first.skipped]).toEqual([4, 1]);
    expect({ status: report.status, planned: report.planned, rendered: report.rendered, skipped: report.skipped }).toEqual({ status: 'done', planned: 5, rendered: 5, skipped: 0 });
    const served = bench.s3.requests.slice(mark);
    expect(served.filter((r) => r.method === 'HEAD' && r.path === '/recto-sources/forced')).toHaveLength(1);
    const puts = served.filter((r) => r.method === 'PUT' && !r.path.endsWith('/source.json'));
    expect(puts).toHaveLength(5);
    expect(puts.map((r) => r.headers['if-none-match'])).toEqual(Array(5).fill(undefined));
    expect(served.filter((r) => r.method === 'DELETE' || r.method === 'POST')).toEqual([]);
    const replaced = await sharp((await bench.s3.getObject(bench.s3.derivativeBucket, 'forced/full/250,250/0/default.jpg'))?.body).metadata();
    expect([replaced.format, replaced.width, replaced.height]).toEqual(['jpeg', 250, 250]);
  });

  it('throws PRESET_NOT_FOUND (404) for a preset the deployment does not have, before any request', async () => {
    // Prepare
    const mark = bench.mark();

    // Act
    const thrown = await rejection(a.services.prewarmer.run({ identifier: GRID, presets: ['thumbnail', 'poster'] }));

    // Assess
    expect(thrown).toEqual({ name: 'RectoError', code: 'PRESET_NOT_FOUND', status: 404 });
    expect(bench.since(mark)).toEqual([]);
  });

  it('retries on a record built afresh when the source was replaced since its record was made', async () => {
    // Prepare: a 300x200 source described, replaced by a 640x480 one; a container with nothing on disk runs.
    await bench.putSource('renewed', (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png);
    await a.services.records.get('renewed');
    await bench.putSource('renewed', (await gridImage({ width: 640, height: 480, cols: 4, rows: 3 })).png);
    const b = await bench.container();

    // Act
    const report = await b.services.prewarmer.run({ identifier: 'renewed', paths: ['full/max/0/default.jpg'] });

    // Assess
    expect({ status: report.status, planned: report.planned, rendered: report.rendered, failed: report.failed }).toEqual({ status: 'done', planned: 1, rendered: 1, failed: [] });
    expect(await images('renewed')).toEqual(['renewed/full/640,480/0/default.jpg']);
  });
});

describe('failure', () => {
  it.each([
    ['a 503 is retryable', new UnavailableError('STORAGE_UNAVAILABLE', 'storage is down', 1), { code: 'STORAGE_UNAVAILABLE', message: 'storage is down', retryable: true }],
    ['a source that will never render is not', new SourceError('SOURCE_UNREADABLE', 'corrupt'), { code: 'SOURCE_UNREADABLE', message: 'corrupt', retryable: false }],
    ['a deployment fault is not', new StorageError('STORAGE_MISCONFIGURED', 'access denied'), { code: 'STORAGE_MISCONFIGURED', message: 'access denied', retryable: false }],
    ['a missing source is not', new NotFoundError('SOURCE_NOT_FOUND', 'gone'), { code: 'SOURCE_NOT_FOUND', message: 'gone', retryable: false }],
    ['an unexpected Error is INTERNAL_ERROR, retryable', new TypeError('a bug'), { code: 'INTERNAL_ERROR', message: 'a bug', retryable: true }],
    ['a thrown string is INTERNAL_ERROR with that text', 'a string', { code: 'INTERNAL_ERROR', message: 'a string', retryable: true }],
  ])('makes a report line of an error: %s', (_what, error, line) => {
    // Act and assess
    expect(failure('ms/1', error)).toEqual({ key: 'ms/1', ...line });
  });
});

describe('withDefaults', () => {
  it.each([
    [{ identifier: 'a' }, { identifier: 'a', tiles: true, sizes: true }],
    [{ identifier: 'a', force: true, api: '3' as const }, { identifier: 'a', force: true, api: '3', tiles: true, sizes: true }],
    [{ identifier: 'a', presets: ['thumbnail'] }, { identifier: 'a', presets: ['thumbnail'] }],
    [{ identifier: 'a', paths: ['full/max/0/default.jpg'] }, { identifier: 'a', paths: ['full/max/0/default.jpg'] }],
    [{ identifier: 'a', sizes: true }, { identifier: 'a', sizes: true }],
    [{ identifier: 'a', presets: [] }, { identifier: 'a', presets: [], tiles: true, sizes: true }],
  ])('makes %j into %j', (message, expected) => {
    // Act and assess
    expect(withDefaults(message)).toEqual(expected);
  });
});
