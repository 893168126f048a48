/**
 * Colour management: output is sRGB, and sources in other spaces (CMYK, Adobe RGB, Display P3,
 * 16-bit tagged) are converted through their profiles, never passed through with the profile
 * dropped (which is what shifts colours in the system Recto replaces).
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe, render } from '../../lib/render/index.js';
import type { RenderableFormat } from '../../lib/iiif/types.js';
import { alphaGrid, cmykJpeg, colorChecker, iccTagged, sixteenBit } from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { OPTIONS, decode, deltaE, makePlan, meanAt } from './support.js';
import type { Pixels } from './support.js';

let checker: Grid;

beforeAll(async () => {
  checker = await colorChecker();
});

/** ΔE of every patch centre of `pixels` (a full/max render of the checker) against sRGB. */
function patchErrors(pixels: Pixels, grid: Grid): number[] {
  const errors: number[] = [];
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      const cell = grid.cellBounds(col, row);
      const x = ((cell.x0 + cell.x1) / 2) * (pixels.width / grid.width);
      const y = ((cell.y0 + cell.y1) / 2) * (pixels.height / grid.height);
      errors.push(deltaE(meanAt(pixels, Math.floor(x), Math.floor(y), 2), grid.cellColour(col, row)));
    }
  }
  return errors;
}

async function renderFull(input: Buffer, format: RenderableFormat = 'png'): Promise<Pixels> {
  const source = await probe(input, OPTIONS);
  const result = await render(input, makePlan(checker, { size: { w: 300 }, format }), source, OPTIONS);
  return decode(result.data);
}

