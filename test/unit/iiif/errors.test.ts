/**
 * Every way a request can be wrong: the malformed-path corpus (test/fixtures/malformed-paths.json),
 * the errors that only resolution finds (region out of bounds, under a pixel, 3.0 upscaling
 * without ^, each limit), their exact messages, and random garbage that must never escape as
 * anything but a RectoError.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, IiifRequestError, RectoError, UnsupportedError, type ErrorCode } from '../../../lib/errors.js';
import { API_VERSIONS, parseImageRequest, resolve, type ApiVersion, type Limits, type Size } from '../../../lib/iiif/index.js';
import { SPEC_IMAGE, planOf, rectoErrorOf, segmentsOf } from './helpers.js';

interface CorpusCase {
  readonly path: string;
  readonly versions: readonly ApiVersion[];
  readonly status: number;
  readonly code: ErrorCode;
  readonly part: string;
}

interface Corpus {
  readonly source: Size;
  readonly limits: Limits;
  readonly cases: readonly CorpusCase[];
}

const corpus = JSON.parse(readFileSync(new URL('../../fixtures/malformed-paths.json', import.meta.url), 'utf8')) as Corpus;

/** Regex-escape a part name such as "quality.format". */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the malformed-path corpus', () => {
  it('holds at least 200 distinct malformed requests, each for a version that exists', () => {
    // Prepare
    const perVersion = corpus.cases.flatMap((row) => row.versions.map((version) => `${version} ${row.path}`));

    // Act
    const distinct = new Set(perVersion);

    // Assess
    expect(corpus.cases.length).toBeGreaterThanOrEqual(200);
    expect(distinct.size).toBe(perVersion.length);
    expect(corpus.cases.every((row) => row.versions.length > 0 && row.versions.every((version) => API_VERSIONS.includes(version)))).toBe(true);
  });

  it('states for each case the status that its code maps to', () => {
    // Prepare
    const mismatched = corpus.cases.filter((row) => ERROR_CODES[row.code] !== row.status);

    // Act / Assess
    expect(mismatched).toEqual([]);
  });

  const rows = corpus.cases.flatMap((row) => row.versions.map((version) => [version, JSON.stringify(row.path), row] as const));

  it.each(rows)('answers %s %s with its status, its code and a message naming the part', (version, _path, row) => {
    // Prepare
    const segments = segmentsOf(row.path);

    // Act
    const error = rectoErrorOf(() => resolve(parseImageRequest(version, segments), corpus.source, corpus.limits));

    // Assess
    expect({ status: error.status, code: error.code }).toEqual({ status: row.status, code: row.code });
    expect(error).toBeInstanceOf(row.status === 501 ? UnsupportedError : IiifRequestError);
    expect(error.message).toMatch(new RegExp(`^Expected .+ for ${literal(row.part)} but received "`));
  });
});

