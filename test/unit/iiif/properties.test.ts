/**
 * Properties of parse → resolve → canonical → storage key, for random sources (1 to 20000 px a
 * side), random limits and random requests in every form of both versions:
 * the canonical path of a Plan resolves back to that Plan in both versions, equivalent spellings
 * share one key, no request yields an empty or over-limit image, and keys stay well-formed.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { RectoError, type ErrorCode } from '../../../lib/errors.js';
import {
  API_VERSIONS,
  canonicalPath,
  encodeIdentifier,
  limitExceeded,
  storageKey,
  type ApiVersion,
  type Limits,
  type Plan,
  type Size,
} from '../../../lib/iiif/index.js';
import {
  formatArb,
  identifierArb,
  identifierSegmentArb,
  limitsArb,
  percentEncodeSome,
  prefixArb,
  qualityArb,
  regionSeedArb,
  regionText,
  rotationSeedArb,
  rotationText,
  sizeSeedArb,
  sizeText,
  sourceArb,
} from './arbitraries.js';
import { planOf } from './helpers.js';

const OTHER: Record<ApiVersion, ApiVersion> = { '2': '3', '3': '2' };

/** parse + resolve, or the RectoError it threw (anything else fails the test). */
function attempt(version: ApiVersion, path: string, source: Size, limits: Limits): Plan | RectoError {
  try {
    return planOf(version, path, source, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(RectoError);
    return error as RectoError;
  }
}

/** An arbitrary request: identifier, source, limits, and the seeds of each part. */
const requestArb = fc
  .record({
    identifier: identifierArb,
    source: sourceArb,
    limits: limitsArb,
    region: regionSeedArb,
    size: sizeSeedArb,
    rotation: rotationSeedArb,
    quality: qualityArb,
    format: formatArb,
    prefix: prefixArb,
  })
  .chain((request) => identifierSegmentArb(request.identifier).map((segment) => ({ ...request, segment })));

type Request = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** The request path for a version, or the error that the region alone already gives. */
function pathFor(version: ApiVersion, request: Request): { path: string } | { error: RectoError } {
  const region = regionText(request.region, request.source);
  const base = attempt(version, `${request.segment}/${region}/max/0/default.jpg`, request.source, request.limits);
  if (base instanceof RectoError) return { error: base };
  const size = sizeText(version, request.size, base.region);
  return { path: `${request.segment}/${region}/${size}/${rotationText(request.rotation)}/${request.quality}.${request.format}` };
}

/** What a valid request may still fail with once resolved: nothing about the grammar. */
const RESOLUTION_ERRORS: readonly ErrorCode[] = ['IIIF_REGION_OUT_OF_BOUNDS', 'IIIF_SIZE_TOO_SMALL', 'IIIF_LIMIT_EXCEEDED'];

const tally = { planned: 0, refused: 0 };

afterAll(() => {
  // The properties say nothing if most requests are refused: keep the generators honest.
  expect(tally.planned).toBeGreaterThan(tally.refused);
});

describe.each(API_VERSIONS.map((version) => [version === '2' ? '2.1' : '3.0', version] as const))('random IIIF %s requests', (_label, version) => {
  it('resolve to a Plan whose canonical path, in either version, resolves to the same Plan', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) {
          expect(RESOLUTION_ERRORS).toContain(written.error.code);
          tally.refused += 1;
          return;
        }

        // Act
        const plan = attempt(version, written.path, request.source, request.limits);
        if (plan instanceof RectoError) {
          expect(RESOLUTION_ERRORS).toContain(plan.code);
          tally.refused += 1;
          return;
        }
        tally.planned += 1;
        const again = API_VERSIONS.map((canonicalVersion) =>
          planOf(canonicalVersion, `${encodeIdentifier(request.identifier)}/${canonicalPath(canonicalVersion, plan)}`, request.source, request.limits),
        );

        // Assess
        expect(plan.identifier).toBe(request.identifier);
        expect(again).toEqual([plan, plan]);
      }),
      { numRuns: 600 },
    );
  });

  it('never yield an empty, off-image or over-limit result', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) return;

        // Act
        const plan = attempt(version, written.path, request.source, request.limits);
        if (plan instanceof RectoError) return;

        // Assess
        const { region, size, source } = plan;
        expect([region.x, region.y, region.width, region.height, size.width, size.height].every(Number.isSafeInteger)).toBe(true);
        expect(size.width).toBeGreaterThanOrEqual(1);
        expect(size.height).toBeGreaterThanOrEqual(1);
        expect(region.x).toBeGreaterThanOrEqual(0);
        expect(region.y).toBeGreaterThanOrEqual(0);
        expect(region.width).toBeGreaterThanOrEqual(1);
        expect(region.height).toBeGreaterThanOrEqual(1);
        expect(region.x + region.width).toBeLessThanOrEqual(source.width);
        expect(region.y + region.height).toBeLessThanOrEqual(source.height);
        expect(limitExceeded(size, request.limits)).toBeUndefined();
        expect(plan.rotation).toBeGreaterThanOrEqual(0);
        expect(plan.rotation).toBeLessThan(360);
        if (version === '3' && !written.path.split('/')[2]?.startsWith('^')) {
          expect(size.width <= region.width && size.height <= region.height).toBe(true);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('have a storage key under the prefix, with the identifier as exactly one segment', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) return;
        const plan = attempt(version, written.path, request.source, request.limits);
        if (plan instanceof RectoError) return;

        // Act
        const key = storageKey(plan, request.prefix);

        // Assess
        expect(key.startsWith(request.prefix)).toBe(true);
        const segments = key.slice(request.prefix.length).split('/');
        expect(segments).toHaveLength(5);
        expect(segments[0]).toMatch(/^[A-Za-z0-9._~%-]+$/);
        expect(decodeURIComponent(segments[0] ?? '')).toBe(request.identifier);
        const [region, , rotation, qualityFormat] = canonicalPath('3', plan).split('/');
        expect(key).toBe(`${request.prefix}${encodeIdentifier(request.identifier)}/${region}/${plan.size.width},${plan.size.height}/${rotation}/${qualityFormat}`);
      }),
      { numRuns: 300 },
    );
  });

  it('give one storage key however the parts are percent-encoded (%21 for !, %2C for , …)', () => {
    fc.assert(
      fc.property(requestArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean(), (request, mask, lower) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) return;
        const plan = attempt(version, written.path, request.source, request.limits);
        if (plan instanceof RectoError) return;
        const [identifier = '', ...parts] = written.path.split('/');
        const encoded = [identifier, ...parts.map((part) => percentEncodeSome(part, mask, lower))].join('/');

        // Act
        const again = planOf(version, encoded, request.source, request.limits);

        // Assess
        expect(storageKey(again, request.prefix)).toBe(storageKey(plan, request.prefix));
      }),
      { numRuns: 300 },
    );
  });
});

