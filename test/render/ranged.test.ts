/**
 * Rendering a tiled TIFF by ranges gives what rendering its whole file gives: for random regions,
 * sizes, turns, mirrors and qualities on pyramids of every kind the tile decoder reads (pages and
 * SubIFDs, JPEG, Deflate and LZW, odd sizes with edge tiles, grey, alpha, 16-bit, an ICC profile),
 * the two outputs are pixel-identical within 1 level per channel. A stored JPEG tile a request
 * names exactly is passed through (its own bytes, no decode), and the pixel limit bounds the
 * pixels decoded, not the master.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, Quality, RenderableFormat } from '../../lib/iiif/types.js';
import { probe, render, type RenderOptions, type SourceProbe } from '../../lib/render/index.js';
import { describeTiff } from '../../lib/render/tiff/describe.js';
import { readTiffStructure } from '../../lib/render/tiff/structure.js';
import { syntheticPyramid } from '../support/pyramids.js';
import { ENCODE, makePlan } from './support.js';
import { memoryReader, photo, type Kind } from './tiff/support.js';

const OPTIONS: RenderOptions = { encode: ENCODE, maxInputPixels: 268_402_689 };

interface Fixture {
  readonly name: string;
  readonly file: Buffer;
  readonly path: string;
  /** libvips' probe of the whole file. */
  readonly whole: SourceProbe;
  /** The probe from the directories alone. */
  readonly ranged: SourceProbe;
}

let directory: string;
const fixtures: Fixture[] = [];

async function fixture(name: string, file: Buffer): Promise<Fixture> {
  const path = join(directory, `${name}.tif`);
  await writeFile(path, file);
  const whole = await probe(path, { maxInputPixels: 10_000_000_000 });
  const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
  const ranged = describeTiff(structure);
  if (ranged === undefined) throw new Error(`Expected ${name} to be readable by ranges`);
  return { name, file, path, whole, ranged };
}

async function pyramid(kind: Kind, width: number, height: number, options: { compression: 'jpeg' | 'deflate' | 'lzw'; subifd?: boolean; quality?: number; icc?: boolean }): Promise<Buffer> {
  let image = await photo(kind, width, height);
  if (options.icc === true) image = image.withIccProfile('p3');
  return image.tiff({ compression: options.compression, tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, quality: options.quality ?? 80, ...(options.subifd === true ? { subifd: true } : {}), predictor: options.compression === 'jpeg' ? 'none' : 'horizontal' }).toBuffer();
}

/** Both renders of one Plan, decoded to raw pixels of the same shape. */
async function bothWays(fixture: Fixture, plan: Plan): Promise<{ whole: Buffer; ranged: Buffer; width: number; height: number }> {
  const [fromFile, fromRanges] = await Promise.all([
    render(fixture.path, plan, fixture.whole, OPTIONS),
    render({ read: memoryReader(fixture.file).read }, plan, fixture.ranged, OPTIONS),
  ]);
  expect([fromRanges.width, fromRanges.height]).toEqual([fromFile.width, fromFile.height]);
  const raw = (bytes: Buffer): Promise<Buffer> => sharp(bytes).raw().toBuffer();
  return { whole: await raw(fromFile.data), ranged: await raw(fromRanges.data), width: fromFile.width, height: fromFile.height };
}

function maxDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'recto-ranged-'));
  const made: [string, Promise<Buffer>][] = [
    ['jpeg-pages', pyramid('rgb', 2300, 1700, { compression: 'jpeg' })],
    ['jpeg-subifds-rgb-q95', pyramid('rgb', 1900, 1300, { compression: 'jpeg', subifd: true, quality: 95 })],
    ['deflate-odd-grey', pyramid('grey', 1001, 777, { compression: 'deflate' })],
    ['lzw-rgba', pyramid('rgba', 900, 1300, { compression: 'lzw', subifd: true })],
    ['deflate-rgb16', pyramid('rgb16', 800, 600, { compression: 'deflate' })],
    ['jpeg-icc', pyramid('rgb', 1200, 900, { compression: 'jpeg', icc: true })],
    ['synthetic', syntheticPyramid({ width: 3000, height: 2000, shareTiles: true }).then((made) => made.file)],
  ];
  for (const [name, file] of made) fixtures.push(await fixture(name, await file));
}, 120_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('the probe of a tiled TIFF read by ranges', () => {
  it('says what libvips says of the whole file, for every pyramid kind', () => {
    // Assess: every field but the structure itself.
    for (const { name, whole, ranged } of fixtures) {
      const { tiff, ...fields } = ranged;
      expect({ name, ...fields }).toEqual({ name, ...whole });
      expect(tiff?.levels.length).toBe(whole.levels.length);
    }
  });
});

