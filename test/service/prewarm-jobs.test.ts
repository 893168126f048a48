/**
 * Planning (pure): viewer URLs, presets and paths resolved as the IIIF function resolves them and
 * deduplicated by storage key; source keys back to identifiers through SOURCE_KEY_TEMPLATE.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config.js';
import type { SourceImage } from '../../lib/iiif/index.js';
import { planJobs, type Selection } from '../../lib/service/prewarm-jobs.js';
import { parsePresets } from '../../lib/service/presets.js';
import { decodeEventKey } from '../../lib/store/index.js';
import { identifierFromKey, keyPrefix } from '../../lib/store/index.js';

const CONTEXT = { identifier: 'ms/1', limits: { maxArea: DEFAULTS.IIIF_MAX_AREA }, tileSize: 512, prefix: 'iiif/' };
const NOTHING: Selection = { tiles: false, sizes: false, presets: [], paths: [], api: 'both' };

function plan(source: SourceImage, selection: Partial<Selection>) {
  return planJobs({ ...CONTEXT, source }, { ...NOTHING, ...selection });
}

describe('planJobs', () => {
  it('plans one job per stored key: 2.1 and 3.0 URLs for the same pixels share it', () => {
    // Prepare: 1000x700, 512-pixel tiles, scale factors 1 and 2: 2x2 + 1 tiles.
    const source = { width: 1000, height: 700 };

    // Act
    const both = plan(source, { tiles: true });
    const v2 = plan(source, { tiles: true, api: '2' });
    const v3 = plan(source, { tiles: true, api: '3' });

    // Assess
    expect(both.jobs.map((job) => job.key).sort()).toEqual(v3.jobs.map((job) => job.key).sort());
    expect(v2.jobs.map((job) => job.key).sort()).toEqual(v3.jobs.map((job) => job.key).sort());
    expect(both.requests).toBeGreaterThan(both.jobs.length * 2);
    expect(both.jobs.map((job) => job.key)).toEqual(expect.arrayContaining([
      'iiif/ms%2F1/0,0,512,512/512,512/0/default.jpg',
      'iiif/ms%2F1/512,512,488,188/488,188/0/default.jpg',
      'iiif/ms%2F1/full/500,350/0/default.jpg',
    ]));
    expect(both.unavailable).toEqual([]);
  });

  it('keeps what asked for each job, and lists presets that do not apply instead of failing', () => {
    // Prepare
    const presets = parsePresets({ thumbnail: 'full/!400,400/0/default.jpg', huge: 'full/4000,/0/default.jpg', same: { path: 'full/400,/0/default.jpg', api: '2' } }, 'test');

    // Act
    const result = plan({ width: 1000, height: 700 }, { sizes: true, presets: [...presets.values()], paths: ['full/400,280/0/default.jpg'] });

    // Assess
    const thumbnail = result.jobs.find((job) => job.key === 'iiif/ms%2F1/full/400,280/0/default.jpg');
    expect(thumbnail?.origins).toEqual(['preset thumbnail', 'preset same', 'path']);
    expect(result.unavailable).toEqual([
      { origin: 'preset huge', request: 'full/4000,/0/default.jpg', code: 'IIIF_UPSCALE_NOT_ALLOWED', reason: 'Expected at most the region\'s 1000x700 pixels without "^" for size but received "4000,"' },
    ]);
  });

  it('covers the pyramid of a tiled source at its native tile size', () => {
    // Prepare: 256-pixel native tiles, levels 2048x1536 … 256x192.
    const source = { width: 2048, height: 1536, tile: { width: 256, height: 256 }, levels: [2048, 1024, 512, 256].map((w) => ({ width: w, height: (w * 3) / 4 })) };

    // Act
    const result = plan(source, { tiles: true });

    // Assess: whole 256x256 tiles: 8x6 at full size, 4x3 at 1/2, and the top row of 2x2 at 1/4
    // (the bottom row there is 128 high).
    const regions = new Set(result.jobs.map((job) => job.key.split('/')[2]));
    expect(regions.has('1792,1280,256,256')).toBe(true);
    expect(result.jobs.filter((job) => job.key.endsWith('/256,256/0/default.jpg'))).toHaveLength(48 + 12 + 2);
    expect(result.jobs.filter((job) => job.key.endsWith('/256,128/0/default.jpg')).map((job) => job.key.split('/')[2])).toEqual(['0,1024,1024,512', '1024,1024,1024,512']);
  });
});

describe('planJobs, paths and sizes', () => {
  it('lists paths that do not parse or fall outside the image as unavailable, and plans the rest once', () => {
    // Prepare
    const paths = ['full/100,/0/default.jpg', 'full/100,70/0/default.jpg', 'full/big/0/default.jpg', '2000,0,10,10/max/0/default.jpg', 'full/max/0'];

    // Act
    const result = plan({ width: 1000, height: 700 }, { paths });

    // Assess: the first two are one derivative; three requests do not apply.
    expect(result.jobs.map((job) => [job.key, job.origins])).toEqual([['iiif/ms%2F1/full/100,70/0/default.jpg', ['path']]]);
    expect(result.requests).toBe(5);
    expect(result.unavailable.map(({ origin, request, code }) => ({ origin, request, code }))).toEqual([
      { origin: 'path', request: 'full/big/0/default.jpg', code: 'IIIF_INVALID_SIZE' },
      { origin: 'path', request: '2000,0,10,10/max/0/default.jpg', code: 'IIIF_REGION_OUT_OF_BOUNDS' },
      { origin: 'path', request: 'full/max/0', code: 'IIIF_INVALID_PATH' },
    ]);
  });

  it('plans the sizes of info.json, the same keys for 2.1, 3.0 and both, with "size" as their origin', () => {
    // Prepare
    const source = { width: 1000, height: 700 };

    // Act
    const [v2, v3, both] = (['2', '3', 'both'] as const).map((api) => plan(source, { sizes: true, api }));

    // Assess
    const keys = (result: ReturnType<typeof plan> | undefined) => (result?.jobs ?? []).map((job) => job.key).sort();
    expect(keys(both)).toEqual(['1000,700', '125,88', '250,175', '500,350', '63,44'].map((size) => `iiif/ms%2F1/full/${size}/0/default.jpg`).sort());
    expect(keys(v2)).toEqual(keys(both));
    expect(keys(v3)).toEqual(keys(both));
    expect(new Set(both?.jobs.flatMap((job) => job.origins))).toEqual(new Set(['size']));
  });
});

describe('identifierFromKey', () => {
  it.each([
    ['{id}', 'ms/0001', 'ms/0001'],
    ['masters/{id}.tif', 'masters/ms/0001.tif', 'ms/0001'],
    ['masters/{id}.tif', 'masters/.tif', undefined],
    ['masters/{id}.tif', 'other/ms.tif', undefined],
    ['masters/{id}.tif', 'masters/ms.jpg', undefined],
    ['{id}/{id}.tif', 'a/a.tif', 'a'],
    ['{id}/{id}.tif', 'a/b.tif', undefined],
  ])('with %s reads %s as %s', (template, key, identifier) => {
    expect(identifierFromKey(template, key)).toBe(identifier);
  });

  it('lists under the part of the template before {id}, and decodes event keys', () => {
    expect(keyPrefix('masters/{id}.tif')).toBe('masters/');
    expect(decodeEventKey('masters/ms%2F0001+r%C3%A9cto.tif')).toBe('masters/ms/0001 récto.tif');
  });
});
