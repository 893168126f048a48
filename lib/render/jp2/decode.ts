/**
 * Decode a JPEG 2000 source, whole or an area, at a reduced resolution, into raw interleaved
 * pixels sharp can take (`sharp(data, { raw })`). Tiled sources are decoded a few tiles at a
 * time from codestreams that hold only those tiles (see codestream.ts), so the codec's memory is
 * bounded by a block of tiles, not by the image, and an area reads only the tiles it touches.
 */
import { UnsupportedError, expected } from '../../errors.js';
import type { Size } from '../../iiif/types.js';
import { CODEC_HEAP_LIMIT, type CodecOutput, decodeCodestream } from './codec.js';
import { type MainHeader, type Rect, type TilePart, type TileRange, readTileParts, reducedRect, tileGrid, tileRangeCodestream, tileRangeRect, tilesCovering, unreadable } from './codestream.js';
import type { Jp2Header, Jp2Info } from './header.js';
import { type TilePartHead, canSkipResolutions, packetsPerResolution, parseTilePartHead, reducedTilePart, tilePartsFromTlm } from './packets.js';
import { type ReadRange, WindowedReader, truncated } from './reader.js';
import { syccToRgb } from './sycc.js';

/** An area of the full-resolution image, in its pixels (0,0 = its top-left corner). */
export interface Area {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface DecodeOptions {
  /** Decode at 1/2^reduce of full size: 0..levels-1 (default 0, full size). */
  readonly reduce?: number;
  /** The part of the image to decode (default all of it). */
  readonly area?: Area;
  /** Refuse a decode whose pixels would take more bytes than this. */
  readonly maxBytes: number;
}

export interface DecodedImage {
  /** Interleaved samples: 1 byte each when `bits` is 8, else 2 in host byte order (sharp's 'ushort'). */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly bits: 8 | 16;
  readonly reduce: number;
  /** Where these pixels lie in the image reduced by 2^reduce. */
  readonly region: Area;
  /** The source's ICC profile, for sharp to convert from. */
  readonly icc?: Buffer;
}

/** At most this many pixels (at the reduced size) go to the codec at once, tiles permitting. */
const BLOCK_PIXELS = 4 * 1024 * 1024;
/** Beyond the samples: the codestream, OpenJPEG's code-block buffers, the glue's own heap. */
const CODEC_OVERHEAD_BYTES = 64 * 1024 * 1024;
/** Blocks whose tile-parts are read ahead while an earlier block decodes. */
const READ_AHEAD_BLOCKS = 4;

/**
 * Refuse, before any pixel is read, a source this decoder cannot output.
 *
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for alpha (2 or 4 components), other
 *   component counts than 1 or 3, subsampling other than chroma at 4:2:2 or 4:2:0, or a colour
 *   space named but not known.
 */
export function assertDecodable(info: Jp2Info, main: MainHeader): void {
  const refuse = (what: string, received: string): never => {
    throw new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(what, 'the JPEG 2000 source', received));
  };
  if (info.components !== 1 && info.components !== 3) {
    refuse('1 (grey) or 3 (colour) components', `${info.components} components${info.hasAlpha ? ' (alpha)' : ''}`);
  }
  const layout = main.siz.components.map((c) => `${c.dx}x${c.dy}`).join(',');
  // The codec upsamples chroma only as it converts sYCC 4:2:2 or 4:2:0; anything else would come out misaligned.
  if (!['1x1', '1x1,1x1,1x1', '1x1,2x1,2x1', '1x1,2x2,2x2'].includes(layout)) refuse('components at full resolution, or chroma at 4:2:2 or 4:2:0', `subsampling ${layout}`);
  if (info.colourSpace === 'unknown') refuse('sRGB, greyscale, sYCC or an ICC profile', 'another colour space');
}

