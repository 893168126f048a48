/**
 * Pure geometry for the render engine: the eight flips and quarter turns (EXIF orientations, IIIF
 * mirroring and rotation by multiples of 90), rectangles carried through them, and the choice of
 * the smallest stored resolution that still covers the requested output. Nothing here touches
 * sharp, so every rule is unit-tested on plain numbers.
 */
import type { Rect, Size } from '../iiif/types.js';

export const QUARTER_TURNS = [0, 1, 2, 3] as const;
export type QuarterTurns = (typeof QUARTER_TURNS)[number];

/**
 * One of the eight symmetries of a rectangle image: mirror left-right first when `flop`, then
 * turn clockwise by `quarterTurns` x 90 degrees. This is the order sharp applies `flop()` and
 * `rotate(90 * k)` after a resize, so a Dihedral maps onto sharp calls one to one.
 */
export interface Dihedral {
  readonly flop: boolean;
  readonly quarterTurns: QuarterTurns;
}

export const IDENTITY: Dihedral = { flop: false, quarterTurns: 0 };

function turns(n: number): QuarterTurns {
  return (((n % 4) + 4) % 4) as QuarterTurns;
}

/** `outer` after `inner`. A mirror reverses the direction of any turn applied before it. */
export function compose(outer: Dihedral, inner: Dihedral): Dihedral {
  const innerTurns = outer.flop ? -inner.quarterTurns : inner.quarterTurns;
  return { flop: outer.flop !== inner.flop, quarterTurns: turns(outer.quarterTurns + innerTurns) };
}

/** The symmetry that undoes `d`. */
export function invert(d: Dihedral): Dihedral {
  return { flop: d.flop, quarterTurns: d.flop ? d.quarterTurns : turns(-d.quarterTurns) };
}

export function isIdentity(d: Dihedral): boolean {
  return !d.flop && d.quarterTurns === 0;
}

/** Whether `d` swaps width and height. */
export function swapsAxes(d: Dihedral): boolean {
  return d.quarterTurns % 2 === 1;
}

export function transformSize(size: Size, d: Dihedral): Size {
  return swapsAxes(d) ? { width: size.height, height: size.width } : { width: size.width, height: size.height };
}

/** Where `rect`, inside an image of `imageSize`, lands once `d` is applied to the whole image. */
export function transformRect(rect: Rect, imageSize: Size, d: Dihedral): Rect {
  let { x, y, width, height } = rect;
  let { width: imageWidth, height: imageHeight } = imageSize;
  if (d.flop) x = imageWidth - x - width;
  for (let i = 0; i < d.quarterTurns; i++) {
    // A clockwise quarter turn sends pixel (px, py) of a W x H image to (H - 1 - py, px).
    [x, y, width, height] = [imageHeight - y - height, x, height, width];
    [imageWidth, imageHeight] = [imageHeight, imageWidth];
  }
  return { x, y, width, height };
}

/**
 * The symmetry that turns stored pixels into displayed pixels for an EXIF orientation (1..8),
 * as libvips' autorot and sharp's autoOrient apply it (rotate, then mirror): 2 mirrors, 3 turns
 * 180, 4 flips top to bottom, 5 transposes, 6 turns 90 clockwise, 7 transverses, 8 turns 270.
 * Anything else, including an absent tag, is 1.
 */
export function orientationTransform(orientation: number): Dihedral {
  switch (orientation) {
    case 2: return { flop: true, quarterTurns: 0 };
    case 3: return { flop: false, quarterTurns: 2 };
    case 4: return { flop: true, quarterTurns: 2 };
    case 5: return { flop: true, quarterTurns: 3 };
    case 6: return { flop: false, quarterTurns: 1 };
    case 7: return { flop: true, quarterTurns: 1 };
    case 8: return { flop: false, quarterTurns: 3 };
    default: return IDENTITY;
  }
}

/**
 * IIIF rotation after resizing: mirror first (IIIF 3.0 §4.3), then turn clockwise. `degrees`
 * is split into whole quarter turns, done losslessly, and a residual angle in [0, 90) that needs
 * resampling onto a larger canvas.
 */
