/**
 * A Plan to encoded pixels with sharp: one libvips pipeline per request (two when a rotation is
 * not a multiple of 90 degrees), following the route chosen in route.ts.
 */
import sharp from 'sharp';
import type { Sharp, SharpOptions } from 'sharp';
import type { EncodeConfig } from '../config.js';
import { IiifRequestError, SourceError, UnsupportedError, expected } from '../errors.js';
import { MEDIA_TYPES, RENDERABLE_FORMATS } from '../iiif/types.js';
import type { Plan, Rect, RenderableFormat } from '../iiif/types.js';
import { encoderSettings } from './encode.js';
import type { EncoderSettings } from './encode.js';
import { assertRenderableNow, assertRenderMemory } from './estimate.js';
import { toRenderError } from './failure.js';
import { transformRect } from './geometry.js';
import { decodeJp2 } from './jp2/decode.js';
import { headerOf } from './jp2/describe.js';
import { bufferRange, openFileRange } from './jp2/reader.js';
import { SOURCE_FORMATS } from './probe.js';
import type { SourceProbe } from './probe.js';
import { canTakeLoadOptions, route } from './route.js';
import type { LoadSpec, RenderRoute } from './route.js';
import { configureSharp } from './setup.js';
import { levelImage, readRegion } from './tiff/region.js';
import { passthroughTile, readPassthroughJpeg } from './tiff/passthrough.js';
import { emptyStats, readExactly, type ReadRange } from './tiff/ranges.js';
import { regionTiff } from './tiff/wrap.js';

/**
 * A master read by byte ranges: a tiled TIFF whose structure is in its probe (SourceProbe.tiff),
 * or a JPEG 2000 (SourceProbe.jp2). Only the tiles under a region are read and decoded; of a
 * JPEG 2000, only at the resolution the output needs.
 */
export interface RangedInput {
  /** Exactly `length` bytes of the master from `offset` (pinned to the version probed). */
  readonly read: ReadRange;
}

/** What a render reads: the master's file, its bytes, or a way to read its ranges. */
export type RenderInput = Buffer | string | RangedInput;

export interface RenderOptions {
  readonly encode: EncodeConfig;
  /** Sources with more pixels than this are refused (SOURCE_TOO_LARGE). */
  readonly maxInputPixels: number;
  /** Stop a pipeline that runs longer than this (RENDER_TIMEOUT); unset means no limit. */
  readonly timeoutSeconds?: number;
  /**
   * Refuse (RENDER_TOO_LARGE) a render estimated to need more memory than this, in bytes (see
   * renderMemoryBudget); unset means no limit.
   */
  readonly memoryBudgetBytes?: number;
}

