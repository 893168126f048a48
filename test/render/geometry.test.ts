/**
 * The pure geometry under the render engine: the eight flips and turns, rectangles carried
 * through them (checked against sharp's own pixels), EXIF orientations (checked against
 * libvips' autorot), level scales and level choice.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  IDENTITY, QUARTER_TURNS, chooseLevel, compose, invert, levelScale, makeLevels, orientationTransform, regionInLevel,
  rotatedCanvas, splitRotation, transformRect, transformSize,
} from '../../lib/render/geometry.js';
import type { Dihedral } from '../../lib/render/geometry.js';

const ALL: readonly Dihedral[] = [false, true].flatMap((flop) => QUARTER_TURNS.map((quarterTurns) => ({ flop, quarterTurns })));

/** A 7x5 image, black but for a white rectangle at (1, 1) of 3x2. */
async function marked(): Promise<Buffer> {
  const data = Buffer.alloc(7 * 5);
  for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) data[y * 7 + x] = 255;
  return sharp(data, { raw: { width: 7, height: 5, channels: 1 } }).png().toBuffer();
}

/** The bounding box of the white pixels. */
async function whiteBox(image: Buffer): Promise<{ x: number; y: number; width: number; height: number; imageWidth: number; imageHeight: number }> {
  const { data, info } = await sharp(image).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if ((data[y * info.width + x] ?? 0) > 128) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, imageWidth: info.width, imageHeight: info.height };
}

describe('flips and quarter turns', () => {
  it('form a group: identity, inverses and associativity', () => {
    // Assess
    for (const a of ALL) {
      expect(compose(a, IDENTITY)).toEqual(a);
      expect(compose(IDENTITY, a)).toEqual(a);
      expect(compose(a, invert(a))).toEqual(IDENTITY);
      expect(compose(invert(a), a)).toEqual(IDENTITY);
      for (const b of ALL) for (const c of ALL) expect(compose(a, compose(b, c))).toEqual(compose(compose(a, b), c));
    }
  });

  it.each(ALL.map((d) => [`flop ${d.flop}, ${d.quarterTurns} quarter turns`, d] as const))('carry a rectangle where sharp carries its pixels (%s)', async (_name, d) => {
    // Prepare
    const image = await marked();
    // Act
    const turned = await sharp(image).flop(d.flop).rotate(d.quarterTurns * 90).png().toBuffer();
    // Assess
    const box = await whiteBox(turned);
    expect({ x: box.x, y: box.y, width: box.width, height: box.height }).toEqual(transformRect({ x: 1, y: 1, width: 3, height: 2 }, { width: 7, height: 5 }, d));
    expect({ width: box.imageWidth, height: box.imageHeight }).toEqual(transformSize({ width: 7, height: 5 }, d));
  });

  it('compose like the pixels do: the rectangle under b then a equals under compose(a, b)', () => {
    // Assess
    const rect = { x: 1, y: 1, width: 3, height: 2 };
    const size = { width: 7, height: 5 };
    for (const a of ALL) {
      for (const b of ALL) {
        const once = transformRect(rect, size, compose(a, b));
        const twice = transformRect(transformRect(rect, size, b), transformSize(size, b), a);
        expect(once).toEqual(twice);
      }
    }
  });
});

describe('EXIF orientation', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('%i maps stored pixels to displayed pixels as libvips autorot does', async (orientation) => {
    // Prepare
    const stored = await marked();
    const tagged = await sharp(stored).withMetadata({ orientation }).png().toBuffer();
    // Act
    const displayed = await sharp(tagged).autoOrient().png().toBuffer();
    // Assess
    const box = await whiteBox(displayed);
    const transform = orientationTransform(orientation);
    expect({ x: box.x, y: box.y, width: box.width, height: box.height }).toEqual(transformRect({ x: 1, y: 1, width: 3, height: 2 }, { width: 7, height: 5 }, transform));
  });

  it('treats missing and invalid values as upright', () => {
    // Assess
    expect([0, 9, -1, 1.5].map(orientationTransform)).toEqual([IDENTITY, IDENTITY, IDENTITY, IDENTITY]);
  });
});

describe('rotation', () => {
  it.each([
    [0, false, { flop: false, quarterTurns: 0 }, 0],
    [90, true, { flop: true, quarterTurns: 1 }, 0],
    [270, false, { flop: false, quarterTurns: 3 }, 0],
    [22.5, false, { flop: false, quarterTurns: 0 }, 22.5],
    [112.5, true, { flop: true, quarterTurns: 1 }, 22.5],
    [359.999999, false, { flop: false, quarterTurns: 3 }, 89.999999],
  ] as const)('splits %f degrees (mirror %s) into quarter turns and a residual', (degrees, mirror, transform, residual) => {
    // Act
    const split = splitRotation(mirror, degrees);
    // Assess
    expect(split).toEqual({ transform, residual });
  });

  it.each([
    [{ width: 1000, height: 1000 }, 45, { width: 1414, height: 1414 }],
    [{ width: 300, height: 200 }, 30, { width: 360, height: 323 }],
    [{ width: 100, height: 50 }, 90.5, { width: 51, height: 100 }],
  ])('grows a %o canvas turned %f degrees to the rounded bounding box', (size, degrees, canvas) => {
    // Assess
    expect(rotatedCanvas(size, degrees)).toEqual(canvas);
  });
});

describe('levels', () => {
  it.each([
    [10_000, 5_000, 1 / 2],
    [7_500, 937, 1 / 8],
    [7_500, 938, 1 / 8],
    [10_001, 5_000, 1 / 2],
    [1_000, 300, 0.3],
    [1_000, 1_000, 1],
  ])('scale %i pixels stored as %i by %f', (full, reduced, scale) => {
    // Assess
    expect(levelScale(full, reduced)).toBe(scale);
  });

  const full = { width: 10_000, height: 7_500 };
  const levels = makeLevels(full, [full, { width: 5000, height: 3750 }, { width: 2500, height: 1875 }, { width: 1250, height: 937 }, { width: 625, height: 468 }]);

  it.each([
    ['the full level for full size', { width: 10_000, height: 7_500 }, { width: 10_000, height: 7_500 }, 0],
    ['the 625-pixel level for a 400-pixel thumbnail', { width: 10_000, height: 7_500 }, { width: 400, height: 300 }, 4],
    ['the 1250-pixel level for a scale-factor-8 tile', { width: 4096, height: 4096 }, { width: 512, height: 512 }, 3],
    ['the 1250-pixel level for an edge tile whose height rounds up', { width: 4096, height: 3404 }, { width: 512, height: 426 }, 3],
    ['the 2500-pixel level for one pixel more', { width: 4096, height: 4096 }, { width: 513, height: 513 }, 2],
    ['the full level for an upscale', { width: 100, height: 100 }, { width: 200, height: 200 }, 0],
  ])('choose %s', (_name, region, output, index) => {
    // Assess
    expect(chooseLevel(levels, region, output).index).toBe(index);
  });

  it('cut a region from a level at exactly scaled coordinates, clamped to the level', () => {
    // Prepare
    const level = levels[3]!;
    // Act
    const inner = regionInLevel({ x: 4096, y: 4096, width: 4096, height: 3404 }, level);
    const edge = regionInLevel({ x: 8192, y: 4096, width: 1808, height: 3404 }, level);
    // Assess
    expect(inner).toEqual({ x: 512, y: 512, width: 512, height: 425 });
    expect(edge).toEqual({ x: 1024, y: 512, width: 226, height: 425 });
  });
});
