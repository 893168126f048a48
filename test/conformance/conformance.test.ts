/**
 * An independent IIIF conformance run at level 2, optional features
 * included, for 2.1 and 3.0, against the local stack with IIIF_AUTH=off over real HTTP. The
 * suite is the one `npm run conformance` runs (infra/cli/conformance/); each validator test is
 * asserted on its own so a failure names the test and shows its failed checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSIONS, type ApiVersion } from '../../infra/cli/conformance/context.js';
import { ESCAPED_VALIDATION_ID, VALIDATION_ID, startConformanceStack, type ConformanceStack } from '../../infra/cli/conformance/local.js';
import { runSuite, type SuiteResult, type TestOutcome } from '../../infra/cli/conformance/suite.js';
import { CONFORMANCE_TESTS } from '../../infra/cli/conformance/tests.js';

/** The official validator's tests, by version: every one must run (none skipped) and pass. */
const REQUIRED: Readonly<Record<ApiVersion, readonly string[]>> = (() => {
  const common = [
    'info_json', 'jsonld', 'baseurl_redirect', 'cors', 'id_basic', 'id_escaped', 'id_error_escapedslash', 'id_error_unescaped',
    'id_error_random', 'id_squares', 'region_pixels', 'region_percent', 'region_square', 'region_error_random', 'size_wc', 'size_ch',
    'size_wh', 'size_bwh', 'size_percent', 'size_region', 'size_up', 'size_error_random', 'rot_full_basic', 'rot_region_basic',
    'rot_full_non90', 'rot_region_non90', 'rot_mirror', 'rot_mirror_180', 'rot_error_random', 'quality_color', 'quality_grey',
    'quality_bitonal', 'quality_error_random', 'format_jpg', 'format_png', 'format_gif', 'format_webp', 'format_tif',
    'format_error_random', 'linkheader_canonical', 'linkheader_profile',
  ];
  return { '2': common, '3': [...common, 'size_noup', 'size_nofull'] };
})();

let local: ConformanceStack | undefined;
const results = new Map<ApiVersion, SuiteResult>();

beforeAll(async () => {
  local = await startConformanceStack();
  for (const version of API_VERSIONS) {
    // A generous per-request limit: other test files render on the same two cores.
    results.set(version, await runSuite({ base: local.bases[version], identifier: VALIDATION_ID, escapedIdentifier: ESCAPED_VALIDATION_ID, version }, { concurrency: 2, timeoutMs: 60_000 }));
  }
}, 180_000);

afterAll(async () => {
  await local?.close();
});

/** A failed check as one readable line, so the assertion's diff says what went wrong. */
function failures(outcome: TestOutcome | undefined): string[] {
  return (outcome?.checks ?? []).filter((check) => !check.ok).map((check) => `${check.details} | expected ${check.expected ?? ''} | received ${check.received ?? ''} | ${check.url ?? ''}`);
}

describe('the local stack', () => {
  it('runs with auth off, as a conformance run needs', () => {
    expect(local?.stack.config.auth.enabled).toBe(false);
  });
});

describe.each(API_VERSIONS)('IIIF Image API %s at level 2 on the local stack', (version) => {
  const ids = CONFORMANCE_TESTS.filter((test) => test.versions.includes(version)).map((test) => test.id);

  it('advertises level 2 and every optional feature the suite covers', () => {
    const features = results.get(version)?.features;
    expect(features?.level).toBe(2);
    expect(features?.extraFeatures).toEqual(expect.arrayContaining(['canonicalLinkHeader', 'profileLinkHeader', 'mirroring', 'rotationArbitrary', version === '3' ? 'sizeUpscaling' : 'sizeAboveFull']));
    expect(features?.extraFormats).toEqual(expect.arrayContaining(['gif', 'webp', 'tif']));
    expect(features?.extraQualities).toEqual(expect.arrayContaining(['color', 'gray', 'bitonal']));
  });

  it('runs every test of the official validator, skipping none', () => {
    const ran = (results.get(version)?.outcomes ?? []).filter((outcome) => outcome.outcome !== 'skip').map((outcome) => outcome.test.id);
    expect(ran).toEqual(expect.arrayContaining([...REQUIRED[version]]));
    expect(ran).toHaveLength(ids.length);
  });

  it.each(ids)('passes %s', (id) => {
    const outcome = results.get(version)?.outcomes.find((candidate) => candidate.test.id === id);
    expect(failures(outcome)).toEqual([]);
    expect(outcome?.outcome).toBe('pass');
    expect(outcome?.checks.filter((check) => check.note !== true).length).toBeGreaterThan(0);
  });

  it('finds the Link headers on the redirect and notes that the storage answer has none', () => {
    const outcome = results.get(version)?.outcomes.find((candidate) => candidate.test.id === 'linkheader_profile');
    const notes = (outcome?.checks ?? []).filter((check) => check.note === true).map((check) => check.details);
    expect(notes).toEqual([expect.stringContaining('carries no Link header')]);
  });
});
