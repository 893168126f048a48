/**
 * `npm run bench`: run every registered section (or those named: `npm run bench -- render`),
 * print one table of all their rows with the targets each section checks, and write
 * bench/results.json. Generated sources live in .data/bench (git-ignored) and are reused.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../infra/local/quiet-runtime.js';
import { mkdir, writeFile } from 'node:fs/promises';
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
with the targets each section checks, and writes bench/results.json (the committed figures that
docs/performance.md quotes). Generated sources are cached in .data/bench/.

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

function printTable(results: readonly { name: string; result: SectionResult }[]): string {
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
  await writeFile(file, `${JSON.stringify({
    date: new Date().toISOString(),
    seconds,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, memoryBytes: totalmem(), node: process.version, sharp: sharp.versions },
    table,
    sections: results.map(({ name, description, seconds: s, result }) => ({ name, description, seconds: s, ...result })),
  }, null, 2)}\n`);
  process.stderr.write(`[bench] wrote ${file}\n`);
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
