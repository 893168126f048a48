/**
 * `npm run bench`'s command line: `--help` prints the help and an unknown section or option is a
 * usage error (exit 2, naming the known sections); neither runs anything nor touches the
 * committed bench/results.json. The script runs as its npm script runs it; should it ever write
 * the file again, the test puts the committed bytes back before failing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBenchArgs, usage } from '../../bench/run.js';
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