export interface RenderResult {
  readonly data: Buffer;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

/**
 * `bitonal`: a pixel is white (255) when its luminance is at least this, else black (0). The
 * luminance is that of `gray`: Rec. 709 weights in linear light, re-encoded with the sRGB curve,
 * 0..255. No dithering, so flat areas stay flat and text stays crisp.
 */
export const BITONAL_THRESHOLD = 128;

/** Largest width or height each encoder can write. */
export const MAX_OUTPUT_SIDE = {
  jpg: 65_535,
  png: 2 ** 31 - 1,
  webp: 16_383,
  tif: 2 ** 31 - 1,
  gif: 65_535,
} as const satisfies Record<RenderableFormat, number>;

/** Formats that carry alpha: a rotation's uncovered corners are transparent in these. */
const ALPHA_FORMATS: ReadonlySet<RenderableFormat> = new Set(['png', 'webp', 'gif', 'tif']);
const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

/**
 * Render `plan` from `input` (a file path or the whole source in memory), described by `source`
 * (its probe). Mirror happens before rotation; an arbitrary rotation grows the canvas to the
 * rotated bounding box, transparent where the format has alpha and white for JPEG; alpha sources
 * are flattened onto white for JPEG. Output is 8-bit sRGB: CMYK and ICC-tagged sources are
 * converted through their profiles; no profile is embedded (see encode.ts).
 *
 * @throws TypeError when the plan does not fit the source (a caller bug, not a client error).
 * @throws IiifRequestError `IIIF_LIMIT_EXCEEDED` (400) for a size over the Plan's limits.
 * @throws SourceError `SOURCE_UNREADABLE` (corrupt or truncated pixel data) or
 *   `SOURCE_TOO_LARGE` (over `maxInputPixels`), both 422.
 * @throws UnsupportedError `FORMAT_NOT_SUPPORTED` (501) for an output larger than the format
 *   can hold (WebP: 16383 pixels a side), or a format that is not renderable;
 *   `SOURCE_FORMAT_NOT_SUPPORTED` (501) for a source format lib/render does not decode;
 *   `RENDER_TOO_LARGE` (501) when the render would need more than `memoryBudgetBytes`.
 * @throws UnavailableError `RENDER_TIMEOUT` (503) when `timeoutSeconds` ran out;
 *   `SOURCE_NEEDS_ACCESS_COPY` (503, Retry-After: estimateAccessCopySeconds) for a JPEG 2000
 *   master when the decode does not fit a request (jp2RenderableNow is false): the render
 *   waits for the master's access copy.
 *
 * A JPEG 2000 master (`source.jp2`) is always read by ranges, whatever the input: a file path or
 * bytes are read through a ReadRange of their own.
 */
export async function render(input: RenderInput, plan: Plan, source: SourceProbe, options: RenderOptions): Promise<RenderResult> {
  configureSharp();
  assertPlanFits(plan, source);
  if (!(SOURCE_FORMATS as readonly string[]).includes(source.format)) {
    throw new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(`a source in one of ${SOURCE_FORMATS.join(', ')}`, 'the source format', source.format));
  }
  if (source.jp2 !== undefined && (typeof input === 'string' || Buffer.isBuffer(input))) return renderJp2Whole(input, plan, source, options);
  const ranged = rangedInput(input, source);
  if (ranged === undefined && source.width * source.height > options.maxInputPixels) {
    throw new SourceError('SOURCE_TOO_LARGE', expected(`at most ${options.maxInputPixels} pixels`, 'the source', `${source.width}x${source.height}`));
  }
  assertWithinLimits(plan);
  const inputIsPath = typeof input === 'string' && canTakeLoadOptions(input);
  const chosen = route(plan, source, { inputIsPath });
  // Read by ranges, the limit bounds what this request decodes: the cut of the chosen level.
  if (ranged !== undefined) assertDecodeWithin(decodedRect(chosen), options.maxInputPixels);
  const limit = MAX_OUTPUT_SIDE[plan.format];
  if (chosen.output.width > limit || chosen.output.height > limit) {
    throw new UnsupportedError('FORMAT_NOT_SUPPORTED', expected(`at most ${limit} pixels a side for ${plan.format} output`, 'the size', `${chosen.output.width}x${chosen.output.height}`));
  }
  assertRenderableNow(plan, source);
  assertRenderMemory(plan, source, options.memoryBudgetBytes);
  if (ranged !== undefined) {
    const stored = await passthrough(ranged, plan, chosen, source);
    if (stored !== undefined) return stored;
  }
  const withAlpha = ALPHA_FORMATS.has(plan.format);
  const outputHasAlpha = withAlpha && (source.hasAlpha || chosen.residualDegrees !== 0);
  const encoder = encoderSettings(plan.format, plan.quality, chosen.output, options.encode, outputHasAlpha);
  const deadline = options.timeoutSeconds === undefined ? undefined : Date.now() + options.timeoutSeconds * 1000;
  const context = { maxInputPixels: options.maxInputPixels, timeoutSeconds: options.timeoutSeconds, ...(ranged === undefined ? { input: fileOrBytes(input) } : {}) };

