/**
 * How long a render will take, before doing it: requests whose estimate exceeds the budget
 * (API Gateway gives 30 s) go asynchronous instead of timing out. A cost model over the pixels
 * each stage touches, with per-pixel costs measured on this 2-core machine by `npm run bench`
 * (rounded up), then multiplied for a slower Lambda (one vCPU at 1769 MB, less below).
 */
import { UnsupportedError, expected } from '../errors.js';
import type { Plan } from '../iiif/types.js';
import { JPEG_PROGRESSIVE_MAX_PIXELS, JPEG_PROGRESSIVE_MIN_PIXELS, JPEG_STREAMING_MIN_PIXELS } from './encode.js';
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
  return (BASE_SECONDS + (decoded + resized + rotated + encoded) / 1e9) * LAMBDA_SLOWDOWN;
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
