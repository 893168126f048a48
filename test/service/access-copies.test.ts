/**
 * Access copies, with the real builder and real stores over the embedded S3: which masters get
 * one; the copy keyed by the master's ETag under the internal root, named in the source record,
 * and what renders read from then on (by ranges, matching the master within a mean of 3 levels);
 * one build at a time across containers; a replaced master's copy purged with its derivatives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessCopyKey, accessCopyPrefix, storageKey } from '../../lib/iiif/index.js';
import { renderProbe } from '../../lib/service/source-records.js';
import { purgeIdentifier } from '../../lib/service/purge.js';
import { photoLike, tiff } from '../support/fixtures.js';
import { decode } from '../support/stack.js';
import { request, startBench, type Bench } from './support.js';

let bench: Bench;
let photo: Buffer;

beforeAll(async () => {
  bench = await startBench();
  photo = await photoLike({ width: 4800, height: 3200, format: 'jpeg', quality: 92 });
}, 60_000);

afterAll(async () => {
  await bench.close();
});

/** The mean absolute difference per channel of two same-sized images. */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([decode(a), decode(b)]);
  expect([x.width, x.height]).toEqual([y.width, y.height]);
  let total = 0;
  let count = 0;
  for (let py = 0; py < x.height; py += 3) {
    for (let px = 0; px < x.width; px += 3) {
      const p = x.at(px, py);
      const q = y.at(px, py);
      total += Math.abs(p.r - q.r) + Math.abs(p.g - q.g) + Math.abs(p.b - q.b);
      count += 3;
    }
  }
  return total / count;
}

describe('which masters get an access copy', () => {
  it('builds none for a small master or a tiled pyramid, and one for a large JPEG, keyed by its ETag', async () => {
    // Prepare
    const small = await photoLike({ width: 1200, height: 800, format: 'jpeg' });
    const pyramid = await tiff(photo, { compression: 'jpeg', pyramid: 'pages', tile: 256 });
    await bench.putSource('small-photo', small, 'image/jpeg');
    await bench.putSource('tiled-photo', pyramid, 'image/tiff');
    const etag = await bench.putSource('large-photo', photo, 'image/jpeg');
    const { services } = await bench.container();

    // Act
    const reports = await Promise.all(['small-photo', 'tiled-photo', 'large-photo'].map((id) => services.copies.ensure(id)));
    const again = await services.copies.ensure('large-photo');

    // Assess
    expect(reports.map((report) => report.outcome)).toEqual(['not-needed', 'not-needed', 'built']);
    expect(again.outcome).toBe('exists');
    const key = accessCopyKey('large-photo', etag, '');
    expect(key).toBe(`!recto/access/large-photo/${encodeURIComponent(etag.replace(/"/g, ''))}.tif`);
    expect(reports[2]?.copy?.key).toBe(key);
    expect((await bench.s3.listKeys(bench.s3.derivativeBucket, accessCopyPrefix('large-photo', ''))).filter((k) => k.endsWith('.tif'))).toEqual([key]);
    expect(reports[2]?.copy?.probe).toMatchObject({ format: 'tiff', width: 4800, height: 3200, tile: { width: 256, height: 256 } });
  }, 120_000);
});

