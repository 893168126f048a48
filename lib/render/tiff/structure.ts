/**
 * A TIFF's structure read by byte ranges: every page of the IFD chain (up to what a pyramid can
 * use) and the SubIFDs of the first page, each described by the fields a renderer needs to fetch
 * and decode its tiles, plus which of them form the pyramid. The description is plain JSON, small
 * enough to cache beside a source's record: large tile offset arrays are only located, never
 * copied (a 10-gigapixel level has ~150k tiles).
 */
import type { PyramidKind } from '../probe.js';
import { BatchedReader } from './batch.js';
import { corrupt } from './failure.js';
import { assertInside, parseHeader, readBytes, readIfd, readIntegers } from './ifd.js';
import type { Entry, Ifd, Layout } from './ifd.js';
import { choosePyramid, isPagePyramid, MAX_PYRAMID_LEVELS } from './pyramid.js';
import { emptyStats } from './ranges.js';
import type { ReadRange, ReadStats } from './ranges.js';
import { ARRAY_TYPES, compressionName, PHOTOMETRIC, TAG } from './tags.js';
import type { ArrayTypeName } from './tags.js';

/** Bumped whenever the shape below changes, so a cached description is never misread. */
export const TIFF_STRUCTURE_VERSION = 1;

/** Where an array of offsets or byte counts lies, and its values when it is short. */
export interface NumberArrayRef {
  /** File offset of the first element (the entry's own value field when the array is inline). */
  readonly offset: number;
  readonly count: number;
  readonly type: ArrayTypeName;
  /** Present when `count` is at most the structure reader's `inlineMaxEntries`. */
  readonly values?: readonly number[];
}

export interface TiledLayout {
  readonly kind: 'tiled';
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Tiles per row and per column (edge tiles included). */
  readonly across: number;
  readonly down: number;
}

export interface StripedLayout {
  readonly kind: 'striped';
  readonly rowsPerStrip: number;
}

export interface TiffImage {
  /** Index in the IFD chain; SubIFDs carry the page they hang from (0). */
  readonly page: number;
  /** Index among the first page's SubIFDs. */
  readonly subifd?: number;
  readonly ifdOffset: number;
  /** Bit 0: a reduced-resolution copy of another image. */
  readonly newSubfileType: number;
  readonly width: number;
  readonly height: number;
  readonly layout: TiledLayout | StripedLayout;
  /** TIFF compression code: 1 none, 5 LZW, 7 JPEG, 8 and 32946 Deflate, ... */
  readonly compression: number;
  readonly compressionName: string;
  /** 0 min-is-white, 1 min-is-black, 2 RGB, 3 palette, 5 separated (CMYK), 6 YCbCr, ... */
  readonly photometric: number;
  readonly samplesPerPixel: number;
  /** One per sample. */
  readonly bitsPerSample: readonly number[];
  /** One per sample: 1 unsigned, 2 signed, 3 floating point. */
  readonly sampleFormat: readonly number[];
  /** 1 contiguous (RGBRGB...), 2 separate planes. */
  readonly planarConfiguration: number;
  /** 1 none, 2 horizontal differencing, 3 floating point. */
  readonly predictor: number;
  /** Meaning of the samples past the colour ones: 0 unspecified, 1 associated alpha, 2 unassociated alpha. */
  readonly extraSamples: readonly number[];
  /** The JPEG quantisation and Huffman tables shared by all tiles, base64. */
  readonly jpegTables?: string;
  /** Chroma subsampling [horizontal, vertical] of YCbCr images. */
  readonly ycbcrSubsampling?: readonly [number, number];
  /** 1..8 as EXIF; 1 when absent or out of range. */
  readonly orientation: number;
  /** Where the embedded ICC profile is, when there is one. */
  readonly iccProfile?: { readonly offset: number; readonly length: number };
  /** TileOffsets or StripOffsets. */
  readonly offsets: NumberArrayRef;
  /** TileByteCounts or StripByteCounts. */
  readonly byteCounts: NumberArrayRef;
}

