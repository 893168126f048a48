/**
 * Tile decoding in isolation: byte order and the predictor change nothing in the pixels, edge
 * tiles come out at the stored tile size, what is not decodable is named (501) before any read,
 * and damaged data is a 422, never garbled pixels.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../lib/errors.js';
import { decodeTile, isDecodable, pixelFormat, readRegion, readTiffStructure, readTileLocations } from '../../../lib/render/tiff/index.js';
import type { TiffImage, TiffStructure } from '../../../lib/render/tiff/index.js';
import { handmadeTiff, memoryReader, photo, sharpTiff } from './support.js';
import { writeTiff } from './writer.js';

async function open(file: Buffer): Promise<{ structure: TiffStructure; image: TiffImage; tile: (index: number) => Promise<Buffer> }> {
  const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
  const image = structure.images[0]!;
  return {
    structure,
    image,
    tile: async (index) => {
      const [location] = await readTileLocations(memoryReader(file).read, structure, image, [index]);
      return file.subarray(location!.offset, location!.offset + location!.byteCount);
    },
  };
}

const unreadable = expect.objectContaining({ code: 'SOURCE_UNREADABLE', status: 422, message: expect.stringMatching(/^Expected .+ for .+ but received /) as string }) as Error;
const unsupported = expect.objectContaining({ code: 'SOURCE_FORMAT_NOT_SUPPORTED', status: 501, message: expect.stringMatching(/^Expected .+ for .+ but received /) as string }) as Error;

describe('decodeTile', () => {
  it('gives the same 16-bit samples from either byte order, with or without the predictor', async () => {
    // Prepare: the same pixels four ways.
    const files = await Promise.all([
      handmadeTiff('rgb16', 100, 80, { byteOrder: 'II', tile: 64 }),
      handmadeTiff('rgb16', 100, 80, { byteOrder: 'MM', tile: 64 }),
      handmadeTiff('rgb16', 100, 80, { byteOrder: 'II', tile: 64, predictor: 2 }),
      handmadeTiff('rgb16', 100, 80, { byteOrder: 'MM', tile: 64, predictor: 2, compression: 'none' }),
    ]);
    // Act
    const decoded = await Promise.all(files.map(async (file) => {
      const { structure, image, tile } = await open(file);
      return decodeTile(structure, image, await tile(3));
    }));
    // Assess
    const [first, ...rest] = decoded;
    for (const other of rest) expect(other.data.equals(first!.data)).toBe(true);
    expect(first).toMatchObject({ width: 64, height: 64, channels: 3, bitsPerSample: 16 });
    expect(new Set(new Uint16Array(first!.data.buffer, first!.data.byteOffset, 100).values()).size).toBeGreaterThan(10);
  });

  it('decodes an edge tile at the stored tile size (the caller crops)', async () => {
    // Prepare: 100x80 in 64x64 tiles: tile 3 holds 36x16 pixels of image.
    const { structure, image, tile } = await open(await sharpTiff(await photo('rgb', 100, 80), { compression: 'jpeg', tileWidth: 64 }));
    // Act
    const decoded = await decodeTile(structure, image, await tile(3));
    // Assess
    expect(decoded).toMatchObject({ width: 64, height: 64, channels: 3, bitsPerSample: 8 });
    expect(decoded.data.length).toBe(64 * 64 * 3);
  });

  it('cuts a Deflate stream that holds more than the tile, and never inflates past it', async () => {
    // Prepare: a tile followed by 64 MB of zeros in one stream (about 64 KB compressed).
    const { structure, image } = await open(await handmadeTiff('grey', 64, 64, { tile: 64, compression: 'none' }));
    const pixels = Buffer.alloc(64 * 64, 7);
    const bomb = deflateSync(Buffer.concat([pixels, Buffer.alloc(64 * 1024 * 1024)]));
    const deflated: TiffImage = { ...image, compression: 8, compressionName: 'deflate' };
    // Act
    const decoded = await decodeTile(structure, deflated, bomb);
    // Assess
    expect(decoded.data.equals(pixels)).toBe(true);
  });

  it.each([
    ['truncated Deflate', 8, (b: Buffer) => deflateSync(b).subarray(0, 8)],
    ['garbage Deflate', 8, () => Buffer.from('definitely not zlib data')],
    ['a short uncompressed tile', 1, (b: Buffer) => b.subarray(0, b.length - 1)],
    ['truncated LZW', 5, () => Buffer.from([0x80, 0x00, 0x20])],
  ])('refuses %s as unreadable', async (_name, compression, make) => {
    // Prepare
    const { structure, image } = await open(await handmadeTiff('grey', 64, 64, { tile: 64, compression: 'none' }));
    const changed: TiffImage = { ...image, compression };
    // Act, Assess
    await expect(decodeTile(structure, changed, make(Buffer.alloc(64 * 64, 9)))).rejects.toThrow(unreadable);
  });

  it('refuses a JPEG tile with damaged entropy data as unreadable', async () => {
    // Prepare
    const { structure, image, tile } = await open(await sharpTiff(await photo('rgb', 256, 256), { compression: 'jpeg', tileWidth: 256 }));
    const bytes = Buffer.from(await tile(0));
    const scan = bytes.indexOf(Buffer.from([0xff, 0xda]));
    bytes.fill(0xff, scan + 40, bytes.length - 2);
    // Act, Assess
    await expect(decodeTile(structure, image, bytes)).rejects.toThrow(unreadable);
    await expect(decodeTile(structure, image, Buffer.from('no JPEG'))).rejects.toThrow(unreadable);
  });

  it('refuses a JPEG tile of another size or component count than the TIFF says', async () => {
    // Prepare
    const { structure, image } = await open(await sharpTiff(await photo('rgb', 256, 256), { compression: 'jpeg', tileWidth: 256 }));
    const small = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const grey = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080' } }).toColourspace('b-w').jpeg().toBuffer();
    // Act, Assess
    await expect(decodeTile(structure, image, small)).rejects.toThrow(/Expected a 256x256 JPEG tile of 3 channels/);
    await expect(decodeTile(structure, image, grey)).rejects.toThrow(/Expected 3 JPEG components/);
  });
});

describe('pixelFormat', () => {
  const base = async (): Promise<TiffImage> => (await open(await handmadeTiff('rgb', 64, 64, { tile: 64 }))).image;

  it.each([
    ['planar separate', { planarConfiguration: 2 }, /planar configuration 1/],
    ['floating-point samples', { sampleFormat: [3, 3, 3] }, /unsigned integer samples/],
    ['32-bit samples', { bitsPerSample: [32, 32, 32] }, /8 or 16 bits/],
    ['1-bit samples', { samplesPerPixel: 1, photometric: 1, bitsPerSample: [1], sampleFormat: [1] }, /8 or 16 bits/],
    ['PackBits', { compression: 32773, compressionName: 'packbits' }, /"packbits"/],
    ['WebP', { compression: 50001, compressionName: 'webp' }, /"webp"/],
    ['a floating-point predictor', { predictor: 3 }, /predictor 1/],
    ['a palette', { samplesPerPixel: 1, photometric: 3, bitsPerSample: [8], sampleFormat: [1] }, /photometric 0 or 1/],
    ['CMYK', { samplesPerPixel: 4, photometric: 5, bitsPerSample: [8, 8, 8, 8], sampleFormat: [1, 1, 1, 1] }, /grey or RGB/],
    ['uncompressed YCbCr', { photometric: 6 }, /photometric 2/],
    ['two alpha channels', { samplesPerPixel: 5, extraSamples: [2, 2], bitsPerSample: [8, 8, 8, 8, 8], sampleFormat: [1, 1, 1, 1, 1] }, /at most one alpha/],
    ['16-bit JPEG', { compression: 7, compressionName: 'jpeg', bitsPerSample: [16, 16, 16] }, /8-bit min-is-black grey or colour JPEG/],
    ['JPEG with alpha', { compression: 7, compressionName: 'jpeg', samplesPerPixel: 4, extraSamples: [2], bitsPerSample: [8, 8, 8, 8], sampleFormat: [1, 1, 1, 1] }, /8-bit min-is-black grey or colour JPEG/],
    ['min-is-white JPEG (libvips cannot read it either)', { compression: 7, compressionName: 'jpeg', samplesPerPixel: 1, photometric: 0, bitsPerSample: [8], sampleFormat: [1] }, /8-bit min-is-black grey or colour JPEG/],
    ['strips', { layout: { kind: 'striped', rowsPerStrip: 8 } }, /a tiled image/],
    ['huge tiles', { layout: { kind: 'tiled', tileWidth: 8192, tileHeight: 8192, across: 1, down: 1 } }, /tiles of at most/],
  ] as const)('names %s as not supported', async (_name, change, message) => {
    // Prepare
    const image: TiffImage = { ...(await base()), ...change };
    // Act, Assess
    expect(() => pixelFormat(image)).toThrow(unsupported);
    expect(() => pixelFormat(image)).toThrow(UnsupportedError);
    expect(() => pixelFormat(image)).toThrow(message);
    expect(isDecodable(image)).toBe(false);
  });

  it('is checked before anything is read', async () => {
    // Prepare: planar separate written for real.
    const plane = Buffer.alloc(16 * 16, 50);
    const file = writeTiff({ pages: [{ width: 16, height: 16, tileWidth: 16, tileHeight: 16, samplesPerPixel: 3, bitsPerSample: 8, photometric: 2, compression: 1, planarConfiguration: 2, tiles: [plane, plane, plane] }] });
    const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
    const reader = memoryReader(file);
    // Act, Assess
    await expect(readRegion(reader.read, structure, 0, { x: 0, y: 0, width: 16, height: 16 })).rejects.toThrow(unsupported);
    expect(reader.requests).toEqual([]);
  });

  it('gives the format of alpha, associated alpha and 16-bit images', async () => {
    // Prepare
    const rgba = (await open(await handmadeTiff('rgba', 64, 64, { tile: 64 }))).image;
    // Act, Assess
    expect(pixelFormat(rgba)).toEqual({ channels: 4, bitsPerSample: 8, premultiplied: false });
    expect(pixelFormat({ ...rgba, extraSamples: [1] })).toEqual({ channels: 4, bitsPerSample: 8, premultiplied: true });
    expect(pixelFormat((await open(await handmadeTiff('grey16', 64, 64, { tile: 64 }))).image)).toEqual({ channels: 1, bitsPerSample: 16, premultiplied: false });
  });
});
