/**
 * The canonical formatters one by one (3.0 §4.8, 2.1 §4.7), with exact strings, and the keys
 * and URLs built from them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INTERNAL_AREAS,
  INTERNAL_ROOT,
  VERSIONS,
  canonicalPath,
  canonicalUrl,
  encodeIdentifier,
  formatRotation,
  identifierPrefix,
  internalPrefix,
  recordKey,
  recordPrefix,
  storageKey,
  type Plan,
} from '../../../lib/iiif/index.js';

function planWith(changes: Partial<Plan>): Plan {
  return {
    identifier: 'a/b',
    source: { width: 300, height: 200 },
    limits: {},
    region: { x: 0, y: 0, width: 300, height: 200 },
    size: { width: 300, height: 200 },
    mirror: false,
    rotation: 0,
    quality: 'default',
    format: 'jpg',
    ...changes,
  };
}

describe('formatRotation (3.0 §4.8, 2.1 §4.7)', () => {
  it.each([
    [false, 0, '0'],
    [false, 90, '90'],
    [false, 22.5, '22.5'],
    [false, 0.5, '0.5'],
    [false, 0.000001, '0.000001'],
    [false, 359.999999, '359.999999'],
    [false, 123.45, '123.45'],
    [true, 0, '!0'],
    [true, 180, '!180'],
    [true, 345.25, '!345.25'],
  ])('writes mirror %s and %s° as %s', (mirror, rotation, text) => {
    // Act / Assess
    expect(formatRotation({ mirror, rotation })).toBe(text);
  });
});

describe('the canonical size of each version', () => {
  it.each([
    // [size, limits, 2.1, 3.0]
    [{ width: 300, height: 200 }, {}, 'full', 'max'],
    [{ width: 150, height: 100 }, {}, '150,', '150,100'],
    [{ width: 150, height: 99 }, {}, '150,99', '150,99'],
    [{ width: 600, height: 400 }, {}, '600,', '^600,400'],
    [{ width: 200, height: 133 }, { maxWidth: 200 }, '200,', 'max'],
    [{ width: 360, height: 240 }, { maxWidth: 360 }, '360,', '^max'],
    [{ width: 300, height: 200 }, { maxWidth: 360 }, 'full', 'max'],
    [{ width: 301, height: 200 }, {}, '301,200', '^301,200'],
  ] as const)('writes %j under limits %j as %s in 2.1 and %s in 3.0', (size, limits, in2, in3) => {
    // Prepare
    const plan = planWith({ size, limits });

    // Act / Assess
    expect([VERSIONS['2'].formatSize(plan), VERSIONS['3'].formatSize(plan)]).toEqual([in2, in3]);
  });
});

describe('keys and URLs', () => {
  it('builds the canonical path region/size/rotation/quality.format for each version', () => {
    // Prepare
    const plan = planWith({ region: { x: 10, y: 20, width: 100, height: 50 }, size: { width: 50, height: 25 }, mirror: true, rotation: 22.5, quality: 'gray', format: 'png' });

    // Act / Assess
    expect([canonicalPath('2', plan), canonicalPath('3', plan)]).toEqual(['10,20,100,50/50,/!22.5/gray.png', '10,20,100,50/50,25/!22.5/gray.png']);
  });

  it('keys a derivative by the prefix, the encoded identifier and the 3.0 canonical path', () => {
    // Act
    const key = storageKey(planWith({ identifier: 'ark:/12025/654xz321', size: { width: 150, height: 100 } }), 'iiif/');

    // Assess
    expect(key).toBe('iiif/ark%3A%2F12025%2F654xz321/full/150,100/0/default.jpg');
  });

  it('keys the size as w,h even where the canonical size is max, so a change of limits never reuses a key for other pixels', () => {
    // Prepare
    const plan = planWith({ size: { width: 300, height: 200 } });

    // Act / Assess
    expect(canonicalPath('3', plan)).toBe('full/max/0/default.jpg');
    expect(storageKey(plan, '')).toBe('a%2Fb/full/300,200/0/default.jpg');
  });

  it('keeps the derivatives of an identifier under one prefix, and its source record under the internal root', () => {
    // Act
    const prefix = identifierPrefix('a/b c', 'iiif/');
    const folder = recordPrefix('a/b c', 'iiif/');
    const record = recordKey('a/b c', 'iiif/');

    // Assess
    expect([prefix, folder, record]).toEqual(['iiif/a%2Fb%20c/', 'iiif/!recto/records/a%2Fb%20c/', 'iiif/!recto/records/a%2Fb%20c/source.json']);
    expect(INTERNAL_AREAS.map((area) => internalPrefix(area, 'iiif/'))).toEqual(['iiif/!recto/records/', 'iiif/!recto/batch/', 'iiif/!recto/access/']);
  });

  it.each([
    ['!recto', '%21recto'],
    ['!recto/records/grid/source.json', '%21recto%2Frecords%2Fgrid%2Fsource.json'],
    ['!recto/batch/manifest.csv', '%21recto%2Fbatch%2Fmanifest.csv'],
    ['%21recto', '%2521recto'],
    ['_recto-batch', '_recto-batch'],
    ['../!recto', '..%2F%21recto'],
  ])('keeps the identifier %j, which spells an internal prefix, outside the internal root', (identifier, encoded) => {
    // Act
    const keys = [identifierPrefix(identifier, 'iiif/'), storageKey(planWith({ identifier }), 'iiif/'), recordKey(identifier, 'iiif/')];

    // Assess
    expect(keys[0]).toBe(`iiif/${encoded}/`);
    expect(keys[1]?.startsWith(`iiif/${encoded}/`)).toBe(true);
    expect(keys[2]).toBe(`iiif/!recto/records/${encoded}/source.json`);
    expect(keys.slice(0, 2).filter((key) => key.startsWith('iiif/!recto/'))).toEqual([]);
  });

  it('never gives an identifier a derivative prefix inside the internal root, nor a record folder inside another\'s, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), (a, b) => {
        // Act
        const derivatives = identifierPrefix(a, 'iiif/');
        const records = [recordPrefix(a, 'iiif/'), recordPrefix(b, 'iiif/')];

        // Assess: outside the root; one record folder contains another's only when they are the same.
        expect(derivatives.startsWith(`iiif/${INTERNAL_ROOT}`)).toBe(false);
        expect(encodeIdentifier(a)).not.toContain('!');
        expect(records[0]?.startsWith(records[1] ?? '') === (a === b)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('builds the canonical URL for the Link header from the service base, in the version asked for', () => {
    // Prepare
    const plan = planWith({ identifier: 'ark:/1', size: { width: 150, height: 100 } });

    // Act
    const urls = [canonicalUrl('https://x.org/iiif/2', '2', plan), canonicalUrl('https://x.org/iiif/3', '3', plan)];

    // Assess
    expect(urls).toEqual(['https://x.org/iiif/2/ark%3A%2F1/full/150,/0/default.jpg', 'https://x.org/iiif/3/ark%3A%2F1/full/150,100/0/default.jpg']);
  });
});
