/**
 * The core assertion of the render tests: every square of a grid that the Plan keeps visible
 * has the right colour at the right place in the output.
 */
import type { Plan, RenderableFormat } from '../../lib/iiif/types.js';
import { BITONAL_THRESHOLD } from '../../lib/render/index.js';
import type { Grid } from '../support/fixtures.js';
import type { Pixels } from './support.js';
import { channelDistance, expectedColour, grayOf, mapPoint, meanAt } from './support.js';

/** Per-channel tolerance at the centre of a flat square, by output format. */
export const TOLERANCE: Record<RenderableFormat, number> = { png: 2, tif: 2, gif: 8, webp: 8, jpg: 8 };
/**
 * How many output pixels of a square must show, each way, before its centre is checked: enough
 * to stay clear of resampling ringing (Lanczos reaches 3 pixels) and of JPEG's 16-pixel chroma
 * blocks.
 */
export const MIN_VISIBLE: Record<RenderableFormat, number> = { png: 8, tif: 8, gif: 8, webp: 16, jpg: 24 };

export interface GridCheck {
  /** Squares checked. */
  readonly checked: number;
  /** One line per square whose colour is off. */
  readonly failures: readonly string[];
}

/** Check the centre of the visible part of every square (rotations by multiples of 90). */
export function checkGrid(pixels: Pixels, plan: Plan, grid: Grid, options: { readonly tolerance?: number; readonly minVisible?: number } = {}): GridCheck {
  const tolerance = options.tolerance ?? TOLERANCE[plan.format];
  const minVisible = options.minVisible ?? MIN_VISIBLE[plan.format];
  const { region, size } = plan;
  const failures: string[] = [];
  let checked = 0;
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      const cell = grid.cellBounds(col, row);
      const x0 = Math.max(cell.x0, region.x);
      const x1 = Math.min(cell.x1, region.x + region.width);
      const y0 = Math.max(cell.y0, region.y);
      const y1 = Math.min(cell.y1, region.y + region.height);
      if (x1 <= x0 || y1 <= y0) continue;
      const visibleWidth = ((x1 - x0) * size.width) / region.width;
      const visibleHeight = ((y1 - y0) * size.height) / region.height;
      if (Math.min(visibleWidth, visibleHeight) < minVisible) continue;
      const colour = grid.cellColour(col, row);
      // Bitonal squares whose luminance sits near the threshold could go either way after JPEG.
      if (plan.quality === 'bitonal' && Math.abs(grayOf(colour) - BITONAL_THRESHOLD) < 6) continue;
      const at = mapPoint(plan, (x0 + x1) / 2, (y0 + y1) / 2);
      const seen = meanAt(pixels, Math.floor(at.x), Math.floor(at.y), 1);
      const want = expectedColour(colour, plan.quality, BITONAL_THRESHOLD);
      checked++;
      if (channelDistance(seen, want) > tolerance) {
        const round = (c: { r: number; g: number; b: number }): string => `(${Math.round(c.r)},${Math.round(c.g)},${Math.round(c.b)})`;
        failures.push(`square ${col},${row} at output ${Math.floor(at.x)},${Math.floor(at.y)}: ${round(seen)} instead of ${round(want)}`);
      }
    }
  }
  return { checked, failures };
}
