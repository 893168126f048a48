/**
 * The structure read by ranges: every page and SubIFD with its fields, checked against what
 * sharp (libvips, libtiff) reads from the same files; the pyramid levels probing would choose;
 * a description that is plain, small JSON; and the cost of reading it in rounds and bytes.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../lib/config.js';
import { probe } from '../../../lib/render/index.js';
import { readTiffTileSize } from '../../../lib/render/tiff.js';
import { readTiffStructure, readTileLocations, tilesCovering } from '../../../lib/render/tiff/index.js';
import type { TiffStructure } from '../../../lib/render/tiff/index.js';
import { pagesToSubifds } from '../../support/fixtures.js';
import { handmadeTiff, levelOptions, memoryReader, photo, sharpTiff } from './support.js';
import { writeTiff } from './writer.js';
import type { WriterImage } from './writer.js';

const PROBE = { maxInputPixels: DEFAULTS.RENDER_MAX_INPUT_PIXELS };

async function structureOf(file: Buffer, options = {}): Promise<TiffStructure> {
  return (await readTiffStructure(memoryReader(file).read, file.length, options)).structure;
}

/** Every image of the structure has the size sharp reports for the same page or SubIFD. */
async function expectSizesMatchSharp(file: Buffer, structure: TiffStructure): Promise<void> {
  for (const [level, index] of structure.levels.entries()) {
    const image = structure.images[index];
    const metadata = await sharp(file, levelOptions(structure, level)).metadata();
    expect({ width: image?.width, height: image?.height }).toEqual({ width: metadata.width, height: metadata.height });
  }
}

let jpegPages: Buffer;
let rgbJpegPages: Buffer;
let deflatePages: Buffer;
let lzwPages: Buffer;
let bigTiffPages: Buffer;

beforeAll(async () => {
  const source = await photo('rgb', 1001, 777);
  [jpegPages, rgbJpegPages, deflatePages, lzwPages, bigTiffPages] = await Promise.all([
    sharpTiff(source.clone(), { compression: 'jpeg', tileWidth: 128, pyramid: true, quality: 80 }),
    // libvips subsamples chroma (and so writes YCbCr) only below quality 90.
    sharpTiff(source.clone(), { compression: 'jpeg', tileWidth: 128, pyramid: true, quality: 95 }),
    sharpTiff(source.clone(), { compression: 'deflate', tileWidth: 256, tileHeight: 128, pyramid: true, predictor: 'horizontal' }),
    sharpTiff(source.clone(), { compression: 'lzw', tileWidth: 128, pyramid: true }),
    sharpTiff(source.clone(), { compression: 'deflate', tileWidth: 128, pyramid: true, bigtiff: true }),
  ]);
});

