/**
 * How long a render will take, before doing it: requests whose estimate exceeds the budget
 * (API Gateway gives 30 s) go asynchronous instead of timing out. A cost model over the pixels
 * each stage touches, with per-pixel costs measured on this 2-core machine by `npm run bench`
 * (rounded up), then multiplied for a slower Lambda (one vCPU at 1769 MB, less below).
 */
import { UnavailableError, UnsupportedError, expected } from '../errors.js';
import type { Plan, Rect } from '../iiif/types.js';
import { JPEG_PROGRESSIVE_MAX_PIXELS, JPEG_PROGRESSIVE_MIN_PIXELS, JPEG_STREAMING_MIN_PIXELS } from './encode.js';
import { MARKER, tileRangeRect, tilesCovering } from './jp2/codestream.js';
import type { Jp2Description } from './jp2/describe.js';
import { canSkipResolutions } from './jp2/packets.js';
import type { RenderRoute } from './route.js';
import { route } from './route.js';
import type { SourceProbe } from './probe.js';

/** Measured here with 2 cores; a 1-vCPU Lambda on a slower core takes up to ~3x as long. */
export const LAMBDA_SLOWDOWN = 3;
/** Fixed cost of a pipeline: open, header, buffers (ms-scale). */
const BASE_SECONDS = 0.01;

/** Nanoseconds per decoded pixel, by source format. */
const DECODE_NS = {
  /** Per pixel of the JPEG's scanned rows: entropy decoding, paid at any DCT scale. */
  jpegEntropy: 2.5,
  /** Per pixel actually produced (after DCT scaling): IDCT, upsampling, colour conversion. */
  jpegPixels: 5,
  png: 20,
  tiff: 8,
  webp: 15,
  gif: 8,
} as const;
/** Nanoseconds per pixel for resampling, per source pixel read. */
const RESIZE_NS = 4;
/** Nanoseconds per output pixel for an arbitrary rotation (second pipeline, bilinear). */
const ROTATE_NS = 25;
/** Nanoseconds per output pixel, by encoder. JPEG: baseline, optimised, progressive. */
const ENCODE_NS = {
  jpegStreaming: 4,
  jpegOptimised: 10,
  jpegProgressive: 18,
  png: 70,
  gif: 400,
  tif: 100,
} as const;
/** WebP by effort 0..6 (a 75 MP `full/max` at effort 4 takes ~26 s in every engine). */
const WEBP_NS_BY_EFFORT = [60, 80, 100, 150, 250, 400, 600] as const;

/** Tuning inputs for the estimate. */
export interface EstimateOptions {
  /** The WebP effort in use (config WEBP_EFFORT). */
  readonly webpEffort?: number;
}

/**
 * A conservative estimate, in seconds on Lambda-class CPU, of rendering `plan` from `source`
 * (source read from local disk; fetching it is not included). Used to send long renders (a
 * `full/max` WebP of a 75 MP source) down the asynchronous path.
 */
export function estimateRenderSeconds(plan: Plan, source: SourceProbe, options: EstimateOptions = {}): number {
  const chosen = route(plan, source, { inputIsPath: true });
  const decoded = decodeNanoseconds(chosen, source);
  const resized = chosen.resize === undefined ? 0 : area(chosen.extract ?? chosen.loaded) * RESIZE_NS;
  const outputPixels = chosen.output.width * chosen.output.height;
  const rotated = chosen.residualDegrees === 0 ? 0 : outputPixels * ROTATE_NS;
  const encoded = outputPixels * encodeNanoseconds(plan, outputPixels, options.webpEffort ?? 2);
  // A JPEG 2000 decodes on one thread (WebAssembly): priced on its own, already for Lambda.
  const jp2 = source.jp2 === undefined ? 0 : jp2Decode(chosen, source.jp2).seconds;
  return (BASE_SECONDS + (decoded + resized + rotated + encoded) / 1e9) * LAMBDA_SLOWDOWN + jp2;
}

