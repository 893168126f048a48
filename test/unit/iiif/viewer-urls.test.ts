/**
 * The viewer URL generators of lib/prewarm/viewers.ts, held to the viewers' own code: the
 * current OpenSeadragon (node_modules/openseadragon, loaded for real) string for string over
 * whole pyramids, for both versions and for images whose `sizes` OpenSeadragon does and does not
 * take as level sizes; the legacy OpenSeadragon and Leaflet-IIIF on worked examples from their
 * sources.
 */
import { describe, expect, it } from 'vitest';
import { VERSIONS, type ApiVersion, type SourceImage } from '../../../lib/iiif/index.js';
import { readInfo, sizeUrls, tileUrls, viewerUrls } from '../../../lib/iiif/index.js';
import { openSeadragon, openSeadragonTileUrls } from './openseadragon.js';

const BASE = 'https://iiif.example.org/iiif';

function info(version: ApiVersion, source: SourceImage, tileSize = 512, limits = { maxArea: 100_000_000 }): Record<string, unknown> {
  return VERSIONS[version].infoDocument(source, { id: `${BASE}/${version}/img%2F1`, limits, tileSize });
}

/** A libvips-style page pyramid: each level halves the one above, dropping a trailing odd pixel. */
function pyramid(width: number, height: number, tile = 256): SourceImage {
  const levels = [{ width, height }];
  for (let level = levels[0]; level !== undefined && Math.max(level.width, level.height) > tile; ) {
    level = { width: Math.floor(level.width / 2), height: Math.floor(level.height / 2) };
    levels.push(level);
  }
  return { width, height, levels, tile: { width: tile, height: tile } };
}

const CASES: { readonly name: string; readonly source: SourceImage; readonly tileSize?: number }[] = [
  { name: 'a 10000x7500 pyramidal TIFF (256-pixel tiles, sizes taken as levels)', source: pyramid(10_000, 7_500) },
  { name: 'a 3001x1999 pyramidal TIFF (odd sizes)', source: pyramid(3_001, 1_999) },
  { name: 'a 1000x1000 PNG (512-pixel tiles, halvings as sizes)', source: { width: 1_000, height: 1_000 } },
  { name: 'a 4097x123 panorama', source: { width: 4_097, height: 123 } },
  { name: 'a 300x5000 scroll with 256-pixel tiles', source: { width: 300, height: 5_000 }, tileSize: 256 },
  { name: 'a 200x150 image smaller than one tile', source: { width: 200, height: 150 } },
];

describe('OpenSeadragon tile URLs', () => {
  it('are loaded from the real OpenSeadragon 6', () => {
    expect(openSeadragon().version.versionStr).toMatch(/^6\./);
  });

  for (const version of ['2', '3'] as const) {
    it.each(CASES)(`for IIIF ${version}, $name: the same strings as OpenSeadragon's getTileUrl, level by level`, ({ source, tileSize }) => {
      // Prepare
      const document = info(version, source, tileSize);
      const infoUrl = `${BASE}/${version}/img%2F1/info.json`;

      // Act
      const ours = tileUrls(readInfo(document), 'openseadragon');

      // Assess
      const theirs = openSeadragonTileUrls(document, infoUrl);
      expect(ours.length).toBeGreaterThan(0);
      expect(ours).toEqual(theirs);
    });
  }

  it('for the 10000x7500 pyramid use the sizes list as level sizes (312 wide at 1/32), as OpenSeadragon does', () => {
    // Prepare: floor(10000 / 32) = 312, where a computed level would be ceil(312.5) = 313.
    const document = info('3', pyramid(10_000, 7_500));

    // Act
    const urls = tileUrls(readInfo(document), 'openseadragon');

    // Assess: the second tile at 1/32 is 312 - 256 = 56 wide.
    expect(urls).toContain(`${BASE}/3/img%2F1/8192,0,1808,7500/56,234/0/default.jpg`);
  });
});

