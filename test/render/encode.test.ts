/**
 * Encoding: settings by format and output size, taken from config, and outputs that are the
 * same bytes every time for the same input and Plan (derivatives are stored once, keyed by Plan).
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encoderSettings, probe, render } from '../../lib/render/index.js';
import type { SourceProbe } from '../../lib/render/index.js';
import { RENDERABLE_FORMATS } from '../../lib/iiif/types.js';
import type { RenderableFormat } from '../../lib/iiif/types.js';
import { photoLike } from '../support/fixtures.js';
import { ENCODE, OPTIONS, makePlan } from './support.js';

let photo: Buffer;
let source: SourceProbe;

beforeAll(async () => {
  photo = await photoLike({ width: 1600, height: 1200, seed: 5 });
  source = await probe(photo, OPTIONS);
});

describe('encoder settings', () => {
  it.each([
    ['a 512x512 tile', { width: 512, height: 512 }, { progressive: false, optimiseCoding: true }],
    ['a 1024x1024 view', { width: 1024, height: 1024 }, { progressive: false, optimiseCoding: true }],
    ['a 2048x1536 view', { width: 2048, height: 1536 }, { progressive: true, optimiseCoding: true }],
    ['a 2048x2048 view', { width: 2048, height: 2048 }, { progressive: true, optimiseCoding: true }],
    ['a 2700x2200 full/max', { width: 2700, height: 2200 }, { progressive: false, optimiseCoding: true }],
    ['a 4096x4096 image', { width: 4096, height: 4096 }, { progressive: false, optimiseCoding: true }],
    ['a 10000x7500 full/max', { width: 10_000, height: 7_500 }, { progressive: false, optimiseCoding: false }],
  ])('make JPEG for %s with the configured quality and 4:2:0', (_name, size, expected) => {
    // Act
    const settings = encoderSettings('jpg', 'default', size, { ...ENCODE, jpegQuality: 77 }, false);
    // Assess
    expect(settings).toMatchObject({ format: 'jpeg', options: { quality: 77, chromaSubsampling: '4:2:0', mozjpeg: false, ...expected } });
  });

  it('take PNG compression and WebP quality and effort from config', () => {
    // Act
    const config = { ...ENCODE, pngCompressionLevel: 3, webpQuality: 70, webpEffort: 1 };
    // Assess
    expect(encoderSettings('png', 'color', { width: 10, height: 10 }, config, false)).toMatchObject({ format: 'png', options: { compressionLevel: 3 } });
    expect(encoderSettings('webp', 'color', { width: 10, height: 10 }, config, false)).toMatchObject({ format: 'webp', options: { quality: 70, effort: 1 } });
  });

  it('keep bitonal two-valued: lossless WebP, 1-bit CCITT G4 TIFF', () => {
    // Assess
    expect(encoderSettings('webp', 'bitonal', { width: 10, height: 10 }, ENCODE, false)).toMatchObject({ options: { lossless: true } });
    expect(encoderSettings('tif', 'bitonal', { width: 10, height: 10 }, ENCODE, false)).toMatchObject({ options: { compression: 'ccittfax4', bitdepth: 1 } });
    expect(encoderSettings('tif', 'bitonal', { width: 10, height: 10 }, ENCODE, true)).toMatchObject({ options: { compression: 'deflate' } });
    expect(encoderSettings('tif', 'color', { width: 10, height: 10 }, ENCODE, false)).toMatchObject({ options: { compression: 'deflate', predictor: 'horizontal' } });
  });
});

describe('encoded output', () => {
  it.each(RENDERABLE_FORMATS)('is byte-for-byte the same on every render as %s', async (format: RenderableFormat) => {
    // Prepare
    const plan = makePlan(source, { region: { x: 200, y: 100, w: 900, h: 700 }, size: { w: 300 }, rotation: 90, format });
    // Act
    const [a, b] = await Promise.all([render(photo, plan, source, OPTIONS), render(photo, plan, source, OPTIONS)]);
    const c = await render(photo, plan, source, OPTIONS);
    // Assess
    expect(a.data.equals(b.data)).toBe(true);
    expect(a.data.equals(c.data)).toBe(true);
    expect((await sharp(a.data).metadata()).format).toBe({ jpg: 'jpeg', png: 'png', webp: 'webp', tif: 'tiff', gif: 'gif' }[format]);
  });

  it('is progressive JPEG for a large view and baseline for a tile', async () => {
    // Act
    const view = await render(photo, makePlan(source, { size: { w: 1500 }, format: 'jpg' }), source, OPTIONS);
    const tile = await render(photo, makePlan(source, { region: { x: 0, y: 0, w: 512, h: 512 }, format: 'jpg' }), source, OPTIONS);
    // Assess
    expect((await sharp(view.data).metadata()).isProgressive).toBe(true);
    expect((await sharp(tile.data).metadata()).isProgressive).toBe(false);
  });

  it('is a 1-bit TIFF for bitonal', async () => {
    // Act
    const result = await render(photo, makePlan(source, { size: { w: 200 }, quality: 'bitonal', format: 'tif' }), source, OPTIONS);
    // Assess
    const metadata = await sharp(result.data).metadata();
    expect({ channels: metadata.channels, bitsPerSample: metadata.bitsPerSample }).toEqual({ channels: 1, bitsPerSample: 1 });
  });
});