function decodeNanoseconds(chosen: RenderRoute, source: SourceProbe): number {
  const loaded = chosen.loaded;
  const cut = chosen.extract ?? { x: 0, y: 0, ...loaded };
  switch (source.format) {
    case 'jpeg': {
      // Sequential: every row down to the region's bottom is entropy-decoded, full width; a
      // DCT-scaled load (`loaded` is then the reduced size) produces fewer pixels.
      const bottom = (cut.y + cut.height) / loaded.height;
      const fullPixels = source.width * source.height;
      const producedPixels = chosen.strategy === 'resize-first' ? fullPixels / 4 : area(loaded) * bottom;
      return fullPixels * bottom * DECODE_NS.jpegEntropy + producedPixels * DECODE_NS.jpegPixels;
    }
    case 'tiff': {
      if (source.tile !== undefined) {
        // Only the tiles under the cut, plus a tile's worth of slack on each axis.
        const width = Math.min(loaded.width, cut.width + source.tile.width);
        const height = Math.min(loaded.height, cut.height + source.tile.height);
        return width * height * DECODE_NS.tiff;
      }
      return loaded.width * (cut.y + cut.height) * DECODE_NS.tiff;
    }
    case 'png':
      return loaded.width * (cut.y + cut.height) * DECODE_NS.png;
    case 'webp':
      return area(loaded) * DECODE_NS.webp;
    case 'jp2':
      // Priced by jp2Decode (one thread), added to the estimate as it is.
      return 0;
    default:
      return area(loaded) * DECODE_NS.gif;
  }
}

function encodeNanoseconds(plan: Plan, pixels: number, webpEffort: number): number {
  switch (plan.format) {
    case 'jpg':
      if (pixels >= JPEG_STREAMING_MIN_PIXELS) return ENCODE_NS.jpegStreaming;
      return pixels >= JPEG_PROGRESSIVE_MIN_PIXELS && pixels <= JPEG_PROGRESSIVE_MAX_PIXELS ? ENCODE_NS.jpegProgressive : ENCODE_NS.jpegOptimised;
    case 'webp':
      return plan.quality === 'bitonal' ? ENCODE_NS.png : WEBP_NS_BY_EFFORT[Math.min(6, Math.max(0, Math.round(webpEffort)))] ?? WEBP_NS_BY_EFFORT[6];
    case 'png':
      return ENCODE_NS.png;
    case 'gif':
      return ENCODE_NS.gif;
    case 'tif':
      return ENCODE_NS.tif;
  }
}

function area(size: { readonly width: number; readonly height: number }): number {
  return size.width * size.height;
}

// ---- memory -------------------------------------------------------------------------------

const MIB = 1024 * 1024;

/**
 * Memory a process needs besides the render it is doing: Node, sharp and libvips, the SDK, the
 * request's own buffers. Measured at 130 to 150 MB resident after a first render; kept generous.
 */
export const PROCESS_RESERVE_BYTES = 256 * MIB;

/**
 * Bytes per pixel held at once by the steps that cannot stream, measured with sharp 0.35 on
 * sources of noise and flat colour (peak RSS less the idle process):
 * - libwebp encodes from a whole picture (ARGB plus YUV planes), and with alpha it also runs
 *   its lossless coder on the alpha plane: 4.3 bytes a pixel opaque, 12.8 with alpha;
 * - cgif quantises a whole frame: 9.4 bytes a pixel;
 * - libwebp decodes a whole source at the scale it is opened at: 7.3 bytes a pixel;
 * - libnsgif decodes a whole frame into RGBA.
 * PNG, JPEG and TIFF stream through libvips; their cost is the encoded output, which libvips
 * grows in memory and sharp then copies into a Buffer.
 */
const MEMORY_BYTES_PER_PIXEL = {
  webpEncode: 4.5,
  webpEncodeAlpha: 13,
  gifEncode: 9.5,
  webpDecode: 7.5,
  gifDecode: 4,
  /** Output buffer growth and copy, per raw output byte (PNG and TIFF of noise barely compress). */
  losslessOutput: 1.5,
  /** JPEG output, per output pixel, with room for the buffer's growth and copy. */
  jpegOutput: 1,
} as const;

