/**
 * `npm run bench`: run every registered section (or those named: `npm run bench -- render`),
 * print one table of all their rows with the targets each section checks, and write
 * bench/results.json. Generated sources live in .data/bench (git-ignored) and are reused.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../infra/local/quiet-runtime.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { BenchContext, BenchSection, Column, SectionResult, Value } from './section.js';
import { SECTIONS } from './sections.js';

export function usage(sections: readonly BenchSection[] = SECTIONS): string {
  const width = Math.max(...sections.map((section) => section.name.length));
  return `Usage: npm run bench -- [SECTION…]

Runs the benchmark sections (all of them, in this order, or only those named), prints one table
with the targets each section checks, and puts their results into bench/results.json (the
committed figures that docs/performance.md quotes): a section run replaces its earlier results,
the others stay as they were. Generated sources are cached in .data/bench/, and so is
iiif-processor (installed there with npm by the access-copies section, for its comparison).

Sections:
${sections.map((section) => `  ${section.name.padEnd(width)}  ${section.description}`).join('\n')}

Options:
  -h, --help  this text (writes nothing)

Exit status: 0 done, 1 a section failed, 2 bad usage (an unknown section or option).
`;
}

/** A command line that names no known section or option: exit 2, nothing run or written. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/**
 * The sections a command line asks for, in the registry's order, or 'help'.
 * @throws BenchUsageError for an unknown option or section (naming the known ones).
 */
export function parseBenchArgs(argv: readonly string[], sections: readonly BenchSection[] = SECTIONS): readonly BenchSection[] | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help === true) return 'help';
  const names = sections.map((section) => section.name);
  const unknown = parsed.positionals.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new BenchUsageError(`Expected sections from ${names.join(', ')} but received ${unknown.map((name) => JSON.stringify(name)).join(', ')}`);
  }
  return parsed.positionals.length === 0 ? sections : sections.filter((section) => parsed.positionals.includes(section.name));
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function format(value: Value | undefined, digits = 1): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'number' ? value.toFixed(digits) : value;
}