describe('readTiffStructure on files sharp wrote', () => {
  it.each([
    ['YCbCr JPEG', () => jpegPages, 7, 6, { width: 128, height: 128 }],
    ['RGB JPEG', () => rgbJpegPages, 7, 2, { width: 128, height: 128 }],
    ['Deflate, 256x128 tiles', () => deflatePages, 8, 2, { width: 256, height: 128 }],
    ['LZW', () => lzwPages, 5, 2, { width: 128, height: 128 }],
  ])('describes a %s page pyramid level by level as sharp reads it', async (_name, file, compression, photometric, tile) => {
    // Act
    const structure = await structureOf(file());
    // Assess
    expect(structure).toMatchObject({ version: 1, byteOrder: 'II', bigTiff: false, pyramid: 'pages', chainComplete: true, levels: [0, 1, 2, 3] });
    expect(structure.images.map((i) => [i.width, i.height])).toEqual([[1001, 777], [500, 388], [250, 194], [125, 97]]);
    for (const image of structure.images) {
      expect(image).toMatchObject({ compression, photometric, samplesPerPixel: 3, bitsPerSample: [8, 8, 8], sampleFormat: [1, 1, 1], planarConfiguration: 1, orientation: 1, extraSamples: [] });
      expect(image.layout).toEqual({ kind: 'tiled', tileWidth: tile.width, tileHeight: tile.height, across: Math.ceil(image.width / tile.width), down: Math.ceil(image.height / tile.height) });
      expect(image.offsets.count).toBe(image.byteCounts.count);
    }
    expect(structure.images.map((i) => i.newSubfileType)).toEqual([0, 1, 1, 1]);
    expect(await readTiffTileSize(file())).toEqual(tile);
    await expectSizesMatchSharp(file(), structure);
  });

  it('agrees with probing on the levels and the pyramid kind', async () => {
    // Prepare
    const subifds = pagesToSubifds(jpegPages);
    // Act
    const [pages, sub] = await Promise.all([structureOf(jpegPages), structureOf(subifds)]);
    const [pagesProbe, subProbe] = await Promise.all([probe(jpegPages, PROBE), probe(subifds, PROBE)]);
    // Assess
    const sizes = (s: TiffStructure): { width: number; height: number }[] => s.levels.map((i) => ({ width: s.images[i]?.width ?? 0, height: s.images[i]?.height ?? 0 }));
    expect(sizes(pages)).toEqual(pagesProbe.levels);
    expect(pages.pyramid).toBe(pagesProbe.pyramid);
    expect(sizes(sub)).toEqual(subProbe.levels);
    expect(sub.pyramid).toBe(subProbe.pyramid);
  });

  it('describes SubIFDs of the first page as levels, with their indexes', async () => {
    // Prepare
    const file = pagesToSubifds(deflatePages);
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure).toMatchObject({ pyramid: 'subifds', chainComplete: true, levels: [0, 1, 2, 3] });
    expect(structure.images.map((i) => [i.page, i.subifd])).toEqual([[0, undefined], [0, 0], [0, 1], [0, 2]]);
    await expectSizesMatchSharp(file, structure);
  });

  it('reads a BigTIFF: 8-byte offsets, LONG8 tile offsets', async () => {
    // Act
    const structure = await structureOf(bigTiffPages);
    // Assess
    expect(structure).toMatchObject({ bigTiff: true, byteOrder: 'II', pyramid: 'pages', levels: [0, 1, 2, 3] });
    expect(structure.images[0]?.offsets.type).toBe('long8');
    await expectSizesMatchSharp(bigTiffPages, structure);
  });

  it.each([
    ['grey', 'grey', { samplesPerPixel: 1, photometric: 1, bitsPerSample: [8] }],
    ['RGBA', 'rgba', { samplesPerPixel: 4, photometric: 2, extraSamples: [2], bitsPerSample: [8, 8, 8, 8] }],
    ['16-bit RGB', 'rgb16', { samplesPerPixel: 3, photometric: 2, bitsPerSample: [16, 16, 16] }],
    ['16-bit grey', 'grey16', { samplesPerPixel: 1, photometric: 1, bitsPerSample: [16] }],
  ] as const)('reads the samples of a %s image', async (_name, kind, fields) => {
    // Prepare
    const file = await sharpTiff(await photo(kind, 300, 200), { compression: 'deflate', tileWidth: 64, predictor: 'horizontal' });
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure.images[0]).toMatchObject({ ...fields, predictor: 2, compressionName: 'deflate' });
    expect(structure.pyramid).toBeUndefined();
    expect(structure.levels).toEqual([0]);
  });

  it('reads the JPEG tables, YCbCr subsampling and whether there is an ICC profile, and where', async () => {
    // Prepare
    const tagged = await (await photo('rgb', 300, 200)).withIccProfile('p3').tiff({ tile: true, compression: 'jpeg' }).toBuffer();
    const profile = (await sharp(tagged).metadata()).icc;
    // Act
    const structure = await structureOf(tagged);
    const plain = await structureOf(jpegPages);
    // Assess
    const image = structure.images[0];
    expect(image?.iccProfile?.length).toBe(profile?.length);
    expect(tagged.subarray(image?.iccProfile?.offset ?? 0, (image?.iccProfile?.offset ?? 0) + (image?.iccProfile?.length ?? 0))).toEqual(profile);
    expect(plain.images[0]?.iccProfile).toBeUndefined();
    expect(image?.ycbcrSubsampling).toEqual([2, 2]);
    const tables = Buffer.from(image?.jpegTables ?? '', 'base64');
    expect([tables[0], tables[1], tables.at(-2), tables.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
  });

  it('reads the orientation', async () => {
    // Prepare
    const file = await (await photo('rgb', 300, 200)).withMetadata({ orientation: 6 }).tiff({ tile: true, compression: 'deflate' }).toBuffer();
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure.images[0]?.orientation).toBe(6);
  });

  it('describes a striped TIFF as striped', async () => {
    // Prepare
    const file = await (await photo('rgb', 300, 200)).tiff({ compression: 'deflate' }).toBuffer();
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure.images[0]?.layout).toMatchObject({ kind: 'striped' });
  });
});

