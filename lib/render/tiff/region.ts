/**
 * A rectangle of one pyramid level as raw pixels, from only the tiles under it: their locations
 * (one round of reads unless the description holds them), their bytes (one more round, ranges
 * coalesced, a bounded number in flight), each tile decoded as soon as its range arrives and
 * pasted into place.
 */
import type { Rect } from '../../iiif/types.js';
import { Limiter, mapConcurrent } from './concurrency.js';
import { decodeTile } from './decode.js';
import type { DecodedTile } from './decode.js';
import { pixelFormat, type PixelFormat } from './format.js';
import { emptyStats, readExactly } from './ranges.js';
import type { ReadRange } from './ranges.js';
import type { TiffImage, TiffStructure } from './structure.js';
import { planTileRanges, readTileLocations, tileArea, tilesCovering } from './tiles.js';

export interface RegionOptions {
  /** Range requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Tiles decoding at once (default 4, libuv's thread pool size). */
  readonly decodeConcurrency?: number;
  /** Tiles stored this close are fetched in one request (default 32 KiB). */
  readonly maxGapBytes?: number;
  /** No merged request grows past this (default 8 MiB). */
  readonly maxRangeBytes?: number;
}

export interface RegionPixels extends PixelFormat {
  /** Interleaved samples, row by row; 16-bit ones in this machine's byte order. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export interface RegionStats {
  readonly tiles: number;
  readonly tilesDecoded: number;
  readonly rounds: number;
  readonly requests: number;
  readonly bytes: number;
}

export interface RegionRead {
  readonly pixels: RegionPixels;
  readonly stats: RegionStats;
}

/**
 * The image of `structure.levels[level]`.
 *
 * @throws TypeError for a level the structure does not have (a caller bug).
 */
export function levelImage(structure: TiffStructure, level: number): TiffImage {
  const image = structure.images[structure.levels[level] ?? -1];
  if (image === undefined) throw new TypeError(`Expected a level below ${structure.levels.length} for a TIFF read but received ${level}`);
  return image;
}

/**
 * The pixels of `rect` (in the level's own pixels) of pyramid level `level`. Sparse tiles (never
 * written) read as zeros.
 *
 * @throws TypeError for a level or rectangle outside the image (a caller bug).
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for an image decodeTile cannot decode,
 *   before anything is read.
 * @throws SourceError `SOURCE_UNREADABLE` for corrupt tiles or tile locations, or a short read.
 */
export async function readRegion(read: ReadRange, structure: TiffStructure, level: number, rect: Rect, options: RegionOptions = {}): Promise<RegionRead> {
  const image = levelImage(structure, level);
  const format = pixelFormat(image);
  const indexes = tilesCovering(image, rect);
  const stats = emptyStats();
  const concurrency = options.concurrency ?? 8;
  const locations = await readTileLocations(read, structure, image, indexes, { concurrency }, stats);
  const ranges = planTileRanges(locations, { maxGapBytes: options.maxGapBytes ?? 32 * 1024, maxRangeBytes: options.maxRangeBytes ?? 8 * 1024 * 1024 });
  const bytesPerPixel = format.channels * (format.bitsPerSample / 8);
  const data = Buffer.alloc(rect.width * rect.height * bytesPerPixel);
  const decoding = new Limiter(options.decodeConcurrency ?? 4);
  let tilesDecoded = 0;
  if (ranges.length > 0) stats.rounds++;
  await mapConcurrent(ranges, concurrency, async (range) => {
    const bytes = await readExactly(read, range.offset, range.length, stats);
    await Promise.all(range.tiles.map(async (tile) => {
      const stored = bytes.subarray(tile.offset - range.offset, tile.offset - range.offset + tile.byteCount);
      const decoded = await decoding.run(() => decodeTile(structure, image, stored));
      paste(decoded, tileArea(image, tile.index), data, rect, bytesPerPixel);
      tilesDecoded++;
    }));
  });
  return {
    pixels: { data, width: rect.width, height: rect.height, ...format },
    stats: { tiles: indexes.length, tilesDecoded, ...stats },
  };
}

/** Copy the part of a decoded tile (covering `area` of the image) that falls inside `rect`. */
function paste(tile: DecodedTile, area: Rect, out: Buffer, rect: Rect, bytesPerPixel: number): void {
  const left = Math.max(area.x, rect.x);
  const right = Math.min(area.x + area.width, rect.x + rect.width);
  const top = Math.max(area.y, rect.y);
  const bottom = Math.min(area.y + area.height, rect.y + rect.height);
  const rowBytes = (right - left) * bytesPerPixel;
  for (let y = top; y < bottom; y++) {
    const from = ((y - area.y) * tile.width + (left - area.x)) * bytesPerPixel;
    const to = ((y - rect.y) * rect.width + (left - rect.x)) * bytesPerPixel;
    tile.data.copy(out, to, from, from + rowBytes);
  }
}

/** sharp's raw input for region pixels: `sharp(input, { raw })` (16-bit as a Uint16Array, which is how sharp is told the depth). */
export function sharpRawInput(pixels: RegionPixels): { readonly input: Buffer | Uint16Array; readonly raw: { readonly width: number; readonly height: number; readonly channels: 1 | 2 | 3 | 4; readonly premultiplied: boolean } } {
  const input = pixels.bitsPerSample === 16 ? new Uint16Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.length / 2) : pixels.data;
  return { input, raw: { width: pixels.width, height: pixels.height, channels: pixels.channels, premultiplied: pixels.premultiplied } };
}
