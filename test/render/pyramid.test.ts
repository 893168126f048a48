/**
 * Pyramidal TIFF: the probe finds the levels (as pages or as SubIFDs) and the tile size, render
 * opens the smallest level that still covers the output, and the pixels match what the flat
 * source gives for the same Plan.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { probe, render, route } from '../../lib/render/index.js';
import type { SourceProbe } from '../../lib/render/index.js';
import { fromRaw, gridImage, photoLikeRaw, tiff } from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { checkGrid } from './grid-check.js';
import { OPTIONS, decode, makePlan } from './support.js';
import type { PlanForm, Pixels } from './support.js';

let grid: Grid;
let pages: Buffer;
let subifds: Buffer;
let pagesProbe: SourceProbe;
let subifdsProbe: SourceProbe;
let flatProbe: SourceProbe;

beforeAll(async () => {
  grid = await gridImage({ width: 2000, height: 1500, cols: 10, rows: 10 });
  pages = await tiff(grid.png, { pyramid: 'pages', tile: 256, compression: 'deflate' });
  subifds = await tiff(grid.png, { pyramid: 'subifds', tile: 256, compression: 'deflate' });
  [pagesProbe, subifdsProbe, flatProbe] = await Promise.all([probe(pages, OPTIONS), probe(subifds, OPTIONS), probe(grid.png, OPTIONS)]);
});

function meanAbsoluteDifference(a: Pixels, b: Pixels): number {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0));
  return sum / a.data.length;
}

describe('a pyramidal TIFF', () => {
  it('is probed with its levels, largest first, and its tile size', () => {
    // Assess
    const levels = [{ width: 2000, height: 1500 }, { width: 1000, height: 750 }, { width: 500, height: 375 }, { width: 250, height: 187 }];
    expect(pagesProbe).toMatchObject({ format: 'tiff', width: 2000, height: 1500, levels, tile: { width: 256, height: 256 }, pyramid: 'pages', pages: 4 });
    expect(subifdsProbe).toMatchObject({ format: 'tiff', width: 2000, height: 1500, levels, tile: { width: 256, height: 256 }, pyramid: 'subifds', pages: 1 });
  });

  const LEVELS: readonly [string, PlanForm, number][] = [
    ['full/max opens the full level', {}, 0],
    ['full/!400,400 opens the 500-pixel level', { size: { fit: [400, 400] } }, 2],
    ['full/250, opens the 250-pixel level', { size: { w: 250 } }, 3],
    ['full/251, cannot use the 250-pixel level', { size: { w: 251 } }, 2],
    ['a scale-factor-2 tile opens level 1', { region: { x: 1024, y: 512, w: 1024, h: 988 }, size: { w: 488 } }, 1],
    ['a scale-factor-8 tile opens level 3', { region: { x: 0, y: 0, w: 2000, h: 1500 }, size: { w: 250, h: 188 } }, 3],
    ['a full-resolution tile opens the full level', { region: { x: 512, y: 512, w: 512, h: 512 } }, 0],
    ['an upscale opens the full level', { region: { x: 0, y: 0, w: 100, h: 100 }, size: { w: 300 } }, 0],
  ];

  it.each(LEVELS)('%s', (_name, form, level) => {
    // Prepare
    const plan = makePlan(grid, form);
    // Act
    const fromPages = route(plan, pagesProbe, { inputIsPath: false });
    const fromSubifds = route(plan, subifdsProbe, { inputIsPath: false });
    // Assess
    expect(fromPages.level).toBe(level);
    expect(fromSubifds.level).toBe(level);
    expect(fromPages.load).toEqual(level === 0 ? {} : { page: level });
    expect(fromSubifds.load).toEqual(level === 0 ? {} : { subifd: level - 1 });
  });

  it('cuts a tile that matches a level exactly without resampling it', () => {
    // Prepare: a 1024-pixel region at scale factor 4 is 256 pixels of level 2.
    const plan = makePlan(grid, { region: { x: 1024, y: 0, w: 976, h: 1024 }, size: { w: 244, h: 256 } });
    // Act
    const chosen = route(plan, pagesProbe, { inputIsPath: false });
    // Assess
    expect(chosen).toMatchObject({ strategy: 'level', level: 2, extract: { x: 256, y: 0, width: 244, height: 256 } });
    expect(chosen.resize).toBeUndefined();
  });

  describe.each([['pages', () => pages, () => pagesProbe], ['SubIFDs', () => subifds, () => subifdsProbe]] as const)('with levels as %s', (_kind, input, source) => {
    it.each(LEVELS)('gives the flat source\'s pixels when %s', async (_name, form) => {
      // Prepare
      const plan = makePlan(grid, { ...form, format: 'png' });
      // Act
      const [pyramid, flat] = await Promise.all([render(input(), plan, source(), OPTIONS), render(grid.png, plan, flatProbe, OPTIONS)]);
      // Assess
      const [a, b] = await Promise.all([decode(pyramid.data), decode(flat.data)]);
      expect(checkGrid(a, plan, grid).failures).toEqual([]);
      expect(meanAbsoluteDifference(a, b)).toBeLessThan(4);
    });
  });

  it('gives a photograph\'s pixels within tolerance of the flat source', async () => {
    // Prepare: texture at every scale, where the level's box filter and Lanczos differ most.
    const raw = await photoLikeRaw({ width: 2048, height: 1536, seed: 3 });
    const png = await fromRaw(raw).png({ compressionLevel: 1 }).toBuffer();
    const pyramid = await tiff(png, { pyramid: 'pages', tile: 256, compression: 'deflate' });
    const [pyramidProbe, pngProbe] = await Promise.all([probe(pyramid, OPTIONS), probe(png, OPTIONS)]);
    const plans = [
      makePlan(raw, { size: { fit: [400, 400] } }),
      makePlan(raw, { region: { x: 1024, y: 0, w: 1024, h: 1024 }, size: { w: 256 } }),
      makePlan(raw, { region: { x: 512, y: 512, w: 1024, h: 1024 }, size: { w: 512 } }),
    ];
    for (const plan of plans) {
      // Act
      const [a, b] = await Promise.all([render(pyramid, plan, pyramidProbe, OPTIONS), render(png, plan, pngProbe, OPTIONS)]);
      // Assess
      expect(route(plan, pyramidProbe, { inputIsPath: false }).level).toBeGreaterThan(0);
      expect(meanAbsoluteDifference(await decode(a.data), await decode(b.data))).toBeLessThan(3);
    }
  });
});
