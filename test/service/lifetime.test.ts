/**
 * Which derivatives are short-lived: anything that is not a size of info.json, a tile of its
 * grid at one of its scale factors (within a pixel), the whole image halved past the grid, or a
 * preset. Tables of both kinds, and the property that matters most: everything pre-warming
 * renders for viewers and presets (the URLs viewers really build, lib/iiif/viewer-urls.ts) is
 * long-lived, for sources of many shapes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseImagePath, resolve, type Limits, type SourceImage } from '../../lib/iiif/index.js';
import { derivativeLifetime, type LifetimeRules } from '../../lib/service/lifetime.js';
import { parsePresets } from '../../lib/service/presets.js';
import { planJobs } from '../../lib/service/prewarm-jobs.js';

const PRESETS = parsePresets(
  {
    thumbnail: { path: 'full/!400,400/0/default.jpg', api: '3' },
    web: { path: 'full/1600,/0/default.jpg', api: '3' },
    turned: { path: 'full/300,/90/gray.png', api: '3' },
    detail: { path: 'pct:25,25,50,50/500,/0/default.webp', api: '3' },
  },
  'test presets',
);

const RULES: LifetimeRules = { limits: { maxArea: 100_000_000 }, tileSize: 512, presets: PRESETS };

/** 3000 x 2000, no pyramid: sizes are halvings; 512 tiles at scale factors 1, 2, 4, 8. */
const PHOTO: SourceImage = { width: 3000, height: 2000 };

function lifetimeOf(path: string, source: SourceImage = PHOTO, rules: LifetimeRules = RULES, version: '2' | '3' = '3') {
  return derivativeLifetime(resolve(parseImagePath(version, path, 'photo'), source, rules.limits), source, rules);
}

describe('derivativeLifetime', () => {
  it.each([
    ['an advertised size, as 3.0 w,h', 'full/750,500/0/default.jpg'],
    ['the full size', 'full/max/0/default.jpg'],
    ['an advertised size in another quality and format', 'full/375,250/0/gray.webp'],
    ['a tile at scale factor 1', '512,1024,512,512/512,512/0/default.jpg'],
    ['an edge tile at scale factor 1', '2560,1536,440,464/440,464/0/default.jpg'],
    ['a tile at scale factor 2', '1024,0,1024,1024/512,512/0/default.jpg'],
    ['an edge tile at scale factor 4', '2048,0,952,2000/238,500/0/default.png'],
    ['an edge tile one pixel off, as a viewer rounds it', '2048,0,952,2000/239,501/0/default.jpg'],
    ['the whole image as the tile of scale factor 8', 'full/375,250/0/default.jpg'],
    ['the whole image halved past the grid (Leaflet-IIIF)', 'full/188,125/0/default.jpg'],
    ['the thumbnail preset', 'full/!400,400/0/default.jpg'],
    ['the web preset', 'full/1600,/0/default.jpg'],
    ['a rotated preset, exactly', 'full/300,/90/gray.png'],
    ['a region preset', 'pct:25,25,50,50/500,/0/default.webp'],
  ])('keeps %s: %s', (_what, path) => {
    // Act
    const lifetime = lifetimeOf(path);

    // Assess
    expect(lifetime).toBe('long');
  });

  it.each([
    ['a size nobody advertised', 'full/760,/0/default.jpg'],
    ['a thousand-and-first width', 'full/1001,/0/default.jpg'],
    ['a tile region off the grid', '100,100,512,512/512,512/0/default.jpg'],
    ['a grid tile scaled to another size', '512,1024,512,512/256,256/0/default.jpg'],
    ['a grid tile two pixels off', '512,1024,512,512/510,510/0/default.jpg'],
    ['a grid tile cut short', '512,1024,500,512/500,512/0/default.jpg'],
    ['a grid tile, rotated', '512,1024,512,512/512,512/90/default.jpg'],
    ['a grid tile, mirrored', '512,1024,512,512/512,512/!0/default.jpg'],
    ['an advertised size at an arbitrary angle', 'full/750,500/22.5/default.png'],
    ['a preset in another format', 'full/1600,/0/default.png'],
    ['a rotated preset at another angle', 'full/300,/180/gray.png'],
    ['a percentage region nobody presets', 'pct:10,10,50,50/500,/0/default.webp'],
    ['the whole image halved six times past the grid', 'full/6,4/0/default.jpg'],
  ])('marks %s short-lived: %s', (_what, path) => {
    // Act
    const lifetime = lifetimeOf(path);

    // Assess
    expect(lifetime).toBe('short');
  });

  it('follows the source\'s own pyramid and tiles: a level of a tiled TIFF is a size, its 128 tiles doubled to 256 a grid', () => {
    // Prepare: levels 4000, 2000, 1000, 500; native 128 tiles (advertised as 256).
    const tiff: SourceImage = {
      width: 4000, height: 3000,
      levels: [{ width: 4000, height: 3000 }, { width: 2000, height: 1500 }, { width: 1000, height: 750 }, { width: 500, height: 375 }],
      tile: { width: 128, height: 128 },
    };

    // Act
    const lifetimes = ['full/1000,750/0/default.jpg', 'full/1500,/0/default.jpg', '3840,2816,160,184/160,184/0/default.jpg', '0,0,128,128/128,128/0/default.jpg', '0,0,512,512/512,512/0/default.jpg'].map((path) => lifetimeOf(path, tiff));

    // Assess
    expect(lifetimes).toEqual(['long', 'short', 'long', 'short', 'short']);
  });

  it('follows the limits: with IIIF_MAX_WIDTH 1000 the full size is no advertised size, and tiles shrink to fit', () => {
    // Prepare
    const limits: Limits = { maxWidth: 1000, maxArea: 100_000_000 };
    const rules = { ...RULES, limits };

    // Act
    const lifetimes = ['full/1000,667/0/default.jpg', 'full/750,500/0/default.jpg', '0,0,512,512/512,512/0/default.jpg'].map((path) => lifetimeOf(path, PHOTO, rules));

    // Assess: 1000 wide is `max` but not in sizes (3000/2^n); tiles stay 512 (under 1000).
    expect(lifetimes).toEqual(['short', 'long', 'long']);
  });
});

