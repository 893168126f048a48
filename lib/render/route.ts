/**
 * How to turn one Plan into pixels while reading as little of the source as possible: which
 * stored resolution to open, what to cut from it, what to resize to, and which flips and turns
 * follow. Pure: render() executes a route with sharp; tests check the choice itself.
 *
 * All coordinates here are in stored orientation: the Plan's region (displayed orientation) is
 * carried back through the EXIF orientation first, and the orientation is then re-applied
 * together with the IIIF mirror and rotation as one flip-and-turn after the resize, where it
 * costs least (on the output pixels, not the source pixels).
 */
import type { Plan, Rect, Size } from '../iiif/types.js';
import type { Dihedral, Level } from './geometry.js';
import {
  chooseLevel, compose, invert, isWhole, makeLevels, orientationTransform, regionInLevel,
  rotatedCanvas, sameSize, splitRotation, transformRect, transformSize,
} from './geometry.js';
import type { SourceProbe } from './probe.js';

/** JPEG shrink-on-load factors libjpeg offers (DCT scaling). */
export const JPEG_SHRINK_FACTORS = [1, 2, 4, 8] as const;
export type JpegShrink = (typeof JPEG_SHRINK_FACTORS)[number];

/**
 * A JPEG given as a Buffer cannot be asked for a DCT-scaled decode directly; sharp does it by
 * itself for a resize of the whole image, but only from a 3x reduction on (below that it rounds
 * its factor down to 1), so smaller reductions gain nothing from resizing first.
 */
export const JPEG_RESIZE_FIRST_MIN_SHRINK = 3;

/** What to open: the whole file, a page or SubIFD of a pyramid, or a JPEG decoded at 1/N. */
export interface LoadSpec {
  readonly page?: number;
  readonly subifd?: number;
  readonly shrink?: Exclude<JpegShrink, 1>;
}