  try {
    let pipeline: Sharp;
    if (chosen.residualDegrees === 0) {
      pipeline = await geometry(input, chosen, source, options, plan.format, true);
    } else {
      // libvips applies an arbitrary rotation before any cut that follows a resize, so the
      // scaled region is made first, as raw sRGB pixels, and turned in a second pipeline.
      const first = (await geometry(input, chosen, source, options, plan.format, false)).toColourspace('srgb').raw();
      const { data, info } = await withTimeout(first, deadline).toBuffer({ resolveWithObject: true });
      pipeline = sharp(data, {
        raw: { width: info.width, height: info.height, channels: info.channels },
        // Our own intermediate, the size of the requested output: the source limit was applied.
        limitInputPixels: Math.max(options.maxInputPixels, info.width * info.height),
      })
        .flop(chosen.transform.flop)
        .rotate(chosen.transform.quarterTurns * 90 + chosen.residualDegrees, { background: withAlpha ? TRANSPARENT : WHITE });
    }
    pipeline = applyQuality(pipeline, plan.quality);
    pipeline = applyEncoder(pipeline, encoder);
    const { data, info } = await withTimeout(pipeline, deadline).toBuffer({ resolveWithObject: true });
    return { data, contentType: MEDIA_TYPES[plan.format], width: info.width, height: info.height };
  } catch (error) {
    throw toRenderError(error, context);
  }
}

/**
 * Open the source as the route says and cut, resize, and (when `transform` is set) flip and turn.
 * sharp applies its steps in a fixed order whatever the call order (extract, resize, flop,
 * quarter turns, then any cut made after a resize), hence the rectangle carried through the
 * transform for `resize-first`.
 */
async function geometry(input: RenderInput, chosen: RenderRoute, source: SourceProbe, options: RenderOptions, format: RenderableFormat, transform: boolean): Promise<Sharp> {
  const ranged = rangedInput(input, source);
  // A region read by ranges is the cut already.
  let pipeline: Sharp;
  if (ranged === undefined) pipeline = openSource(fileOrBytes(input), chosen.load, source, options.maxInputPixels, format);
  else if (source.jp2 !== undefined) pipeline = await openJp2Region(ranged, source, chosen.level, decodedRect(chosen), options.maxInputPixels, format);
  else pipeline = await openRegion(ranged, source, chosen.level, decodedRect(chosen), options.maxInputPixels, format);
  if (chosen.extract !== undefined && ranged === undefined) {
    const { x, y, width, height } = chosen.extract;
    pipeline = pipeline.extract({ left: x, top: y, width, height });
  }
  if (chosen.resize !== undefined) {
    pipeline = pipeline.resize({ width: chosen.resize.width, height: chosen.resize.height, fit: 'fill' });
  }
  if (chosen.extractAfterResize !== undefined && chosen.resize !== undefined) {
    const cut = transform ? transformRect(chosen.extractAfterResize, chosen.resize, chosen.transform) : chosen.extractAfterResize;
    pipeline = pipeline.extract({ left: cut.x, top: cut.y, width: cut.width, height: cut.height });
  }
  if (transform) {
    if (chosen.transform.flop) pipeline = pipeline.flop();
    if (chosen.transform.quarterTurns !== 0) pipeline = pipeline.rotate(chosen.transform.quarterTurns * 90);
  }
  return pipeline;
}

/**
 * Open `input` at the resolution `load` names, as every render does: sharp's pixel limit,
 * failOn 'warning', 16-bit tagged sources brought to sRGB at load, alpha flattened onto white
 * when the output is JPEG. For code that renders from a route itself (pre-warm batches), so the
 * bytes match render()'s.
 */
export function openSource(input: Buffer | string, load: LoadSpec, source: SourceProbe, maxInputPixels: number, format: RenderableFormat): Sharp {
  return colourAtLoad(sharp(loadTarget(input, load), loadOptions(load, maxInputPixels)), source, format);
}