/**
 * Decode the whole source, or `options.area` of it, at reduction `options.reduce`. The area is
 * widened to whole pixels of the reduced image (floor at its start, ceiling at its end).
 *
 * Reads: the main header, the tile-part index (from TLM markers when the main header has them,
 * else one small read per tile-part), then only the tiles under the area, a few blocks of tiles
 * ahead of the decoding; at a reduction, only the packets of the resolutions kept when the tiles
 * say where they end (see packets.ts).
 *
 * @throws UnsupportedError `RENDER_TOO_LARGE` when the pixels would exceed `options.maxBytes`,
 *   or a block of tiles (the whole image, when it is not tiled) the codec's 2 GiB heap.
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` as assertDecodable does, for packed
 *   packet headers (PPM), and for a reduction whose grid the tiles do not align with.
 * @throws SourceError `SOURCE_UNREADABLE` for a truncated or corrupt codestream.
 * @throws RangeError for a reduction or area outside the image (the caller's mistake).
 */
export async function decodeJp2(read: ReadRange, header: Jp2Header, options: DecodeOptions): Promise<DecodedImage> {
  const { info, codestream } = header;
  const { main } = codestream;
  assertDecodable(info, main);
  const reduce = options.reduce ?? 0;
  if (!Number.isInteger(reduce) || reduce < 0 || reduce >= info.levels) throw new RangeError(`reduce must be an integer in 0..${info.levels - 1}, not ${reduce}`);
  const target = targetRect(main, options.area ?? { x: 0, y: 0, width: info.width, height: info.height }, reduce);
  const bits = info.bits > 8 ? 16 : 8;
  const channels = info.components === 1 ? 1 : 3;
  const width = target.x1 - target.x0;
  const height = target.y1 - target.y0;
  checkBudget(width * height * channels * (bits / 8), options.maxBytes, `${width}x${height}, ${channels} channels, ${bits}-bit`);

  const mainBytes = await read(codestream.offset, main.length);
  if (mainBytes.length < main.length) throw truncated('codestream main header', codestream.offset + mainBytes.length);
  const length = codestream.end === undefined ? undefined : codestream.end - codestream.offset;
  // Small windows: walking the tile-parts of a large file reads a few bytes every megabyte or so.
  const parts = tilePartsFromTlm(mainBytes, main, length) ?? (await readTileParts(new WindowedReader(read, 16 * 1024), codestream.offset, codestream.end, main));
  const ranges = [...blocks(main, target, reduce)];
  for (const range of ranges) checkBlock(main, range, reduce, bits / 8, compressedBytes(main, parts, range));

  const out = Buffer.alloc(width * height * channels * (bits / 8));
  // Each block's bytes are dropped once decoded; the next few are being read meanwhile.
  const reading: ({ start(): Promise<PartBytes[]> } | undefined)[] = ranges.map((range) => lazy(() => readBlock(read, header, parts, range, reduce)));
  for (const [index, range] of ranges.entries()) {
    for (const ahead of reading.slice(index + 1, index + 1 + READ_AHEAD_BLOCKS)) void ahead?.start();
    const withBytes = await (reading[index]?.start() ?? Promise.resolve([]));
    reading[index] = undefined;
    const rect = blockRect(main, range, reduce);
    const size: Size = { width: rect.x1 - rect.x0, height: rect.y1 - rect.y0 };
    const pixels = finish(await decodeCodestream(tileRangeCodestream(mainBytes, main, range, withBytes), reduce, size), header.info);
    place(pixels, out, target, rect, bits / 8);
  }
  const origin = reducedRect(main.siz, reduce);
  return {
    data: out,
    width,
    height,
    channels,
    bits,
    reduce,
    region: { x: target.x0 - origin.x0, y: target.y0 - origin.y0, width, height },
    ...(header.icc === undefined ? {} : { icc: header.icc }),
  };
}