describe('a render by ranges', () => {
  const qualities: Quality[] = ['default', 'gray', 'bitonal', 'color'];
  const formats: RenderableFormat[] = ['png', 'webp', 'tif'];

  it('matches the whole-file render of the same Plan within 1 level, for random Plans on every pyramid', async () => {
    // Prepare: Plans as the IIIF resolver makes them: a region inside the image, an output no
    // larger than 1200 pixels a side, any turn, mirror and quality, a lossless format.
    const plans = fc.record({
      index: fc.nat({ max: fixtures.length - 1 }),
      x: fc.double({ min: 0, max: 0.95, noNaN: true }),
      y: fc.double({ min: 0, max: 0.95, noNaN: true }),
      w: fc.double({ min: 0.01, max: 1, noNaN: true }),
      h: fc.double({ min: 0.01, max: 1, noNaN: true }),
      scale: fc.double({ min: 0.02, max: 1, noNaN: true }),
      rotation: fc.constantFrom(0, 90, 180, 270, 22.5),
      mirror: fc.boolean(),
      quality: fc.constantFrom(...qualities),
      format: fc.constantFrom(...formats),
    });

    // Act and assess
    await fc.assert(
      fc.asyncProperty(plans, async (form) => {
        const chosen = fixtures[form.index];
        if (chosen === undefined) return;
        const { width, height } = chosen.whole;
        const x = Math.floor(form.x * width);
        const y = Math.floor(form.y * height);
        const w = Math.max(1, Math.min(width - x, Math.ceil(form.w * width)));
        const h = Math.max(1, Math.min(height - y, Math.ceil(form.h * height)));
        const out = Math.max(1, Math.min(1200, Math.round(Math.max(w, h) * form.scale)));
        const plan = makePlan({ width, height }, { region: { x, y, w, h }, size: { fit: [out, out] }, rotation: form.rotation, mirror: form.mirror, quality: form.quality, format: form.format });
        const both = await bothWays(chosen, plan);
        expect(maxDifference(both.whole, both.ranged), `${chosen.name}: ${JSON.stringify(plan.region)} → ${plan.size.width}x${plan.size.height}`).toBeLessThanOrEqual(1);
      }),
      { numRuns: 60, seed: 4242 },
    );
  }, 240_000);

  it('matches it on every tile of a level, edge tiles included, for JPEG and lossless pyramids', async () => {
    for (const name of ['jpeg-pages', 'deflate-odd-grey', 'jpeg-icc']) {
      // Prepare: the 512-pixel tile grid of the full image, as a viewer asks for it.
      const chosen = fixtures.find((f) => f.name === name) ?? expect.fail(name);
      const { width, height } = chosen.whole;
      for (let y = 0; y < height; y += 512) {
        for (let x = 0; x < width; x += 512) {
          const plan = makePlan({ width, height }, { region: { x, y, w: 512, h: 512 }, format: 'png' });

          // Act
          const both = await bothWays(chosen, plan);

          // Assess
          expect(maxDifference(both.whole, both.ranged), `${name} tile ${x},${y}`).toBeLessThanOrEqual(1);
        }
      }
    }
  }, 120_000);
});

