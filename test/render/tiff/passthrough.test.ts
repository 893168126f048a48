/**
 * A stored JPEG tile passed through as a standalone JPEG: it decodes (sharp, i.e. libjpeg as a
 * browser would) to the same pixels as the tile decoder gives and as libvips reads from the TIFF,
 * YCbCr and RGB photometric alike; and the predicate says which tiles qualify.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTile, isPassthroughImage, parseJpegHeader, passthroughJpeg, passthroughTile, readPassthroughJpeg, readTiffStructure, readTileLocations, tileArea,
} from '../../../lib/render/tiff/index.js';
import type { TiffImage, TiffStructure } from '../../../lib/render/tiff/index.js';
import { maxDifference, memoryReader, photo, reference, sharpTiff } from './support.js';
import { jpegTiles, writeTiff } from './writer.js';
import type { JpegTileOptions, Pixels } from './writer.js';

interface Source {
  readonly file: Buffer;
  readonly structure: TiffStructure;
  readonly image: TiffImage;
}

async function open(file: Buffer): Promise<Source> {
  const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
  return { file, structure, image: structure.images[0]! };
}

/** Colours whose inverse YCbCr transform stays in range, so they can be stored as RGB components. */
function storablePixels(width: number, height: number): Pixels {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 64 + Math.round((128 * x) / width) + ((x * 7 + y * 3) % 9);
      data[i + 1] = 104 + Math.round((48 * y) / height);
      data[i + 2] = 152 - Math.round((48 * x) / width);
    }
  }
  return { data, width, height, channels: 3 };
}

/** A hand-made JPEG TIFF: libtiff's RGB-photometric layout, which libvips never writes below quality 90. */
async function handmadeJpeg(pixels: Pixels, colour: JpegTileOptions['colour']): Promise<Buffer> {
  const { tables, tiles } = await jpegTiles(pixels, { tileWidth: 64, tileHeight: 64, colour });
  const photometric = colour === 'ycbcr' ? 6 : colour === 'grey' ? 1 : 2;
  return writeTiff({ pages: [{ width: pixels.width, height: pixels.height, tileWidth: 64, tileHeight: 64, samplesPerPixel: pixels.channels, bitsPerSample: 8, photometric, compression: 7, jpegTables: tables, tiles }] });
}

const sources = new Map<string, Source>();
let target: Pixels;

beforeAll(async () => {
  target = storablePixels(200, 150);
  const rgb = await photo('rgb', 600, 400);
  const files: [string, Promise<Buffer>][] = [
    ['libvips YCbCr', sharpTiff(rgb.clone(), { compression: 'jpeg', tileWidth: 128, quality: 80 })],
    ['libvips RGB', sharpTiff(rgb.clone(), { compression: 'jpeg', tileWidth: 128, quality: 95 })],
    ['libvips grey', sharpTiff(await photo('grey', 600, 400), { compression: 'jpeg', tileWidth: 128, quality: 85 })],
    ['RGB, components 1 2 3', handmadeJpeg(target, 'rgb')],
    ['RGB, components R G B', handmadeJpeg(target, 'rgb-ids')],
  ];
  await Promise.all(files.map(async ([name, file]) => { sources.set(name, await open(await file)); }));
});

function source(name: string): Source {
  const found = sources.get(name);
  if (found === undefined) throw new Error(`Expected a source named ${name} but received none`);
  return found;
}

async function tileBytes(s: Source, index: number): Promise<Buffer> {
  const [location] = await readTileLocations(memoryReader(s.file).read, s.structure, s.image, [index]);
  return s.file.subarray(location!.offset, location!.offset + location!.byteCount);
}

const NAMES = ['libvips YCbCr', 'libvips RGB', 'libvips grey', 'RGB, components 1 2 3', 'RGB, components R G B'];

