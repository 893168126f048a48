/**
 * Regions assembled from ranged tile reads match sharp's own decode of the same level and
 * rectangle: exactly for lossless compression, within one level per channel for JPEG. Every
 * compression, pages and SubIFDs, BigTIFF, both byte orders, grey, RGB, RGBA and 16-bit, odd
 * sizes and edge tiles; random rectangles on several pyramids; only the tiles under the
 * rectangle are fetched.
 */
import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Rect } from '../../../lib/iiif/types.js';
import { levelImage, readRegion, readTiffStructure, readTileLocations, sharpRawInput, tilesCovering } from '../../../lib/render/tiff/index.js';
import type { TiffStructure } from '../../../lib/render/tiff/index.js';
import { pagesToSubifds } from '../../support/fixtures.js';
import { handmadeTiff, maxDifference, memoryReader, photo, reference, sharpTiff } from './support.js';
import { writeTiff } from './writer.js';

interface Fixture {
  readonly name: string;
  readonly file: Buffer;
  readonly structure: TiffStructure;
  /** Largest difference allowed from sharp's decode: 0 for lossless compression. */
  readonly tolerance: number;
}

const fixtures = new Map<string, Fixture>();

function fixture(name: string): Fixture {
  const found = fixtures.get(name);
  if (found === undefined) throw new Error(`Expected a fixture for ${name} but received none`);
  return found;
}

async function add(name: string, file: Buffer | Promise<Buffer>, tolerance = 0): Promise<void> {
  const bytes = await file;
  const { structure } = await readTiffStructure(memoryReader(bytes).read, bytes.length);
  fixtures.set(name, { name, file: bytes, structure, tolerance });
}

beforeAll(async () => {
  const rgb = await photo('rgb', 1001, 777);
  const deflatePages = sharpTiff(rgb.clone(), { compression: 'deflate', tileWidth: 256, tileHeight: 128, pyramid: true, predictor: 'horizontal' });
  await Promise.all([
    add('YCbCr JPEG pages', sharpTiff(rgb.clone(), { compression: 'jpeg', tileWidth: 128, pyramid: true, quality: 80 }), 1),
    add('RGB JPEG pages', sharpTiff(rgb.clone(), { compression: 'jpeg', tileWidth: 128, pyramid: true, quality: 95 }), 1),
    add('Deflate pages', deflatePages),
    add('Deflate SubIFDs', deflatePages.then(pagesToSubifds)),
    add('LZW pages', sharpTiff(rgb.clone(), { compression: 'lzw', tileWidth: 128, pyramid: true })),
    add('uncompressed pages', sharpTiff(rgb.clone(), { compression: 'none', tileWidth: 128, pyramid: true })),
    add('BigTIFF Deflate pages', sharpTiff(rgb.clone(), { compression: 'deflate', tileWidth: 128, pyramid: true, bigtiff: true })),
    add('grey JPEG', sharpTiff(await photo('grey', 333, 222), { compression: 'jpeg', tileWidth: 64, quality: 85 }), 1),
    add('grey LZW', sharpTiff(await photo('grey', 333, 222), { compression: 'lzw', tileWidth: 64, predictor: 'horizontal' })),
    add('RGBA Deflate', sharpTiff(await photo('rgba', 333, 222), { compression: 'deflate', tileWidth: 64 })),
    add('16-bit RGB LZW', sharpTiff(await photo('rgb16', 333, 222), { compression: 'lzw', tileWidth: 64, predictor: 'horizontal' })),
    add('16-bit grey Deflate', sharpTiff(await photo('grey16', 333, 222), { compression: 'deflate', tileWidth: 64, predictor: 'horizontal' })),
    add('big-endian 16-bit RGB Deflate pages', handmadeTiff('rgb16', 333, 222, { byteOrder: 'MM', levels: 1, predictor: 2, tile: 64 })),
    add('big-endian BigTIFF RGB SubIFDs', handmadeTiff('rgb', 333, 222, { byteOrder: 'MM', bigTiff: true, levels: 2, pyramid: 'subifds', tile: 64 })),
    add('big-endian min-is-white grey', handmadeTiff('grey', 333, 222, { byteOrder: 'MM', compression: 'none', minIsWhite: true, tile: 64 })),
    add('big-endian 16-bit min-is-white grey', handmadeTiff('grey16', 333, 222, { byteOrder: 'MM', minIsWhite: true, predictor: 2, tile: 64 })),
  ]);
});

