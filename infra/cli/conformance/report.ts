/**
 * The report, shaped like the validator's command line (`iiif-validator`): what was detected,
 * one line per failure with Expected / Received / URL, then a summary. Plus the tests that
 * passed and were skipped, so a run documents itself.
 */
import { VERSION_LABELS } from './context.js';
import type { SuiteResult, TestOutcome } from './suite.js';

export interface ReportOptions {
  /** Print every check, not only failures. */
  readonly verbose?: boolean;
  /** ANSI colours (a terminal). */
  readonly colour?: boolean;
}

const LEVEL_NAMES = ['LEVEL_0', 'LEVEL_1', 'LEVEL_2', 'OPTIONAL'] as const;

export function formatReport(result: SuiteResult, options: ReportOptions = {}): string {
  const paint = (code: string) => (text: string): string => (options.colour === true ? `\u001b[${code}m${text}\u001b[0m` : text);
  const red = paint('31');
  const green = paint('32');
  const blue = paint('34');
  const dim = paint('2');
  const { target, features } = result;
  const lines: string[] = [
    `Validating IIIF Image API ${VERSION_LABELS[target.version]} server at ${blue(target.base)} (identifier ${target.identifier})`,
    `Detected compliance level: ${green(LEVEL_NAMES[features.level])}`,
  ];
  if (features.extraQualities.length > 0) lines.push(`Detected extra qualities: ${green(features.extraQualities.join(', '))}`);
  if (features.extraFormats.length > 0) lines.push(`Detected extra formats: ${green(features.extraFormats.join(', '))}`);
  if (features.extraFeatures.length > 0) lines.push(`Detected extra features: ${green(features.extraFeatures.join(', '))}`);
  lines.push('');
  for (const outcome of result.outcomes) lines.push(...formatOutcome(outcome, options.verbose === true, { red, green, dim }));
  const count = (kind: TestOutcome['outcome']): number => result.outcomes.filter((outcome) => outcome.outcome === kind).length;
  const checks = result.outcomes.flatMap((outcome) => outcome.checks.filter((check) => check.note !== true));
  const failedChecks = checks.filter((check) => !check.ok).length;
  const extraChecks = checks.filter((check) => check.extra).length;
  const summary =
    `${VERSION_LABELS[target.version]}: ${result.outcomes.length} tests, ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped; ` +
    `${checks.length} checks (${extraChecks} beyond the validator's), ${failedChecks} failed; ${(result.ms / 1000).toFixed(1)} s`;
  lines.push('', count('fail') === 0 ? green(summary) : red(summary));
  return lines.join('\n');
}

function formatOutcome(outcome: TestOutcome, verbose: boolean, paint: Record<'red' | 'green' | 'dim', (text: string) => string>): string[] {
  const { test } = outcome;
  const names = test.features === undefined ? [] : Array.isArray(test.features) ? (test.features as readonly string[]) : Object.values(test.features as Record<string, readonly string[]>).flat();
  const label = `${test.name}${names.length > 0 ? ` (${[...new Set(names)].join(', ')})` : ''} [${test.id}]`;
  if (outcome.outcome === 'skip') return [paint.dim(`- ${label}: skipped, ${outcome.reason ?? ''}`)];
  const checks = outcome.checks.filter((check) => check.note !== true);
  const lines: string[] = [];
  if (outcome.outcome === 'pass') {
    lines.push(paint.green(`✓ ${label}: ${checks.length} checks passed (${outcome.ms} ms)`));
  } else {
    lines.push(paint.red(`✗ ${label}: ${checks.filter((check) => !check.ok).length} of ${checks.length} checks failed (${outcome.ms} ms)`));
  }
  for (const check of outcome.checks) {
    if (check.note === true) {
      lines.push(paint.dim(`    note: ${check.details}`));
    } else if (!check.ok) {
      lines.push(paint.red(`  ✗ ${check.details}${check.extra ? ' [beyond the validator]' : ''}`));
      lines.push(`      Expected: ${check.expected ?? ''}`, `      Received: ${check.received ?? ''}`);
      if (check.url !== undefined) lines.push(`      URL: ${check.url}`);
    } else if (verbose) {
      lines.push(paint.dim(`    ✓ ${check.details}${check.extra ? ' [beyond the validator]' : ''}`));
    }
  }
  return lines;
}

/** The results as plain data, for --json. */
export function reportData(result: SuiteResult): unknown {
  return {
    version: VERSION_LABELS[result.target.version],
    base: result.target.base,
    identifier: result.target.identifier,
    features: result.features,
    ms: result.ms,
    tests: result.outcomes.map((outcome) => ({
      id: outcome.test.id,
      name: outcome.test.name,
      outcome: outcome.outcome,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ms: outcome.ms,
      checks: outcome.checks,
    })),
  };
}