/** The memory a render may use in a process of `memoryMb` megabytes (Lambda's memory setting). */
export function renderMemoryBudget(memoryMb: number): number {
  return Math.max(0, memoryMb * MIB - PROCESS_RESERVE_BYTES);
}

/**
 * A conservative estimate of the memory rendering `plan` from `source` holds at its peak, beyond
 * the process's own: the steps that need whole images (a WebP or GIF source decoded, the raw
 * intermediate of an arbitrary rotation, a WebP or GIF output encoded) and the encoded output.
 * Used to refuse, before any work, what would exhaust the function's memory (RENDER_TOO_LARGE)
 * rather than let the platform kill the process.
 */
export function estimateRenderBytes(plan: Plan, source: SourceProbe): number {
  const chosen = route(plan, source, { inputIsPath: true });
  const canvas = chosen.output.width * chosen.output.height;
  const rotated = chosen.residualDegrees !== 0;
  const colourBands = plan.quality === 'gray' || plan.quality === 'bitonal' ? 1 : 3;
  const alpha = (source.hasAlpha || rotated) && plan.format !== 'jpg';
  const outputBands = colourBands + (alpha ? 1 : 0);
  let bytes = 0;
  // Decoding: WebP and GIF sources are decoded whole at the scale they are opened at.
  if (source.format === 'webp') {
    const decoded = chosen.strategy === 'resize-first' && chosen.resize !== undefined
      // Shrink-on-load decodes at most twice the target on each side.
      ? Math.min(area(chosen.loaded), area(chosen.resize) * 4)
      : area(chosen.loaded);
    bytes += decoded * MEMORY_BYTES_PER_PIXEL.webpDecode;
  } else if (source.format === 'gif') {
    bytes += area(chosen.loaded) * MEMORY_BYTES_PER_PIXEL.gifDecode;
  }
  // A JPEG 2000 region is decoded into memory, wrapped (a copy) for libvips, and the codec's
  // heap holds a block of tiles as 32-bit samples with their compressed bytes.
  if (source.jp2 !== undefined) bytes += jp2DecodeBytes(chosen, source.jp2);
  // An arbitrary rotation turns the scaled region from raw pixels held in memory.
  if (rotated) bytes += area(chosen.scaled) * (source.hasAlpha ? 4 : 3);
  switch (plan.format) {
    case 'webp':
      bytes += canvas * (alpha ? MEMORY_BYTES_PER_PIXEL.webpEncodeAlpha : MEMORY_BYTES_PER_PIXEL.webpEncode);
      break;
    case 'gif':
      bytes += canvas * MEMORY_BYTES_PER_PIXEL.gifEncode;
      break;
    case 'jpg':
      bytes += canvas * MEMORY_BYTES_PER_PIXEL.jpegOutput;
      break;
    case 'png':
    case 'tif':
      bytes += canvas * outputBands * MEMORY_BYTES_PER_PIXEL.losslessOutput;
      break;
  }
  return Math.ceil(bytes);
}

/**
 * Refuse, before any work, a render whose estimated peak memory (estimateRenderBytes) exceeds
 * `budgetBytes`: better a 501 that says what to ask for than a process the platform kills.
 * @throws UnsupportedError `RENDER_TOO_LARGE` (501).
 */
export function assertRenderMemory(plan: Plan, source: SourceProbe, budgetBytes: number | undefined): void {
  if (budgetBytes === undefined) return;
  const needed = estimateRenderBytes(plan, source);
  if (needed <= budgetBytes) return;
  const mb = (bytes: number): number => Math.ceil(bytes / (1024 * 1024));
  const { width, height } = route(plan, source, { inputIsPath: true }).output;
  throw new UnsupportedError(
    'RENDER_TOO_LARGE',
    `${expected(`a render needing at most ${mb(budgetBytes)} MB of memory`, 'the image', `${width}x${height} ${plan.format}${plan.rotation % 90 === 0 ? '' : ' turned'} from a ${source.format} source, needing about ${mb(needed)} MB`)}; ask for a smaller size, another format or a right-angle rotation`,
  );
}

// ---- JPEG 2000 masters --------------------------------------------------------------------

