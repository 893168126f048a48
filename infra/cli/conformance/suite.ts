/**
 * Running the conformance tests against one server and version: read info.json for the
 * features, choose the tests that apply as the validator does (`_test_is_applicable` in
 * validate.py), run them a few at a time, and collect every check.
 */
import { type ApiVersion, type CheckResult, type Features, type Level, type Target, Recorder, TestContext, VERSION_LABELS, featuresOf, preview } from './context.js';
import { HttpClient } from './http.js';
import { CONFORMANCE_TESTS, type ConformanceTest } from './tests.js';

export const OUTCOMES = ['pass', 'fail', 'skip'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface TestOutcome {
  readonly test: ConformanceTest;
  readonly outcome: Outcome;
  /** Why a test was skipped. */
  readonly reason?: string;
  readonly checks: readonly CheckResult[];
  readonly ms: number;
}

export interface SuiteResult {
  readonly target: Target;
  readonly features: Features;
  readonly outcomes: readonly TestOutcome[];
  readonly ms: number;
}

export interface SuiteOptions {
  /** Bearer token for the IIIF server. */
  readonly token?: string;
  /** Per request. Default 30 s: a cold render may queue behind others on a small machine. */
  readonly timeoutMs?: number;
  /** Tests run at once. Default 2 (the validator uses 4 threads). */
  readonly concurrency?: number;
  /** Run optional tests the server does not advertise too. */
  readonly all?: boolean;
  /** Run only these test ids. */
  readonly only?: readonly string[];
}

/** The level at which a test is required for a version. */
function levelFor(test: ConformanceTest, version: ApiVersion): Level {
  return typeof test.level === 'number' ? test.level : test.level[version];
}

function featureNames(test: ConformanceTest, version: ApiVersion): readonly string[] {
  if (test.features === undefined) return [];
  return Array.isArray(test.features) ? (test.features as readonly string[]) : (test.features as Readonly<Record<ApiVersion, readonly string[]>>)[version];
}

/**
 * Whether a test applies (validate.py `_test_is_applicable`): required at the server's level,
 * or optional and named among its extra formats (format tests), extra qualities (quality tests)
 * or extra features. Returns the reason when it does not.
 */
export function applicability(test: ConformanceTest, version: ApiVersion, features: Features): { readonly applies: boolean; readonly reason: string } {
  if (!test.versions.includes(version)) return { applies: false, reason: `not a ${VERSION_LABELS[version]} test` };
  const level = levelFor(test, version);
  if (level <= features.level) return { applies: true, reason: `required at level ${level}` };
  const names = featureNames(test, version);
  const advertised =
    (test.category === 'Format' && names.some((name) => features.extraFormats.includes(name))) ||
    (test.category === 'Quality' && names.some((name) => features.extraQualities.includes(name))) ||
    names.some((name) => features.extraFeatures.includes(name));
  if (advertised) return { applies: true, reason: `advertised (${names.join(', ')})` };
  return { applies: false, reason: `optional and not advertised in info.json (${names.join(', ') || 'no feature name'})` };
}

/** The run could not start: info.json, on which every test depends, is not there. */
export class SuiteSetupError extends Error {
  override readonly name = 'SuiteSetupError';
}

/**
 * Run the suite against one server.
 * @throws SuiteSetupError when info.json cannot be read (nothing else can be tested without it)
 */
export async function runSuite(target: Target, options: SuiteOptions = {}): Promise<SuiteResult> {
  const started = Date.now();
  const client = new HttpClient({
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.token === undefined ? {} : { token: options.token, tokenOrigin: new URL(target.base).origin }),
  });
  try {
    const infoUrl = `${target.base}/${target.identifier}/info.json`;
    const answer = await client.follow(infoUrl);
    if (answer.status !== 200) throw new SuiteSetupError(`Failed to fetch info.json from ${infoUrl}: HTTP ${answer.status} ${preview(answer.body)}`);
    let info: Record<string, unknown>;
    let features: Features;
    try {
      info = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      features = featuresOf(info);
    } catch (error) {
      throw new SuiteSetupError(`Unusable info.json at ${infoUrl}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const context = new TestContext(target, client, info, features);
    const chosen = CONFORMANCE_TESTS.filter((test) => test.versions.includes(target.version) && (options.only === undefined || options.only.includes(test.id)));
    const outcomes = await mapLimited(chosen, options.concurrency ?? 2, async (test): Promise<TestOutcome> => {
      const { applies, reason } = applicability(test, target.version, features);
      if (!applies && options.all !== true) return { test, outcome: 'skip', reason, checks: [], ms: 0 };
      const record = new Recorder();
      const testStarted = Date.now();
      try {
        await test.run(context, record);
      } catch (error) {
        record.fail('the test raised an error', 'the test to complete', error instanceof Error ? error.message : String(error), undefined);
      }
      const failed = record.results.some((check) => !check.ok);
      const outcome: Outcome = failed || record.results.every((check) => check.note === true) ? 'fail' : 'pass';
      return { test, outcome, checks: record.results, ms: Date.now() - testStarted };
    });
    return { target, features, outcomes, ms: Date.now() - started };
  } finally {
    client.close();
  }
}

/** `items.map(fn)` with at most `limit` calls in flight, results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      if (item !== undefined) results[index] = await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