export interface TiffStructure {
  readonly version: typeof TIFF_STRUCTURE_VERSION;
  readonly byteOrder: 'II' | 'MM';
  readonly bigTiff: boolean;
  readonly fileBytes: number;
  /** The pages read, in chain order, then the first page's SubIFDs in their tag order. */
  readonly images: readonly TiffImage[];
  /**
   * False when reading stopped before the end of the IFD chain: at the first page that is not
   * the next pyramid level, or past MAX_PYRAMID_LEVELS pages. Only the first page (or the
   * pyramid) is ever rendered, so the rest is not read.
   */
  readonly chainComplete: boolean;
  /** Where the reduced levels are, when there are any. */
  readonly pyramid?: PyramidKind;
  /** Indexes into `images`, largest first, the full image (page 0) always first. */
  readonly levels: readonly number[];
}

export interface StructureOptions {
  /** First read from the start of the file (default 64 KiB). */
  readonly headBytes?: number;
  /** Read along with the head from the end of the file, where writers that put each IFD after
   * its pixel data leave the directories of the small levels (default 64 KiB). */
  readonly tailBytes?: number;
  /** Read from each IFD offset on, so its small values come with it (default 16 KiB). */
  readonly ifdWindowBytes?: number;
  /** Offset and byte-count arrays up to this many entries are copied into the description (default 256). */
  readonly inlineMaxEntries?: number;
  /** Reads this close together are merged into one request (default 32 KiB). */
  readonly maxGapBytes?: number;
}

export interface StructureRead {
  readonly structure: TiffStructure;
  /** What reading it cost. */
  readonly stats: ReadStats;
}

const DEFAULTS = { headBytes: 64 * 1024, tailBytes: 64 * 1024, ifdWindowBytes: 16 * 1024, inlineMaxEntries: 256, maxGapBytes: 32 * 1024 } as const;
/** Larger than any real table set (a few hundred bytes) and small enough to keep in JSON. */
const MAX_JPEG_TABLES_BYTES = 64 * 1024;
const MAX_SAMPLES_PER_PIXEL = 64;
/** The most a directory window grows to take in the tile arrays before the values (see windowAfter). */
const MAX_PREDICTED_ARRAY_BYTES = 256 * 1024;
/** The chain is followed this far at most: one page past the deepest pyramid probing accepts. */
const MAX_PAGES_READ = MAX_PYRAMID_LEVELS + 1;

interface Context {
  readonly reader: BatchedReader;
  readonly layout: Layout;
  readonly options: Required<StructureOptions>;
}

/**
 * Read a TIFF's structure through `read`, asking for as few ranges as the layout allows: the
 * head and tail of the file first (the whole file when it is small), then each directory not yet
 * seen with the bytes after it, the values outside those in one more batch.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a file that is not a TIFF or breaks its layout: a
 *   bad header, offsets or counts outside the file, an IFD chain that loops, missing or
 *   inconsistent required tags (size, tile or strip arrays); or when `read` answers with the
 *   wrong number of bytes.
 */
export async function readTiffStructure(read: ReadRange, totalBytes: number, options: StructureOptions = {}): Promise<StructureRead> {
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 8) throw corrupt('a TIFF of at least 8 bytes', 'the source', `${totalBytes} bytes`);
  const settings: Required<StructureOptions> = { ...DEFAULTS, ...options };
  const stats = emptyStats();
  const reader = new BatchedReader(read, totalBytes, { maxGapBytes: settings.maxGapBytes, maxRangeBytes: Number.MAX_SAFE_INTEGER, concurrency: 4 }, stats);
  await reader.prime(firstSpans(totalBytes, settings));
  const header = parseHeader(await reader.get(0, Math.min(16, totalBytes)), totalBytes);
  const context: Context = { reader, layout: { littleEndian: header.littleEndian, bigTiff: header.bigTiff, fileBytes: totalBytes }, options: settings };
  const { pages, subifds, chainComplete } = await readChain(context, header.firstIfd);
  const pyramid = choosePyramid(pages, subifds, chainComplete);
  const images = [...pages, ...subifds];
  const levels = pyramid === 'pages' ? pages.map((_, i) => i) : pyramid === 'subifds' ? [0, ...subifds.map((_, i) => pages.length + i)] : [0];
  const structure: TiffStructure = {
    version: TIFF_STRUCTURE_VERSION,
    byteOrder: header.littleEndian ? 'II' : 'MM',
    bigTiff: header.bigTiff,
    fileBytes: totalBytes,
    images,
    chainComplete,
    ...(pyramid === undefined ? {} : { pyramid }),
    levels,
  };
  return { structure, stats: { ...stats } };
}

