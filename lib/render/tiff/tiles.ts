/**
 * Tiles of one image: which cover a rectangle, where their bytes are (read from the offset and
 * byte-count arrays only where needed), and the few ranges that fetch them.
 */
import type { Rect } from '../../iiif/types.js';
import { corrupt, unsupported } from './failure.js';
import { readUint } from './ifd.js';
import { coalesceSpans, emptyStats, fetchSpans } from './ranges.js';
import type { ByteSpan, CoalesceOptions, ReadRange, ReadStats } from './ranges.js';
import type { NumberArrayRef, TiffImage, TiffStructure, TiledLayout } from './structure.js';
import { ARRAY_TYPE_SIZES } from './tags.js';

/** A tile's stored bytes larger than this are refused: more than any real tile compresses to. */
export const MAX_TILE_BYTES = 256 * 1024 * 1024;

export interface TileLocation {
  /** Row-major index: row * across + column. */
  readonly index: number;
  readonly offset: number;
  /** 0 (with offset 0) for a sparse tile that was never written: it reads as zeros. */
  readonly byteCount: number;
}

/** One request for tile bytes and the tiles in it. */
export interface TileRange extends ByteSpan {
  readonly tiles: readonly TileLocation[];
}

export interface LocationOptions {
  /** Array slices this close are read as one range (default 4 KiB). */
  readonly maxGapBytes?: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
}

/**
 * The tiled layout of `image`.
 *
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for a striped image.
 */
export function tiledLayout(image: TiffImage): TiledLayout {
  if (image.layout.kind !== 'tiled') throw unsupported('a tiled image', `page ${image.page}`, 'strips');
  return image.layout;
}

/**
 * The indexes of the tiles under `rect` (pixels of `image`), row by row.
 *
 * @throws TypeError for a rectangle that is empty, fractional or not inside the image (a caller bug).
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for a striped image.
 */
export function tilesCovering(image: TiffImage, rect: Rect): number[] {
  assertInsideImage(image, rect);
  const { tileWidth, tileHeight, across } = tiledLayout(image);
  const indexes: number[] = [];
  for (let row = Math.floor(rect.y / tileHeight); row <= Math.floor((rect.y + rect.height - 1) / tileHeight); row++) {
    for (let column = Math.floor(rect.x / tileWidth); column <= Math.floor((rect.x + rect.width - 1) / tileWidth); column++) {
      indexes.push(row * across + column);
    }
  }
  return indexes;
}

/** The part of the image tile `index` holds: the stored tile clipped to the image. */
export function tileArea(image: TiffImage, index: number): Rect {
  const { tileWidth, tileHeight, across } = tiledLayout(image);
  const x = (index % across) * tileWidth;
  const y = Math.floor(index / across) * tileHeight;
  return { x, y, width: Math.min(tileWidth, image.width - x), height: Math.min(tileHeight, image.height - y) };
}

/**
 * Check that `rect` is a rectangle of whole pixels inside `image`.
 *
 * @throws TypeError when it is not (rectangles come from the renderer's own maths: a caller bug).
 */
export function assertInsideImage(image: TiffImage, rect: Rect): void {
  const whole = [rect.x, rect.y, rect.width, rect.height].every(Number.isInteger);
  if (!whole || rect.x < 0 || rect.y < 0 || rect.width < 1 || rect.height < 1 || rect.x + rect.width > image.width || rect.y + rect.height > image.height) {
    throw new TypeError(`Expected a rectangle of whole pixels inside ${image.width}x${image.height} for a tile read but received ${JSON.stringify(rect)}`);
  }
}

/**
 * Where the tiles `indexes` of `image` are stored. Offsets and byte counts come from the
 * description when it holds them, else from one round of reads of just the array slices needed
 * (both arrays' slices coalesced together).
 *
 * @throws TypeError for an index outside the image's tiles (a caller bug).
 * @throws SourceError `SOURCE_UNREADABLE` for a tile whose bytes lie outside the file or whose
 *   byte count is implausible, or a short read.
 */
export async function readTileLocations(
  read: ReadRange, structure: TiffStructure, image: TiffImage, indexes: readonly number[], options: LocationOptions = {}, stats: ReadStats = emptyStats(),
): Promise<TileLocation[]> {
  const { across, down } = tiledLayout(image);
  for (const index of indexes) {
    if (!Number.isInteger(index) || index < 0 || index >= across * down) throw new TypeError(`Expected a tile index below ${across * down} for a tile read but received ${index}`);
  }
  const arrays = [image.offsets, image.byteCounts];
  // Only the arrays the description does not hold are read, both in the same round.
  const spans = arrays.flatMap((array) => (array.values === undefined ? indexes.map((index) => elementSpan(array, index)) : []));
  const fetched = await fetchSpans(read, spans, { maxGapBytes: options.maxGapBytes ?? 4096, maxRangeBytes: 1024 * 1024, concurrency: options.concurrency ?? 8 }, stats);
  let next = 0;
  const [offsets = [], byteCounts = []] = arrays.map((array) => indexes.map((index) => {
    if (array.values !== undefined) return array.values[index] ?? 0;
    return readUint(fetched[next++] ?? Buffer.alloc(8), 0, ARRAY_TYPE_SIZES[array.type], { littleEndian: structure.byteOrder === 'II' });
  }));
  return indexes.map((index, i) => checkedLocation(structure, image, index, offsets[i] ?? 0, byteCounts[i] ?? 0));
}

function elementSpan(array: NumberArrayRef, index: number): ByteSpan {
  const size = ARRAY_TYPE_SIZES[array.type];
  return { offset: array.offset + index * size, length: size };
}

function checkedLocation(structure: TiffStructure, image: TiffImage, index: number, offset: number, byteCount: number): TileLocation {
  const part = `tile ${index} of ${image.subifd === undefined ? `page ${image.page}` : `SubIFD ${image.subifd}`}`;
  if (byteCount === 0 && offset !== 0) throw corrupt('a byte count above 0', part, 0);
  if (byteCount > MAX_TILE_BYTES) throw corrupt(`at most ${MAX_TILE_BYTES} bytes`, part, byteCount);
  if (offset + byteCount > structure.fileBytes) throw corrupt(`bytes inside the ${structure.fileBytes}-byte file`, part, `${byteCount} bytes at ${offset}`);
  return { index, offset, byteCount };
}

/**
 * Requests that fetch `locations`: tiles stored close together share one (see coalesceSpans);
 * sparse tiles need none.
 */
export function planTileRanges(locations: readonly TileLocation[], options: CoalesceOptions): TileRange[] {
  const stored = locations.filter((location) => location.byteCount > 0);
  return coalesceSpans(stored.map((location) => ({ offset: location.offset, length: location.byteCount })), options).map((range) => ({
    offset: range.offset,
    length: range.length,
    tiles: range.spans.map((i) => stored[i]).filter((location) => location !== undefined),
  }));
}