/** The area on the grid of the reduced image (absolute, like the reference grid). */
function targetRect(main: MainHeader, area: Area, reduce: number): Rect {
  const { siz } = main;
  const full = { width: siz.x1 - siz.x0, height: siz.y1 - siz.y0 };
  const whole = [area.x, area.y, area.width, area.height].every((v) => Number.isInteger(v));
  const inside = whole && area.width >= 1 && area.height >= 1 && area.x >= 0 && area.y >= 0 && area.x + area.width <= full.width && area.y + area.height <= full.height;
  if (!inside) throw new RangeError(`area ${area.x},${area.y},${area.width},${area.height} is not inside the ${full.width}x${full.height} image`);
  const f = 2 ** reduce;
  const bounds = reducedRect(siz, reduce);
  return {
    x0: Math.max(bounds.x0, Math.floor((siz.x0 + area.x) / f)),
    y0: Math.max(bounds.y0, Math.floor((siz.y0 + area.y) / f)),
    x1: Math.min(bounds.x1, Math.ceil((siz.x0 + area.x + area.width) / f)),
    y1: Math.min(bounds.y1, Math.ceil((siz.y0 + area.y + area.height) / f)),
  };
}

function checkBudget(bytes: number, limit: number, what: string): void {
  if (bytes > limit) {
    throw new UnsupportedError('RENDER_TOO_LARGE', expected(`at most ${limit} bytes of decoded pixels`, 'the JPEG 2000 decode', `${bytes} bytes (${what})`));
  }
}

/** A range of tiles on the reduced grid: where a tile at (x0, y0) starts is ceil(x0 / 2^r). */
function blockRect(main: MainHeader, range: TileRange, reduce: number): Rect {
  const rect = tileRangeRect(main.siz, range);
  const f = 2 ** reduce;
  return { x0: Math.ceil(rect.x0 / f), y0: Math.ceil(rect.y0 / f), x1: Math.ceil(rect.x1 / f), y1: Math.ceil(rect.y1 / f) };
}

/**
 * The tiles that hold the target, grouped into blocks: runs of tiles of one tile row, each run
 * at most BLOCK_PIXELS once reduced (one tile at least).
 */
function* blocks(main: MainHeader, target: Rect, reduce: number): Generator<TileRange> {
  const f = 2 ** reduce;
  // A tile's pixels at reduction r start at ceil(x0 / f): widen by f so no contributing tile is missed.
  const covering = tilesCovering(main.siz, { x0: target.x0 * f - f, y0: target.y0 * f - f, x1: target.x1 * f + f, y1: target.y1 * f + f });
  const overlaps = (rect: Rect): boolean => rect.x0 < target.x1 && rect.x1 > target.x0 && rect.y0 < target.y1 && rect.y1 > target.y0;
  for (let j = covering.j0; j < covering.j1; j++) {
    let run: TileRange | undefined;
    for (let i = covering.i0; i < covering.i1; i++) {
      const tile = { i0: i, i1: i + 1, j0: j, j1: j + 1 };
      if (!overlaps(blockRect(main, tile, reduce))) continue;
      const grown: TileRange | undefined = run === undefined ? undefined : { ...run, i1: i + 1 };
      if (grown !== undefined && pixelCount(blockRect(main, grown, reduce)) <= BLOCK_PIXELS) {
        run = grown;
        continue;
      }
      if (run !== undefined) yield run;
      run = tile;
    }
    if (run !== undefined) yield run;
  }
}

const pixelCount = (rect: Rect): number => (rect.x1 - rect.x0) * (rect.y1 - rect.y0);

/** A promise started on first ask, so reads ahead begin only when wanted; a failure waits for its turn. */
function lazy<T>(make: () => Promise<T>): { start(): Promise<T> } {
  let started: Promise<T> | undefined;
  return {
    start() {
      if (started === undefined) {
        started = make();
        started.catch(() => undefined);
      }
      return started;
    },
  };
}

type PartBytes = { readonly part: TilePart; readonly bytes: Buffer };