describe('renders once the copy exists', () => {
  it('read the copy by ranges, not the master, and match the master\'s renders within a mean of 3 levels', async () => {
    // Prepare: renders from the master in one container, then the copy built and the same
    // requests in a fresh container.
    await bench.putSource('compare', photo, 'image/jpeg');
    const before = await bench.container();
    const paths = ['1024,1024,512,512/512,/0/default.png', 'full/!400,400/0/default.png', '2048,0,1200,900/600,/0/gray.png'];
    const fromMaster: Buffer[] = [];
    for (const path of paths) {
      const answer = await before.services.images.image(request('compare', path), { authorizeRender: () => undefined, trace: { sourceBytesRead: 0 } });
      fromMaster.push((await bench.s3.getObject(bench.s3.derivativeBucket, answer.key))?.body ?? Buffer.alloc(0));
      await bench.s3.deleteObject(bench.s3.derivativeBucket, answer.key);
    }
    await before.services.copies.ensure('compare');
    const after = await bench.container();

    // Act
    const fromCopy: Buffer[] = [];
    const read: number[] = [];
    for (const path of paths) {
      const trace = { sourceBytesRead: 0 };
      const answer = await after.services.images.image(request('compare', path), { authorizeRender: () => undefined, trace });
      read.push(trace.sourceBytesRead);
      fromCopy.push((await bench.s3.getObject(bench.s3.derivativeBucket, answer.key))?.body ?? Buffer.alloc(0));
    }

    // Assess: the record names the copy; each render read a fraction of the master's bytes; the
    // pixels are the master's within a mean of 3 levels per channel (the copy of a 4:2:0 JPEG is
    // itself a 4:2:0 JPEG, re-encoded: 2.6 levels on this noise-heavy thumbnail, 1 to 2 elsewhere).
    const record = await after.services.records.get('compare');
    expect(renderProbe(record).tiff).toBeDefined();
    for (const bytes of read) expect(bytes).toBeLessThan(photo.length / 4);
    for (const [i, bytes] of fromCopy.entries()) expect(await meanDifference(bytes, fromMaster[i] ?? Buffer.alloc(0)), paths[i]).toBeLessThanOrEqual(3);
  }, 120_000);

  it('keeps the storage keys: the copy changes how pixels are read, never which derivative a request names', async () => {
    // Prepare
    const { services } = await bench.container();
    const record = await services.records.get('compare');

    // Act
    const plan = (await services.images.image(request('compare', 'full/max/0/default.jpg'), { authorizeRender: () => undefined, trace: { sourceBytesRead: 0 } })).plan;

    // Assess
    expect(record.copy).toBeDefined();
    expect(storageKey(plan, '')).toBe('compare/full/4800,3200/0/default.jpg');
  }, 60_000);
});

describe('one build at a time', () => {
  it('builds once when two containers ask at the same time: the other finds it being built, or built', async () => {
    // Prepare
    await bench.putSource('raced', photo, 'image/jpeg');
    const [a, b] = await Promise.all([bench.container(), bench.container()]);

    // Act
    const outcomes = (await Promise.all([a.services.copies.ensure('raced'), b.services.copies.ensure('raced')])).map((report) => report.outcome);

    // Assess
    expect(outcomes.filter((outcome) => outcome === 'built')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== 'built')).toEqual([expect.stringMatching(/^(building-elsewhere|exists)$/)]);
    const copies = (await bench.s3.listKeys(bench.s3.derivativeBucket, accessCopyPrefix('raced', ''))).filter((key) => key.endsWith('.tif'));
    expect(copies).toHaveLength(1);
  }, 120_000);
});

describe('a replaced master', () => {
  it('gets a copy of its own, and the old one goes with the purge', async () => {
    // Prepare
    const first = await bench.putSource('replaced', photo, 'image/jpeg');
    const { services } = await bench.container();
    await services.copies.ensure('replaced');
    const other = await photoLike({ width: 4800, height: 3200, format: 'jpeg', quality: 80, seed: 11 });
    const second = await bench.putSource('replaced', other, 'image/jpeg');

    // Act: what the purge function does on ObjectCreated, then the copy it queues.
    await purgeIdentifier({ derivatives: services.derivatives, prefix: '', records: services.records }, 'replaced');
    const report = await services.copies.ensure('replaced');

    // Assess
    expect(first).not.toBe(second);
    expect(report.outcome).toBe('built');
    const copies = (await bench.s3.listKeys(bench.s3.derivativeBucket, accessCopyPrefix('replaced', ''))).filter((key) => key.endsWith('.tif'));
    expect(copies).toEqual([accessCopyKey('replaced', second, '')]);
  }, 120_000);
});
