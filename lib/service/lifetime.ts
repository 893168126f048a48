/**
 * How long a derivative is worth keeping. Viewers ask for a small, fixed set of derivatives per
 * image: the `sizes` of info.json and the tiles of its `tiles` grid at its scale factors; a
 * deployment adds its presets. Anything else (a size nobody advertised, a region off the grid,
 * a rotation) is one caller's whim, and a render-scope token can ask for millions of them: those
 * are stored tagged `recto:lifetime=short`, and the derivative bucket's lifecycle rule deletes
 * them after ShortLivedExpirationDays. They are rendered again if asked for again.
 *
 * Only the geometry decides (region, size, rotation, mirroring); any quality and format of a
 * viewer's derivative is kept too (4 qualities × 5 formats: a bounded multiple). A size within
 * one pixel of the grid's is the grid's: viewers round edge tiles and `w,` heights their own way.
 */
import { advertisedSizes, advertisedTiles, heightForWidth, keyPath, resolve, type Limits, type Plan, type Rect, type Size, type SourceImage } from '../iiif/index.js';
import { RectoError } from '../errors.js';
import { presetRequest, type Presets } from './presets.js';

export type Lifetime = 'long' | 'short';

export interface LifetimeRules {
  readonly limits: Limits;
  /** IIIF_TILE_SIZE: the tile edge info.json advertises for sources without square native tiles. */
  readonly tileSize: number;
  readonly presets: Presets;
}

/** Leaflet-IIIF halves the whole image up to five times past the smallest tile level. */
const EXTRA_HALVINGS = 5;

/**
 * 'long' for a derivative a viewer or a preset asks for, 'short' for anything else.
 * @param source the image the Plan was resolved against (the source record's probe)
 */
export function derivativeLifetime(plan: Plan, source: SourceImage, rules: LifetimeRules): Lifetime {
  if (isPreset(plan, source, rules)) return 'long';
  if (plan.rotation !== 0 || plan.mirror) return 'short';
  const tiles = advertisedTiles(source, rules.tileSize, rules.limits);
  const sizes = advertisedSizes(source, rules.limits);
  if (isFull(plan.region, source)) {
    if (sizes.some((size) => same(size, plan.size))) return 'long';
    // The whole image at a power-of-two scale: a level a viewer draws as one tile, down to
    // Leaflet-IIIF's negative zooms past the grid's last level.
    const largest = Math.max(1, ...tiles.flatMap((tile) => tile.scaleFactors));
    for (let factor = 1; factor <= largest * 2 ** EXTRA_HALVINGS; factor *= 2) {
      if (scaledDown(plan.size, plan.region, factor)) return 'long';
    }
  }
  // OpenSeadragon takes `sizes` as its level sizes when it can, and cuts tiles from those.
  const levels = [...sizes, { width: source.width, height: source.height }];
  for (const tile of tiles) {
    for (const factor of tile.scaleFactors) {
      if (onGrid(plan, source, tile, factor, levels)) return 'long';
    }
  }
  return 'short';
}

/** The Plan is one preset resolved for this image, pixel for pixel. */
function isPreset(plan: Plan, source: SourceImage, rules: LifetimeRules): boolean {
  const path = keyPath(plan);
  for (const preset of rules.presets.values()) {
    try {
      if (keyPath(resolve(presetRequest(preset, plan.identifier), source, rules.limits)) === path) return true;
    } catch (error) {
      // A preset that does not apply to this image (larger than it, say) asks for nothing here.
      if (!(error instanceof RectoError)) throw error;
    }
  }
  return false;
}

/**
 * The region is one tile of the grid at this scale factor (tiles of `tile` pixels, covering
 * `tile × factor` source pixels), and its size is the tile's: the region scaled down, or, as
 * OpenSeadragon cuts it from a level size it took from `sizes`, that level's remainder.
 */
function onGrid(plan: Plan, source: Size, tile: Size, factor: number, levels: readonly Size[]): boolean {
  const cell = { width: tile.width * factor, height: tile.height * factor };
  const { x, y, width, height } = plan.region;
  if (x % cell.width !== 0 || y % cell.height !== 0 || x >= source.width || y >= source.height) return false;
  if (width !== Math.min(cell.width, source.width - x) || height !== Math.min(cell.height, source.height - y)) return false;
  if (scaledDown(plan.size, plan.region, factor)) return true;
  // 2.1 OpenSeadragon asks `full` (the region unscaled) for tiles of an image no wider than one.
  if (source.width <= tile.width && same(plan.size, plan.region)) return true;
  const column = x / cell.width;
  const row = y / cell.height;
  return levels.some((level) => {
    const cut = { width: Math.min(tile.width, level.width - column * tile.width), height: Math.min(tile.height, level.height - row * tile.height) };
    return plan.size.width === cut.width && (plan.size.height === cut.height || plan.size.height === heightForWidth(cut.width, plan.region));
  });
}

/**
 * The size is the region scaled down by the factor as a viewer asks for it: `w,h` (within a
 * pixel), or the 2.1 `w,` form, whose height follows the region's aspect ratio and can be far
 * from the scaled height when the region is only a few pixels wide.
 */
function scaledDown(size: Size, region: Size, factor: number): boolean {
  const width = Math.ceil(region.width / factor);
  if (near(size, { width, height: Math.ceil(region.height / factor) })) return true;
  return Math.abs(size.width - width) <= 1 && size.height === heightForWidth(size.width, region);
}

function isFull(region: Rect, source: Size): boolean {
  return region.x === 0 && region.y === 0 && region.width === source.width && region.height === source.height;
}

function same(a: Size, b: Size): boolean {
  return a.width === b.width && a.height === b.height;
}

/** Within one pixel each way: how far viewers' roundings of the same tile differ. */
function near(size: Size, expected: Size): boolean {
  return Math.abs(size.width - expected.width) <= 1 && Math.abs(size.height - expected.height) <= 1;
}