describe('derivativeLifetime against what viewers and presets really ask for', () => {
  const source = fc.record({
    width: fc.integer({ min: 1, max: 9000 }),
    height: fc.integer({ min: 1, max: 9000 }),
    tile: fc.option(fc.constantFrom(128, 256, 512, 1024), { nil: undefined }),
    pyramid: fc.boolean(),
    tileSize: fc.constantFrom(256, 512, 1024),
  });

  it('keeps every derivative pre-warming plans for every viewer, both API versions, and every preset', () => {
    fc.assert(
      fc.property(source, ({ width, height, tile, pyramid, tileSize }) => {
        // Prepare: the image as a probe would describe it.
        const levels = [];
        for (let factor = 1; pyramid && Math.max(width, height) / factor >= 64; factor *= 2) {
          levels.push({ width: Math.round(width / factor), height: Math.round(height / factor) });
        }
        const image: SourceImage = {
          width,
          height,
          ...(levels.length > 1 ? { levels } : {}),
          ...(tile === undefined ? {} : { tile: { width: tile, height: tile } }),
        };
        const rules = { ...RULES, tileSize };

        // Act
        const { jobs } = planJobs(
          { identifier: 'img', source: image, limits: rules.limits, tileSize, prefix: '' },
          { tiles: true, sizes: true, presets: [...PRESETS.values()], paths: [], api: 'both' },
        );
        const short = jobs.filter((job) => derivativeLifetime(job.plan, image, rules) === 'short').map((job) => `${job.key} (${job.origins.join(', ')})`);

        // Assess
        expect(jobs.length).toBeGreaterThan(0);
        expect(short).toEqual([]);
      }),
      // 3,000 runs passed when this was written; 150 keep the suite quick on two shared cores.
      { numRuns: 150 },
    );
  }, 120_000);
});
