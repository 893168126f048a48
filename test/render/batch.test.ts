/**
 * Fast pyramids: every derivative the batch renderer makes from shared decodes is what an
 * on-demand render of its key gives (same format, same dimensions, pixels within 2 levels; in
 * practice the same bytes), and each level's pixels are decoded once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config.js';
import { storageKey, type Plan } from '../../lib/iiif/index.js';
import { planBatch, renderBatch, type BatchItem } from '../../lib/render/index.js';
import { planJobs } from '../../lib/service/prewarm-jobs.js';
import { parsePresets } from '../../lib/service/presets.js';
import { probe, render, type RenderResult, type SourceProbe } from '../../lib/render/index.js';
import { cmykJpeg, fromRaw, iccTagged, orientedJpeg, pagesToSubifds, photoLikeRaw } from '../support/fixtures.js';

const ENCODE = { jpegQuality: DEFAULTS.JPEG_QUALITY, webpQuality: DEFAULTS.WEBP_QUALITY, webpEffort: DEFAULTS.WEBP_EFFORT, pngCompressionLevel: DEFAULTS.PNG_COMPRESSION_LEVEL };
const MAX_INPUT_PIXELS = DEFAULTS.RENDER_MAX_INPUT_PIXELS;
const LIMITS = { maxArea: DEFAULTS.IIIF_MAX_AREA };
/** Largest difference of any channel of any pixel allowed between the two renders. */
const TOLERANCE = 2;
const PRESETS = parsePresets({ gray: 'full/!300,300/0/gray.png', crop: '100,50,640,480/320,/0/default.webp', pct: 'pct:10,10,50,50/max/0/default.jpg' }, 'test');

interface Source {
  readonly name: string;
  readonly path: string;
  probe: SourceProbe;
}

let dir: string;
const sources: Source[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recto-batch-'));
  const raw = await photoLikeRaw({ width: 1500, height: 1100, seed: 5 });
  const pyramid = await fromRaw(raw).tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 85 }).toBuffer();
  const files: Record<string, Buffer> = {
    'pyramid-pages.tif': pyramid,
    'pyramid-subifds.tif': pagesToSubifds(pyramid),
    'striped.tif': await fromRaw(raw).tiff({ compression: 'deflate' }).toBuffer(),
    'photo.jpg': await fromRaw(raw).jpeg({ quality: 85 }).toBuffer(),
    'grey.jpg': await fromRaw(raw).toColourspace('b-w').jpeg({ quality: 85 }).toBuffer(),
    'photo.png': await fromRaw(await photoLikeRaw({ width: 900, height: 700, seed: 6 })).png().toBuffer(),
    'adobe-rgb.jpg': await iccTagged(await fromRaw(raw).png().toBuffer(), 'adobe-rgb', 'jpeg'),
    'cmyk.jpg': await cmykJpeg(await fromRaw(raw).png().toBuffer()),
  };
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, bytes);
    sources.push({ name, path, probe: await probe(path, { maxInputPixels: MAX_INPUT_PIXELS }) });
  }
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function itemsFor(source: Source, what: 'tiles' | 'everything' = 'everything'): BatchItem[] {
  const all = what === 'everything';
  const { jobs } = planJobs(
    { identifier: source.name, source: source.probe, limits: LIMITS, tileSize: DEFAULTS.IIIF_TILE_SIZE, prefix: '' },
    { tiles: true, sizes: all, presets: all ? [...PRESETS.values()] : [], paths: [], api: 'both' },
  );
  return jobs.map((job) => ({ key: job.key, plan: job.plan }));
}

async function renderAll(source: Source, items: readonly BatchItem[]): Promise<Map<string, RenderResult>> {
  const results = new Map<string, RenderResult>();
  const failures: unknown[] = [];
  await renderBatch({ open: () => Promise.resolve(source.path) }, source.probe, items, { encode: ENCODE, maxInputPixels: MAX_INPUT_PIXELS, concurrency: 4 }, {
    rendered: (item, result) => {
      results.set(item.key, result);
      return Promise.resolve();
    },
    failed: (_item, error) => failures.push(error),
    single: (plan) => render(source.path, plan, source.probe, { encode: ENCODE, maxInputPixels: MAX_INPUT_PIXELS }),
  });
  expect(failures).toEqual([]);
  return results;
}

async function largestDifference(a: Buffer, b: Buffer): Promise<number> {
  const one = await sharp(a).raw().toBuffer();
  const two = await sharp(b).raw().toBuffer();
  expect(one.length).toBe(two.length);
  let largest = 0;
  for (let i = 0; i < one.length; i++) largest = Math.max(largest, Math.abs((one[i] ?? 0) - (two[i] ?? 0)));
  return largest;
}

