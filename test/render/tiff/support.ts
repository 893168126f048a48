/**
 * Shared by the ranged-TIFF tests: a byte-range reader over a Buffer that records every request,
 * TIFF fixtures written by sharp (libvips' own layout), and sharp's decode of a level and
 * rectangle as the reference the assembled pixels must match.
 */
import sharp from 'sharp';
import type { Sharp, SharpOptions, TiffOptions } from 'sharp';
import type { Rect } from '../../../lib/iiif/types.js';
import type { ReadRange, RegionPixels, TiffStructure } from '../../../lib/render/tiff/index.js';
import { photoLikeRaw } from '../../support/fixtures.js';
import { encodeTiles, writeTiff } from './writer.js';
import type { ByteOrder, Pixels, WriterImage } from './writer.js';

export interface RecordingReader {
  readonly read: ReadRange;
  /** Every request, in order. */
  readonly requests: { readonly offset: number; readonly length: number }[];
}

/** Reads from `file` like a ranged GET: exactly the bytes asked for, each request recorded. */
export function memoryReader(file: Buffer): RecordingReader {
  const requests: { offset: number; length: number }[] = [];
  return {
    requests,
    read: (offset, length) => {
      requests.push({ offset, length });
      return Promise.resolve(file.subarray(offset, offset + length));
    },
  };
}

export type Kind = 'rgb' | 'grey' | 'rgba' | 'rgb16' | 'grey16';

/** A photo-like source of `kind` (noise and gradients at several scales: JPEG sees real detail). */
export async function photo(kind: Kind, width: number, height: number, seed = 3): Promise<Sharp> {
  const raw = await photoLikeRaw({ width, height, seed, channels: kind === 'rgba' ? 4 : 3 });
  const image = sharp(raw.data, { raw: { width, height, channels: raw.channels } });
  switch (kind) {
    case 'rgb': case 'rgba': return image;
    case 'grey': return image.toColourspace('b-w');
    case 'rgb16': return image.toColourspace('rgb16');
    case 'grey16': return image.toColourspace('grey16');
  }
}

export interface SharpTiffOptions {
  readonly compression: 'jpeg' | 'deflate' | 'lzw' | 'none';
  readonly tileWidth?: number;
  readonly tileHeight?: number;
  readonly pyramid?: boolean;
  readonly predictor?: 'none' | 'horizontal';
  readonly bigtiff?: boolean;
  readonly quality?: number;
}

/** A tiled TIFF written by sharp (libvips' layout: each directory after its level's tiles). */
export async function sharpTiff(source: Sharp, options: SharpTiffOptions): Promise<Buffer> {
  const settings: TiffOptions = {
    compression: options.compression,
    tile: true,
    tileWidth: options.tileWidth ?? 256,
    tileHeight: options.tileHeight ?? options.tileWidth ?? 256,
    pyramid: options.pyramid ?? false,
    predictor: options.predictor ?? 'none',
    bigtiff: options.bigtiff ?? false,
    quality: options.quality ?? 90,
  };
  return source.tiff(settings).toBuffer();
}

/** How sharp opens level `level` of a structure: the page, or the SubIFD. */
export function levelOptions(structure: TiffStructure, level: number): SharpOptions {
  if (level === 0) return {};
  return structure.pyramid === 'subifds' ? { tiff: { subifd: level - 1 } } : { page: level };
}

/** sharp's (libvips', libtiff's) own decode of `rect` of a level, in the shape readRegion gives. */
export async function reference(file: Buffer, structure: TiffStructure, level: number, rect: Rect, like: Pick<RegionPixels, 'channels' | 'bitsPerSample'>): Promise<Buffer> {
  const sixteen = like.bitsPerSample === 16;
  const grey = like.channels <= 2;
  // sharp writes raw output as 8-bit sRGB unless told the space: keep the file's own.
  const space = grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  const { data } = await sharp(file, { ...levelOptions(structure, level), limitInputPixels: false })
    .extract({ left: rect.x, top: rect.y, width: rect.width, height: rect.height })
    .toColourspace(space)
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return data;
}