export const STRATEGIES = ['level', 'resize-first', 'direct'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface RenderRoute {
  /**
   * - `level`: open a reduced resolution (pyramid page or SubIFD, or a JPEG file decoded at
   *   1/2, 1/4 or 1/8), cut the region from it, resize what remains;
   * - `resize-first`: resize the whole image, then cut the scaled region (lets sharp use JPEG
   *   and WebP shrink-on-load, which any earlier cut disables);
   * - `direct`: cut, then resize.
   */
  readonly strategy: Strategy;
  readonly load: LoadSpec;
  /** Index of the resolution opened: 0 for full, else the pyramid level or log2 of the shrink. */
  readonly level: number;
  /** The size of what is opened, stored orientation. */
  readonly loaded: Size;
  /** Cut before resizing, in the opened image's pixels. */
  readonly extract?: Rect;
  /** Resize target: the region's output size, or for `resize-first` the whole image's. */
  readonly resize?: Size;
  /** `resize-first` only: the scaled region inside the resized image, before any flip or turn. */
  readonly extractAfterResize?: Rect;
  /** Flip and quarter turns after the resize: orientation, then mirror, then rotation. */
  readonly transform: Dihedral;
  /** Residual clockwise rotation in (0, 90) degrees, 0 for none. */
  readonly residualDegrees: number;
  /** The region's size after resizing, stored orientation. */
  readonly scaled: Size;
  /** The final canvas. */
  readonly output: Size;
}

export interface RouteOptions {
  /** Whether the input is a file path libvips can take load options on (see route()). */
  readonly inputIsPath: boolean;
}

/**
 * Choose the route for `plan` on `source`.
 *
 * Reading less: a pyramidal TIFF is opened at the smallest level that still covers the output,
 * and a JPEG 2000 decoded at the smallest reduction (1/2^r) that does;
 * a JPEG file at the largest DCT scale (1/2, 1/4, 1/8) that still does, exactly like a pyramid
 * level (libjpeg's scaled pixel i covers source pixels [N*i, N*(i+1)), so region coordinates
 * scale exactly); a JPEG Buffer or a WebP source is resized whole before the scaled region is
 * cut when the reduction allows shrink-on-load; anything else is cut first, which for tiled
 * TIFF reads only the tiles under the region.
 *
 * A JPEG file is opened as `path[shrink=N]`, libvips' own syntax for load options, which sharp
 * passes through for file inputs: sharp has no such option, and its automatic shrink-on-load is
 * turned off by any cut before the resize and rounds an exact 8x down to 4x (and 2x to none).
 * Decoding a scale-factor-8 tile at 1/8 directly is ~25 % faster than resizing the whole image
 * first, and ~2x faster than cutting at full resolution (bench/).
 */
export function route(plan: Plan, source: SourceProbe, options: RouteOptions): RenderRoute {
  const toDisplay = orientationTransform(source.orientation);
  const toStored = invert(toDisplay);
  const display: Size = { width: source.width, height: source.height };
  const stored = transformSize(display, toStored);
  const region = transformRect(plan.region, display, toStored);
  const scaled = transformSize(plan.size, toStored);
  const rotation = splitRotation(plan.mirror, plan.rotation);
  const transform = compose(rotation.transform, toDisplay);
  const residualDegrees = rotation.residual;
  const output = residualDegrees === 0
    ? transformSize(scaled, transform)
    : rotatedCanvas(scaled, transform.quarterTurns * 90 + residualDegrees);
  const common = { transform, residualDegrees, scaled, output };

  const { levels, loadFor } = storedLevels(source, stored, options);
  const level = chooseLevel(levels, region, scaled);
  if (level.index > 0) {
    const cut = regionInLevel(region, level);
    const load = loadFor(level.index);
    return {
      strategy: 'level',
      load,
      level: level.index,
      loaded: level.size,
      // A JPEG opened with `[shrink=N]` always gets a cut, even of the whole image: without one,
      // sharp would try its own shrink-on-load by reopening the file through jpegload, which
      // does not understand the bracketed options, and fail.
      ...(isWhole(cut, level.size) && load.shrink === undefined ? {} : { extract: cut }),
      ...(sameSize(cut, scaled) ? {} : { resize: scaled }),
      ...common,
    };
  }

  const whole = isWhole(region, stored);
  const shrink = Math.min(region.width / scaled.width, region.height / scaled.height);
  const shrinkOnLoad = (source.format === 'jpeg' && shrink >= JPEG_RESIZE_FIRST_MIN_SHRINK) || (source.format === 'webp' && shrink > 1);
  if (!whole && shrinkOnLoad && levels.length === 1) {
    // Scale the whole image by the region's factor, then cut the region's scaled rectangle.
    const resized: Size = {
      width: Math.max(scaled.width, Math.round((stored.width * scaled.width) / region.width)),
      height: Math.max(scaled.height, Math.round((stored.height * scaled.height) / region.height)),
    };
    const x = clamp(Math.round((region.x * resized.width) / stored.width), 0, resized.width - scaled.width);
    const y = clamp(Math.round((region.y * resized.height) / stored.height), 0, resized.height - scaled.height);
    return {
      strategy: 'resize-first',
      load: loadFor(0),
      level: 0,
      loaded: stored,
      resize: resized,
      extractAfterResize: { x, y, width: scaled.width, height: scaled.height },
      ...common,
    };
  }

  return {
    strategy: 'direct',
    load: loadFor(0),
    level: 0,
    loaded: stored,
    ...(whole ? {} : { extract: region }),
    ...(sameSize(region, scaled) ? {} : { resize: scaled }),
    ...common,
  };
}

/**
 * libvips takes load options in brackets after a file name (`photo.jpg[shrink=8]`). A path that
 * already ends in `]` would be misread, so such a path never gets them.
 */
export function canTakeLoadOptions(path: string): boolean {
  return !path.endsWith(']');
}

function storedLevels(source: SourceProbe, stored: Size, options: RouteOptions): { levels: Level[]; loadFor: (index: number) => LoadSpec } {
  const toStored = invert(orientationTransform(source.orientation));
  if (source.format === 'tiff' && source.levels.length > 1) {
    const sizes = source.levels.map((level) => transformSize(level, toStored));
    const subifds = source.pyramid === 'subifds';
    return {
      levels: makeLevels(stored, sizes),
      loadFor: (index) => (index === 0 ? {} : subifds ? { subifd: index - 1 } : { page: index }),
    };
  }
  if (source.format === 'jp2') {
    // A JPEG 2000's reduced resolutions are its levels: level r is a decode at 1/2^r.
    return { levels: makeLevels(stored, source.levels.length > 0 ? source.levels : [stored]), loadFor: () => ({}) };
  }
  if (source.format === 'jpeg' && options.inputIsPath) {
    const factors = JPEG_SHRINK_FACTORS.filter((n) => Math.floor(stored.width / n) >= 1 && Math.floor(stored.height / n) >= 1);
    return {
      levels: factors.map((n, index) => ({
        index,
        // libvips reports floor(S / N); the rectangle maths clamps to it.
        size: { width: Math.floor(stored.width / n), height: Math.floor(stored.height / n) },
        scaleX: 1 / n,
        scaleY: 1 / n,
      })),
      loadFor: (index) => {
        const shrink = factors[index];
        return shrink === undefined || shrink === 1 ? {} : { shrink };
      },
    };
  }
  return { levels: makeLevels(stored, [stored]), loadFor: () => ({}) };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