describe('passthroughJpeg', () => {
  it.each(NAMES)('makes a %s tile a JPEG that decodes like the tile decoder and like libvips reads the TIFF', async (name) => {
    // Prepare
    const s = source(name);
    const bytes = await tileBytes(s, 1);
    // Act
    const jpeg = passthroughJpeg(s.image, bytes);
    // Assess
    const decoded = await sharp(jpeg).toColourspace(s.image.samplesPerPixel === 1 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
    const tile = await decodeTile(s.structure, s.image, bytes);
    expect(decoded.info).toMatchObject({ width: tile.width, height: tile.height, channels: tile.channels });
    expect(maxDifference(decoded.data, tile.data, 8)).toBeLessThanOrEqual(1);
    const area = tileArea(s.image, 1);
    const fromTiff = await reference(s.file, s.structure, 0, area, tile);
    const cropped = await sharp(decoded.data, { raw: decoded.info }).extract({ left: 0, top: 0, width: area.width, height: area.height }).toColourspace(s.image.samplesPerPixel === 1 ? 'b-w' : 'srgb').raw().toBuffer();
    expect(maxDifference(cropped, fromTiff, 8)).toBeLessThanOrEqual(1);
  });

  it.each(['RGB, components 1 2 3', 'RGB, components R G B'])('keeps %s colours as stored, where a plain splice would not', async (name) => {
    // Prepare
    const s = source(name);
    const bytes = await tileBytes(s, 0);
    const tables = Buffer.from(s.image.jpegTables ?? '', 'base64');
    const plain = Buffer.concat([tables.subarray(0, -2), bytes.subarray(2)]);
    const wanted = await sharp(target.data as Buffer, { raw: { width: 200, height: 150, channels: 3 } }).extract({ left: 0, top: 0, width: 64, height: 64 }).raw().toBuffer();
    // Act
    const jpeg = passthroughJpeg(s.image, bytes);
    // Assess
    const decoded = await sharp(jpeg).raw().toBuffer();
    // Quality 95 JPEG of a fine texture: a few levels of loss, never a colour shift.
    expect(maxDifference(decoded, wanted, 8)).toBeLessThanOrEqual(8);
    if (name === 'RGB, components 1 2 3') {
      // libjpeg takes three components without a marker for YCbCr: colours shift by tens of levels.
      expect(maxDifference(await sharp(plain).raw().toBuffer(), wanted, 8)).toBeGreaterThan(30);
    }
  });

  it.each([['libvips YCbCr', ['JFIF\0']], ['libvips RGB', ['Adobe']], ['libvips grey', []]] as const)('writes a %s tile as a complete JPEG with the right colour marker', async (name, colourMarkers) => {
    // Prepare
    const s = source(name);
    const bytes = await tileBytes(s, 0);
    // Act
    const jpeg = passthroughJpeg(s.image, bytes);
    // Assess
    const names = parseJpegHeader(jpeg, 'a test').segments.map((segment) => segment.bytes.toString('latin1', 4, 9));
    expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(names.filter((n) => n === 'JFIF\0' || n === 'Adobe')).toEqual(colourMarkers);
    expect(jpeg.length).toBeLessThan(bytes.length + Buffer.from(s.image.jpegTables ?? '', 'base64').length + 32);
  });

  it('refuses bytes that are not a JPEG stream of the tile size', async () => {
    // Prepare
    const s = source('libvips YCbCr');
    const other = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    // Act, Assess
    expect(() => passthroughJpeg(s.image, Buffer.from('not a jpeg'))).toThrow(expect.objectContaining({ code: 'SOURCE_UNREADABLE' }) as Error);
    expect(() => passthroughJpeg(s.image, other)).toThrow(/Expected a 128x128 JPEG frame/);
  });
});

describe('readPassthroughJpeg', () => {
  it('reads one tile: its location from the description, its bytes in one request', async () => {
    // Prepare
    const s = source('libvips YCbCr');
    const reader = memoryReader(s.file);
    // Act
    const { jpeg, stats } = await readPassthroughJpeg(reader.read, s.structure, s.image, 2);
    // Assess
    expect(stats).toEqual({ rounds: 1, requests: 1, bytes: s.image.byteCounts.values?.[2] });
    expect(jpeg).toEqual(passthroughJpeg(s.image, await tileBytes(s, 2)));
  });
});

describe('passthroughTile', () => {
  it('names the tile a rectangle is exactly, and nothing else', () => {
    // Prepare: 600x400 in 128x128 tiles: 5 across (the last 88 wide), 4 down (the last 16 high).
    const image = source('libvips YCbCr').image;
    // Act, Assess
    expect(passthroughTile(image, { x: 128, y: 128, width: 128, height: 128 })).toBe(6);
    expect(passthroughTile(image, { x: 0, y: 0, width: 128, height: 128 })).toBe(0);
    expect(passthroughTile(image, { x: 64, y: 0, width: 128, height: 128 })).toBeUndefined();
    expect(passthroughTile(image, { x: 0, y: 0, width: 128, height: 127 })).toBeUndefined();
    expect(passthroughTile(image, { x: 0, y: 0, width: 256, height: 256 })).toBeUndefined();
    // Edge tiles hold less image than their stored size: never passed through.
    expect(passthroughTile(image, { x: 512, y: 0, width: 88, height: 128 })).toBeUndefined();
    expect(passthroughTile(image, { x: 0, y: 384, width: 128, height: 16 })).toBeUndefined();
  });

  it('passes an edge tile through when the image ends exactly at its edge', () => {
    // Prepare: the hand-made 200x150 images have 64x64 tiles; make one 192x128.
    const image: TiffImage = { ...source('RGB, components 1 2 3').image, width: 192, height: 128, layout: { kind: 'tiled', tileWidth: 64, tileHeight: 64, across: 3, down: 2 } };
    // Act, Assess
    expect(passthroughTile(image, { x: 128, y: 64, width: 64, height: 64 })).toBe(5);
  });

  it.each([
    ['Deflate', { compression: 8, compressionName: 'deflate' }],
    ['an ICC profile', { iccProfile: { offset: 8, length: 3144 } }],
    ['orientation 6', { orientation: 6 }],
    ['alpha', { samplesPerPixel: 4, extraSamples: [2], bitsPerSample: [8, 8, 8, 8] }],
    ['min-is-white', { samplesPerPixel: 1, photometric: 0, bitsPerSample: [8] }],
    ['CMYK', { samplesPerPixel: 4, photometric: 5, bitsPerSample: [8, 8, 8, 8] }],
  ] as const)('refuses an image with %s', (_name, change) => {
    // Prepare
    const image: TiffImage = { ...source('libvips YCbCr').image, ...change };
    // Act, Assess
    expect(isPassthroughImage(image)).toBe(false);
    expect(passthroughTile(image, { x: 0, y: 0, width: 128, height: 128 })).toBeUndefined();
  });

  it.each(NAMES)('accepts a %s image', (name) => {
    // Act, Assess
    expect(isPassthroughImage(source(name).image)).toBe(true);
  });
});
