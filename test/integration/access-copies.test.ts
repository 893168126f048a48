/**
 * Access copies on the local stack, as in a deployment: a large master uploaded to the source
 * bucket gets its copy without any command (the stack reacts to the upload as the purge function
 * and the pre-warm worker do), a replaced one gets a new copy and loses the old one with its
 * derivatives, and requests then read the copy. A JPEG 2000 master answers info.json from its
 * header, and tiles from the copy its upload started. (Renders from a JPEG 2000 before its copy
 * exists, and the 503 for what they cannot make, are test/render/jp2 and the acceptance run's.)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessCopyKey, accessCopyPrefix } from '../../lib/iiif/index.js';
import { withDefaults } from '../../lib/service/prewarm.js';
import { embeddedOnly } from '../support/external-s3.js';
import { photoLike } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'jp2');

let t: TestStack;
let token: string;

beforeAll(async () => {
  t = await startTestStack({ sourceEvents: true });
  token = await t.token();
}, 60_000);

afterAll(async () => {
  await t.close();
});

async function copiesOf(identifier: string): Promise<string[]> {
  return (await t.listDerivatives()).map((object) => object.key).filter((key) => key.startsWith(accessCopyPrefix(identifier, '')) && key.endsWith('.tif'));
}

async function etagOf(identifier: string): Promise<string> {
  return (await t.stack.services.sources.head(identifier)).etag;
}

// A real S3 sends its upload events to its own notification targets, not to the test's stack.
const uploadEvents = embeddedOnly("the local stack sees uploads through the embedded S3's events; a real S3 notifies its own targets");

describe('an upload to the source bucket of the local stack', () => {
  uploadEvents('gets the access copy of a large master without any command, and requests then read the copy', async () => {
    // Prepare
    const master = await photoLike({ width: 5200, height: 3400, format: 'jpeg', quality: 90 });

    // Act: upload, then wait for what the upload started.
    await t.putSource('uploaded.jpg', master, 'image/jpeg');
    await t.stack.idle();
    const tile = await t.send('/iiif/3/uploaded/2048,1024,512,512/512,/0/default.jpg', { token });

    // Assess
    expect(await copiesOf('uploaded')).toEqual([accessCopyKey('uploaded', await etagOf('uploaded'), '')]);
    expect(tile.status).toBe(302);
    const line = t.logger.requests().find((entry) => entry.path === '/iiif/3/uploaded/2048,1024,512,512/512,/0/default.jpg');
    expect(Number(line?.sourceBytes)).toBeLessThan(master.length / 4);
  }, 120_000);

  uploadEvents('replaced, gets a new copy and loses the old one and its derivatives', async () => {
    // Prepare: a derivative of the first version, then a second version uploaded.
    expect((await t.send('/iiif/3/uploaded/full/!300,300/0/default.jpg', { token })).status).toBe(302);
    const first = await etagOf('uploaded');
    const second = await photoLike({ width: 5200, height: 3400, format: 'jpeg', quality: 85, seed: 9 });

    // Act
    await t.putSource('uploaded.jpg', second, 'image/jpeg');
    await t.stack.idle();

    // Assess
    const now = await etagOf('uploaded');
    expect(now).not.toBe(first);
    expect(await copiesOf('uploaded')).toEqual([accessCopyKey('uploaded', now, '')]);
    expect((await t.listImages()).filter((object) => object.key.startsWith('uploaded/'))).toEqual([]);
  }, 120_000);

  it('builds no copy of a master small enough to be read whole', async () => {
    // Act
    await t.putSource('small.jpg', await photoLike({ width: 1600, height: 1200, format: 'jpeg' }), 'image/jpeg');
    await t.stack.idle();

    // Assess
    expect(await copiesOf('small')).toEqual([]);
  }, 60_000);
});

describe("the pre-warm worker's ingest job", () => {
  it('builds the access copy of a large master on any S3, and a tile then reads the copy by ranges, not the master', async () => {
    // Prepare
    const master = await photoLike({ width: 5200, height: 3400, format: 'jpeg', quality: 90, seed: 4 });
    await t.putSource('ingested.jpg', master, 'image/jpeg');

    // Act: the job the purge function queues for an upload, run as the worker runs it.
    const report = await t.stack.services.prewarmer.run(withDefaults({ identifier: 'ingested', ingest: true }));
    const tile = await t.send('/iiif/3/ingested/2048,1024,512,512/512,/0/default.jpg', { token });

    // Assess
    expect(report.copy).toBe('built');
    expect(await copiesOf('ingested')).toEqual([accessCopyKey('ingested', await etagOf('ingested'), '')]);
    expect(tile.status).toBe(302);
    const line = t.logger.requests().find((entry) => entry.path === '/iiif/3/ingested/2048,1024,512,512/512,/0/default.jpg');
    expect(Number(line?.sourceBytes)).toBeGreaterThan(0);
    expect(Number(line?.sourceBytes)).toBeLessThan(master.length / 4);
  }, 120_000);
});

describe('a JPEG 2000 master', () => {
  it('answers info.json from its header, and a full-resolution tile from the access copy its upload started, with its own pixels', async () => {
    // Prepare: a tiled JP2 (4x3 tiles of 32 pixels, six levels), and the pixels libvips cannot
    // give us here: the master's own full decode, as the reference.
    const jp2 = await readFile(path.join(FIXTURES, 'tiled.jp2'));
    const { decodeJp2 } = await import('../../lib/render/jp2/decode.js');
    const { readJp2Header } = await import('../../lib/render/jp2/header.js');
    const { bufferRange } = await import('../../lib/render/jp2/reader.js');
    const header = await readJp2Header(bufferRange(jp2));
    const full = await decodeJp2(bufferRange(jp2), header, { maxBytes: 64 * 1024 * 1024 });

    // Act
    await t.putSource('scan.jp2', jp2, 'image/jp2');
    await t.stack.idle();
    const info = await t.send('/iiif/3/scan/info.json', { token });
    const tile = await t.send(`/iiif/3/scan/0,0,32,32/32,32/0/default.png`, { token });

    // Assess: the size from the header; the copy built on upload; the tile's pixels the master's.
    expect(info.status).toBe(200);
    expect(info.json()).toMatchObject({ width: full.width, height: full.height });
    await waitFor(async () => (await copiesOf('scan')).length === 1, 60_000, 200, 'the copy of the JP2');
    expect(tile.status).toBe(302);
    const got = await sharp((await t.follow(tile.headers.location ?? '')).body).removeAlpha().raw().toBuffer();
    const want = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: full.channels } }).extract({ left: 0, top: 0, width: 32, height: 32 }).toColourspace('srgb').raw().toBuffer();
    let total = 0;
    for (let i = 0; i < got.length; i++) total += Math.abs((got[i] ?? 0) - (want[i] ?? 0));
    expect(total / got.length).toBeLessThanOrEqual(6);
  }, 120_000);
});