/**
 * Open `rect` of pyramid level `level` of a master read by ranges: only the tiles under it are
 * read and decoded, then handed to libvips as an uncompressed TIFF carrying the master's colour
 * description (ICC profile included), and brought to sRGB at load as openSource does.
 * @throws SourceError SOURCE_UNREADABLE for corrupt tiles; UnsupportedError for what the tile
 *   decoder cannot read.
 */
export async function openRegion(input: RangedInput, source: SourceProbe, level: number, rect: Rect, maxInputPixels: number, format: RenderableFormat): Promise<Sharp> {
  const structure = rangedStructure(source);
  const image = levelImage(structure, level);
  const [region, icc] = await Promise.all([
    readRegion(input.read, structure, level, rect),
    image.iccProfile === undefined ? undefined : readExactly(input.read, image.iccProfile.offset, image.iccProfile.length, emptyStats()),
  ]);
  // Our own decode, already held to the limit (assertDecodeWithin).
  return colourAtLoad(sharp(regionTiff(region.pixels, icc), loadOptions({}, Math.max(maxInputPixels, rect.width * rect.height))), source, format);
}

/**
 * Open `rect` of reduction `reduce` (pixels of the image at 1/2^reduce) of a JPEG 2000 master
 * read by ranges: only the tiles under it are read, and of those only what that resolution
 * needs when the master says where it ends (lib/render/jp2). The pixels reach libvips as
 * openRegion's do: an uncompressed TIFF with the master's ICC profile, brought to sRGB at load.
 * @throws SourceError SOURCE_UNREADABLE for a corrupt codestream; UnsupportedError for what the
 *   decoder cannot output or a decode too large for its heap.
 */
export async function openJp2Region(input: RangedInput, source: SourceProbe, reduce: number, rect: Rect, maxInputPixels: number, format: RenderableFormat): Promise<Sharp> {
  const description = source.jp2;
  if (description === undefined) throw new TypeError(expected('a probe with the JPEG 2000 description (SourceProbe.jp2)', 'a JPEG 2000 render', 'a probe without one'));
  const icc = description.icc === undefined ? undefined : await readExactly(input.read, description.icc.offset, description.icc.length, emptyStats());
  const f = 2 ** reduce;
  const { width, height } = description.info;
  // The rectangle on the full-resolution grid whose reduction is `rect` (decodeJp2 rounds out).
  const area = { x: rect.x * f, y: rect.y * f, width: Math.min(width - rect.x * f, rect.width * f), height: Math.min(height - rect.y * f, rect.height * f) };
  const bytesPerPixel = description.info.components * (description.info.bits > 8 ? 2 : 1);
  const decoded = await decodeJp2(input.read, headerOf(description, icc), { reduce, area, maxBytes: Math.max(maxInputPixels, rect.width * rect.height) * bytesPerPixel });
  const pixels = { data: decoded.data, width: decoded.width, height: decoded.height, channels: decoded.channels, bitsPerSample: decoded.bits, premultiplied: false };
  let pipeline = sharp(regionTiff(pixels, icc), loadOptions({}, Math.max(maxInputPixels, decoded.width * decoded.height)));
  const { x, y } = decoded.region;
  if (x !== rect.x || y !== rect.y || decoded.width !== rect.width || decoded.height !== rect.height) {
    pipeline = pipeline.extract({ left: rect.x - x, top: rect.y - y, width: rect.width, height: rect.height });
  }
  return colourAtLoad(pipeline, source, format);
}

/** A JPEG 2000 master given whole (a file or its bytes), rendered through a ReadRange of its own. */
async function renderJp2Whole(input: Buffer | string, plan: Plan, source: SourceProbe, options: RenderOptions): Promise<RenderResult> {
  if (Buffer.isBuffer(input)) return render({ read: bufferRange(input) }, plan, source, options);
  let file: Awaited<ReturnType<typeof openFileRange>>;
  try {
    file = await openFileRange(input);
  } catch (error) {
    throw toRenderError(error, { maxInputPixels: options.maxInputPixels, input });
  }
  try {
    return await render({ read: file.read }, plan, source, options);
  } finally {
    await file.close();
  }
}

