/**
 * EXIF orientation: the probe reports displayed width and height, Plans are in displayed
 * coordinates, and every route (cut first, DCT-scaled level, resize first) gives the upright
 * image for each of the eight orientations.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, render, route } from '../../lib/render/index.js';
import { gridImage, orientedJpeg } from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { checkGrid } from './grid-check.js';
import { OPTIONS, decode, makePlan } from './support.js';
import type { PlanForm } from './support.js';

let dir: string;
let grid: Grid;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recto-render-orientation-'));
  // 8 x 6 squares of 50 pixels: not square, so a missed quarter turn changes the size too.
  grid = await gridImage({ width: 400, height: 304, cols: 8, rows: 6 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PLANS: readonly [string, PlanForm][] = [
  ['full/max', {}],
  ['a crop at full size', { region: { x: 100, y: 48, w: 200, h: 160 } }],
  ['full/!100,100 (an 4x reduction)', { size: { fit: [100, 100] } }],
  ['a crop reduced 2x, mirrored and turned 90', { region: { x: 48, y: 0, w: 304, h: 200 }, size: { w: 152 }, rotation: 90, mirror: true }],
  ['square, turned 270', { region: 'square', size: { w: 120 }, rotation: 270 }],
  // 4x: a Buffer takes the resize-first route, whose cut is carried through the flip and turn.
  ['a crop reduced 4x, mirrored and turned 90', { region: { x: 0, y: 100, w: 400, h: 200 }, size: { w: 100 }, rotation: 90, mirror: true }],
  ['a crop reduced 4x, turned 180', { region: { x: 96, y: 48, w: 304, h: 256 }, size: { w: 76 }, rotation: 180 }],
];

describe.each([1, 2, 3, 4, 5, 6, 7, 8])('a JPEG with EXIF orientation %i', (orientation) => {
  let jpeg: Buffer;
  let path: string;
  beforeAll(async () => {
    jpeg = await orientedJpeg(grid.png, orientation);
    path = join(dir, `orientation-${orientation}.jpg`);
    await writeFile(path, jpeg);
  });

  it('is the upright grid once libvips auto-orients it (the fixture is right)', async () => {
    // Act
    const upright = await sharp(jpeg).autoOrient().png().toBuffer();
    // Assess
    const pixels = await decode(upright);
    expect(checkGrid(pixels, makePlan(grid, { format: 'jpg' }), grid, { tolerance: 6, minVisible: 8 }).failures).toEqual([]);
  });

  it('is probed with its displayed size and orientation', async () => {
    // Act
    const source = await probe(jpeg, OPTIONS);
    // Assess
    expect(source).toMatchObject({ width: 400, height: 304, orientation, levels: [{ width: 400, height: 304 }] });
  });

  describe.each([['a Buffer', false], ['a file path', true]] as const)('given as %s', (_how, asPath) => {
    it.each(PLANS)('renders %s upright', async (_name, form) => {
      // Prepare
      const input = asPath ? path : jpeg;
      const source = await probe(input, OPTIONS);
      const plan = makePlan(grid, form);
      // Act
      const result = await render(input, plan, source, OPTIONS);
      // Assess
      const turned = plan.rotation % 180 === 90;
      expect({ width: result.width, height: result.height }).toEqual(turned ? { width: plan.size.height, height: plan.size.width } : plan.size);
      const check = checkGrid(await decode(result.data), plan, grid, { tolerance: 6, minVisible: 8 });
      expect(check.failures).toEqual([]);
      expect(check.checked).toBeGreaterThan(0);
    });
  });

  it('takes the resize-first route for a 4x crop given as a Buffer', async () => {
    // Prepare
    const source = await probe(jpeg, OPTIONS);
    const plan = makePlan(grid, { region: { x: 0, y: 100, w: 400, h: 200 }, size: { w: 100 }, rotation: 90, mirror: true });
    // Act
    const chosen = route(plan, source, { inputIsPath: false });
    // Assess
    expect(chosen.strategy).toBe('resize-first');
  });

  it('maps the displayed region back to stored pixels for a DCT-scaled load', async () => {
    // Prepare
    const source = await probe(path, OPTIONS);
    const plan = makePlan(grid, { size: { fit: [100, 100] } });
    // Act
    const chosen = route(plan, source, { inputIsPath: true });
    // Assess
    const swapped = orientation >= 5;
    expect(chosen).toMatchObject({ strategy: 'level', load: { shrink: 4 }, loaded: swapped ? { width: 76, height: 100 } : { width: 100, height: 76 } });
  });
});
