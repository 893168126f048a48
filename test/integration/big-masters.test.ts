/**
 * A 675-megapixel tiled pyramidal TIFF (30000x22500, 256-pixel JPEG tiles, about 125 MB) on the
 * local stack with its default configuration: info.json, three full-resolution tiles and a
 * thumbnail answer with redirects to the right pixels while the request log's `sourceBytes`, the
 * bytes read from the source bucket, stay a few megabytes in all; and an info.json for a caller
 * who may not write reads the master's directories and nothing more.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rgb } from '../support/fixtures.js';
import { syntheticPyramid, type SyntheticPyramid } from '../support/pyramids.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const BIG = 'map-675mp';
const WIDTH = 30_000;
const HEIGHT = 22_500;

let t: TestStack;
let pyramid: SyntheticPyramid;
let token: string;

beforeAll(async () => {
  pyramid = await syntheticPyramid({ width: WIDTH, height: HEIGHT });
  t = await startTestStack({ sources: { [`${BIG}.tif`]: pyramid.file } });
  token = await t.token();
}, 180_000);

afterAll(async () => {
  await t.close();
});

function sourceBytesOf(path: string): number {
  const line = t.logger.requests().find((entry) => entry.path === path);
  expect(line, path).toBeDefined();
  return Number(line?.sourceBytes);
}

/** The mean colour of a square of a decoded image (stats() would describe the whole input). */
async function meanOf(image: Buffer, left: number, top: number, size: number): Promise<Rgb> {
  const { data, info } = await sharp(image).extract({ left, top, width: size, height: size }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 3; c++) sums[c] = (sums[c] ?? 0) + (data[i + c] ?? 0);
  const pixels = data.length / info.channels;
  return { r: (sums[0] ?? 0) / pixels, g: (sums[1] ?? 0) / pixels, b: (sums[2] ?? 0) / pixels };
}

function distance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a.r - b.r), Math.abs(a.g - b.g), Math.abs(a.b - b.b));
}

describe('a 675-megapixel tiled pyramid on the local stack', () => {
  it('is large: the master in the source bucket is over 100 MB', () => {
    expect(pyramid.file.length).toBeGreaterThan(100 * 1024 * 1024);
  });

  it('answers info.json, three full-resolution tiles and a thumbnail with the right pixels, reading under 4 MB of it', async () => {
    // Prepare: where the tiles are (in 256-pixel tiles of the full image).
    const info = `/iiif/3/${BIG}/info.json`;
    const tiles = [
      { x: 256 * 40, y: 256 * 30, size: 256 },
      { x: 256 * 97, y: 256 * 61, size: 256 },
      { x: 256 * 10, y: 256 * 80, size: 512 },
    ];
    const tilePaths = tiles.map(({ x, y, size }) => `/iiif/3/${BIG}/${x},${y},${size},${size}/${size},${size}/0/default.jpg`);
    const thumbnail = `/iiif/3/${BIG}/full/!400,400/0/default.jpg`;

    // Act
    const described = await t.send(info, { token });
    const images = [];
    for (const path of [...tilePaths, thumbnail]) images.push(await t.send(path, { token }));

    // Assess: the answers.
    expect(described.status).toBe(200);
    expect(described.json()).toMatchObject({ width: WIDTH, height: HEIGHT, tiles: [{ width: 256, height: 256 }] });
    expect(images.map((answer) => answer.status)).toEqual([302, 302, 302, 302]);

    // Assess: each tile's 256-pixel squares are the palette entries stored there.
    for (const [i, { x, y, size }] of tiles.entries()) {
      const bytes = (await t.follow(images[i]?.headers.location ?? '')).body;
      expect((await sharp(bytes).metadata()).width).toBe(size);
      for (let dy = 0; dy < size; dy += 256) {
        for (let dx = 0; dx < size; dx += 256) {
          const expected = pyramid.means[pyramid.entryAt(0, (x + dx) / 256, (y + dy) / 256)] ?? expect.fail('palette');
          expect(distance(await meanOf(bytes, dx, dy, 256), expected), `tile ${x + dx},${y + dy}`).toBeLessThanOrEqual(4);
        }
      }
    }
    const small = await sharp((await t.follow(images[3]?.headers.location ?? '')).body).metadata();
    expect([small.width, small.height]).toEqual([400, 300]);

    // Assess: bytes read from the master, per request and in all.
    const read = [info, ...tilePaths, thumbnail].map((path) => sourceBytesOf(path));
    expect(read.reduce((sum, bytes) => sum + bytes, 0)).toBeLessThan(4 * 1024 * 1024);
    expect(read[0]).toBeLessThan(1024 * 1024);
  }, 120_000);

  it('passes a 256-pixel tile on the stored grid through: the derivative is the stored JPEG tile', async () => {
    // Prepare
    const path = `/iiif/3/${BIG}/${256 * 40},${256 * 30},256,256/256,256/0/default.jpg`;
    const answer = await t.send(path, { token });

    // Act
    const derivative = (await t.follow(answer.headers.location ?? '')).body;

    // Assess: the stored tile's own entropy-coded data ends the derivative unchanged, and it
    // decodes to that palette entry.
    const entry = pyramid.entryAt(0, 40, 30);
    const jpeg = pyramid.jpegs[entry] ?? expect.fail('palette');
    expect(derivative.subarray(-1024)).toEqual(jpeg.subarray(-1024));
    expect((await sharp(derivative).metadata()).width).toBe(256);
    expect(distance(await meanOf(derivative, 0, 0, 256), pyramid.means[entry] ?? expect.fail('palette'))).toBeLessThanOrEqual(1);
  });

  it('describes the master for a read-only caller by reading its directories only: under 1 MB, nothing written', async () => {
    // Prepare: a second copy, never described, and a read-scope token.
    const copy = 'map-675mp-copy';
    await t.putSource(`${copy}.tif`, pyramid.file, 'image/tiff');
    const readOnly = await t.token(['iiif:read']);
    t.s3Calls.length = 0;

    // Act
    const answer = await t.send(`/iiif/3/${copy}/info.json`, { token: readOnly });

    // Assess: 200, a HEAD and ranged GETs of the source, and nothing written.
    expect(answer.status).toBe(200);
    const sourceCalls = t.s3Calls.filter((call) => call.includes(`${t.sourceBucket}/`));
    expect(sourceCalls.filter((call) => call.startsWith(HeadObjectCommand.name))).toHaveLength(1);
    expect(sourceCalls.filter((call) => call.startsWith(GetObjectCommand.name)).length).toBeGreaterThan(0);
    expect(t.s3Calls.filter((call) => call.startsWith('PutObjectCommand'))).toEqual([]);
    expect(sourceBytesOf(`/iiif/3/${copy}/info.json`)).toBeLessThan(1024 * 1024);
  });
});