/**
 * OpenJPEG in WebAssembly (one thread) costs, on this machine, about this many seconds per
 * megapixel it reconstructs (wavelet, colour transform) plus per megabyte of codestream it
 * entropy-decodes. Fitted to warm decodes of photographs (CPU time): a whole 6 MP master in
 * 1.8 s lossless (7.5 MB) and 0.36 s lossy (0.9 MB); a 1024 tile of a 75 MP master in 0.35 s
 * lossless and 0.10 s lossy; 1/4 of it in 1.5 s and 0.6 s. Rounded up by a third, for a
 * loaded machine.
 */
export const JP2_DECODE_COST = { secondsPerMegapixel: 0.05, secondsPerMegabyte: 0.3 } as const;
/**
 * A Lambda core against one of this machine's, for work on one thread (LAMBDA_SLOWDOWN also
 * counts the second core libvips uses here, which the codec cannot).
 */
export const JP2_LAMBDA_SLOWDOWN = 1.5;
/** The codec's first decodes in a process: compiling, then tiering up, the WebAssembly (about 1 s once). */
const JP2_WARMUP_SECONDS = 1;
/** Reading a master by ranges from S3: per request in sequence, and per megabyte transferred. */
const JP2_READ = { secondsPerRound: 0.03, secondsPerMegabyte: 0.02 } as const;
/** The SourceRanges block: tile-part markers closer than this share a read. */
const JP2_WALK_BLOCK_BYTES = 64 * 1024;
/**
 * The most decoding (seconds on Lambda, jp2Decode) a request may do on a JPEG 2000 master: a
 * thumbnail of any size of master, a 512-pixel tile from a tiled one, a medium image of a small
 * one. More than this is not worth a viewer's wait nor a request's memory: the access copy (a
 * tiled pyramidal TIFF, built once in the background) then makes every such request cheap.
 */
export const JP2_RENDER_NOW_SECONDS = 4;
/** And the most pixels it may decode (12 bytes each at most: 16-bit RGB, twice). */
export const JP2_RENDER_NOW_MAX_PIXELS = 16 * 1024 * 1024;

/** What decoding a routed Plan from a JPEG 2000 master by ranges costs. */
export interface Jp2DecodeEstimate {
  /** The reduction decoded at (1/2^reduce), the route's level. */
  readonly reduce: number;
  /** Pixels decoded at that reduction: whole tiles (the whole image when it is not tiled). */
  readonly pixels: number;
  /** Bytes of the master read (tile-parts, or only their first packets when PLT allows). */
  readonly bytesRead: number;
  /** Seconds on Lambda: reads, the codec's warm-up, the decode. */
  readonly seconds: number;
}

/**
 * The cost of decoding what `plan` needs from the JPEG 2000 master `source` (pure: the service
 * can ask before reading anything).
 * @throws TypeError for a probe without `jp2` (a caller bug).
 */
export function estimateJp2Decode(plan: Plan, source: SourceProbe): Jp2DecodeEstimate {
  if (source.jp2 === undefined) throw new TypeError(expected('a probe with the JPEG 2000 description (SourceProbe.jp2)', 'a JPEG 2000 estimate', 'a probe without one'));
  return jp2Decode(route(plan, source, { inputIsPath: false }), source.jp2);
}

/**
 * Whether `plan` can be rendered from the JPEG 2000 master `source` within a request: its
 * decode (estimateJp2Decode) fits `maxSeconds` (default JP2_RENDER_NOW_SECONDS) and
 * `maxPixels` (default JP2_RENDER_NOW_MAX_PIXELS). True for any other source. When false,
 * render() refuses with SOURCE_NEEDS_ACCESS_COPY (503): the master's access copy is needed.
 */
export function jp2RenderableNow(plan: Plan, source: SourceProbe, options: { readonly maxSeconds?: number; readonly maxPixels?: number } = {}): boolean {
  if (source.jp2 === undefined) return true;
  const cost = estimateJp2Decode(plan, source);
  return cost.seconds <= (options.maxSeconds ?? JP2_RENDER_NOW_SECONDS) && cost.pixels <= (options.maxPixels ?? JP2_RENDER_NOW_MAX_PIXELS);
}