export function splitRotation(mirror: boolean, degrees: number): { readonly transform: Dihedral; readonly residual: number } {
  const quarters = Math.floor(degrees / 90);
  // Plans carry at most 6 decimals; rounding keeps 90.0000004-style float noise out of the residual.
  const residual = Math.round((degrees - quarters * 90) * 1e6) / 1e6;
  return { transform: { flop: mirror, quarterTurns: turns(quarters) }, residual };
}

/**
 * The size of the canvas that holds a `size` image turned by `degrees`: the rotated bounding
 * box, rounded to the nearest whole pixel as libvips' rotate rounds it.
 */
export function rotatedCanvas(size: Size, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  return {
    width: Math.max(1, Math.round(size.width * cos + size.height * sin)),
    height: Math.max(1, Math.round(size.width * sin + size.height * cos)),
  };
}

// ---- resolution levels -----------------------------------------------------------------

/** One stored resolution of a source, in stored (not displayed) orientation. */
export interface Level {
  readonly index: number;
  readonly size: Size;
  /** Stored pixels per full-resolution pixel, per axis (1 for the full image, 1/8 for 8x). */
  readonly scaleX: number;
  readonly scaleY: number;
}

/**
 * The scale of a reduced level. libvips (like most pyramid writers) builds each level by halving
 * the one above and dropping a trailing odd pixel, so level k covers exactly 2^k source pixels
 * per pixel even though its size is floor(S / 2^k): snap to that power of two when the size
 * says so, or fall back to the plain ratio for pyramids written some other way.
 */
export function levelScale(full: number, reduced: number): number {
  if (reduced >= full) return 1;
  const k = Math.round(Math.log2(full / reduced));
  const factor = 2 ** k;
  return Math.abs(full / factor - reduced) <= 1 ? 1 / factor : reduced / full;
}

export function makeLevels(full: Size, sizes: readonly Size[]): Level[] {
  return sizes.map((size, index) => ({
    index,
    size,
    scaleX: index === 0 ? 1 : levelScale(full.width, size.width),
    scaleY: index === 0 ? 1 : levelScale(full.height, size.height),
  }));
}

/**
 * The smallest level that still has at least as many pixels across the region as the output
 * asks for, so the resize only ever shrinks (or is skipped). Half a pixel of slack absorbs the
 * rounding in level sizes and in IIIF sizes of edge tiles; it never costs visible sharpness.
 * Levels must be largest first; the first is the full image and always qualifies.
 */
export function chooseLevel(levels: readonly Level[], region: Size, output: Size): Level {
  for (let i = levels.length - 1; i > 0; i--) {
    const level = levels[i];
    if (level === undefined) continue;
    if (region.width * level.scaleX + 0.5 >= output.width && region.height * level.scaleY + 0.5 >= output.height) {
      return level;
    }
  }
  const full = levels[0];
  if (full === undefined) throw new TypeError('Expected at least one level for a source but received none');
  return full;
}

/**
 * `region` (full-resolution pixels) in the pixels of `level`, rounded to whole pixels and kept
 * inside the level: at most half a level pixel off, which is at most half an output pixel.
 */
export function regionInLevel(region: Rect, level: Level): Rect {
  const left = Math.min(level.size.width - 1, Math.round(region.x * level.scaleX));
  const top = Math.min(level.size.height - 1, Math.round(region.y * level.scaleY));
  const right = Math.max(left + 1, Math.min(level.size.width, Math.round((region.x + region.width) * level.scaleX)));
  const bottom = Math.max(top + 1, Math.min(level.size.height, Math.round((region.y + region.height) * level.scaleY)));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

export function sameSize(a: Size, b: Size): boolean {
  return a.width === b.width && a.height === b.height;
}

export function isWhole(rect: Rect, size: Size): boolean {
  return rect.x === 0 && rect.y === 0 && rect.width === size.width && rect.height === size.height;
}
