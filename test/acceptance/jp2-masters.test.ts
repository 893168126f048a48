/**
 * JPEG 2000 masters as research libraries keep them, written by libvips with OpenJPEG (tiles of
 * 1024, 6 and 75 megapixels), on the local stack with its defaults and auth off: info.json
 * answers at once from the header; a `!400,400` thumbnail of each and a full-resolution 512 tile
 * of the 75 MP one answer with redirects within five minutes of the first request (503 with
 * Retry-After meanwhile, while the access copy that request asked for is built); and their
 * pixels are those libvips cuts from the same files, within a mean of 6 levels per channel.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photoLikeRaw } from '../support/fixtures.js';
import { startTestStack, type Answer, type TestStack } from '../support/stack.js';

const run = promisify(execFile);
const FIVE_MINUTES_MS = 5 * 60_000;

interface Master {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly file: string;
}

let work: string;
let t: TestStack;
const masters: Master[] = [];

/** A photo-like image written as a tiled JPEG 2000 by libvips (OpenJPEG inside), lossy as archives' access masters are. */
async function jp2Master(id: string, width: number, height: number): Promise<Master> {
  const raw = await photoLikeRaw({ width, height, seed: width });
  const vFile = join(work, `${id}.v`);
  await sharp(raw.data, { raw: { width, height, channels: raw.channels } }).toFile(join(work, `${id}.tif`));
  await run('vips', ['copy', join(work, `${id}.tif`), vFile]);
  const file = join(work, `${id}.jp2`);
  await run('vips', ['jp2ksave', vFile, file, '--tile-width', '1024', '--tile-height', '1024', '--Q', '45']);
  return { id, width, height, file };
}

/** GET until it is not a 503, waiting what each Retry-After says; every status seen, in order. */
async function untilAnswered(path: string, deadlineMs: number): Promise<{ answer: Answer; statuses: number[]; retryAfters: number[] }> {
  const statuses: number[] = [];
  const retryAfters: number[] = [];
  for (;;) {
    const answer = await t.send(path);
    statuses.push(answer.status);
    if (answer.status !== 503) return { answer, statuses, retryAfters };
    const wait = Number(answer.headers['retry-after']);
    retryAfters.push(wait);
    if (Date.now() + wait * 1000 > deadlineMs) throw new Error(`${path} still answered 503 after ${statuses.length} tries: ${answer.text()}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5) * 1000));
  }
}

/** Mean absolute difference per channel of two images decoded to 8-bit sRGB at one size. */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const decode = (bytes: Buffer) => sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const [x, y] = await Promise.all([decode(a), decode(b)]);
  expect([x.info.width, x.info.height]).toEqual([y.info.width, y.info.height]);
  let total = 0;
  for (let i = 0; i < x.data.length; i++) total += Math.abs((x.data[i] ?? 0) - (y.data[i] ?? 0));
  return total / x.data.length;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'recto-acceptance-jp2-'));
  masters.push(await jp2Master('scan-6mp', 3000, 2000), await jp2Master('scan-75mp', 10_000, 7500));
  const sources = Object.fromEntries(await Promise.all(masters.map(async (master) => [`${master.id}.jp2`, await readFile(master.file)] as const)));
  t = await startTestStack({ env: { IIIF_AUTH: 'off' }, sources });
}, 600_000);

afterAll(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

describe('JPEG 2000 masters written by libvips, on the local stack', () => {
  it('answer info.json with their size at once, reading their header only', async () => {
    for (const master of masters) {
      // Act
      const started = Date.now();
      const answer = await t.send(`/iiif/3/${master.id}/info.json`);
      const ms = Date.now() - started;

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ width: master.width, height: master.height });
      expect(ms).toBeLessThan(5_000);
      const line = t.logger.requests().find((entry) => entry.path === `/iiif/3/${master.id}/info.json`);
      expect(Number(line?.sourceBytes)).toBeLessThan(256 * 1024);
    }
  });

  it('answer a thumbnail of each and a full-resolution 512 tile of the 75 MP one within five minutes, with libvips\' pixels', async () => {
    // Prepare: what libvips makes of the same requests, from the same files.
    const reference = {
      thumbnails: await Promise.all(masters.map(async (master) => {
        const out = join(work, `${master.id}-thumbnail.png`);
        await run('vipsthumbnail', [master.file, '--size', '400x400', '-o', out]);
        return readFile(out);
      })),
      tile: await (async () => {
        const out = join(work, 'tile.png');
        await run('vips', ['crop', masters[1]?.file ?? '', out, '4096', '3072', '512', '512']);
        return readFile(out);
      })(),
    };
    const deadline = Date.now() + FIVE_MINUTES_MS;
    const paths = [...masters.map((master) => `/iiif/3/${master.id}/full/!400,400/0/default.jpg`), '/iiif/3/scan-75mp/4096,3072,512,512/512,/0/default.jpg'];

    // Act: each request as a client makes it, waiting out 503s as Retry-After says.
    const results = [];
    for (const path of paths) results.push(await untilAnswered(path, deadline));
    await writeFile(join(work, 'statuses.json'), JSON.stringify(results.map((result) => result.statuses)));

    // Assess: redirects in the end, 503s (if any) with a Retry-After, and libvips' pixels.
    expect(results.map((result) => result.answer.status)).toEqual([302, 302, 302]);
    for (const result of results) for (const wait of result.retryAfters) expect(wait).toBeGreaterThan(0);
    const images = await Promise.all(results.map(async (result) => (await t.follow(result.answer.headers.location ?? '')).body));
    for (const [i, image] of images.entries()) {
      const want = i < masters.length ? reference.thumbnails[i] : reference.tile;
      expect(await meanDifference(image, want ?? Buffer.alloc(0)), paths[i]).toBeLessThanOrEqual(6);
    }
  });
});