/** The tile-parts a block decodes from, with their bytes, in codestream order. */
async function readBlock(read: ReadRange, header: Jp2Header, parts: readonly TilePart[], range: TileRange, reduce: number): Promise<PartBytes[]> {
  const { main } = header.codestream;
  const wanted = tilesOf(main, range);
  const chosen = parts.filter((part) => wanted.has(part.tile));
  const missing = [...wanted].find((tile) => !chosen.some((part) => part.tile === tile));
  if (missing !== undefined) throw unreadable('a tile-part for every tile', `none for tile ${missing}`);
  if (reduce === 0 || !canSkipResolutions(main)) return Promise.all(chosen.map(async (part) => ({ part, bytes: await readPart(read, header.codestream.offset, part) })));
  const tiles = await Promise.all([...wanted].map((tile) => readReducedTile(read, header, chosen.filter((part) => part.tile === tile), tile, reduce)));
  return tiles.flat();
}

async function readPart(read: ReadRange, offset: number, part: TilePart, from = 0): Promise<Buffer> {
  const bytes = await read(offset + part.offset + from, part.length - from);
  if (bytes.length < part.length - from) throw truncated(`tile-part of tile ${part.tile}`, offset + part.offset + from + bytes.length);
  return bytes;
}

/**
 * A tile for a decode at 1/2^reduce: the headers of its tile-parts first (with a guess at the
 * packets wanted, so one read is often enough), then the rest of the packets wanted, rebuilt as
 * one tile-part (reducedTilePart). Whole tile-parts when its headers do not say where the
 * packets end.
 */
async function readReducedTile(read: ReadRange, header: Jp2Header, parts: readonly TilePart[], tile: number, reduce: number): Promise<PartBytes[]> {
  const { main, offset } = header.codestream;
  const counts = packetsPerResolution(main, tile);
  const total = counts.reduce((sum, n) => sum + n, 0);
  const keep = counts.slice(0, counts.length - reduce).reduce((sum, n) => sum + n, 0);
  const heads = await Promise.all(parts.map(async (part) => {
    // The header (a few bytes a packet for PLT) and twice the share of the bytes the kept resolutions would have if every pixel cost the same.
    const guess = Math.min(part.length, 32 + 3 * total + Math.ceil((2 * part.length) / 4 ** reduce));
    let bytes = await readPart(read, offset, { ...part, length: guess });
    for (;;) {
      const head = parseTilePartHead(bytes, tile, part.length);
      if (!('need' in head)) return { part, head, bytes };
      const more = await readPart(read, offset, { ...part, length: Math.min(part.length, Math.max(head.need, 2 * bytes.length)) }, bytes.length);
      bytes = Buffer.concat([bytes, more]);
    }
  }));
  const [first] = heads;
  const listed = heads.reduce((sum, { head }) => sum + (head.packetLengths?.length ?? 0), 0);
  if (first === undefined || heads.some(({ head }) => head.restyles || head.packetLengths === undefined) || listed !== total) {
    return Promise.all(heads.map(async ({ part, bytes }) => ({ part, bytes: bytes.length === part.length ? bytes : Buffer.concat([bytes, await readPart(read, offset, part, bytes.length)]) })));
  }
  let remaining = keep;
  const data = await Promise.all(heads.map(async ({ part, head, bytes }) => {
    const lengths = head.packetLengths ?? [];
    const taken = Math.min(remaining, lengths.length);
    remaining -= taken;
    const end = head.dataStart + lengths.slice(0, taken).reduce((sum, n) => sum + n, 0);
    if (end > part.length) throw unreadable(`packets that fit their tile-part (${part.length} bytes)`, `${end} bytes`);
    if (end <= bytes.length) return bytes.subarray(head.dataStart, end);
    return Buffer.concat([bytes.subarray(head.dataStart), await readPart(read, offset, { ...part, length: end }, bytes.length)]);
  }));
  const rebuilt = reducedTilePart(tile, first.head satisfies TilePartHead, data, keep, total - keep, main);
  return [{ part: { tile, offset: first.part.offset, length: rebuilt.length }, bytes: rebuilt }];
}

function compressedBytes(main: MainHeader, parts: readonly TilePart[], range: TileRange): number {
  const tiles = tilesOf(main, range);
  return parts.reduce((sum, part) => sum + (tiles.has(part.tile) ? part.length : 0), 0);
}

