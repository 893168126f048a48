/**
 * The committed samples (infra/local/make-samples.ts) are what the local stack serves first:
 * they must probe as described and stay small.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { GRID_SIZE, validationPixels } from '../../infra/cli/conformance/grid.js';
import { probe } from '../../lib/render/index.js';
import { OPTIONS } from './support.js';

const samples = join(import.meta.dirname, '..', '..', 'samples');

describe('samples', () => {
  it.each([
    ['grid.png', { format: 'png', width: 1000, height: 1000, levels: [{ width: 1000, height: 1000 }] }],
    ['map.png', { format: 'png', width: 6000, height: 4000, levels: [{ width: 6000, height: 4000 }] }],
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

  it('grid.png is the IIIF validator\'s image, pixel for pixel (the conformance suite runs on it)', async () => {
    // Prepare
    const path = join(samples, 'grid.png');
    // Act
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    // Assess
    expect([info.width, info.height, info.channels]).toEqual([GRID_SIZE, GRID_SIZE, 3]);
    expect(data.equals(validationPixels())).toBe(true);
  });

  it('map.png has detail that only full resolution shows (what deep zoom is for)', async () => {
    // Prepare: a 512-pixel tile of the town at full resolution, and the same tile as a viewer
    // shows it from 8 times further out (scaled down and back up).
    const path = join(samples, 'map.png');
    const region = { left: 3700, top: 500, width: 512, height: 512 };
    // Act
    const full = await sharp(path).extract(region).greyscale().raw().toBuffer();
    const far = await sharp(await sharp(path).extract(region).greyscale().resize(64, 64).toBuffer()).resize(512, 512).raw().toBuffer();
    // Assess: strokes and letters a few pixels wide differ clearly between the two.
    let difference = 0;
    for (let i = 0; i < full.length; i++) difference += Math.abs((full[i] ?? 0) - (far[i] ?? 0));
    expect(difference / full.length).toBeGreaterThan(8);
  });
});
