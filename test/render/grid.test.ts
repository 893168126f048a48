/**
 * Real pixels from the IIIF validator's kind of test image (1000x1000, a 10x10 grid of coloured
 * squares): every region form, size form, rotation by quarter turns with and without mirroring,
 * every quality and every format, checked square by square.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe, render } from '../../lib/render/index.js';
import type { SourceProbe } from '../../lib/render/index.js';
import { QUALITIES, RENDERABLE_FORMATS } from '../../lib/iiif/types.js';
import type { Quality, RenderableFormat } from '../../lib/iiif/types.js';
import { gridImage } from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { checkGrid } from './grid-check.js';
import { OPTIONS, decode, makePlan, pixelAt } from './support.js';
import type { PlanForm, RegionForm, SizeForm } from './support.js';

let grid: Grid;
let source: SourceProbe;
/** 1000x600: `square` is a true sub-region here. */
let wide: Grid;
let wideSource: SourceProbe;

beforeAll(async () => {
  grid = await gridImage();
  source = await probe(grid.png, OPTIONS);
  wide = await gridImage({ width: 1000, height: 600, cols: 10, rows: 6 });
  wideSource = await probe(wide.png, OPTIONS);
});

const REGIONS: readonly [string, RegionForm][] = [
  ['full', 'full'],
  ['square', 'square'],
  ['x,y,w,h', { x: 120, y: 230, w: 410, h: 330 }],
  ['x,y,w,h partly outside, cropped', { x: 700, y: 150, w: 500, h: 400 }],
  ['pct:x,y,w,h', { pct: [12.5, 20, 50, 37.5] }],
];

const SIZES: readonly [string, SizeForm][] = [
  ['max', 'max'],
  ['w,', { w: 300 }],
  [',h', { h: 240 }],
  ['pct:n', { pct: 40 }],
  ['w,h (distorting)', { w: 350, h: 180 }],
  ['!w,h', { fit: [260, 260] }],
  ['^w, (upscaled)', { w: 1400 }],
];

async function renderGrid(g: Grid, probe: SourceProbe, form: PlanForm) {
  const plan = makePlan(g, form);
  const result = await render(g.png, plan, probe, OPTIONS);
  return { plan, result, pixels: await decode(result.data) };
}

describe('render on the 10x10 grid', () => {
  describe.each(REGIONS)('with region %s', (_name, region) => {
    it.each(SIZES)('and size %s puts every visible square in place', async (_sizeName, size) => {
      // Prepare
      const [g, p] = region === 'square' ? [wide, wideSource] : [grid, source];
      // Act
      const { plan, result, pixels } = await renderGrid(g, p, { region, size });
      // Assess
      expect({ width: result.width, height: result.height }).toEqual(plan.size);
      expect({ width: pixels.width, height: pixels.height }).toEqual(plan.size);
      const check = checkGrid(pixels, plan, g);
      expect(check.failures).toEqual([]);
      expect(check.checked).toBeGreaterThan(0);
    });
  });

  describe.each([0, 90, 180, 270])('rotated %i degrees', (rotation) => {
    it.each([false, true])('with mirror %s keeps every square in place', async (mirror) => {
      // Prepare
      const form: PlanForm = { region: { x: 100, y: 300, w: 600, h: 400 }, size: { w: 450 }, rotation, mirror };
      // Act
      const { plan, result, pixels } = await renderGrid(grid, source, form);
      // Assess
      const turned = rotation % 180 === 90;
      expect({ width: result.width, height: result.height }).toEqual(turned ? { width: plan.size.height, height: plan.size.width } : plan.size);
      const check = checkGrid(pixels, plan, grid);
      expect(check.failures).toEqual([]);
      expect(check.checked).toBe(24);
    });
  });

  it('mirrors before rotating: under !90 the top-left square lands bottom-right', async () => {
    // Prepare: IIIF mirrors first, then turns clockwise; turning first would leave it top-left.
    const form: PlanForm = { region: 'full', size: { w: 500 }, rotation: 90, mirror: true };
    // Act
    const { pixels } = await renderGrid(grid, source, form);
    // Assess
    const corner = pixelAt(pixels, 475, 475);
    expect(corner).toMatchObject(grid.cellColour(0, 0));
  });

  describe.each(RENDERABLE_FORMATS)('as %s', (format: RenderableFormat) => {
    it.each(QUALITIES)('in quality %s has the right squares and only the right values', async (quality: Quality) => {
      // Prepare
      const form: PlanForm = { region: { x: 50, y: 150, w: 800, h: 600 }, size: { w: 400 }, rotation: 270, mirror: true, quality, format };
      // Act
      const { plan, result, pixels } = await renderGrid(grid, source, form);
      // Assess
      expect(result.contentType).toBe({ jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', tif: 'image/tiff', gif: 'image/gif' }[format]);
      expect({ width: result.width, height: result.height }).toEqual({ width: 300, height: 400 });
      const check = checkGrid(pixels, plan, grid);
      expect(check.failures).toEqual([]);
      expect(check.checked).toBeGreaterThan(20);
      if (quality === 'gray' || quality === 'bitonal') {
        let colourful = 0;
        for (let i = 0; i < pixels.width * pixels.height; i++) {
          const p = pixelAt(pixels, i % pixels.width, Math.floor(i / pixels.width));
          if (Math.max(Math.abs(p.r - p.g), Math.abs(p.g - p.b)) > (format === 'webp' ? 2 : 0)) colourful++;
        }
        expect(colourful).toBe(0);
      }
      if (quality === 'bitonal') {
        const values = new Set<number>();
        for (let i = 0; i < pixels.data.length; i += pixels.channels) values.add(pixels.data[i] ?? -1);
        if (format === 'jpg') {
          // JPEG is lossy: the edges ring, but the squares are black or white.
          expect(Math.min(...values)).toBeLessThan(8);
          expect(Math.max(...values)).toBeGreaterThan(247);
        } else {
          expect([...values].sort((a, b) => a - b)).toEqual([0, 255]);
        }
      }
    });
  });

  it('keeps gray and bitonal PNG to one channel', async () => {
    // Act
    const gray = await renderGrid(grid, source, { size: { w: 100 }, quality: 'gray' });
    const bitonal = await renderGrid(grid, source, { size: { w: 100 }, quality: 'bitonal' });
    const color = await renderGrid(grid, source, { size: { w: 100 }, quality: 'color' });
    // Assess
    const channels = await Promise.all([gray, bitonal, color].map(async ({ result }) => (await sharp(result.data).metadata()).channels));
    expect(channels).toEqual([1, 1, 3]);
  });
});