describe('passthrough', () => {
  it('answers a request that is exactly one stored JPEG tile with that tile, decoding to the rendered pixels', async () => {
    // Prepare: a full-resolution 256 tile of the synthetic pyramid, inside the image.
    const chosen = fixtures.find((f) => f.name === 'synthetic') ?? expect.fail('synthetic');
    const { width, height } = chosen.whole;
    const tile = makePlan({ width, height }, { region: { x: 512, y: 256, w: 256, h: 256 }, format: 'jpg' });
    const reader = memoryReader(chosen.file);

    // Act
    const passed = await render({ read: reader.read }, tile, chosen.ranged, OPTIONS);
    const rendered = await render(chosen.path, { ...tile, format: 'png' }, chosen.whole, OPTIONS);

    // Assess: one read of the tile's own bytes (its location is in the structure), a JPEG that
    // is the stored tile plus its colour marker, and the pixels the rendered path decodes.
    expect(reader.requests).toHaveLength(1);
    const [request] = reader.requests;
    const stored = chosen.file.subarray(request?.offset ?? 0, (request?.offset ?? 0) + (request?.length ?? 0));
    expect(passed.contentType).toBe('image/jpeg');
    expect(passed.data.length - stored.length).toBeLessThanOrEqual(32);
    expect(passed.data.subarray(passed.data.length - 64)).toEqual(stored.subarray(stored.length - 64));
    const [a, b] = await Promise.all([sharp(passed.data).raw().toBuffer(), sharp(rendered.data).raw().toBuffer()]);
    expect(maxDifference(a, b)).toBeLessThanOrEqual(1);
  });

  it('renders, rather than passes through, a tile that is turned, grey, resized, PNG or an edge tile', async () => {
    // Prepare
    const chosen = fixtures.find((f) => f.name === 'synthetic') ?? expect.fail('synthetic');
    const { width, height } = chosen.whole;
    const stored = { region: { x: 512, y: 256, w: 256, h: 256 }, format: 'jpg' } as const;
    const variants = [
      makePlan({ width, height }, { ...stored, rotation: 90 }),
      makePlan({ width, height }, { ...stored, mirror: true }),
      makePlan({ width, height }, { ...stored, quality: 'gray' }),
      makePlan({ width, height }, { ...stored, size: { w: 128 } }),
      makePlan({ width, height }, { ...stored, format: 'png' }),
      // The last column of tiles is 184 pixels wide: the stored tile is 256.
      makePlan({ width, height }, { region: { x: 2816, y: 0, w: 256, h: 256 }, format: 'jpg' }),
    ];

    // Act and assess: each is a fresh encode, not the stored tile's bytes.
    for (const plan of variants) {
      const reader = memoryReader(chosen.file);
      const result = await render({ read: reader.read }, plan, chosen.ranged, OPTIONS);
      const storedBytes = reader.requests.map((r) => chosen.file.subarray(r.offset, r.offset + r.length));
      expect(storedBytes.some((bytes) => bytes.equals(result.data.subarray(result.data.length - bytes.length))), JSON.stringify(plan.region)).toBe(false);
    }
  });
});

describe('the pixel limit on a master read by ranges', () => {
  it('bounds what one request decodes: tiles and thumbnails of a master over the limit render, a full-resolution whole does not', async () => {
    // Prepare: a limit a quarter of the master's pixels.
    const chosen = fixtures.find((f) => f.name === 'synthetic') ?? expect.fail('synthetic');
    const { width, height } = chosen.whole;
    const limited = { ...OPTIONS, maxInputPixels: Math.floor((width * height) / 4) };

    // Act
    const tile = await render({ read: memoryReader(chosen.file).read }, makePlan({ width, height }, { region: { x: 1024, y: 1024, w: 512, h: 512 } }), chosen.ranged, limited);
    const thumbnail = await render({ read: memoryReader(chosen.file).read }, makePlan({ width, height }, { size: { fit: [400, 400] } }), chosen.ranged, limited);
    const whole = await render({ read: memoryReader(chosen.file).read }, makePlan({ width, height }, { size: { w: 2000 } }), chosen.ranged, limited).catch((error: unknown) => error);
    const fromFile = await render(chosen.path, makePlan({ width, height }, { region: { x: 1024, y: 1024, w: 512, h: 512 } }), chosen.whole, limited).catch((error: unknown) => error);

    // Assess
    expect([tile.width, tile.height, thumbnail.width, thumbnail.height]).toEqual([512, 512, 400, 267]);
    expect(whole).toMatchObject({ code: 'SOURCE_TOO_LARGE', status: 422, message: `Expected at most ${limited.maxInputPixels} decoded pixels (RENDER_MAX_INPUT_PIXELS) for the region of the pyramid level this request reads but received "3000x2000"` });
    expect(fromFile).toMatchObject({ code: 'SOURCE_TOO_LARGE', status: 422 });
  });
});