function jp2Decode(chosen: RenderRoute, jp2: Jp2Description): Jp2DecodeEstimate {
  const { info, codestream, fileBytes } = jp2;
  const { siz } = codestream.main;
  const reduce = chosen.level;
  const f = 2 ** reduce;
  const cut: Rect = chosen.extract ?? { x: 0, y: 0, ...chosen.loaded };
  // The tiles under the cut, on the reference grid, and their pixels at the reduction.
  const onGrid = { x0: siz.x0 + cut.x * f, y0: siz.y0 + cut.y * f, x1: Math.min(siz.x1, siz.x0 + (cut.x + cut.width) * f), y1: Math.min(siz.y1, siz.y0 + (cut.y + cut.height) * f) };
  const tiles = tileRangeRect(siz, tilesCovering(siz, onGrid));
  const pixels = (Math.ceil(tiles.x1 / f) - Math.ceil(tiles.x0 / f)) * (Math.ceil(tiles.y1 / f) - Math.ceil(tiles.y0 / f));
  const share = ((tiles.x1 - tiles.x0) * (tiles.y1 - tiles.y0)) / (info.width * info.height);
  const decodedBytes = fileBytes * share * resolutionShare(info.reversible, reduce);
  const skips = jp2.plt && canSkipResolutions(codestream.main) && reduce > 0;
  const bytesRead = skips ? decodedBytes : fileBytes * share;
  const tileCount = info.tiles.across * info.tiles.down;
  const hasTlm = codestream.main.segments.some((segment) => segment.marker === MARKER.TLM);
  // Without TLM the tile-part markers are walked in sequence; PLT costs a round for the headers.
  const walk = hasTlm ? 0 : Math.min(tileCount, Math.ceil(fileBytes / JP2_WALK_BLOCK_BYTES));
  const rounds = 2 + walk + (skips ? 1 : 0);
  const decode = (pixels / 1e6) * JP2_DECODE_COST.secondsPerMegapixel + (decodedBytes / 1e6) * JP2_DECODE_COST.secondsPerMegabyte;
  const seconds = rounds * JP2_READ.secondsPerRound + (bytesRead / 1e6) * JP2_READ.secondsPerMegabyte + JP2_WARMUP_SECONDS + decode * JP2_LAMBDA_SLOWDOWN;
  return { reduce, pixels, bytesRead: Math.ceil(bytesRead), seconds };
}

/**
 * The share of a codestream's bytes that a decode at 1/2^reduce entropy-decodes. Measured on
 * 75 MP masters: lossless (5-3), 12.5 %, 3.2 % and 0.8 % at 1/4, 1/8 and 1/16, twice their
 * share of the pixels; lossy (9-7, 20:1), 16 %, 9 % and 4 %: fine detail gets few bytes, so the
 * low resolutions hold more, about 2^-reduce.
 */
function resolutionShare(reversible: boolean, reduce: number): number {
  if (reduce === 0) return 1;
  return Math.min(1, reversible ? 2 / 4 ** reduce : 1 / 2 ** reduce);
}

/** Bytes held at the peak of a JPEG 2000 region decode: the pixels twice, and the codec's block. */
function jp2DecodeBytes(chosen: RenderRoute, jp2: Jp2Description): number {
  const estimate = jp2Decode(chosen, jp2);
  const samples = jp2.info.components * (jp2.info.bits > 8 ? 2 : 1);
  // decode.ts holds blocks of at most 4 MP (or one tile) as 32-bit samples plus its own output.
  const block = Math.min(estimate.pixels, Math.max(4 * 1024 * 1024, jp2.info.tile.width * jp2.info.tile.height / 4 ** estimate.reduce));
  return estimate.pixels * samples * 2 + block * jp2.info.components * (4 + samples / jp2.info.components) + 64 * 1024 * 1024 + estimate.bytesRead;
}

// ---- access copies -----------------------------------------------------------------------

