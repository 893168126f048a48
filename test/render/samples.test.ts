/**
 * The committed samples (infra/local/make-samples.ts) are what the local stack serves first:
 * they must probe as described and stay small.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probe, render } from '../../lib/render/index.js';
import { gridImage } from '../support/fixtures.js';
import { checkGrid } from './grid-check.js';
import { OPTIONS, decode, makePlan } from './support.js';

const samples = join(import.meta.dirname, '..', '..', 'samples');

describe('samples', () => {
  it.each([
    ['grid.png', { format: 'png', width: 1000, height: 1000, levels: [{ width: 1000, height: 1000 }] }],
    ['photo.jpg', { format: 'jpeg', width: 2000, height: 1500, orientation: 1, hasProfile: false, space: 'srgb' }],
    ['pyramid.tif', { format: 'tiff', width: 2048, height: 1536, tile: { width: 256, height: 256 }, pyramid: 'pages' }],
  ])('%s probes as described and is under 1 MB', async (name, expected) => {
    // Prepare
    const path = join(samples, name);
    // Act
    const source = await probe(path, OPTIONS);
    // Assess
    expect(source).toMatchObject(expected);
    expect((await stat(path)).size).toBeLessThan(1024 * 1024);
  });

  it('grid.png is the 10x10 grid of known colours', async () => {
    // Prepare
    const path = join(samples, 'grid.png');
    const grid = await gridImage();
    const plan = makePlan(grid, { size: { w: 500 } });
    // Act
    const result = await render(path, plan, await probe(path, OPTIONS), OPTIONS);
    // Assess
    const check = checkGrid(await decode(result.data), plan, grid);
    expect(check.failures).toEqual([]);
    expect(check.checked).toBe(100);
  });
});
