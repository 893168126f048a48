/**
 * The same grid stored every way a source arrives (JPEG baseline and progressive, PNG 8/16-bit
 * and palette, TIFF striped, tiled and pyramidal with LZW/Deflate/JPEG, WebP, GIF), given as a
 * Buffer and as a file path: each route through lib/render must put the same squares in the
 * same places.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, render, route } from '../../lib/render/index.js';
import type { Plan } from '../../lib/iiif/types.js';
import {
  baselineJpeg, gif, gridImage, palettePng, progressiveJpeg, sixteenBit, tiff, webp,
} from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { checkGrid } from './grid-check.js';
import { OPTIONS, decode, makePlan } from './support.js';
import type { PlanForm } from './support.js';

let dir: string;
let grid: Grid;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recto-render-sources-'));
  grid = await gridImage();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface SourceCase {
  readonly name: string;
  readonly make: (grid: Grid) => Promise<Buffer>;
  readonly extension: string;
  /** Per-channel tolerance: lossy sources carry their own error into every output. */
  readonly tolerance: number;
}

const CASES: readonly SourceCase[] = [
  { name: 'PNG', make: (g) => Promise.resolve(g.png), extension: 'png', tolerance: 2 },
  { name: 'palette PNG', make: (g) => palettePng(g.png), extension: 'png', tolerance: 3 },
  { name: '16-bit PNG', make: (g) => sixteenBit(g.png, 'png'), extension: 'png', tolerance: 2 },
  { name: 'baseline JPEG', make: (g) => baselineJpeg(g.png), extension: 'jpg', tolerance: 5 },
  { name: 'progressive JPEG', make: (g) => progressiveJpeg(g.png), extension: 'jpg', tolerance: 5 },
  { name: 'striped Deflate TIFF', make: (g) => tiff(g.png, { compression: 'deflate' }), extension: 'tif', tolerance: 2 },
  { name: '16-bit TIFF', make: (g) => sixteenBit(g.png, 'tiff'), extension: 'tif', tolerance: 2 },
  { name: 'tiled LZW TIFF', make: (g) => tiff(g.png, { tile: 256, compression: 'lzw' }), extension: 'tif', tolerance: 2 },
  { name: 'tiled JPEG TIFF', make: (g) => tiff(g.png, { tile: 256, compression: 'jpeg', quality: 95 }), extension: 'tif', tolerance: 6 },
  { name: 'pyramidal TIFF (pages)', make: (g) => tiff(g.png, { tile: 128, compression: 'deflate', pyramid: 'pages' }), extension: 'tif', tolerance: 3 },
  { name: 'pyramidal TIFF (SubIFDs)', make: (g) => tiff(g.png, { tile: 128, compression: 'deflate', pyramid: 'subifds' }), extension: 'tif', tolerance: 3 },
  { name: 'lossless WebP', make: (g) => webp(g.png, { lossless: true }), extension: 'webp', tolerance: 2 },
  { name: 'lossy WebP', make: (g) => webp(g.png, { quality: 95 }), extension: 'webp', tolerance: 8 },
  { name: 'GIF', make: (g) => gif(g.png), extension: 'gif', tolerance: 2 },
];

/** Plans that take each route: whole image, shrinks of 2, 4 and 8 (JPEG DCT scales, pyramid levels), crops, turns. */
const PLANS: readonly [string, PlanForm][] = [
  ['full/max', {}],
  ['full/!300,300', { size: { fit: [300, 300] } }],
  ['a 2x reduction', { region: { x: 300, y: 300, w: 500, h: 400 }, size: { w: 250 } }],
  ['a 4x reduction', { region: { x: 0, y: 0, w: 512, h: 512 }, size: { w: 128 } }],
  ['an 8x reduction', { region: { x: 200, y: 96, w: 800, h: 800 }, size: { w: 100 } }],
  ['a full-resolution crop, mirrored and turned', { region: { x: 250, y: 250, w: 400, h: 300 }, rotation: 90, mirror: true }],
  ['a 4x reduction, mirrored and turned 270', { region: { x: 100, y: 300, w: 800, h: 600 }, size: { w: 200 }, rotation: 270, mirror: true }],
];