describe('readTiffStructure on hand-made files', () => {
  it.each([
    ['big-endian classic', { byteOrder: 'MM', bigTiff: false }],
    ['big-endian BigTIFF', { byteOrder: 'MM', bigTiff: true }],
    ['little-endian BigTIFF', { byteOrder: 'II', bigTiff: true }],
  ] as const)('reads a %s page pyramid as sharp does', async (_name, order) => {
    // Prepare
    const file = await handmadeTiff('rgb16', 301, 203, { ...order, levels: 2, predictor: 2 });
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure).toMatchObject({ byteOrder: order.byteOrder, bigTiff: order.bigTiff, pyramid: 'pages', levels: [0, 1, 2] });
    expect(structure.images[0]).toMatchObject({ bitsPerSample: [16, 16, 16], predictor: 2 });
    await expectSizesMatchSharp(file, structure);
  });

  it('reads a big-endian SubIFD pyramid as sharp does', async () => {
    // Prepare
    const file = await handmadeTiff('grey', 301, 203, { byteOrder: 'MM', levels: 2, pyramid: 'subifds' });
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure).toMatchObject({ pyramid: 'subifds', levels: [0, 1, 2] });
    await expectSizesMatchSharp(file, structure);
  });

  it('stops following the chain at the first page that is no pyramid level, like probing', async () => {
    // Prepare: a three-page document of equal pages.
    const page: WriterImage = { width: 64, height: 64, tileWidth: 16, tileHeight: 16, samplesPerPixel: 1, bitsPerSample: 8, photometric: 1, compression: 1, tiles: new Array<Buffer>(16).fill(Buffer.alloc(256)) };
    const file = writeTiff({ pages: [page, page, page] });
    // Act
    const structure = await structureOf(file);
    // Assess
    expect(structure.images).toHaveLength(2);
    expect(structure).toMatchObject({ chainComplete: false, levels: [0] });
    expect(structure.pyramid).toBeUndefined();
    expect((await probe(file, PROBE)).levels).toEqual([{ width: 64, height: 64 }]);
  });
});

describe('the description', () => {
  it('is plain JSON: it survives a round trip unchanged', async () => {
    // Act
    const structure = await structureOf(jpegPages);
    // Assess
    expect(JSON.parse(JSON.stringify(structure))).toEqual(structure);
  });

  it('holds short offset arrays and only locates long ones; both give the same tile locations', async () => {
    // Prepare
    const reader = memoryReader(deflatePages);
    const inlined = await structureOf(deflatePages, { inlineMaxEntries: 10_000 });
    const located = await structureOf(deflatePages, { inlineMaxEntries: 0 });
    // Act
    const locations = await Promise.all([inlined, located].map((structure) => {
      const image = structure.images[0]!;
      return readTileLocations(reader.read, structure, image, tilesCovering(image, { x: 0, y: 0, width: image.width, height: image.height }));
    }));
    // Assess
    expect(inlined.images.every((i) => i.offsets.values?.length === i.offsets.count && i.byteCounts.values?.length === i.byteCounts.count)).toBe(true);
    expect(located.images.every((i) => i.offsets.values === undefined && i.byteCounts.values === undefined)).toBe(true);
    expect(locations[1]).toEqual(locations[0]);
  });
});