function firstSpans(totalBytes: number, settings: Required<StructureOptions>): { offset: number; length: number }[] {
  if (totalBytes <= settings.headBytes + settings.tailBytes) return [{ offset: 0, length: totalBytes }];
  return [{ offset: 0, length: settings.headBytes }, { offset: totalBytes - settings.tailBytes, length: settings.tailBytes }];
}

/**
 * Follow the chain from the first page while the pages still form a pyramid, reading the first
 * page's SubIFDs alongside. Each next directory is asked for before the current one's values are
 * awaited, so both come in one round.
 */
async function readChain(context: Context, firstIfd: number): Promise<{ pages: TiffImage[]; subifds: TiffImage[]; chainComplete: boolean }> {
  const seen = new Set<number>();
  const pages: TiffImage[] = [];
  let subifds: Promise<TiffImage[]> = Promise.resolve([]);
  let next = visit(context, seen, firstIfd, 'page 0', context.options.ifdWindowBytes);
  for (let page = 0; ; page++) {
    const ifd = await next;
    const hasNext = ifd.next !== 0 && page + 1 < MAX_PAGES_READ;
    if (hasNext) {
      next = visit(context, seen, ifd.next, `page ${page + 1}`, windowAfter(context, ifd, 1));
      // Read ahead; a failure is raised when (and if) the loop gets to it.
      next.catch(() => undefined);
    }
    if (page === 0) {
      subifds = readSubifds(context, ifd, seen);
      // Awaited at the end; a failure meanwhile must not go unhandled if the chain fails first.
      subifds.catch(() => undefined);
    }
    pages.push(await describeImage(context, ifd, { page }));
    if (!hasNext || !isPagePyramid(pages)) {
      return { pages, subifds: await subifds, chainComplete: ifd.next === 0 };
    }
  }
}

function visit(context: Context, seen: Set<number>, offset: number, part: string, window: number): Promise<Ifd> {
  if (seen.has(offset)) return Promise.reject(corrupt('an IFD chain without loops', part, `a link back to byte ${offset}`));
  seen.add(offset);
  return readIfd(context.reader, context.layout, offset, part, window);
}

/**
 * How much to read at the directory of a level `levelsDown` below `ifd`'s. libtiff writes a
 * directory's small values (sample format, JPEG tables, SubIFD offsets) after its tile arrays, so
 * a fixed window misses them; a level half the size has a quarter of the tiles, so the window
 * grows by a quarter of these arrays per level down, and the values come with the directory.
 */
function windowAfter(context: Context, ifd: Ifd, levelsDown: number): number {
  const arrays = [TAG.TILE_OFFSETS, TAG.TILE_BYTE_COUNTS, TAG.STRIP_OFFSETS, TAG.STRIP_BYTE_COUNTS].reduce((sum, tag) => sum + (ifd.entries.get(tag)?.byteLength ?? 0), 0);
  return context.options.ifdWindowBytes + Math.min(MAX_PREDICTED_ARRAY_BYTES, Math.ceil(arrays / 4 ** levelsDown));
}