describe.each(CASES)('a $name source', (sourceCase) => {
  let bytes: Buffer;
  let path: string;
  beforeAll(async () => {
    bytes = await sourceCase.make(grid);
    path = join(dir, `${sourceCase.name.replace(/\W+/g, '-')}.${sourceCase.extension}`);
    await writeFile(path, bytes);
  });

  describe.each([['a Buffer', false], ['a file path', true]] as const)('given as %s', (_how, asPath) => {
    it.each(PLANS)('renders %s with every square in place', async (_name, form) => {
      // Prepare
      const input = asPath ? path : bytes;
      const source = await probe(input, OPTIONS);
      const plan: Plan = makePlan(grid, { ...form, format: 'png' });
      // Act
      const result = await render(input, plan, source, OPTIONS);
      // Assess
      const pixels = await decode(result.data);
      const check = checkGrid(pixels, plan, grid, { tolerance: sourceCase.tolerance, minVisible: 8 });
      expect(check.failures).toEqual([]);
      expect(check.checked).toBeGreaterThan(0);
      const turned = plan.rotation % 180 === 90;
      expect({ width: result.width, height: result.height }).toEqual(turned ? { width: plan.size.height, height: plan.size.width } : plan.size);
    });
  });
});

describe('the route taken', () => {
  it('decodes a JPEG file at 1/8 for an 8x reduction, and resizes a JPEG Buffer whole first', async () => {
    // Prepare
    const bytes = await baselineJpeg(grid.png);
    const path = join(dir, 'route.jpg');
    await writeFile(path, bytes);
    const source = await probe(bytes, OPTIONS);
    const plan = makePlan(grid, { region: { x: 200, y: 96, w: 800, h: 800 }, size: { w: 100 } });
    // Act
    const fromPath = route(plan, source, { inputIsPath: true });
    const fromBuffer = route(plan, source, { inputIsPath: false });
    // Assess
    expect(fromPath).toMatchObject({ strategy: 'level', load: { shrink: 8 }, loaded: { width: 125, height: 125 }, extract: { x: 25, y: 12, width: 100, height: 100 } });
    expect(fromPath.resize).toBeUndefined();
    expect(fromBuffer).toMatchObject({ strategy: 'resize-first', resize: { width: 125, height: 125 }, extractAfterResize: { x: 25, y: 12, width: 100, height: 100 } });
  });

  it('renders a JPEG file reduced beyond 1/8: the DCT scale, then a resize', async () => {
    // Prepare: 25x, so sharp would want its own shrink-on-load (3x and more) on top of ours.
    const big = await gridImage({ width: 2000, height: 2000 });
    const path = join(dir, 'beyond-eight.jpg');
    await writeFile(path, await baselineJpeg(big.png));
    const source = await probe(path, OPTIONS);
    const plan = makePlan(big, { size: { w: 80 } });
    // Act
    const result = await render(path, plan, source, OPTIONS);
    // Assess
    expect(route(plan, source, { inputIsPath: true })).toMatchObject({ strategy: 'level', load: { shrink: 8 }, resize: { width: 80, height: 80 } });
    expect({ width: result.width, height: result.height }).toEqual({ width: 80, height: 80 });
    const check = checkGrid(await decode(result.data), plan, big, { tolerance: 6, minVisible: 8 });
    expect(check.failures).toEqual([]);
    expect(check.checked).toBe(100);
  });

  it('cuts a PNG before resizing it', async () => {
    // Prepare
    const source = await probe(grid.png, OPTIONS);
    const plan = makePlan(grid, { region: { x: 200, y: 96, w: 800, h: 800 }, size: { w: 100 } });
    // Act
    const chosen = route(plan, source, { inputIsPath: true });
    // Assess
    expect(chosen).toMatchObject({ strategy: 'direct', extract: { x: 200, y: 96, width: 800, height: 800 }, resize: { width: 100, height: 100 } });
  });
});
