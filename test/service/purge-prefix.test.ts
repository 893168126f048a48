/**
 * lib/service/purge.ts on the embedded S3: `purgeIdentifier` deletes exactly one identifier's
 * prefix (never a neighbour whose encoded name starts the same way, never outside the derivative
 * prefix) and makes the process forget the record it held; `purgeChanges` purges the identifiers
 * whose sources changed and passes over other buckets and keys the template does not make.
 * (test/service/purge.test.ts drives the same code through the purge function and the CLI.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { purgeChanges, purgeIdentifier } from '../../lib/service/purge.js';
import { DerivativeStore } from '../../lib/store/index.js';
import { gridImage } from '../support/fixtures.js';
import { startBench, type Bench, type Container } from './support.js';

let bench: Bench;

beforeAll(async () => {
  bench = await startBench();
});

afterAll(async () => {
  await bench.close();
});

/** Objects of the derivative bucket: the identifiers `a`, `a b`, `ab` and `a/b` under iiif/, and two outside it. */
const SEEDED = [
  'a/full/1,1/0/default.jpg',
  'iiif/a%20b/full/1,1/0/default.jpg',
  'iiif/a%20b/source.json',
  'iiif/a%2Fb/full/1,1/0/default.jpg',
  'iiif/a/0,0,1,1/1,1/0/default.jpg',
  'iiif/a/full/1,1/0/default.jpg',
  'iiif/a/source.json',
  'iiif/ab/full/1,1/0/default.jpg',
  'other/iiif/a/full/1,1/0/default.jpg',
];

describe('purgeIdentifier', () => {
  let derivatives: DerivativeStore;

  beforeEach(async () => {
    for (const key of await bench.s3.listKeys(bench.s3.derivativeBucket)) await bench.s3.deleteObject(bench.s3.derivativeBucket, key);
    await bench.s3.seed(bench.s3.derivativeBucket, SEEDED, 'x');
    // Two keys a page: a purge of three objects lists and deletes more than once.
    derivatives = new DerivativeStore(bench.s3.client, { bucket: bench.s3.derivativeBucket, presignTtlSeconds: 3600, pageSize: 2 });
  });

  it('deletes the derivatives and record of `a` only: not `a b`, `ab`, `a/b`, nor anything outside the prefix', async () => {
    // Act
    const deleted = await purgeIdentifier({ derivatives, prefix: 'iiif/' }, 'a');

    // Assess
    expect(deleted).toBe(3);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket)).toEqual(SEEDED.filter((key) => !key.startsWith('iiif/a/')));
  });

  it('deletes `a b` without touching `a`', async () => {
    // Act
    const deleted = await purgeIdentifier({ derivatives, prefix: 'iiif/' }, 'a b');

    // Assess
    expect(deleted).toBe(2);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket)).toEqual(SEEDED.filter((key) => !key.startsWith('iiif/a%20b/')));
  });

  it('deletes `a/b` by its encoded prefix, and nothing when an identifier has no derivatives', async () => {
    // Act
    const slash = await purgeIdentifier({ derivatives, prefix: 'iiif/' }, 'a/b');
    const none = await purgeIdentifier({ derivatives, prefix: 'iiif/' }, 'c');

    // Assess
    expect([slash, none]).toEqual([1, 0]);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket)).toEqual(SEEDED.filter((key) => !key.startsWith('iiif/a%2Fb/')));
  });
});

describe('purging and the record in memory', () => {
  let a: Container;

  beforeAll(async () => {
    a = await bench.container();
  });

  it('forgets the record before and after deleting, so the next request describes the source again', async () => {
    // Prepare: a record remembered and stored, then the source replaced by a larger image.
    await bench.putSource('kept in mind', (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png);
    await a.services.records.get('kept in mind');
    await bench.putSource('kept in mind', (await gridImage({ width: 640, height: 480, cols: 4, rows: 3 })).png);
    const forgotten: string[] = [];
    const records = {
      forget: (identifier: string) => {
        forgotten.push(identifier);
        a.services.records.forget(identifier);
      },
    };

    // Act
    const deleted = await purgeIdentifier({ derivatives: a.services.derivatives, prefix: '', records }, 'kept in mind');
    const mark = bench.mark();
    const record = await a.services.records.get('kept in mind');

    // Assess
    expect(deleted).toBe(1);
    expect(forgotten).toEqual(['kept in mind', 'kept in mind']);
    expect(bench.since(mark).slice(0, 2)).toEqual(['GET /recto-derivatives/!recto/records/kept%20in%20mind/source.json', 'HEAD /recto-sources/kept in mind']);
    expect([record.probe.width, record.probe.height]).toEqual([640, 480]);
  });
});

describe('purgeChanges', () => {
  it('purges the identifiers of changed sources, and passes over other buckets and keys the template does not make', async () => {
    // Prepare
    for (const key of await bench.s3.listKeys(bench.s3.derivativeBucket)) await bench.s3.deleteObject(bench.s3.derivativeBucket, key);
    await bench.s3.seed(bench.s3.derivativeBucket, SEEDED, 'x');
    const derivatives = new DerivativeStore(bench.s3.client, { bucket: bench.s3.derivativeBucket, presignTtlSeconds: 3600 });
    const forgotten: string[] = [];
    const deps = { derivatives, prefix: 'iiif/', sourceBucket: bench.s3.sourceBucket, keyTemplate: 'masters/{id}.tif', records: { forget: (id: string) => forgotten.push(id) } };

    // Act
    const outcomes = await purgeChanges(deps, [
      { bucket: 'someone-else', key: 'masters/a.tif' },
      { bucket: bench.s3.sourceBucket, key: 'masters/readme.txt.bak' },
      { bucket: bench.s3.sourceBucket, key: 'a b' },
      { bucket: bench.s3.sourceBucket, key: 'masters/a b.tif' },
      { bucket: bench.s3.sourceBucket, key: 'masters/a/b.tif' },
    ]);

    // Assess
    expect(outcomes).toEqual([
      { key: 'masters/a.tif', deleted: 0 },
      { key: 'masters/readme.txt.bak', deleted: 0 },
      { key: 'a b', deleted: 0 },
      { key: 'masters/a b.tif', identifier: 'a b', deleted: 2 },
      { key: 'masters/a/b.tif', identifier: 'a/b', deleted: 1 },
    ]);
    expect(forgotten).toEqual(['a b', 'a b', 'a/b', 'a/b']);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket)).toEqual(SEEDED.filter((key) => !key.startsWith('iiif/a%20b/') && !key.startsWith('iiif/a%2Fb/')));
  });
});
