/**
 * info.json for 3.0 (§5) and 2.1 (§5): every required property, the limits, sizes and tiles, and
 * that everything advertised is servable within the limits by the URLs viewers build from it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.js';
import {
  VERSIONS,
  advertisedSizes,
  advertisedTiles,
  limitExceeded,
  storageKey,
  tileEdge,
  type InfoOptions,
  type Limits,
  type Plan,
  type Size,
  type SourceImage,
  type TileSpec,
  versionModule,
} from '../../../lib/iiif/index.js';
import { limitsArb, sourceArb } from './arbitraries.js';
import { planOf } from './helpers.js';

const ID_3 = 'https://images.example.org/iiif/3/ark:%2F12025%2F654xz321';
const ID_2 = 'https://images.example.org/iiif/2/ark:%2F12025%2F654xz321';
/** 3.0 §5.2's example image and limits. */
const SOURCE: SourceImage = { width: 6000, height: 4000 };
const SPEC_LIMITS: Limits = { maxWidth: 3000, maxHeight: 2000, maxArea: 4_000_000 };

function options(id: string, limits: Limits = {}, tileSize = 512): InfoOptions {
  return { id, limits, tileSize };
}

describe('the 3.0 info.json', () => {
  it('has every required property, the limits, sizes, tiles and extras, @context first (3.0 §5)', () => {
    // Act
    const info = VERSIONS['3'].infoDocument(SOURCE, options(ID_3, SPEC_LIMITS));

    // Assess
    expect(Object.keys(info)[0]).toBe('@context');
    expect(info).toStrictEqual({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: ID_3,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      width: 6000,
      height: 4000,
      maxWidth: 3000,
      maxHeight: 2000,
      maxArea: 4_000_000,
      sizes: [
        { width: 47, height: 31 },
        { width: 94, height: 63 },
        { width: 188, height: 125 },
        { width: 375, height: 250 },
        { width: 750, height: 500 },
        { width: 1500, height: 1000 },
      ],
      tiles: [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8, 16] }],
      preferredFormats: ['jpg', 'webp'],
      extraFormats: ['webp', 'tif', 'gif'],
      extraQualities: ['color', 'gray', 'bitonal'],
      extraFeatures: ['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'rotationArbitrary', 'sizeUpscaling'],
    });
  });

  it('leaves out maxWidth, maxHeight and maxArea when no limit is set', () => {
    // Act
    const info = VERSIONS['3'].infoDocument(SOURCE, options(ID_3));

    // Assess
    expect(['maxWidth', 'maxHeight', 'maxArea'].filter((key) => key in info)).toEqual([]);
    expect(info.sizes).toContainEqual({ width: 6000, height: 4000 });
  });

  it('gives only maxWidth when maxHeight equals it by inference, and only the limits that are set', () => {
    // Act
    const widthOnly = VERSIONS['3'].infoDocument(SOURCE, options(ID_3, { maxWidth: 1000 }));
    const areaOnly = VERSIONS['3'].infoDocument(SOURCE, options(ID_3, { maxArea: 1_000_000 }));

    // Assess
    expect([widthOnly.maxWidth, 'maxHeight' in widthOnly, 'maxArea' in widthOnly]).toEqual([1000, false, false]);
    expect(['maxWidth' in areaOnly, 'maxHeight' in areaOnly, areaOnly.maxArea]).toEqual([false, false, 1_000_000]);
  });

  it('lists in extraFeatures exactly the optional level-2 features Recto supports (3.0 compliance §3–4)', () => {
    // Prepare: required at level 2, so listed by the profile and not in extraFeatures.
    const requiredAtLevel2 = [
      'baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPct', 'regionByPx', 'regionSquare', 'rotationBy90s',
      'sizeByConfinedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh',
    ];

    // Act
    const { extraFeatures } = VERSIONS['3'].infoDocument(SOURCE, options(ID_3, SPEC_LIMITS)) as { extraFeatures: string[] };

    // Assess
    expect(extraFeatures.filter((feature) => requiredAtLevel2.includes(feature))).toEqual([]);
    expect(extraFeatures).toEqual(['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'rotationArbitrary', 'sizeUpscaling']);
  });

  it('advertises sizeUpscaling with maxArea under the default configuration (3.0 §5.7: upscaling needs maxWidth or maxArea)', () => {
    // Prepare
    const config = loadConfig({ SOURCE_BUCKET: 'src', DERIVATIVE_BUCKET: 'out', IIIF_AUTH: 'off' });

    // Act
    const info = VERSIONS['3'].infoDocument(SOURCE, options(ID_3, config.limits, config.tileSize));

    // Assess
    expect(info.maxArea).toBe(100_000_000);
    expect(info.extraFeatures).toContain('sizeUpscaling');
  });

  it('answers with the JSON-LD media type and the 3.0 context as its profile (3.0 §5.1)', () => {
    // Act
    const types = [undefined, 'application/ld+json', '*/*'].map((accept) => versionModule('3').infoMediaType(accept));

    // Assess
    expect(new Set(types)).toEqual(new Set(['application/ld+json;profile="http://iiif.io/api/image/3/context.json"']));
    expect(VERSIONS['3'].profileUrl).toBe('http://iiif.io/api/image/3/level2.json');
  });
});

describe('the 2.1 info.json', () => {
  it('has every required property and a level-2 profile with formats, qualities, supports and limits (2.1 §5)', () => {
    // Act
    const info = VERSIONS['2'].infoDocument(SOURCE, options(ID_2, SPEC_LIMITS));

    // Assess
    expect(Object.keys(info)[0]).toBe('@context');
    expect(info).toStrictEqual({
      '@context': 'http://iiif.io/api/image/2/context.json',
      '@id': ID_2,
      protocol: 'http://iiif.io/api/image',
      width: 6000,
      height: 4000,
      profile: [
        'http://iiif.io/api/image/2/level2.json',
        {
          formats: ['jpg', 'png', 'webp', 'tif', 'gif'],
          qualities: ['default', 'color', 'gray', 'bitonal'],
          supports: [
            'baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader',
            'regionByPct', 'regionByPx', 'regionSquare', 'rotationArbitrary', 'rotationBy90s', 'sizeAboveFull',
            'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh',
          ],
          maxWidth: 3000,
          maxHeight: 2000,
          maxArea: 4_000_000,
        },
      ],
      sizes: [
        { width: 47, height: 31 },
        { width: 94, height: 63 },
        { width: 188, height: 125 },
        { width: 375, height: 250 },
        { width: 750, height: 500 },
        { width: 1500, height: 1000 },
      ],
      tiles: [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8, 16] }],
    });
  });

  it('leaves the limits out of the profile when none is set', () => {
    // Act
    const info = VERSIONS['2'].infoDocument(SOURCE, options(ID_2));
    const profile = (info.profile as unknown[])[1] as Record<string, unknown>;

    // Assess
    expect(Object.keys(profile)).toEqual(['formats', 'qualities', 'supports']);
  });

  it('lists the optional 2.1 level-2 features Recto supports, and no deprecated names (2.1 compliance §3–4, §5.3)', () => {
    // Act
    const info = VERSIONS['2'].infoDocument(SOURCE, options(ID_2));
    const { supports } = (info.profile as unknown[])[1] as { supports: string[] };

    // Assess
    expect(['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'regionSquare', 'rotationArbitrary', 'sizeAboveFull'].filter((feature) => !supports.includes(feature))).toEqual([]);
    expect(supports.filter((feature) => feature === 'sizeByWhListed' || feature === 'sizeByForcedWh')).toEqual([]);
  });

  it('answers application/json unless the client asks for JSON-LD (2.1 §5.1)', () => {
    // Act
    const types = [undefined, 'application/json', '*/*', 'application/ld+json', 'text/html, application/ld+json;q=0.9'].map((accept) =>
      VERSIONS['2'].infoMediaType(accept),
    );

    // Assess
    expect(types).toEqual(['application/json', 'application/json', 'application/json', 'application/ld+json', 'application/ld+json']);
    expect(VERSIONS['2'].profileUrl).toBe('http://iiif.io/api/image/2/level2.json');
  });
});

describe('the id of info.json', () => {
  it.each([
    ['3', 'id', 'https://cdn.example.org/stage/iiif/3/a%2Fb%20c'],
    ['2', '@id', 'http://127.0.0.1:3000/iiif/2/ark:%2F12025%2F654xz321'],
  ] as const)('is the id it was given, byte for byte (%s)', (version, key, id) => {
    // Act
    const info = VERSIONS[version].infoDocument(SOURCE, options(id));

    // Assess
    expect(info[key]).toBe(id);
  });
});

describe('advertised sizes', () => {
  it('follow the pyramid levels when the source has them, smallest first, heights as w, gives them', () => {
    // Prepare
    const pyramid: SourceImage = {
      width: 6000,
      height: 4001,
      levels: [
        { width: 6000, height: 4001 },
        { width: 3000, height: 2001 },
        { width: 1500, height: 1001 },
        { width: 750, height: 501 },
      ],
    };

    // Act
    const sizes = advertisedSizes(pyramid, {});

    // Assess
    expect(sizes).toEqual([
      { width: 750, height: 500 },
      { width: 1500, height: 1000 },
      { width: 3000, height: 2001 },
      { width: 6000, height: 4001 },
    ]);
  });

  it('halve down to the first size under 32 pixels on the longer side', () => {
    // Act
    const sizes = advertisedSizes({ width: 300, height: 200 }, {});

    // Assess
    expect(sizes).toEqual([
      { width: 38, height: 25 },
      { width: 75, height: 50 },
      { width: 150, height: 100 },
      { width: 300, height: 200 },
    ]);
  });

  it('are servable, in either version, as the same Plan within the limits', () => {
    fc.assert(
      fc.property(sourceArb, limitsArb, (source, limits) => {
        // Act
        const sizes = advertisedSizes(source, limits);

        // Assess
        expect(sizes.map((size) => size.width)).toEqual([...sizes.map((size) => size.width)].sort((a, b) => a - b));
        for (const size of sizes) {
          const byWh = planOf('3', `x/full/${size.width},${size.height}/0/default.jpg`, source, limits);
          const byW = planOf('2', `x/full/${size.width},/0/default.jpg`, source, limits);
          const byWh2 = planOf('2', `x/full/${size.width},${size.height}/0/default.jpg`, source, limits);
          expect(byWh.size).toEqual(size);
          expect(byW).toEqual(byWh);
          expect(byWh2).toEqual(byWh);
          expect(limitExceeded(size, limits)).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('advertised tiles', () => {
  it('use the source\'s native square tiles, doubled up to 256 and capped at 1024', () => {
    // Act
    const edges = [
      tileEdge({ width: 9000, height: 9000, tile: { width: 256, height: 256 } }, 512),
      tileEdge({ width: 9000, height: 9000, tile: { width: 128, height: 128 } }, 512),
      tileEdge({ width: 9000, height: 9000, tile: { width: 2048, height: 2048 } }, 512),
    ];

    // Assess
    expect(edges).toEqual([256, 256, 1024]);
  });

  it('use the configured edge for untiled sources and non-square tiles', () => {
    // Act
    const edges = [tileEdge({ width: 9000, height: 9000 }, 512), tileEdge({ width: 9000, height: 9000, tile: { width: 256, height: 128 } }, 384)];

    // Assess
    expect(edges).toEqual([512, 384]);
  });

  it('shrink the edge to fit maxWidth, maxHeight and maxArea (3.0 §5.2, 2.1 §5.3: advertised tiles MUST be within the limits)', () => {
    // Act
    const edges = [
      tileEdge({ width: 9000, height: 9000 }, 512, { maxWidth: 300 }),
      tileEdge({ width: 9000, height: 9000, tile: { width: 256, height: 256 } }, 512, { maxWidth: 1000, maxHeight: 200 }),
      tileEdge({ width: 9000, height: 9000 }, 512, { maxArea: 40_000 }),
      tileEdge({ width: 9000, height: 9000 }, 512, { maxWidth: 5000, maxArea: 100_000_000 }),
    ];

    // Assess
    expect(edges).toEqual([300, 200, 200, 512]);
  });

  it('list scale factors 1, 2, 4, … up to the one at which the whole image is a single tile', () => {
    // Act
    const tiles = [
      advertisedTiles({ width: 6000, height: 4000 }, 512),
      advertisedTiles({ width: 512, height: 300 }, 512),
      advertisedTiles({ width: 513, height: 300 }, 512),
      advertisedTiles({ width: 1, height: 1 }, 256),
    ];

    // Assess
    expect(tiles).toEqual([
      [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8, 16] }],
      [{ width: 512, height: 512, scaleFactors: [1] }],
      [{ width: 512, height: 512, scaleFactors: [1, 2] }],
      [{ width: 256, height: 256, scaleFactors: [1] }],
    ]);
  });

  it('are servable within the limits, in both versions, as the URLs OpenSeadragon and the 2.1 notes build', () => {
    fc.assert(
      fc.property(sourceArb, limitsArb, fc.option(fc.constantFrom(64, 128, 256, 512, 1024), { nil: undefined }), (source, limits, native) => {
        // Prepare
        const image: SourceImage = native === undefined ? source : { ...source, tile: { width: native, height: native } };
        const [spec] = advertisedTiles(image, 512, limits);

        // Act / Assess
        expect(spec).toBeDefined();
        const scaleFactors = spec?.scaleFactors ?? [];
        const edge = spec?.width ?? 0;
        const largest = scaleFactors.at(-1) ?? 0;
        expect(Math.ceil(Math.max(source.width, source.height) / largest)).toBeLessThanOrEqual(edge);
        if (largest > 1) expect(Math.ceil(Math.max(source.width, source.height) / (largest / 2))).toBeGreaterThan(edge);
        for (const request of tileRequests(source, spec)) {
          for (const version of ['2', '3'] as const) {
            const plan = planOf(version, `x/${request}/0/default.jpg`, source, limits);
            expect(limitExceeded(plan.size, limits)).toBeUndefined();
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

// ---- the tile URLs viewers build -----------------------------------------------------------

/**
 * `{region}/{size}` of the corner and edge tiles at every scale factor, as the 2.1 implementation
 * notes (§A) compute them; OpenSeadragon builds the same `x,y,w,h/w,h` for both versions.
 */
function tileRequests(source: Size, spec: TileSpec | undefined): string[] {
  if (spec === undefined) return [];
  const requests: string[] = [];
  for (const s of spec.scaleFactors) {
    const columns = Math.ceil(source.width / (spec.width * s));
    const rows = Math.ceil(source.height / (spec.height * s));
    for (const n of new Set([0, columns - 1])) {
      for (const m of new Set([0, rows - 1])) {
        const xr = n * spec.width * s;
        const yr = m * spec.height * s;
        const wr = Math.min(spec.width * s, source.width - xr);
        const hr = Math.min(spec.height * s, source.height - yr);
        const ws = xr + spec.width * s > source.width ? Math.floor((source.width - xr + s - 1) / s) : spec.width;
        const hs = yr + spec.height * s > source.height ? Math.floor((source.height - yr + s - 1) / s) : spec.height;
        requests.push(`${xr},${yr},${wr},${hr}/${ws},${hs}`);
      }
    }
  }
  return requests;
}

describe('one storage key for what info.json advertises', () => {
  it('is the same for the 2.1 w, and the 3.0 w,h request of each size', () => {
    // Prepare
    const sizes = advertisedSizes(SOURCE, SPEC_LIMITS);
    const key = (plan: Plan): string => storageKey(plan, 'd/');

    // Act
    const keys = sizes.map((size) => [
      key(planOf('2', `x/full/${size.width},/0/default.jpg`, SOURCE, SPEC_LIMITS)),
      key(planOf('3', `x/full/${size.width},${size.height}/0/default.jpg`, SOURCE, SPEC_LIMITS)),
    ]);

    // Assess
    expect(keys[0]).toEqual(['d/x/full/47,31/0/default.jpg', 'd/x/full/47,31/0/default.jpg']);
    expect(keys.every(([a, b]) => a === b)).toBe(true);
  });
});