describe('the cost of reading it', () => {
  /** A flat-colour pyramid laid out as libtiff lays it out, with its levels as pages or SubIFDs. */
  async function largePyramid(kind: 'pages' | 'subifds', width: number, height: number): Promise<Buffer> {
    const flat = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#7a50c8' } }).jpeg({ quality: 80 }).toBuffer();
    const images: WriterImage[] = [];
    for (let level = 0; Math.max(width, height) / 2 ** level >= 128; level++) {
      const w = Math.floor(width / 2 ** level);
      const h = Math.floor(height / 2 ** level);
      const tiles = Array.from({ length: Math.ceil(w / 256) * Math.ceil(h / 256) }, () => Buffer.from(flat));
      images.push({ width: w, height: h, tileWidth: 256, tileHeight: 256, samplesPerPixel: 3, bitsPerSample: 8, photometric: 2, compression: 7, tiles, ...(level > 0 ? { newSubfileType: 1 } : {}) });
    }
    const [first, ...rest] = images;
    return kind === 'pages' ? writeTiff({ pages: images }) : writeTiff({ pages: [first!], subifds: rest });
  }

  it('reads a 30000x22500 SubIFD pyramid in 4 rounds and under 1 MB, however large the offset arrays', async () => {
    // Prepare
    const file = await largePyramid('subifds', 30_000, 22_500);
    // Act
    const { structure, stats } = await readTiffStructure(memoryReader(file).read, file.length);
    // Assess
    expect(structure.levels).toHaveLength(8);
    expect(structure.images[0]?.offsets).toMatchObject({ count: 10_384 });
    expect(structure.images[0]?.offsets.values).toBeUndefined();
    // Head and tail; page 0's directory; its values past its tile arrays (the SubIFD offsets
    // among them); the SubIFDs not in the tail, all at once, each with its values.
    expect(stats.rounds).toBe(4);
    expect(stats.bytes).toBeLessThan(1024 * 1024);
    expect(JSON.stringify(structure).length).toBeLessThan(32 * 1024);
  });

  it('reads a 30000x22500 page pyramid in one round per directory outside the head and tail, under 1 MB', async () => {
    // Prepare
    const file = await largePyramid('pages', 30_000, 22_500);
    // Act
    const { structure, stats } = await readTiffStructure(memoryReader(file).read, file.length);
    // Assess: each page's directory is only found through the one before it.
    const outside = structure.images.filter((i) => i.ifdOffset >= 64 * 1024 && i.ifdOffset < file.length - 64 * 1024).length;
    expect(structure.levels).toHaveLength(8);
    expect(stats.rounds).toBe(1 + outside);
    expect(stats.bytes).toBeLessThan(1024 * 1024);
  });

  it('reads libvips\' own layout of an 8000x6000 page pyramid with the same rule', async () => {
    // Prepare
    const file = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#7a50c8' } }).tiff({ tile: true, pyramid: true, compression: 'jpeg' }).toBuffer();
    // Act
    const { structure, stats } = await readTiffStructure(memoryReader(file).read, file.length);
    // Assess
    const outside = structure.images.filter((i) => i.ifdOffset >= 64 * 1024 && i.ifdOffset < file.length - 64 * 1024).length;
    expect(structure.levels).toHaveLength(6);
    expect(stats.rounds).toBe(1 + outside);
    expect(stats.bytes).toBeLessThan(512 * 1024);
  });

  it('reads a small file whole, in one request', async () => {
    // Prepare
    const file = await sharpTiff(await photo('rgb', 200, 150), { compression: 'jpeg', tileWidth: 64, pyramid: true });
    const reader = memoryReader(file);
    // Act
    const { stats } = await readTiffStructure(reader.read, file.length);
    // Assess
    expect(file.length).toBeLessThan(128 * 1024);
    expect(stats).toEqual({ rounds: 1, requests: 1, bytes: file.length });
    expect(reader.requests).toEqual([{ offset: 0, length: file.length }]);
  });
});