function colourAtLoad(opened: Sharp, source: SourceProbe, format: RenderableFormat): Sharp {
  let pipeline = opened;
  if (source.hasProfile && source.depth === 'ushort') {
    // sharp converts 16-bit tagged sources to Display P3 and, without an output profile, never
    // back: colours would come out shifted. Bringing them to 8-bit sRGB at load is exact enough
    // for 8-bit output.
    pipeline = pipeline.pipelineColourspace('srgb');
  }
  if (source.hasAlpha && format === 'jpg') pipeline = pipeline.flatten({ background: WHITE });
  return pipeline;
}

/**
 * The stored JPEG tile a request names exactly (its cut is one whole tile of the chosen level, at
 * the tile's own size, unturned, in colour as stored, as JPEG), as a standalone JPEG: no decode,
 * no re-encode. Undefined when the request is anything else.
 */
async function passthrough(input: RangedInput, plan: Plan, chosen: RenderRoute, source: SourceProbe): Promise<RenderResult | undefined> {
  const index = passthroughIndex(plan, chosen, source);
  if (index === undefined) return undefined;
  const structure = rangedStructure(source);
  const { jpeg } = await readPassthroughJpeg(input.read, structure, levelImage(structure, chosen.level), index);
  const rect = decodedRect(chosen);
  return { data: jpeg, contentType: MEDIA_TYPES.jpg, width: rect.width, height: rect.height };
}

/** The stored tile a routed Plan is exactly, when it can be passed through (see passthrough). */
export function passthroughIndex(plan: Plan, chosen: RenderRoute, source: SourceProbe): number | undefined {
  if (source.tiff === undefined || plan.format !== 'jpg' || (plan.quality !== 'default' && plan.quality !== 'color')) return undefined;
  if (chosen.resize !== undefined || chosen.residualDegrees !== 0 || chosen.transform.flop || chosen.transform.quarterTurns !== 0) return undefined;
  return passthroughTile(levelImage(source.tiff, chosen.level), decodedRect(chosen));
}

/** The rectangle of the opened level a route decodes: its cut, or the whole level. */
function decodedRect(chosen: RenderRoute): Rect {
  return chosen.extract ?? { x: 0, y: 0, width: chosen.loaded.width, height: chosen.loaded.height };
}

function assertDecodeWithin(rect: Rect, maxInputPixels: number): void {
  if (rect.width * rect.height > maxInputPixels) {
    throw new SourceError('SOURCE_TOO_LARGE', expected(`at most ${maxInputPixels} decoded pixels (RENDER_MAX_INPUT_PIXELS)`, 'the region of the pyramid level this request reads', `${rect.width}x${rect.height}`));
  }
}

/** The ranged input, when the input is one; it needs the structure (TIFF) or description (JPEG 2000) in the probe. */
export function rangedInput(input: RenderInput, source: SourceProbe): RangedInput | undefined {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return undefined;
  if (source.jp2 === undefined) rangedStructure(source);
  return input;
}

function rangedStructure(source: SourceProbe): NonNullable<SourceProbe['tiff']> {
  if (source.tiff === undefined) throw new TypeError(expected('a probe with the TIFF structure (SourceProbe.tiff)', 'a ranged render', 'a probe without one'));
  return source.tiff;
}

/** The file path or bytes of a whole-file input. @throws TypeError for a ranged one (a caller bug). */
export function fileOrBytes(input: RenderInput): Buffer | string {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return input;
  throw new TypeError(expected('a file path or bytes', 'the input of a whole-file render', 'a ranged input'));
}

function loadTarget(input: Buffer | string, load: LoadSpec): Buffer | string {
  return typeof input === 'string' && load.shrink !== undefined ? `${input}[shrink=${load.shrink}]` : input;
}

