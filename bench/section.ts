/**
 * The shape of a benchmark section. bench/run.ts runs the registered sections in order, prints
 * one table of all their rows and writes bench/results.json; a section only measures and
 * describes. Add a section by implementing BenchSection and listing it in bench/sections.ts.
 */

export interface BenchContext {
  /** Repository root. */
  readonly root: string;
  /** Git-ignored directory for generated sources and scratch files (.data/bench). */
  readonly cacheDir: string;
  /** Progress lines for the terminal (stderr), not results. */
  readonly log: (line: string) => void;
}

export interface Column {
  readonly key: string;
  readonly title: string;
  /** Digits after the point for numbers (default 1). */
  readonly digits?: number;
}

export type Value = number | string | null;

export interface BenchRow {
  /** What is measured: a source, an endpoint, a queue... */
  readonly subject: string;
  /** The case: a request, a scenario. */
  readonly case: string;
  readonly values: Readonly<Record<string, Value>>;
}

export interface BenchTarget {
  readonly description: string;
  readonly measured: string;
  /** null: could not be measured here (a tool is missing), reported as skipped. */
  readonly met: boolean | null;
}

export interface SectionResult {
  readonly columns: readonly Column[];
  readonly rows: readonly BenchRow[];
  readonly targets?: readonly BenchTarget[];
  readonly notes?: readonly string[];
  /** Anything else worth keeping in results.json (raw samples, settings). */
  readonly details?: unknown;
}

export interface BenchSection {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<SectionResult>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles (the value at or above the given share of the samples). */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0));
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}