describe('errors found while resolving a request', () => {
  it.each(API_VERSIONS)('says which image a region outside it missed (%s)', (version) => {
    // Act
    const error = rectoErrorOf(() => planOf(version, 'abc/300,0,10,10/max/0/default.jpg'));

    // Assess
    expect(error.code).toBe('IIIF_REGION_OUT_OF_BOUNDS');
    expect(error.message).toBe('Expected a region inside the 300x200 image for region but received "300,0,10,10"');
  });

  it.each(API_VERSIONS)('says a percent region under one pixel is too small (%s)', (version) => {
    // Act
    const error = rectoErrorOf(() => planOf(version, 'abc/pct:0,0,0.1,50/max/0/default.jpg'));

    // Assess
    expect(error.code).toBe('IIIF_REGION_OUT_OF_BOUNDS');
    expect(error.message).toBe('Expected a region of at least one pixel of the 300x200 image for region but received "pct:0,0,0.1,50"');
  });

  it.each(API_VERSIONS)('gives the size a zero-pixel result would have (%s)', (version) => {
    // Act
    const error = rectoErrorOf(() => planOf(version, 'abc/0,0,300,1/10,/0/default.jpg'));

    // Assess
    expect(error.code).toBe('IIIF_SIZE_TOO_SMALL');
    expect(error.message).toBe('Expected a size of at least 1x1 pixels (this gives 10x0) for size but received "10,"');
  });

  it('refuses a 3.0 size larger than the region without ^, naming the region', () => {
    // Act
    const error = rectoErrorOf(() => planOf('3', 'abc/10,10,50,40/51,/0/default.jpg'));

    // Assess
    expect({ code: error.code, status: error.status }).toEqual({ code: 'IIIF_UPSCALE_NOT_ALLOWED', status: 400 });
    expect(error.message).toBe('Expected at most the region\'s 50x40 pixels without "^" for size but received "51,"');
  });

  it('lets 2.1 scale above the region (sizeAboveFull)', () => {
    // Act
    const plan = planOf('2', 'abc/10,10,50,40/51,/0/default.jpg');

    // Assess
    expect(plan.size).toEqual({ width: 51, height: 41 });
  });

  it.each(API_VERSIONS)('names maxWidth when the width is over it (%s)', (version) => {
    // Prepare
    const size = version === '3' ? '^601,' : '601,';

    // Act
    const error = rectoErrorOf(() => planOf(version, `abc/full/${size}/0/default.jpg`, SPEC_IMAGE, { maxWidth: 600 }));

    // Assess
    expect({ code: error.code, status: error.status }).toEqual({ code: 'IIIF_LIMIT_EXCEEDED', status: 400 });
    expect(error.message).toBe(`Expected a size within maxWidth 600 (this gives 601x401) for size but received "${size}"`);
  });

  it.each(API_VERSIONS)('takes maxHeight from maxWidth when only maxWidth is set, and names it (%s)', (version) => {
    // Prepare
    const portrait = { width: 200, height: 300 };
    const size = version === '3' ? '^,601' : ',601';

    // Act
    const error = rectoErrorOf(() => planOf(version, `abc/full/${size}/0/default.jpg`, portrait, { maxWidth: 600 }));

    // Assess
    expect(error.code).toBe('IIIF_LIMIT_EXCEEDED');
    expect(error.message).toBe(`Expected a size within maxHeight 600 (this gives 401x601) for size but received "${size}"`);
  });

  it.each(API_VERSIONS)('names an explicit maxHeight (%s)', (version) => {
    // Act
    const error = rectoErrorOf(() => planOf(version, 'abc/full/151,/0/default.jpg', SPEC_IMAGE, { maxWidth: 1000, maxHeight: 100 }));

    // Assess
    expect(error.message).toBe('Expected a size within maxHeight 100 (this gives 151x101) for size but received "151,"');
  });

  it.each(API_VERSIONS)('names maxArea when the area is over it (%s)', (version) => {
    // Act
    const error = rectoErrorOf(() => planOf(version, 'abc/full/150,/0/default.jpg', SPEC_IMAGE, { maxArea: 10_000 }));

    // Assess
    expect(error.code).toBe('IIIF_LIMIT_EXCEEDED');
    expect(error.message).toBe('Expected a size within maxArea 10000 (this gives 150x100) for size but received "150,"');
  });

  it.each(API_VERSIONS)('accepts a size exactly at every limit (%s)', (version) => {
    // Act
    const plan = planOf(version, 'abc/full/150,100/0/default.jpg', SPEC_IMAGE, { maxWidth: 150, maxHeight: 100, maxArea: 15_000 });

    // Assess
    expect(plan.size).toEqual({ width: 150, height: 100 });
  });

  it.each(API_VERSIONS)('fits !w,h into the limits instead of failing (3.0 §4.2: "as large as possible but not larger than ... server-imposed limits") (%s)', (version) => {
    // Act
    const plan = planOf(version, 'abc/full/!300,300/0/default.jpg', SPEC_IMAGE, { maxWidth: 120 });

    // Assess
    expect(plan.size).toEqual({ width: 120, height: 80 });
  });

  it.each(API_VERSIONS)('answers jp2 and pdf with 501 FORMAT_NOT_SUPPORTED, listing what Recto writes (%s)', (version) => {
    // Act
    const jp2 = rectoErrorOf(() => planOf(version, 'abc/full/max/0/default.jp2'));
    const pdf = rectoErrorOf(() => planOf(version, 'abc/full/max/0/gray.pdf'));

    // Assess
    expect([jp2.status, jp2.code, pdf.status, pdf.code]).toEqual([501, 'FORMAT_NOT_SUPPORTED', 501, 'FORMAT_NOT_SUPPORTED']);
    expect(jp2.message).toBe('Expected one of the formats this server writes (jpg, png, webp, tif, gif) for format but received "jp2"');
  });

  it('escapes the echoed value so a message never carries raw markup or control characters', () => {
    // Act
    const markup = rectoErrorOf(() => planOf('3', 'abc/<script>/max/0/default.jpg'));
    const control = rectoErrorOf(() => planOf('3', 'a%0Ab/full/max/0/default.jpg'));

    // Assess
    expect(markup.message).toBe('Expected full, square, x,y,w,h or pct:x,y,w,h for region but received "\\u003cscript\\u003e"');
    expect(control.message).toBe('Expected an identifier without control characters for identifier but received "a\\nb"');
  });

  it('cuts a long echoed value to 64 characters', () => {
    // Act
    const error = rectoErrorOf(() => planOf('3', `abc/full/max/${'9'.repeat(100)}/default.jpg`));

    // Assess
    expect(error.message).toBe(`Expected n or !n with 0 ≤ n ≤ 360 for rotation but received "${'9'.repeat(64)}…"`);
  });

  it('reports the first bad part, in path order, when several are bad', () => {
    // Act
    const error = rectoErrorOf(() => planOf('3', 'abc/nope/nope/nope/nope.nope'));

    // Assess
    expect(error.code).toBe('IIIF_INVALID_REGION');
  });
});

describe('random input', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 24 });
  const likelyText = fc.oneof(
    anyText,
    fc.stringMatching(/^[\^!]?(pct:)?[0-9.,%!^:a-z+-]{0,16}$/),
    fc.constantFrom('full', 'max', 'square', '^max', '0', '!0', 'default.jpg', '', '%', '%2F', '%00'),
  );

  it.each(API_VERSIONS)('yields a Plan or a RectoError for any five segments, never another exception (%s)', (version) => {
    fc.assert(
      fc.property(
        fc.record({ identifier: likelyText, region: likelyText, size: likelyText, rotation: likelyText, qualityFormat: likelyText }),
        fc.record({ width: fc.integer({ min: 1, max: 20_000 }), height: fc.integer({ min: 1, max: 20_000 }) }),
        (segments, source) => {
          // Act
          let outcome: unknown;
          try {
            outcome = resolve(parseImageRequest(version, segments), source, { maxArea: 100_000_000 });
          } catch (error) {
            outcome = error;
          }

          // Assess
          if (outcome instanceof Error) expect(outcome).toBeInstanceOf(RectoError);
          if (outcome instanceof RectoError) expect([400, 501]).toContain(outcome.status);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