function loadOptions(load: LoadSpec, maxInputPixels: number): SharpOptions {
  return {
    limitInputPixels: maxInputPixels,
    // sharp's default for untrusted input: a decoder warning (corrupt entropy data, a truncated
    // strip) fails the render with SOURCE_UNREADABLE instead of serving garbled pixels.
    failOn: 'warning',
    ...(load.page === undefined ? {} : { page: load.page }),
    ...(load.subifd === undefined ? {} : { tiff: { subifd: load.subifd } }),
  };
}

/** The IIIF quality as the last colour step: sRGB, one-channel luminance, or thresholded. */
export function applyQuality(pipeline: Sharp, quality: Plan['quality']): Sharp {
  switch (quality) {
    case 'default':
    case 'color':
      return pipeline.toColourspace('srgb');
    case 'gray':
      // One channel: half the work of grayscale(), which keeps three.
      return pipeline.toColourspace('b-w');
    case 'bitonal':
      return pipeline.threshold(BITONAL_THRESHOLD, { grayscale: true }).toColourspace('b-w');
  }
}

/** The encoder `encoderSettings()` chose. */
export function applyEncoder(pipeline: Sharp, encoder: EncoderSettings): Sharp {
  switch (encoder.format) {
    case 'jpeg': return pipeline.jpeg(encoder.options);
    case 'png': return pipeline.png(encoder.options);
    case 'webp': return pipeline.webp(encoder.options);
    case 'gif': return pipeline.gif(encoder.options);
    case 'tiff': return pipeline.tiff(encoder.options);
  }
}

function withTimeout(pipeline: Sharp, deadline: number | undefined): Sharp {
  if (deadline === undefined) return pipeline;
  const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  return pipeline.timeout({ seconds });
}

/**
 * The output cap from config (IIIF_MAX_WIDTH, IIIF_MAX_HEIGHT, IIIF_MAX_AREA), as carried in the
 * Plan. The IIIF resolver refuses such requests first; this keeps render() safe for Plans made
 * elsewhere (pre-warming, tools).
 */
function assertWithinLimits(plan: Plan): void {
  const { width, height } = plan.size;
  const { maxWidth, maxHeight, maxArea } = plan.limits;
  const size = `${width}x${height}`;
  if (maxWidth !== undefined && width > maxWidth) throw new IiifRequestError('IIIF_LIMIT_EXCEEDED', expected(`a width of at most ${maxWidth} (maxWidth)`, 'the size', size));
  if (maxHeight !== undefined && height > maxHeight) throw new IiifRequestError('IIIF_LIMIT_EXCEEDED', expected(`a height of at most ${maxHeight} (maxHeight)`, 'the size', size));
  if (maxArea !== undefined && width * height > maxArea) throw new IiifRequestError('IIIF_LIMIT_EXCEEDED', expected(`at most ${maxArea} pixels (maxArea)`, 'the size', size));
}

function assertPlanFits(plan: Plan, source: SourceProbe): void {
  const { region, size } = plan;
  const whole = (n: number): boolean => Number.isInteger(n);
  if (![region.x, region.y, region.width, region.height].every(whole) || region.x < 0 || region.y < 0 ||
    region.width < 1 || region.height < 1 || region.x + region.width > source.width || region.y + region.height > source.height) {
    throw new TypeError(expected(`a region of whole pixels inside ${source.width}x${source.height}`, 'the plan', JSON.stringify(region)));
  }
  if (!whole(size.width) || !whole(size.height) || size.width < 1 || size.height < 1) {
    throw new TypeError(expected('a size of at least 1x1 whole pixels', 'the plan', JSON.stringify(size)));
  }
  if (!(plan.rotation >= 0 && plan.rotation < 360)) {
    throw new TypeError(expected('a rotation in [0, 360)', 'the plan', String(plan.rotation)));
  }
  if (!(RENDERABLE_FORMATS as readonly string[]).includes(plan.format)) {
    throw new UnsupportedError('FORMAT_NOT_SUPPORTED', expected(`one of ${RENDERABLE_FORMATS.join(', ')}`, 'the format', plan.format));
  }
}