/** Around a conversion: the job reaching a worker, the master fetched, the copy stored. */
const ACCESS_COPY_OVERHEAD_SECONDS = 10;
/** Storage throughput both ways, megabytes a second. */
const ACCESS_COPY_MEGABYTES_PER_SECOND = 50;
/**
 * Nanoseconds a pixel of the master to write its access copy with sharp (this machine, both
 * cores): the levels' shrinks and the JPEG or Deflate tiles, a third more pixels for the
 * levels below the full one. Rounded up from a 75 MP JPEG master made into its copy in 1.8 s,
 * its decode included.
 */
const ACCESS_COPY_WRITE_NS = { jpeg: 20, deflate: 80 } as const;

/**
 * How long building `source`'s access copy should take, in whole seconds, from the moment it is
 * queued: the Retry-After of SOURCE_NEEDS_ACCESS_COPY. Decoding the master (a JPEG 2000 on one
 * thread, as jp2Decode prices it at full resolution; anything else as estimateRenderSeconds
 * prices its decode) and writing the pyramid, on Lambda, plus the transfers and the queue.
 */
export function estimateAccessCopySeconds(source: SourceProbe): number {
  const pixels = source.width * source.height;
  const jpeg = source.depth === 'uchar' && !source.hasAlpha;
  const write = (pixels * (jpeg ? ACCESS_COPY_WRITE_NS.jpeg : ACCESS_COPY_WRITE_NS.deflate) * LAMBDA_SLOWDOWN) / 1e9;
  let decode: number;
  let masterBytes: number;
  if (source.jp2 !== undefined) {
    const { fileBytes } = source.jp2;
    decode = ((pixels / 1e6) * JP2_DECODE_COST.secondsPerMegapixel + (fileBytes / 1e6) * JP2_DECODE_COST.secondsPerMegabyte) * JP2_LAMBDA_SLOWDOWN + JP2_WARMUP_SECONDS;
    masterBytes = fileBytes;
  } else {
    const whole = route(fullPlan(source), source, { inputIsPath: true });
    decode = (decodeNanoseconds(whole, source) * LAMBDA_SLOWDOWN) / 1e9;
    masterBytes = pixels * source.channels * (source.depth === 'ushort' ? 2 : 1) * 0.5;
  }
  const copyBytes = pixels * (jpeg ? 0.5 : source.channels * (source.depth === 'ushort' ? 2 : 1)) * (4 / 3);
  const transfer = (masterBytes + copyBytes) / 1e6 / ACCESS_COPY_MEGABYTES_PER_SECOND;
  return Math.ceil(ACCESS_COPY_OVERHEAD_SECONDS + decode + write + transfer);
}

/** A Plan for the whole image at full size: what a conversion decodes. */
function fullPlan(source: SourceProbe): Plan {
  const whole = { x: 0, y: 0, width: source.width, height: source.height };
  return { identifier: '', source: { width: source.width, height: source.height }, limits: {}, region: whole, size: { width: source.width, height: source.height }, mirror: false, rotation: 0, quality: 'default', format: 'tif' };
}

/**
 * Refuse a render from a JPEG 2000 master that does not fit a request (jp2RenderableNow is
 * false): it waits for the master's access copy. Nothing for any other source.
 * @throws UnavailableError SOURCE_NEEDS_ACCESS_COPY (503), Retry-After: estimateAccessCopySeconds.
 */
export function assertRenderableNow(plan: Plan, source: SourceProbe): void {
  if (source.jp2 === undefined || jp2RenderableNow(plan, source)) return;
  const cost = estimateJp2Decode(plan, source);
  const at = cost.reduce === 0 ? 'full resolution' : `1/${2 ** cost.reduce}`;
  throw new UnavailableError(
    'SOURCE_NEEDS_ACCESS_COPY',
    `${expected(`a decode of at most ${JP2_RENDER_NOW_SECONDS} s from a JPEG 2000 master`, 'the image', `about ${Math.ceil(cost.seconds)} s: ${cost.pixels} pixels at ${at}`)}; it is rendered from the master's access copy (a tiled pyramidal TIFF) once that is built`,
    estimateAccessCopySeconds(source),
  );
}