export function printTable(results: readonly { name: string; result: SectionResult }[]): string {
  const columns: Column[] = [{ key: 'section', title: 'section' }, { key: 'subject', title: 'subject' }, { key: 'case', title: 'case' }];
  for (const { result } of results) for (const column of result.columns) if (!columns.some((c) => c.key === column.key)) columns.push(column);
  const lines: string[][] = [columns.map((c) => c.title)];
  for (const { name, result } of results) {
    for (const row of result.rows) {
      lines.push(columns.map((column) => {
        if (column.key === 'section') return name;
        if (column.key === 'subject') return row.subject;
        if (column.key === 'case') return row.case;
        return format(row.values[column.key], column.digits ?? 1);
      }));
    }
  }
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => (line[i] ?? '').length)));
  const textual = new Set([0, 1, 2]);
  const render = (line: string[]): string => line.map((cell, i) => (textual.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const out = [render(lines[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)];
  return out.join('\n');
}

export interface Machine {
  readonly cpus: number;
  readonly model: string | null;
  readonly memoryBytes: number;
  readonly node: string;
  readonly sharp: unknown;
}

/** One section's results as bench/results.json keeps them, with when and where they were measured. */
export interface SectionRecord extends SectionResult {
  readonly name: string;
  readonly description: string;
  readonly date: string;
  readonly seconds: number;
  readonly machine: Machine | null;
}

/** bench/results.json: every section's latest results, in the registry's order, and their table. */
export interface ResultsFile {
  /** When the file was last written. */
  readonly date: string;
  readonly table: string;
  readonly sections: readonly SectionRecord[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The sections of a results file as it was read (undefined, or anything unreadable: none). A
 * file from before sections carried their own date and machine lends them its own.
 */
function previousSections(previous: unknown): SectionRecord[] {
  if (!isObject(previous) || !Array.isArray(previous.sections)) return [];
  const date = typeof previous.date === 'string' ? previous.date : '';
  const machine = isObject(previous.machine) ? (previous.machine as unknown as Machine) : null;
  return previous.sections.filter((section): section is Record<string, unknown> => isObject(section) && typeof section.name === 'string' && Array.isArray(section.rows) && Array.isArray(section.columns)).map((section) => {
    const record = section as unknown as SectionRecord;
    return {
      ...record,
      description: typeof section.description === 'string' ? section.description : '',
      date: typeof section.date === 'string' ? section.date : date,
      seconds: typeof section.seconds === 'number' ? section.seconds : 0,
      machine: isObject(section.machine) ? record.machine : machine,
    };
  });
}

/**
 * Put this run's sections into the results read from bench/results.json: a section run now
 * replaces its earlier results; the others are kept as they were, each with its own date. Known
 * sections come in `order` (the registry's), any others after them; the table is made anew.
 */
export function mergeResults(previous: unknown, latest: readonly SectionRecord[], order: readonly string[], date: string): ResultsFile {
  const byName = new Map<string, SectionRecord>();
  for (const section of previousSections(previous)) byName.set(section.name, section);
  for (const section of latest) byName.set(section.name, section);
  const rank = (name: string): number => {
    const index = order.indexOf(name);
    return index === -1 ? order.length : index;
  };
  const sections = [...byName.values()].sort((a, b) => rank(a.name) - rank(b.name));
  return { date, table: printTable(sections.map((section) => ({ name: section.name, result: section }))), sections };
}

/** Merge `latest` into the results file at `file` (missing or unreadable: start afresh) and write it. */
export async function writeResults(file: string, latest: readonly SectionRecord[], order: readonly string[], date: string): Promise<ResultsFile> {
  let previous: unknown;
  try {
    previous = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    previous = undefined;
  }
  const merged = mergeResults(previous, latest, order, date);
  await writeFile(file, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

async function main(): Promise<number> {
  let sections: readonly BenchSection[] | 'help';
  try {
    sections = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`npm run bench: ${error.message}\nRun \`npm run bench -- --help\` for usage.\n`);
    return 2;
  }
  if (sections === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const context: BenchContext = {
    root,
    cacheDir: join(root, '.data', 'bench'),
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  await mkdir(context.cacheDir, { recursive: true });
  const started = performance.now();
  const results: { name: string; description: string; seconds: number; result: SectionResult }[] = [];
  for (const section of sections) {
    const t = performance.now();
    context.log(`section ${section.name}: ${section.description}`);
    const result = await section.run(context);
    results.push({ name: section.name, description: section.description, seconds: (performance.now() - t) / 1000, result });
  }
  const table = printTable(results);
  process.stdout.write(`${table}\n\n`);
  for (const { name, result } of results) {
    for (const target of result.targets ?? []) {
      const verdict = target.met === null ? 'SKIPPED' : target.met ? 'MET    ' : 'NOT MET';
      process.stdout.write(`${verdict} [${name}] ${target.description}: ${target.measured}\n`);
    }
    for (const note of result.notes ?? []) process.stdout.write(`  note [${name}] ${note}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\nbench finished in ${seconds.toFixed(0)} s\n`);
  const file = join(root, 'bench', 'results.json');
  const date = new Date().toISOString();
  const machine: Machine = { cpus: cpus().length, model: cpus()[0]?.model ?? null, memoryBytes: totalmem(), node: process.version, sharp: sharp.versions };
  const merged = await writeResults(file, results.map(({ name, description, seconds: s, result }) => ({ name, description, date, seconds: s, machine, ...result })), SECTIONS.map((section) => section.name), date);
  const kept = merged.sections.filter((section) => !results.some((result) => result.name === section.name)).map((section) => section.name);
  process.stderr.write(`[bench] wrote ${file}${kept.length === 0 ? '' : ` (kept the earlier results of ${kept.join(', ')})`}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
