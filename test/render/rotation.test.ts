/**
 * Rotation by any angle: the canvas grows to the rotated bounding box, uncovered corners are
 * transparent where the format has alpha and white for JPEG, and the image turns clockwise about
 * its centre, after mirroring.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe, render } from '../../lib/render/index.js';
import type { SourceProbe } from '../../lib/render/index.js';
import type { Plan, RenderableFormat } from '../../lib/iiif/types.js';
import { gridImage } from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { OPTIONS, channelDistance, decode, expectedColour, makePlan, meanAt, pixelAt } from './support.js';
import type { Pixels } from './support.js';
import { BITONAL_THRESHOLD } from '../../lib/render/index.js';

let grid: Grid;
let source: SourceProbe;

beforeAll(async () => {
  grid = await gridImage();
  source = await probe(grid.png, OPTIONS);
});

/** Where source point (x, y) lands: scale, mirror, then turn clockwise about the centre. */
function rotatedPoint(plan: Plan, canvas: { width: number; height: number }, x: number, y: number): { x: number; y: number } {
  const { region, size } = plan;
  let u = ((x - region.x) * size.width) / region.width;
  const v = ((y - region.y) * size.height) / region.height;
  if (plan.mirror) u = size.width - u;
  const radians = (plan.rotation * Math.PI) / 180;
  const dx = u - size.width / 2;
  const dy = v - size.height / 2;
  return {
    x: canvas.width / 2 + dx * Math.cos(radians) - dy * Math.sin(radians),
    y: canvas.height / 2 + dx * Math.sin(radians) + dy * Math.cos(radians),
  };
}

function checkSquares(pixels: Pixels, plan: Plan, tolerance: number): string[] {
  const failures: string[] = [];
  // The inner 6x6 squares: far from the canvas edges whatever the angle.
  for (let row = 2; row < 8; row++) {
    for (let col = 2; col < 8; col++) {
      const cell = grid.cellBounds(col, row);
      const at = rotatedPoint(plan, pixels, (cell.x0 + cell.x1) / 2, (cell.y0 + cell.y1) / 2);
      const seen = meanAt(pixels, Math.floor(at.x), Math.floor(at.y), 1);
      const want = expectedColour(grid.cellColour(col, row), plan.quality, BITONAL_THRESHOLD);
      if (channelDistance(seen, want) > tolerance) failures.push(`square ${col},${row}: ${JSON.stringify(seen)} instead of ${JSON.stringify(want)}`);
    }
  }
  return failures;
}

const corners = (pixels: Pixels) => [
  pixelAt(pixels, 0, 0),
  pixelAt(pixels, pixels.width - 1, 0),
  pixelAt(pixels, 0, pixels.height - 1),
  pixelAt(pixels, pixels.width - 1, pixels.height - 1),
];

describe('arbitrary rotation', () => {
  it.each([
    [22.5, false, { width: 653, height: 653 }],
    [45, false, { width: 707, height: 707 }],
    [45, true, { width: 707, height: 707 }],
    [112.5, true, { width: 653, height: 653 }],
    [330, false, { width: 683, height: 683 }],
  ])('by %f degrees (mirrored: %s) grows the canvas and keeps the squares in place', async (rotation, mirror, canvas) => {
    // Prepare
    const plan = makePlan(grid, { size: { w: 500 }, rotation, mirror, format: 'png' });
    // Act
    const result = await render(grid.png, plan, source, OPTIONS);
    // Assess
    const pixels = await decode(result.data);
    expect({ width: result.width, height: result.height }).toEqual(canvas);
    expect(pixels.channels).toBe(4);
    expect(corners(pixels).map((p) => p.a)).toEqual([0, 0, 0, 0]);
    expect(checkSquares(pixels, plan, 3)).toEqual([]);
  });

  it('grows a non-square region\'s canvas to the rotated bounding box', async () => {
    // Prepare: 300x200 turned 30 degrees: 300 cos 30 + 200 sin 30 = 359.8, 300 sin 30 + 200 cos 30 = 323.2.
    const plan = makePlan(grid, { region: { x: 100, y: 100, w: 600, h: 400 }, size: { w: 300 }, rotation: 30 });
    // Act
    const result = await render(grid.png, plan, source, OPTIONS);
    // Assess
    expect({ width: result.width, height: result.height }).toEqual({ width: 360, height: 323 });
  });

  it('fills the corners with white for JPEG', async () => {
    // Prepare
    const plan = makePlan(grid, { size: { w: 500 }, rotation: 45, format: 'jpg' });
    // Act
    const result = await render(grid.png, plan, source, OPTIONS);
    // Assess
    const pixels = await decode(result.data);
    expect(pixels.channels).toBe(3);
    for (const corner of corners(pixels)) expect(Math.min(corner.r, corner.g, corner.b)).toBeGreaterThanOrEqual(250);
    expect(checkSquares(pixels, plan, 8)).toEqual([]);
  });

  it.each(['webp', 'gif', 'tif'] as const)('leaves the corners transparent in %s', async (format: RenderableFormat) => {
    // Prepare
    const plan = makePlan(grid, { size: { w: 300 }, rotation: 22.5, format });
    // Act
    const result = await render(grid.png, plan, source, OPTIONS);
    // Assess
    const pixels = await decode(result.data);
    expect((await sharp(result.data).metadata()).hasAlpha).toBe(true);
    expect(corners(pixels).map((p) => p.a)).toEqual([0, 0, 0, 0]);
    expect(checkSquares(pixels, plan, 8)).toEqual([]);
  });

  it.each(['gray', 'bitonal'] as const)('keeps %s one channel plus alpha, with transparent corners', async (quality) => {
    // Prepare
    const plan = makePlan(grid, { size: { w: 400 }, rotation: 30, quality, format: 'png' });
    // Act
    const result = await render(grid.png, plan, source, OPTIONS);
    // Assess
    const metadata = await sharp(result.data).metadata();
    expect([metadata.channels, metadata.hasAlpha]).toEqual([2, true]);
    const pixels = await decode(result.data);
    expect(corners(pixels).map((p) => p.a)).toEqual([0, 0, 0, 0]);
    expect(checkSquares(pixels, plan, 3)).toEqual([]);
    if (quality === 'bitonal') {
      const { data } = await sharp(result.data).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      expect([...new Set(data)].sort((a, b) => a - b)).toEqual([0, 255]);
    }
  });
});