/** The stored numbers read as if they were sRGB: what a renderer that drops the profile shows. */
async function storedAsSrgb(input: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(input, { ignoreIcc: true }).resize(300).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** ΔE per patch when the stored CMYK numbers are turned into RGB with no profile (1 - C)(1 - K). */
async function naiveCmykErrors(cmyk: Buffer): Promise<number[]> {
  const { data, info } = await sharp(cmyk).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
  const errors: number[] = [];
  for (let row = 0; row < checker.rows; row++) {
    for (let col = 0; col < checker.cols; col++) {
      const cell = checker.cellBounds(col, row);
      const i = (Math.floor((cell.y0 + cell.y1) / 2) * info.width + Math.floor((cell.x0 + cell.x1) / 2)) * 4;
      const [c, m, y, k] = [0, 1, 2, 3].map((j) => (data[i + j] ?? 0) / 255) as [number, number, number, number];
      errors.push(deltaE({ r: 255 * (1 - c) * (1 - k), g: 255 * (1 - m) * (1 - k), b: 255 * (1 - y) * (1 - k) }, checker.cellColour(col, row)));
    }
  }
  return errors;
}

describe('colour', () => {
  // The CMYK fixture is made from sRGB through libvips' CMYK profile (Argyll's "Chemical proof")
  // with the perceptual intent, and read back the same way: perceptual tables compress the gamut
  // and are not each other's inverse, so even a perfect reader lands a few ΔE off (most on the
  // saturated blue). What is held here: close on average, and far closer than reading the CMYK
  // numbers without the profile, which is what a stripped profile gives.
  describe.each([
    ['with an embedded profile', true],
    ['untagged (read through the standard press profile)', false],
  ] as const)('a CMYK JPEG %s', (_name, embedProfile) => {
    it('is converted through the profile to sRGB', async () => {
      // Prepare
      const cmyk = await cmykJpeg(checker.png, { embedProfile });
      // Act
      const source = await probe(cmyk, OPTIONS);
      const pixels = await renderFull(cmyk, embedProfile ? 'png' : 'jpg');
      // Assess
      expect(source).toMatchObject({ space: 'cmyk', channels: 4, hasProfile: embedProfile });
      expect(pixels.channels).toBe(3);
      const errors = patchErrors(pixels, checker);
      const naive = await naiveCmykErrors(cmyk);
      const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
      expect(mean(errors), errors.map((e) => e.toFixed(1)).join(' ')).toBeLessThan(7);
      expect(Math.max(...errors)).toBeLessThan(15);
      expect(mean(naive)).toBeGreaterThan(3 * mean(errors));
    });
  });

  describe.each([
    ['an Adobe RGB PNG', () => iccTagged(checker.png, 'adobe-rgb', 'png')],
    ['an Adobe RGB JPEG', () => iccTagged(checker.png, 'adobe-rgb', 'jpeg')],
    ['a Display P3 PNG', () => iccTagged(checker.png, 'p3', 'png')],
    ['a Display P3 TIFF', () => iccTagged(checker.png, 'p3', 'tiff')],
    ['a 16-bit Adobe RGB PNG', async () => sixteenBit(await iccTagged(checker.png, 'adobe-rgb', 'png'), 'png', { keepProfile: true })],
    ['a 16-bit Display P3 TIFF', async () => sixteenBit(await iccTagged(checker.png, 'p3', 'tiff'), 'tiff', { keepProfile: true })],
  ])('from %s', (_name, make) => {
    it('renders every patch within a just-noticeable difference of its sRGB value', async () => {
      // Prepare
      const tagged = await make();
      // Act
      const source = await probe(tagged, OPTIONS);
      const pixels = await renderFull(tagged);
      const dropped = patchErrors(await storedAsSrgb(tagged), checker);
      // Assess
      expect(source.hasProfile).toBe(true);
      // The fixture means something: ignoring the profile visibly shifts the saturated patches.
      expect(Math.max(...dropped)).toBeGreaterThan(8);
      const errors = patchErrors(pixels, checker);
      expect(Math.max(...errors), errors.map((e) => e.toFixed(1)).join(' ')).toBeLessThan(2.3);
    });
  });

  it('embeds no ICC profile: untagged output is sRGB by definition', async () => {
    // Prepare
    const tagged = await iccTagged(checker.png, 'adobe-rgb', 'png');
    const source = await probe(tagged, OPTIONS);
    // Act
    const outputs = await Promise.all((['jpg', 'png', 'webp', 'tif', 'gif'] as const).map((format) => render(tagged, makePlan(checker, { size: { w: 120 }, format }), source, OPTIONS)));
    // Assess
    const profiles = await Promise.all(outputs.map(async (output) => (await sharp(output.data).metadata()).hasProfile));
    expect(profiles).toEqual([false, false, false, false, false]);
  });
});

describe('alpha', () => {
  it('keeps alpha in PNG, WebP and TIFF and flattens it onto white for JPEG', async () => {
    // Prepare: squares alternate opaque and half-transparent.
    const { png, alphaAt } = await alphaGrid(checker);
    const source = await probe(png, OPTIONS);
    const plan = (format: RenderableFormat) => makePlan(checker, { size: { w: 300 }, format });
    // Act
    const [asPng, asWebp, asTif, asJpg] = await Promise.all((['png', 'webp', 'tif', 'jpg'] as const).map(async (format) => decode((await render(png, plan(format), source, OPTIONS)).data)));
    // Assess
    expect(source.hasAlpha).toBe(true);
    for (const [col, row] of [[0, 0], [1, 0], [2, 3], [5, 2]] as const) {
      const cell = checker.cellBounds(col, row);
      const x = Math.floor((cell.x0 + cell.x1) / 4);
      const y = Math.floor((cell.y0 + cell.y1) / 4);
      const alpha = alphaAt(cell.x0, cell.y0);
      const colour = checker.cellColour(col, row);
      for (const pixels of [asPng, asWebp, asTif]) {
        const seen = meanAt(pixels!, x, y, 1);
        expect(Math.abs(seen.a - alpha)).toBeLessThanOrEqual(2);
        expect(deltaE(seen, colour)).toBeLessThan(3);
      }
      const over = (c: number): number => (c * alpha + 255 * (255 - alpha)) / 255;
      expect(deltaE(meanAt(asJpg!, x, y, 1), { r: over(colour.r), g: over(colour.g), b: over(colour.b) })).toBeLessThan(3);
      expect(asJpg!.channels).toBe(3);
    }
  });
});