async function readSubifds(context: Context, ifd: Ifd, seen: Set<number>): Promise<TiffImage[]> {
  const entry = ifd.entries.get(TAG.SUB_IFDS);
  // So many SubIFDs are no pyramid (probing agrees): they are not read.
  if (entry === undefined || entry.count >= MAX_PYRAMID_LEVELS) return [];
  const offsets = await readIntegers(context.reader, context.layout, entry, 'page 0', MAX_PYRAMID_LEVELS);
  return Promise.all(offsets.map(async (offset, subifd) => {
    const part = `SubIFD ${subifd} of page 0`;
    return describeImage(context, await visit(context, seen, offset, part, windowAfter(context, ifd, subifd + 1)), { page: 0, subifd });
  }));
}

// ---- one image ---------------------------------------------------------------------------

const SCALAR_TAGS = {
  width: TAG.IMAGE_WIDTH,
  height: TAG.IMAGE_LENGTH,
  compression: TAG.COMPRESSION,
  photometric: TAG.PHOTOMETRIC,
  samplesPerPixel: TAG.SAMPLES_PER_PIXEL,
  planarConfiguration: TAG.PLANAR_CONFIGURATION,
  predictor: TAG.PREDICTOR,
  orientation: TAG.ORIENTATION,
  newSubfileType: TAG.NEW_SUBFILE_TYPE,
  tileWidth: TAG.TILE_WIDTH,
  tileHeight: TAG.TILE_LENGTH,
  rowsPerStrip: TAG.ROWS_PER_STRIP,
} as const;

type Scalars = Record<keyof typeof SCALAR_TAGS, number | undefined>;

interface SampleArrays {
  readonly bitsPerSample?: readonly number[];
  readonly sampleFormat?: readonly number[];
  readonly extraSamples?: readonly number[];
  readonly ycbcrSubsampling?: readonly number[];
}

/** Every field of one directory, all value reads issued together (one round at most). */
async function describeImage(context: Context, ifd: Ifd, id: { readonly page: number; readonly subifd?: number }): Promise<TiffImage> {
  const part = id.subifd === undefined ? `page ${id.page}` : `SubIFD ${id.subifd} of page ${id.page}`;
  const tiled = ifd.entries.has(TAG.TILE_WIDTH) || ifd.entries.has(TAG.TILE_OFFSETS);
  const [scalars, arrays, jpegTables, offsets, byteCounts] = await Promise.all([
    readScalars(context, ifd, part),
    readSampleArrays(context, ifd, part),
    optionalBytes(context, ifd, TAG.JPEG_TABLES, part),
    arrayRef(context, ifd, tiled ? TAG.TILE_OFFSETS : TAG.STRIP_OFFSETS, part),
    arrayRef(context, ifd, tiled ? TAG.TILE_BYTE_COUNTS : TAG.STRIP_BYTE_COUNTS, part),
  ]);
  const width = required(scalars.width, 'ImageWidth', part);
  const height = required(scalars.height, 'ImageLength', part);
  const samples = describeSamples(scalars, arrays, part);
  const layout = tiled ? tiledLayout(scalars, width, height, part) : stripedLayout(scalars, height, part);
  assertChunkArrays(layout, height, samples, [offsets, byteCounts], part);
  const icc = ifd.entries.get(TAG.ICC_PROFILE);
  if (icc !== undefined) assertInside(icc, context.layout, part);
  const compression = scalars.compression ?? 1;
  const orientation = scalars.orientation ?? 1;
  return {
    page: id.page,
    ...(id.subifd === undefined ? {} : { subifd: id.subifd }),
    ifdOffset: ifd.offset,
    newSubfileType: scalars.newSubfileType ?? 0,
    width,
    height,
    layout,
    compression,
    compressionName: compressionName(compression),
    ...samples,
    predictor: scalars.predictor ?? 1,
    ...(jpegTables === undefined ? {} : { jpegTables: jpegTables.toString('base64') }),
    ...(samples.photometric === PHOTOMETRIC.YCBCR ? { ycbcrSubsampling: subsampling(arrays.ycbcrSubsampling, part) } : {}),
    orientation: Number.isInteger(orientation) && orientation >= 1 && orientation <= 8 ? orientation : 1,
    ...(icc === undefined ? {} : { iccProfile: { offset: icc.valueOffset, length: icc.byteLength } }),
    offsets,
    byteCounts,
  };
}

