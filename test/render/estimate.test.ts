/**
 * The render-time estimate that decides which requests go asynchronous (API Gateway allows
 * 30 s; the default budget is RENDER_BUDGET_SECONDS = 20). bench/ checks it against measured
 * times; here, its decisions on the cases that matter.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config.js';
import { estimateRenderSeconds } from '../../lib/render/index.js';
import type { SourceProbe } from '../../lib/render/index.js';
import { makePlan } from './support.js';

const flatJpeg: SourceProbe = {
  format: 'jpeg', width: 10_000, height: 7_500, levels: [{ width: 10_000, height: 7_500 }], orientation: 1,
  space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1,
};
const pyramid: SourceProbe = {
  ...flatJpeg,
  format: 'tiff',
  levels: [10_000, 5_000, 2_500, 1_250, 625, 312, 156].map((width) => ({ width, height: Math.floor((width * 3) / 4) })),
  tile: { width: 256, height: 256 },
  pages: 7,
  pyramid: 'pages',
};
const budget = DEFAULTS.RENDER_BUDGET_SECONDS;

describe('estimateRenderSeconds', () => {
  it('sends a 75 MP full/max WebP at sharp\'s default effort, and a 75 MP GIF, down the asynchronous path', () => {
    // Act
    const webp = estimateRenderSeconds(makePlan(flatJpeg, { format: 'webp' }), flatJpeg, { webpEffort: 4 });
    const gif = estimateRenderSeconds(makePlan(flatJpeg, { format: 'gif' }), flatJpeg);
    // Assess
    expect(webp).toBeGreaterThan(budget);
    expect(gif).toBeGreaterThan(budget);
  });

  it('keeps a 75 MP full/max JPEG, tiles and thumbnails synchronous', () => {
    // Act
    const seconds = [
      estimateRenderSeconds(makePlan(flatJpeg, { format: 'jpg' }), flatJpeg),
      estimateRenderSeconds(makePlan(flatJpeg, { region: { x: 4096, y: 0, w: 4096, h: 4096 }, size: { w: 512 }, format: 'jpg' }), flatJpeg),
      estimateRenderSeconds(makePlan(flatJpeg, { size: { fit: [400, 400] }, format: 'jpg' }), flatJpeg),
    ];
    // Assess
    for (const s of seconds) expect(s).toBeLessThan(budget);
    expect(seconds[0]).toBeGreaterThan(seconds[2]!);
  });

  it('prices a pyramid tile far below the same tile of a flat JPEG', () => {
    // Prepare
    const tile = { region: { x: 4096, y: 4096, w: 512, h: 512 }, format: 'jpg' } as const;
    // Act
    const fromPyramid = estimateRenderSeconds(makePlan(pyramid, tile), pyramid);
    const fromJpeg = estimateRenderSeconds(makePlan(flatJpeg, tile), flatJpeg);
    // Assess
    expect(fromPyramid).toBeLessThan(0.2);
    expect(fromJpeg).toBeGreaterThan(3 * fromPyramid);
  });

  it('grows with the output and with the WebP effort', () => {
    // Act
    const small = estimateRenderSeconds(makePlan(pyramid, { size: { w: 1000 }, format: 'webp' }), pyramid);
    const large = estimateRenderSeconds(makePlan(pyramid, { size: { w: 4000 }, format: 'webp' }), pyramid);
    const slower = estimateRenderSeconds(makePlan(pyramid, { size: { w: 4000 }, format: 'webp' }), pyramid, { webpEffort: 6 });
    // Assess
    expect(large).toBeGreaterThan(small);
    expect(slower).toBeGreaterThan(large);
  });
});