describe('legacy OpenSeadragon (2.3 to 5.0, as Mirador bundles it) tile URLs', () => {
  const document = info('2', { width: 1_000, height: 700 }, 256);

  it('ask 2.1 servers for w, sizes, and the whole image at the smallest level', () => {
    // Act
    const urls = tileUrls(readInfo(document), 'openseadragon-legacy');

    // Assess: scale factors 1, 2, 4; level 0 is 250x175, smaller than a tile.
    expect(urls[0]).toBe(`${BASE}/2/img%2F1/full/250,/0/default.jpg`);
    expect(urls).toContain(`${BASE}/2/img%2F1/512,512,488,188/244,/0/default.jpg`);
    expect(urls).toContain(`${BASE}/2/img%2F1/768,512,232,188/232,/0/default.jpg`);
    expect(urls).toHaveLength(1 + 4 + 12);
  });

  it('ask for the same regions as the current OpenSeadragon, which sends w,h instead', () => {
    // Act
    const legacy = tileUrls(readInfo(document), 'openseadragon-legacy');
    const current = tileUrls(readInfo(document), 'openseadragon');

    // Assess
    expect(current).toContain(`${BASE}/2/img%2F1/512,512,488,188/244,94/0/default.jpg`);
    expect(legacy.map((url) => url.split('/').slice(-4, -3)[0])).toEqual(current.map((url) => url.split('/').slice(-4, -3)[0]));
  });

  it('take sizes as level sizes when there are as many as levels, or one fewer', () => {
    // Prepare: 2 sizes for 3 levels (maxLevel 2): the full size is added.
    const summary = { ...readInfo(document), sizes: [{ width: 249, height: 174 }, { width: 499, height: 349 }] };

    // Act
    const urls = tileUrls(summary, 'openseadragon-legacy');

    // Assess
    expect(urls[0]).toBe(`${BASE}/2/img%2F1/full/249,/0/default.jpg`);
    expect(urls).toContain(`${BASE}/2/img%2F1/512,512,488,188/243,/0/default.jpg`);
  });
});

describe('Leaflet-IIIF tile URLs', () => {
  it('cover every zoom with x,y,w,h regions, w, sizes for 2.1 and w,h for 3.0, and five negative zooms', () => {
    // Prepare: 1000x700, 256-pixel tiles: maxNativeZoom 2.
    const v2 = readInfo(info('2', { width: 1_000, height: 700 }, 256));
    const v3 = readInfo(info('3', { width: 1_000, height: 700 }, 256));

    // Act
    const urls2 = tileUrls(v2, 'leaflet-iiif');
    const urls3 = tileUrls(v3, 'leaflet-iiif');

    // Assess
    expect(urls3).toHaveLength(1 + 4 + 12 + 5);
    expect(urls3.slice(0, 2)).toEqual([`${BASE}/3/img%2F1/0,0,1000,700/250,175/0/default.jpg`, `${BASE}/3/img%2F1/0,0,512,512/256,256/0/default.jpg`]);
    expect(urls3).toContain(`${BASE}/3/img%2F1/512,512,488,188/244,94/0/default.jpg`);
    expect(urls3).toContain(`${BASE}/3/img%2F1/768,512,232,188/232,188/0/default.jpg`);
    expect(urls3.slice(-5)).toEqual([125, 63, 32, 16, 8].map((w, i) => `${BASE}/3/img%2F1/0,0,1000,700/${w},${[88, 44, 22, 11, 6][i]}/0/default.jpg`));
    expect(urls2).toContain(`${BASE}/2/img%2F1/512,512,488,188/244,/0/default.jpg`);
  });
});

describe('size URLs', () => {
  it('are the sizes entries as full/w, (2.1) or full/w,h (3.0) for OpenSeadragon and full/w,h for Mirador', () => {
    // Prepare
    const v2 = readInfo(info('2', { width: 1_000, height: 700 }));
    const v3 = readInfo(info('3', { width: 1_000, height: 700 }));

    // Act and assess
    expect(sizeUrls(v2, 'openseadragon')).toContain(`${BASE}/2/img%2F1/full/500,/0/default.jpg`);
    expect(sizeUrls(v3, 'openseadragon')).toContain(`${BASE}/3/img%2F1/full/500,350/0/default.jpg`);
    expect(sizeUrls(v2, 'mirador')).toContain(`${BASE}/2/img%2F1/full/500,350/0/default.jpg`);
    expect(sizeUrls(v3, 'leaflet-iiif')).toEqual([]);
  });

  it('come with the tiles, labelled by viewer and kind', () => {
    // Act
    const urls = viewerUrls(readInfo(info('3', { width: 1_000, height: 700 }, 256)), { tiles: false, sizes: true });

    // Assess
    expect(new Set(urls.map((url) => url.kind))).toEqual(new Set(['size']));
    expect(new Set(urls.map((url) => url.viewer))).toEqual(new Set(['openseadragon', 'openseadragon-legacy', 'mirador']));
  });
});