type Samples = Pick<TiffImage, 'photometric' | 'samplesPerPixel' | 'bitsPerSample' | 'sampleFormat' | 'planarConfiguration' | 'extraSamples'>;

/** What a pixel is made of, with the defaults TIFF gives absent tags. */
function describeSamples(scalars: Scalars, arrays: SampleArrays, part: string): Samples {
  const samplesPerPixel = scalars.samplesPerPixel ?? 1;
  if (samplesPerPixel < 1 || samplesPerPixel > MAX_SAMPLES_PER_PIXEL) throw corrupt(`1 to ${MAX_SAMPLES_PER_PIXEL} samples per pixel`, part, samplesPerPixel);
  const planarConfiguration = scalars.planarConfiguration ?? 1;
  if (planarConfiguration !== 1 && planarConfiguration !== 2) throw corrupt('planar configuration 1 or 2', part, planarConfiguration);
  const extraSamples = arrays.extraSamples ?? [];
  if (extraSamples.length > 0 && extraSamples.length >= samplesPerPixel) throw corrupt(`fewer extra samples than the ${samplesPerPixel} samples per pixel`, part, extraSamples.length);
  return {
    // TIFF requires the tag; libtiff guesses the same way when a writer leaves it out.
    photometric: scalars.photometric ?? (samplesPerPixel >= 3 ? PHOTOMETRIC.RGB : PHOTOMETRIC.MIN_IS_BLACK),
    samplesPerPixel,
    bitsPerSample: perSample(arrays.bitsPerSample, samplesPerPixel, 1, 'BitsPerSample', part),
    sampleFormat: perSample(arrays.sampleFormat, samplesPerPixel, 1, 'SampleFormat', part),
    planarConfiguration,
    extraSamples,
  };
}

/** Both arrays must have an entry for every tile or strip (every plane's, when planes are separate). */
function assertChunkArrays(layout: TiledLayout | StripedLayout, height: number, samples: Samples, arrays: readonly [NumberArrayRef, NumberArrayRef], part: string): void {
  const chunks = chunkCount(layout, height) * (samples.planarConfiguration === 2 ? samples.samplesPerPixel : 1);
  const kind = layout.kind === 'tiled' ? 'tile' : 'strip';
  arrays.forEach((array, i) => {
    if (array.count < chunks) throw corrupt(`${chunks} ${kind} ${i === 0 ? 'offsets' : 'byte counts'}`, part, array.count);
  });
}

async function readScalars(context: Context, ifd: Ifd, part: string): Promise<Scalars> {
  const names = Object.keys(SCALAR_TAGS) as (keyof typeof SCALAR_TAGS)[];
  const values = await Promise.all(names.map(async (name) => {
    const entry = ifd.entries.get(SCALAR_TAGS[name]);
    if (entry === undefined) return undefined;
    if (entry.count < 1) throw corrupt('a value', `tag ${entry.tag} of ${part}`, 'none');
    // Only the first value counts: a scalar written with a longer count is read as libtiff does.
    const [value] = await readIntegers(context.reader, context.layout, { ...entry, count: 1, byteLength: entry.byteLength / entry.count }, part, 1);
    return value;
  }));
  return Object.fromEntries(names.map((name, i) => [name, values[i]])) as Scalars;
}