describe('renderBatch', () => {
  it.each(['pyramid-pages.tif', 'pyramid-subifds.tif', 'striped.tif', 'photo.jpg', 'grey.jpg', 'photo.png', 'adobe-rgb.jpg', 'cmyk.jpg'])(
    'renders every tile, size and preset of %s as an on-demand render of the same key does',
    async (name) => {
      // Prepare
      const source = sources.find((candidate) => candidate.name === name) ?? expect.fail(name);
      const items = itemsFor(source);

      // Act
      const results = await renderAll(source, items);

      // Assess
      expect([...results.keys()].sort()).toEqual(items.map((item) => item.key).sort());
      let identical = 0;
      for (const item of items) {
        const fast = results.get(item.key) ?? expect.fail(item.key);
        const onDemand = await render(source.path, item.plan, source.probe, { encode: ENCODE, maxInputPixels: MAX_INPUT_PIXELS });
        const fastInfo = await sharp(fast.data).metadata();
        const demandInfo = await sharp(onDemand.data).metadata();
        expect({ key: item.key, type: fast.contentType, format: fastInfo.format, width: fastInfo.width, height: fastInfo.height, channels: fastInfo.channels }).toEqual({
          key: item.key,
          type: onDemand.contentType,
          format: demandInfo.format,
          width: onDemand.width,
          height: onDemand.height,
          channels: demandInfo.channels,
        });
        if (fast.data.equals(onDemand.data)) identical += 1;
        else expect(await largestDifference(fast.data, onDemand.data)).toBeLessThanOrEqual(TOLERANCE);
      }
      // The same steps with the same settings: in colour the bytes match, not just the pixels.
      // (libvips may take a grey conversion of a JPEG file a little differently from raw pixels.)
      const colour = items.filter((item) => item.plan.quality === 'default' || item.plan.quality === 'color');
      expect(identical).toBeGreaterThanOrEqual(colour.length);
    },
    60_000,
  );
});

describe('planBatch', () => {
  it('shares one decode per pyramid level of a TIFF, in bands whose rows do not overlap', () => {
    // Prepare: the tiles (presets may cut anywhere, and then share a few rows with a band).
    const source = sources.find((candidate) => candidate.name === 'pyramid-pages.tif') ?? expect.fail('pyramid');
    const items = itemsFor(source, 'tiles');

    // Act
    const batch = planBatch(items, source.probe, { bandRows: 512 });

    // Assess: one group per level; within a group, each level row is decoded at most once.
    const loads = batch.groups.map((group) => JSON.stringify(group.load));
    expect(new Set(loads).size).toBe(loads.length);
    expect(loads).toEqual(expect.arrayContaining(['{}', '{"page":1}', '{"page":2}']));
    for (const group of batch.groups) {
      const rows = group.bands.map((band) => [band.rect.y, band.rect.y + band.rect.height] as const).sort((a, b) => a[0] - b[0]);
      rows.forEach(([top], i) => {
        expect(top).toBeGreaterThanOrEqual(rows[i - 1]?.[1] ?? 0);
      });
    }
    const level0 = batch.groups.find((group) => JSON.stringify(group.load) === '{}') ?? expect.fail('level 0');
    expect(level0.bands.length).toBe(Math.ceil(1100 / 512));
    expect(batch.groups.reduce((n, group) => n + group.bands.reduce((m, band) => m + band.items.length, 0), 0) + batch.singles.length).toBe(items.length);
  });

  it('decodes a JPEG level whole, once: a sequential format would decode its top rows again for every band', () => {
    // Prepare
    const source = sources.find((candidate) => candidate.name === 'photo.jpg') ?? expect.fail('jpeg');

    // Act
    const batch = planBatch(itemsFor(source), source.probe);

    // Assess: full, 1/2 and 1/4 DCT-scaled decodes, one band each.
    expect(batch.groups.map((group) => [JSON.stringify(group.load), group.bands.length])).toEqual(
      expect.arrayContaining([['{}', 1], ['{"shrink":2}', 1]]),
    );
    expect(batch.groups.every((group) => group.bands.length === 1)).toBe(true);
  });

  it('renders rotations, mirrors and EXIF-oriented sources one by one', async () => {
    // Prepare
    const source = sources.find((candidate) => candidate.name === 'photo.jpg') ?? expect.fail('jpeg');
    const [tile] = itemsFor(source).filter((item) => item.plan.region.width < source.probe.width);
    const base = tile ?? expect.fail('a tile');
    const turned: Plan = { ...base.plan, rotation: 90 };
    const mirrored: Plan = { ...base.plan, mirror: true };
    const oriented = await probe(await orientedJpeg(await sharp(source.path).resize(300).jpeg().toBuffer(), 6), { maxInputPixels: MAX_INPUT_PIXELS });

    // Act
    const batch = planBatch([{ key: storageKey(turned, ''), plan: turned }, { key: storageKey(mirrored, ''), plan: mirrored }], source.probe);
    const orientedBatch = planBatch([base], oriented);

    // Assess
    expect(batch.groups).toEqual([]);
    expect(batch.singles.map((item) => item.plan.rotation)).toEqual([90, 0]);
    expect(orientedBatch.groups).toEqual([]);
  });

  it('shares decodes of ICC-tagged and CMYK sources, whose decode converts to sRGB as render() does', () => {
    for (const name of ['adobe-rgb.jpg', 'cmyk.jpg']) {
      // Prepare
      const source = sources.find((candidate) => candidate.name === name) ?? expect.fail(name);

      // Act
      const batch = planBatch(itemsFor(source, 'tiles'), source.probe);

      // Assess
      expect(source.probe.hasProfile).toBe(true);
      expect(batch.groups.length).toBeGreaterThan(0);
    }
  });

  it('renders a level larger than the decode budget one by one', () => {
    // Prepare
    const source = sources.find((candidate) => candidate.name === 'photo.png') ?? expect.fail('png');
    const items = itemsFor(source);

    // Act
    const batch = planBatch(items, source.probe, { maxDecodeBytes: 100 * 100 * 3 });

    // Assess
    expect(batch.groups).toEqual([]);
    expect(batch.singles).toHaveLength(items.length);
  });
});
