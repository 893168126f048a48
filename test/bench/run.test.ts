/**
 * `npm run bench`'s command line: `--help` prints the help and an unknown section or option is a
 * usage error (exit 2, naming the known sections); neither runs anything nor touches the
 * committed bench/results.json. The script runs as its npm script runs it; should it ever write
 * the file again, the test puts the committed bytes back before failing. A run of some sections
 * puts their results into bench/results.json and keeps the others' (tested on a scratch file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeResults, parseBenchArgs, usage, writeResults, type Machine, type SectionRecord } from '../../bench/run.js';
import { SECTIONS } from '../../bench/sections.js';
import { REPO_ROOT, tsx } from '../cli/support.js';

const RESULTS = path.join(REPO_ROOT, 'bench', 'results.json');
const committed = readFileSync(RESULTS);

afterEach(() => {
  if (!readFileSync(RESULTS).equals(committed)) writeFileSync(RESULTS, committed);
});

describe('npm run bench -- …', () => {
  it('--help prints the usage with every section, exits 0 and writes nothing', async () => {
    // Act
    const ran = await tsx('bench/run.ts', ['--help']);

    // Assess
    expect([ran.code, ran.text, ran.stderr]).toEqual([0, usage(), '']);
    for (const section of SECTIONS) expect(ran.text).toMatch(new RegExp(`^  ${section.name} +\\S`, 'm'));
    expect(readFileSync(RESULTS).equals(committed)).toBe(true);
  });

  it('refuses an unknown section with exit 2, naming the known ones, and writes nothing', async () => {
    // Act
    const ran = await tsx('bench/run.ts', ['render', 'nosuch']);

    // Assess
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe(`npm run bench: Expected sections from ${SECTIONS.map((section) => section.name).join(', ')} but received "nosuch"\nRun \`npm run bench -- --help\` for usage.\n`);
    expect(readFileSync(RESULTS).equals(committed)).toBe(true);
  });

  it.each([
    [['--frob'], /Unknown option '--frob'/],
    [['-x'], /Unknown option '-x'/],
  ])('refuses the option %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });

  it('runs the sections named, in the registry\'s order, or all of them', () => {
    const names = (argv: string[]) => {
      const chosen = parseBenchArgs(argv);
      return chosen === 'help' ? 'help' : chosen.map((section) => section.name);
    };
    expect(names([])).toEqual(SECTIONS.map((section) => section.name));
    expect(names(['prewarm', 'render'])).toEqual(['render', 'prewarm']);
    expect(names(['-h'])).toBe('help');
  });
});

const MACHINE: Machine = { cpus: 2, model: 'test', memoryBytes: 1, node: 'v20', sharp: {} };

function section(name: string, date: string, value: number): SectionRecord {
  return { name, description: `${name} section`, date, seconds: 1, machine: MACHINE, columns: [{ key: 'ms', title: 'ms' }], rows: [{ subject: name, case: 'a case', values: { ms: value } }] };
}

describe('bench/results.json after a run of some sections', () => {
  const order = ['render', 'service', 'prewarm', 'big-masters'];

  it('replaces the sections run and keeps the others with their own dates, in the registry\'s order', () => {
    // Prepare: a file with two sections, one of them run again now.
    const previous = { date: 'then', table: '', sections: [section('service', 'day 1', 1), section('render', 'day 2', 2)] };

    // Act
    const merged = mergeResults(previous, [section('service', 'day 3', 3), section('big-masters', 'day 3', 4)], order, 'day 3');

    // Assess
    expect(merged.sections.map((s) => [s.name, s.date, s.rows[0]?.values.ms])).toEqual([['render', 'day 2', 2], ['service', 'day 3', 3], ['big-masters', 'day 3', 4]]);
    expect(merged.date).toBe('day 3');
    expect(merged.table.split('\n').slice(2).map((line) => line.split(/\s{2,}/)[0])).toEqual(['render', 'service', 'big-masters']);
  });

  it('reads a file written before sections had their own date and machine: they get the file\'s', () => {
    const previous = { date: 'old day', seconds: 8, machine: MACHINE, table: '', sections: [{ name: 'prewarm', description: 'p', seconds: 9, columns: [], rows: [] }] };

    const merged = mergeResults(previous, [section('render', 'new day', 1)], order, 'new day');

    expect(merged.sections.map((s) => [s.name, s.date, s.machine, s.seconds])).toEqual([['render', 'new day', MACHINE, 1], ['prewarm', 'old day', MACHINE, 9]]);
  });

  it('keeps sections the registry no longer lists, after the known ones', () => {
    const merged = mergeResults({ sections: [section('retired', 'd', 1)] }, [section('prewarm', 'e', 2)], order, 'e');

    expect(merged.sections.map((s) => s.name)).toEqual(['prewarm', 'retired']);
  });

  it.each([[undefined], ['not json at all'], [{ sections: 'no' }], [{ sections: [{ name: 'x' }, 7] }]])('starts afresh from an unusable file (%j)', (previous) => {
    expect(mergeResults(previous, [section('render', 'd', 1)], order, 'd').sections.map((s) => s.name)).toEqual(['render']);
  });

  it('writes the merged file, and a missing file is no error', async () => {
    // Prepare
    const directory = await mkdtemp(path.join(tmpdir(), 'recto-bench-results-'));
    const file = path.join(directory, 'results.json');
    try {
      // Act: a first run into a missing file, a second of another section, a third of the first.
      await writeResults(file, [section('service', 'd1', 1)], order, 'd1');
      await writeResults(file, [section('render', 'd2', 2)], order, 'd2');
      await writeResults(file, [section('service', 'd3', 3)], order, 'd3');

      // Assess
      const written = JSON.parse(await readFile(file, 'utf8')) as { date: string; sections: SectionRecord[] };
      expect(written.date).toBe('d3');
      expect(written.sections.map((s) => [s.name, s.date, s.rows[0]?.values.ms])).toEqual([['render', 'd2', 2], ['service', 'd3', 3]]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('starts afresh from an unreadable file rather than failing', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'recto-bench-results-'));
    const file = path.join(directory, 'results.json');
    try {
      await writeFile(file, '{ truncated');

      const merged = await writeResults(file, [section('render', 'd', 1)], order, 'd');

      expect(merged.sections.map((s) => s.name)).toEqual(['render']);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