describe('equivalent spellings', () => {
  const pixelRectArb = fc
    .record({ source: sourceArb, x: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), y: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), w: fc.double({ min: 0, max: 1, noNaN: true }), h: fc.double({ min: 0, max: 1, noNaN: true }) })
    .map(({ source, x, y, w, h }) => {
      const left = Math.floor(x * source.width);
      const top = Math.floor(y * source.height);
      const width = Math.max(1, Math.floor(w * (source.width - left)));
      const height = Math.max(1, Math.floor(h * (source.height - top)));
      return { source, left, top, width, height };
    });

  it('pct: and pixel regions that land on the same rectangle share one key, in 2.1 and 3.0 alike', () => {
    fc.assert(
      fc.property(pixelRectArb, fc.constantFrom(...API_VERSIONS), fc.constantFrom(...API_VERSIONS), ({ source, left, top, width, height }, pixelVersion, percentVersion) => {
        // Prepare
        const percent = (value: number, of: number): string => ((value * 100) / of).toFixed(10);
        const pixels = `${left},${top},${width},${height}`;
        const pct = `pct:${percent(left, source.width)},${percent(top, source.height)},${percent(width, source.width)},${percent(height, source.height)}`;

        // Act
        const byPixels = planOf(pixelVersion, `id/${pixels}/max/0/default.jpg`, source);
        const byPercent = planOf(percentVersion, `id/${pct}/max/0/default.jpg`, source);

        // Assess
        expect(byPercent.region).toEqual({ x: left, y: top, width, height });
        expect(storageKey(byPercent, 'p/')).toBe(storageKey(byPixels, 'p/'));
      }),
      { numRuns: 500 },
    );
  });

  it.each(API_VERSIONS)('!w,h and the w,h it yields share one key (%s)', (version) => {
    fc.assert(
      fc.property(sourceArb, limitsArb, fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 1, max: 40_000 }), fc.boolean(), (source, limits, w, h, caret) => {
        // Prepare
        const fit = `${version === '3' && caret ? '^' : ''}!${w},${h}`;
        const fitted = attempt(version, `id/full/${fit}/0/default.jpg`, source, limits);
        if (fitted instanceof RectoError) return;
        const upscaled = fitted.size.width > source.width || fitted.size.height > source.height;
        const exact = `${version === '3' && upscaled ? '^' : ''}${fitted.size.width},${fitted.size.height}`;

        // Act
        const byExact = planOf(version, `id/full/${exact}/0/default.jpg`, source, limits);

        // Assess
        expect(fitted.size.width).toBeLessThanOrEqual(w);
        expect(fitted.size.height).toBeLessThanOrEqual(h);
        expect(storageKey(byExact, '')).toBe(storageKey(fitted, ''));
      }),
      { numRuns: 500 },
    );
  });

  it.each(API_VERSIONS)('w, and ,h share one key exactly when they give the same pixels (%s)', (version) => {
    fc.assert(
      fc.property(sourceArb, fc.integer({ min: 1, max: 20_000 }), (source, width) => {
        // Prepare
        const caret = (upscales: boolean): string => (version === '3' && upscales ? '^' : '');
        const byWidth = attempt(version, `id/full/${caret(width > source.width)}${width},/0/default.jpg`, source, {});
        if (byWidth instanceof RectoError) return;
        const { height } = byWidth.size;

        // Act
        const byHeight = attempt(version, `id/full/${caret(height > source.height)},${height}/0/default.jpg`, source, {});
        if (byHeight instanceof RectoError) return;

        // Assess
        expect(storageKey(byHeight, '') === storageKey(byWidth, '')).toBe(byHeight.size.width === width);
      }),
      { numRuns: 500 },
    );
  });

  it('a 2.1 request and a 3.0 request for the same pixels share one key', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(...API_VERSIONS), (request, version) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) return;
        const plan = attempt(version, written.path, request.source, request.limits);
        if (plan instanceof RectoError) return;
        const other = OTHER[version];

        // Act
        const inOther = planOf(other, `${request.segment}/${canonicalPath(other, plan)}`, request.source, request.limits);

        // Assess
        expect(storageKey(inOther, request.prefix)).toBe(storageKey(plan, request.prefix));
      }),
      { numRuns: 300 },
    );
  });

  it('360 and 0, and !360 and !0, share one key', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(...API_VERSIONS), fc.boolean(), (request, version, mirror) => {
        // Prepare
        const written = pathFor(version, request);
        if ('error' in written) return;
        const parts = written.path.split('/');
        const withRotation = (rotation: string): string => [...parts.slice(0, 3), `${mirror ? '!' : ''}${rotation}`, ...parts.slice(4)].join('/');

        // Act
        const full = attempt(version, withRotation('360'), request.source, request.limits);
        const none = attempt(version, withRotation('0'), request.source, request.limits);

        // Assess
        if (full instanceof RectoError || none instanceof RectoError) {
          expect(full).toEqual(none);
          return;
        }
        expect(storageKey(full, request.prefix)).toBe(storageKey(none, request.prefix));
        expect(full.rotation).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