function tilesOf(main: MainHeader, range: TileRange): Set<number> {
  const { across } = tileGrid(main.siz);
  const tiles = new Set<number>();
  for (let j = range.j0; j < range.j1; j++) for (let i = range.i0; i < range.i1; i++) tiles.add(j * across + i);
  return tiles;
}

/**
 * Refuse a block the codec cannot decode right or at all, before any pixel data is read: one too large
 * for its heap (a large image that is not tiled), or one that starts off the reduced grid. The
 * codec sizes a reduced decode as ceil(width / 2^r), the true size only when the block starts on
 * a multiple of 2^r: true of tile grids in practice (tiles of 2^n pixels from the origin).
 */
function checkBlock(main: MainHeader, range: TileRange, reduce: number, bytesPerSample: number, compressed: number): void {
  const rect = blockRect(main, range, reduce);
  // OpenJPEG holds each sample as a 32-bit integer, the glue the output beside it, and the codestream.
  const heap = pixelCount(rect) * main.siz.components.length * (4 + bytesPerSample) + compressed + CODEC_OVERHEAD_BYTES;
  if (heap > CODEC_HEAP_LIMIT) {
    const size = `${rect.x1 - rect.x0}x${rect.y1 - rect.y0}`;
    throw new UnsupportedError('RENDER_TOO_LARGE', expected(`a decode that fits the codec's ${CODEC_HEAP_LIMIT / 2 ** 30} GiB heap`, 'the JPEG 2000 decode', `about ${Math.ceil(heap / 2 ** 20)} MiB for a tile of ${size} pixels`));
  }
  const grid = tileRangeRect(main.siz, range);
  const f = 2 ** reduce;
  if (grid.x0 % f !== 0 || grid.y0 % f !== 0) {
    throw new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(`tiles that start on multiples of ${f}`, `a JPEG 2000 decode at 1/${f}`, `a tile at ${grid.x0},${grid.y0}`));
  }
}

/** Samples as Recto hands them on: sYCC made RGB, precisions other than 8 and 16 widened. */
function finish(output: CodecOutput, info: Jp2Info): CodecOutput {
  // With chroma subsampled, the codec itself converts (and upsamples) sYCC to RGB.
  if (info.colourSpace === 'sycc' && !info.subsampled) syccToRgb(output.data, output.bytesPerSample, info.bits);
  const full = output.bytesPerSample * 8;
  if (info.bits !== full) widen(output.data, output.bytesPerSample, info.bits);
  return output;
}

/** Scale samples of `bits` to the full range of their 8 or 16-bit container. */
function widen(data: Buffer, bytesPerSample: 1 | 2, bits: number): void {
  const max = 2 ** bits - 1;
  const full = 2 ** (8 * bytesPerSample) - 1;
  if (bytesPerSample === 1) {
    for (let i = 0; i < data.length; i++) data[i] = Math.round(((data[i] ?? 0) * full) / max);
    return;
  }
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(((samples[i] ?? 0) * full) / max);
}

/** Copy the part of a decoded block that lies in the target into the output. */
function place(pixels: CodecOutput, out: Buffer, target: Rect, block: Rect, bytesPerSample: number): void {
  const pixelBytes = pixels.channels * bytesPerSample;
  const x0 = Math.max(target.x0, block.x0);
  const x1 = Math.min(target.x1, block.x1);
  const rowBytes = (x1 - x0) * pixelBytes;
  const outStride = (target.x1 - target.x0) * pixelBytes;
  const inStride = pixels.width * pixelBytes;
  for (let y = Math.max(target.y0, block.y0); y < Math.min(target.y1, block.y1); y++) {
    const from = (y - block.y0) * inStride + (x0 - block.x0) * pixelBytes;
    pixels.data.copy(out, (y - target.y0) * outStride + (x0 - target.x0) * pixelBytes, from, from + rowBytes);
  }
}