async function readSampleArrays(context: Context, ifd: Ifd, part: string): Promise<SampleArrays> {
  const read = async (tag: number, max: number): Promise<readonly number[] | undefined> => {
    const entry = ifd.entries.get(tag);
    return entry === undefined ? undefined : readIntegers(context.reader, context.layout, entry, part, max);
  };
  const [bitsPerSample, sampleFormat, extraSamples, ycbcrSubsampling] = await Promise.all([
    read(TAG.BITS_PER_SAMPLE, MAX_SAMPLES_PER_PIXEL),
    read(TAG.SAMPLE_FORMAT, MAX_SAMPLES_PER_PIXEL),
    read(TAG.EXTRA_SAMPLES, MAX_SAMPLES_PER_PIXEL),
    read(TAG.YCBCR_SUBSAMPLING, 2),
  ]);
  return {
    ...(bitsPerSample === undefined ? {} : { bitsPerSample }),
    ...(sampleFormat === undefined ? {} : { sampleFormat }),
    ...(extraSamples === undefined ? {} : { extraSamples }),
    ...(ycbcrSubsampling === undefined ? {} : { ycbcrSubsampling }),
  };
}

function optionalBytes(context: Context, ifd: Ifd, tag: number, part: string): Promise<Buffer | undefined> {
  const entry = ifd.entries.get(tag);
  return entry === undefined ? Promise.resolve(undefined) : readBytes(context.reader, context.layout, entry, part, MAX_JPEG_TABLES_BYTES);
}

/** Locate an offset or byte-count array; copy its values when it is short. */
async function arrayRef(context: Context, ifd: Ifd, tag: number, part: string): Promise<NumberArrayRef> {
  const entry = ifd.entries.get(tag);
  if (entry === undefined) throw corrupt(`tag ${tag}`, part, 'no such tag');
  const type = arrayType(entry, part);
  assertInside(entry, context.layout, part);
  const ref = { offset: entry.valueOffset, count: entry.count, type };
  if (entry.count > context.options.inlineMaxEntries) return ref;
  return { ...ref, values: await readIntegers(context.reader, context.layout, entry, part, entry.count) };
}

function arrayType(entry: Entry, part: string): ArrayTypeName {
  const type = (ARRAY_TYPES as Partial<Record<number, ArrayTypeName>>)[entry.type];
  if (type === undefined) throw corrupt('SHORT, LONG or LONG8 values', `tag ${entry.tag} of ${part}`, `type ${entry.type}`);
  return type;
}

function tiledLayout(scalars: Scalars, width: number, height: number, part: string): TiledLayout {
  const tileWidth = required(scalars.tileWidth, 'TileWidth', part);
  const tileHeight = required(scalars.tileHeight, 'TileLength', part);
  return { kind: 'tiled', tileWidth, tileHeight, across: Math.ceil(width / tileWidth), down: Math.ceil(height / tileHeight) };
}

function stripedLayout(scalars: Scalars, height: number, part: string): StripedLayout {
  const rowsPerStrip = scalars.rowsPerStrip ?? height;
  if (rowsPerStrip < 1) throw corrupt('at least 1 row per strip', part, rowsPerStrip);
  return { kind: 'striped', rowsPerStrip: Math.min(rowsPerStrip, height) };
}

function chunkCount(layout: TiledLayout | StripedLayout, height: number): number {
  return layout.kind === 'tiled' ? layout.across * layout.down : Math.ceil(height / layout.rowsPerStrip);
}

function required(value: number | undefined, name: string, part: string): number {
  if (value === undefined || value < 1) throw corrupt(`a positive ${name}`, part, value === undefined ? 'no such tag' : value);
  return value;
}

/** A per-sample field: one value for all samples, one per sample, or absent (the default). */
function perSample(values: readonly number[] | undefined, samples: number, fallback: number, name: string, part: string): number[] {
  if (values === undefined) return new Array<number>(samples).fill(fallback);
  if (values.length === 1 && values[0] !== undefined) return new Array<number>(samples).fill(values[0]);
  if (values.length !== samples) throw corrupt(`${samples} ${name} values`, part, values.length);
  return [...values];
}

function subsampling(values: readonly number[] | undefined, part: string): [number, number] {
  const [h = 2, v = 2] = values ?? [];
  if (![1, 2, 4].includes(h) || ![1, 2, 4].includes(v)) throw corrupt('YCbCr subsampling of 1, 2 or 4', part, `${h}x${v}`);
  return [h, v];
}