/** Largest difference between two sample buffers of the same shape. */
export function maxDifference(a: Buffer, b: Buffer, bitsPerSample: 8 | 16): number {
  if (a.length !== b.length) throw new Error(`Expected buffers of one length for maxDifference but received ${a.length} and ${b.length}`);
  const view = (buffer: Buffer): Uint8Array | Uint16Array => (bitsPerSample === 16 ? new Uint16Array(buffer.buffer, buffer.byteOffset, buffer.length / 2) : buffer);
  const x = view(a);
  const y = view(b);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
  return max;
}

// ---- hand-made files ---------------------------------------------------------------------

/** Raw pixels of a photo-like `kind` image, 16-bit kinds as a Uint16Array. */
export async function photoPixels(kind: Kind, width: number, height: number, seed = 3): Promise<Pixels> {
  const sixteen = kind === 'rgb16' || kind === 'grey16';
  const { data, info } = await (await photo(kind, width, height, seed)).raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data, width, height, channels: info.channels };
}

export interface HandmadeOptions {
  readonly byteOrder?: ByteOrder;
  readonly bigTiff?: boolean;
  /** Reduced levels after the full image (each half the one before). */
  readonly levels?: number;
  readonly pyramid?: 'pages' | 'subifds';
  readonly tile?: number;
  readonly compression?: 'none' | 'deflate';
  readonly predictor?: 1 | 2;
  /** Stored as min-is-white (grey kinds only): the samples are inverted on the way in. */
  readonly minIsWhite?: boolean;
}

/** A tiled TIFF of photo-like `kind` pixels from the test writer (any byte order, BigTIFF). */
export async function handmadeTiff(kind: Kind, width: number, height: number, options: HandmadeOptions = {}): Promise<Buffer> {
  const images: WriterImage[] = [];
  for (let level = 0; level <= (options.levels ?? 0); level++) {
    const w = Math.floor(width / 2 ** level);
    const h = Math.floor(height / 2 ** level);
    images.push(handmadeImage(kind, await photoPixels(kind, w, h, 3 + level), { ...options, level }));
  }
  const [first, ...rest] = images;
  if (first === undefined) throw new Error('Expected a level for handmadeTiff but received none');
  const byteOrder = options.byteOrder ?? 'II';
  const bigTiff = options.bigTiff ?? false;
  return options.pyramid === 'subifds' ? writeTiff({ byteOrder, bigTiff, pages: [first], subifds: rest }) : writeTiff({ byteOrder, bigTiff, pages: images });
}

function handmadeImage(kind: Kind, pixels: Pixels, options: HandmadeOptions & { readonly level: number }): WriterImage {
  const tile = options.tile ?? 128;
  const grey = kind === 'grey' || kind === 'grey16';
  const stored = options.minIsWhite === true ? invert(pixels) : pixels;
  const compression = options.compression ?? 'deflate';
  const tiles = encodeTiles(stored, { tileWidth: tile, tileHeight: tile, compression, ...(options.predictor === undefined ? {} : { predictor: options.predictor }), byteOrder: options.byteOrder ?? 'II' });
  return {
    width: pixels.width,
    height: pixels.height,
    tileWidth: tile,
    tileHeight: tile,
    samplesPerPixel: pixels.channels,
    bitsPerSample: pixels.data instanceof Uint16Array ? 16 : 8,
    photometric: grey ? (options.minIsWhite === true ? 0 : 1) : 2,
    compression: compression === 'deflate' ? 8 : 1,
    ...(options.predictor === undefined ? {} : { predictor: options.predictor }),
    ...(kind === 'rgba' ? { extraSamples: [2] } : {}),
    ...(options.level > 0 ? { newSubfileType: 1 } : {}),
    tiles,
  };
}

function invert(pixels: Pixels): Pixels {
  const max = pixels.data instanceof Uint16Array ? 0xffff : 0xff;
  const data = pixels.data instanceof Uint16Array ? pixels.data.map((v) => max - v) : Buffer.from(pixels.data.map((v) => max - v));
  return { ...pixels, data };
}