async function expectLikeSharp(f: Fixture, level: number, rect: Rect): Promise<void> {
  const { pixels } = await readRegion(memoryReader(f.file).read, f.structure, level, rect);
  const expected = await reference(f.file, f.structure, level, rect, pixels);
  expect({ width: pixels.width, height: pixels.height }).toEqual({ width: rect.width, height: rect.height });
  expect(maxDifference(pixels.data, expected, pixels.bitsPerSample), `${f.name}, level ${level}, ${JSON.stringify(rect)}`).toBeLessThanOrEqual(f.tolerance);
}

const NAMES = [
  'YCbCr JPEG pages', 'RGB JPEG pages', 'Deflate pages', 'Deflate SubIFDs', 'LZW pages', 'uncompressed pages', 'BigTIFF Deflate pages',
  'grey JPEG', 'grey LZW', 'RGBA Deflate', '16-bit RGB LZW', '16-bit grey Deflate',
  'big-endian 16-bit RGB Deflate pages', 'big-endian BigTIFF RGB SubIFDs', 'big-endian min-is-white grey', 'big-endian 16-bit min-is-white grey',
];

describe('readRegion', () => {
  it.each(NAMES)('gives every whole level of %s as sharp decodes it', async (name) => {
    // Prepare
    const f = fixture(name);
    for (let level = 0; level < f.structure.levels.length; level++) {
      const image = levelImage(f.structure, level);
      // Act, Assess
      await expectLikeSharp(f, level, { x: 0, y: 0, width: image.width, height: image.height });
    }
  });

  it.each(NAMES)('gives edge and single-pixel rectangles of %s as sharp decodes them', async (name) => {
    // Prepare
    const f = fixture(name);
    const image = levelImage(f.structure, 0);
    const rects: Rect[] = [
      { x: image.width - 7, y: image.height - 5, width: 7, height: 5 },
      { x: 0, y: image.height - 1, width: image.width, height: 1 },
      { x: image.width - 1, y: 0, width: 1, height: image.height },
      { x: Math.floor(image.width / 2), y: Math.floor(image.height / 2), width: 1, height: 1 },
    ];
    // Act, Assess
    for (const rect of rects) await expectLikeSharp(f, 0, rect);
  });

  it('gives random rectangles of random levels of several pyramids as sharp decodes them', async () => {
    // Prepare
    const names = ['YCbCr JPEG pages', 'RGB JPEG pages', 'Deflate SubIFDs', 'LZW pages', 'big-endian BigTIFF RGB SubIFDs', '16-bit RGB LZW'];
    const arbitrary = fc.record({ name: fc.constantFrom(...names), level: fc.nat(3), a: fc.double({ min: 0, max: 1, noNaN: true }), b: fc.double({ min: 0, max: 1, noNaN: true }), c: fc.double({ min: 0, max: 1, noNaN: true }), d: fc.double({ min: 0, max: 1, noNaN: true }) });
    // Act, Assess
    await fc.assert(fc.asyncProperty(arbitrary, async ({ name, level, a, b, c, d }) => {
      const f = fixture(name);
      const chosen = Math.min(level, f.structure.levels.length - 1);
      const image = levelImage(f.structure, chosen);
      const x = Math.min(image.width - 1, Math.floor(a * image.width));
      const y = Math.min(image.height - 1, Math.floor(b * image.height));
      const rect = { x, y, width: 1 + Math.floor(c * (image.width - x - 1)), height: 1 + Math.floor(d * (image.height - y - 1)) };
      await expectLikeSharp(f, chosen, rect);
    }), { numRuns: 60, seed: 20_240_601 });
  });

  it('fetches exactly the bytes of the tiles under the rectangle when no gap is allowed', async () => {
    // Prepare: offsets not in the description, so their slices are read too.
    const f = fixture('Deflate pages');
    const { structure } = await readTiffStructure(memoryReader(f.file).read, f.file.length, { inlineMaxEntries: 0 });
    const image = levelImage(structure, 0);
    const rect = { x: 300, y: 200, width: 300, height: 300 };
    const indexes = tilesCovering(image, rect);
    const locations = await readTileLocations(memoryReader(f.file).read, structure, image, indexes);
    const reader = memoryReader(f.file);
    // Act
    const { stats } = await readRegion(reader.read, structure, 0, rect, { maxGapBytes: 0 });
    // Assess
    // Both arrays are read in one request when they are stored side by side.
    const arrays = [image.offsets, image.byteCounts];
    const arraysStart = Math.min(...arrays.map((a) => a.offset));
    const arraysEnd = Math.max(...arrays.map((a) => a.offset + a.count * 4));
    const inArray = (r: { offset: number; length: number }): boolean => r.offset >= arraysStart && r.offset + r.length <= arraysEnd;
    const arrayReads = reader.requests.filter(inArray);
    const tileReads = reader.requests.filter((r) => !inArray(r));
    expect(indexes).toHaveLength(6);
    expect(stats).toMatchObject({ tiles: 6, tilesDecoded: 6, rounds: 2 });
    expect(arrayReads.length).toBeGreaterThan(0);
    expect(tileReads.reduce((sum, r) => sum + r.length, 0)).toBe(locations.reduce((sum, l) => sum + l.byteCount, 0));
    for (const l of locations) expect(tileReads.some((r) => r.offset <= l.offset && l.offset + l.byteCount <= r.offset + r.length)).toBe(true);
  });

  it('reads the tiles in one round when the description holds their offsets, coalesced into few requests', async () => {
    // Prepare
    const f = fixture('LZW pages');
    const image = levelImage(f.structure, 0);
    const reader = memoryReader(f.file);
    // Act
    const { stats } = await readRegion(reader.read, f.structure, 0, { x: 0, y: 0, width: image.width, height: 256 });
    // Assess: two rows of eight tiles, stored one after another.
    expect(image.offsets.values).toBeDefined();
    expect(stats).toMatchObject({ tiles: 16, tilesDecoded: 16, rounds: 1, requests: 1 });
  });

  it('bounds the requests in flight', async () => {
    // Prepare
    const f = fixture('uncompressed pages');
    let inFlight = 0;
    let most = 0;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return f.file.subarray(offset, offset + length);
    };
    // Act: separate requests for every tile (no merging).
    const { stats } = await readRegion(read, f.structure, 0, { x: 0, y: 0, width: 1001, height: 777 }, { concurrency: 3, maxRangeBytes: 1 });
    // Assess
    expect(stats.requests).toBe(56);
    expect(most).toBe(3);
  });

  it('reads sparse tiles (never written) as zeros', async () => {
    // Prepare: 2x2 tiles of 16x16 grey, the second one sparse.
    const tile = Buffer.alloc(256, 200);
    const file = writeTiff({ pages: [{ width: 32, height: 32, tileWidth: 16, tileHeight: 16, samplesPerPixel: 1, bitsPerSample: 8, photometric: 1, compression: 1, tiles: [tile, Buffer.alloc(0), tile, tile] }] });
    const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
    // Act
    const { pixels, stats } = await readRegion(memoryReader(file).read, structure, 0, { x: 8, y: 0, width: 16, height: 1 });
    // Assess
    expect([...pixels.data]).toEqual([...new Array<number>(8).fill(200), ...new Array<number>(8).fill(0)]);
    expect(stats).toMatchObject({ tiles: 2, tilesDecoded: 1 });
  });
});

describe('sharpRawInput', () => {
  it.each([['RGBA Deflate', 'srgb', 'uchar'], ['16-bit RGB LZW', 'rgb16', 'ushort']] as const)('hands sharp the pixels of %s as they are', async (name, space, depth) => {
    // Prepare
    const f = fixture(name);
    const { pixels } = await readRegion(memoryReader(f.file).read, f.structure, 0, { x: 10, y: 20, width: 100, height: 50 });
    // Act
    const { input, raw } = sharpRawInput(pixels);
    const { data } = await sharp(input, { raw }).toColourspace(space).raw({ depth }).toBuffer({ resolveWithObject: true });
    // Assess
    expect(maxDifference(data, pixels.data, pixels.bitsPerSample)).toBe(0);
  });
});
