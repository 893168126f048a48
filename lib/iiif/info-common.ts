/**
 * What both versions' info.json advertise: the sizes and tiles a viewer may ask for. Every
 * entry is servable within the limits and resolves to the same pixels in either version.
 */
import { effectiveLimits, heightForWidth, limitExceeded } from './size.js';
import type { Limits, Size, SourceImage } from './types.js';

/** Sizes stop halving once the longer side would drop below this. */
const SMALLEST_SIZE = 32;
/** Native tile sizes are doubled up to this floor: smaller tiles cost more requests than they save. */
const MIN_TILE = 256;
const MAX_TILE = 1024;

export interface TileSpec {
  readonly width: number;
  readonly height: number;
  readonly scaleFactors: readonly number[];
}

/**
 * The `sizes` list, smallest first: the pyramid's levels when the source has them, halvings
 * otherwise. Each height is the one `w,` yields for that width, so the 2.1 `w,` and the 3.0
 * `w,h` forms of an entry name the same pixels.
 */
export function advertisedSizes(source: SourceImage, limits: Limits): Size[] {
  const full: Size = { width: source.width, height: source.height };
  const widths = new Set<number>();
  const levels = source.levels !== undefined && source.levels.length > 1 ? source.levels : halvings(full);
  for (const level of levels) {
    if (level.width >= 1 && level.width <= source.width) widths.add(level.width);
  }
  return [...widths]
    .map((width) => ({ width, height: heightForWidth(width, full) }))
    .filter((size) => size.height >= 1 && limitExceeded(size, limits) === undefined)
    .sort((a, b) => a.width - b.width);
}

function halvings(full: Size): Size[] {
  const sizes: Size[] = [];
  for (let factor = 1; ; factor *= 2) {
    const size = { width: Math.round(full.width / factor), height: Math.round(full.height / factor) };
    if (factor > 1 && Math.max(size.width, size.height) < SMALLEST_SIZE) break;
    sizes.push(size);
    if (size.width <= 1 || size.height <= 1) break;
  }
  return sizes;
}

/**
 * The square tile edge: the source's own square tiles when it has them, else the configured one,
 * never larger than the limits allow (3.0 §5.2, 2.1 §5.3: servers MUST keep advertised tiles
 * within maxWidth, maxHeight and maxArea).
 */
export function tileEdge(source: SourceImage, configured: number, limits: Limits = {}): number {
  return Math.min(preferredTileEdge(source, configured), largestSquare(limits));
}

function preferredTileEdge(source: SourceImage, configured: number): number {
  const native = source.tile;
  if (native === undefined || native.width !== native.height || native.width < 1) return configured;
  let edge = native.width;
  while (edge < MIN_TILE) edge *= 2;
  return Math.min(edge, MAX_TILE);
}

/** The side of the largest square tile the limits allow. */
function largestSquare(limits: Limits): number {
  const { maxWidth, maxHeight, maxArea } = effectiveLimits(limits);
  let side = Number.POSITIVE_INFINITY;
  if (maxWidth !== undefined) side = Math.min(side, maxWidth);
  if (maxHeight !== undefined) side = Math.min(side, maxHeight);
  if (maxArea !== undefined) side = Math.min(side, Math.floor(Math.sqrt(maxArea)));
  return Math.max(1, side);
}

/** One tile spec: scale factors 1, 2, 4, … up to the one at which the whole image is one tile. */
export function advertisedTiles(source: SourceImage, configured: number, limits: Limits = {}): TileSpec[] {
  const edge = tileEdge(source, configured, limits);
  const scaleFactors: number[] = [];
  for (let factor = 1; ; factor *= 2) {
    scaleFactors.push(factor);
    if (Math.ceil(Math.max(source.width, source.height) / factor) <= edge) break;
  }
  return [{ width: edge, height: edge, scaleFactors }];
}
