/**
 * `npm run loadtest -- --help` is a help: every option with what it does and its default, on
 * stdout, exit 0, and no load run. A value it cannot use is a usage error (exit 2) that says
 * which option and what it takes.
 */
import { describe, expect, it } from 'vitest';
import { LOADTEST_USAGE, parseLoadArgs } from '../../bench/loadtest.js';
import { tsx } from '../cli/support.js';

describe('npm run loadtest -- …', () => {
  it('--help describes every option on stdout and exits 0 without starting a stack', async () => {
    // Act
    const ran = await tsx('bench/loadtest.ts', ['--help']);

    // Assess
    expect([ran.code, ran.stderr, ran.text]).toEqual([0, '', LOADTEST_USAGE]);
    expect(ran.text).toMatch(/^Usage: npm run loadtest -- \[options\]\n\n\S/);
    for (const option of ['--count N', '--concurrency N', '--herd N', '--seed N', '--json', '-h, --help']) {
      expect(ran.text).toMatch(new RegExp(`^  ${option.replace(/[-[\]]/g, '\\$&')} {2,}\\S.{5,}$`, 'm'));
    }
  });

  it('refuses a value it cannot use with exit 2, naming the option', async () => {
    // Act
    const ran = await tsx('bench/loadtest.ts', ['--concurrency', 'lots']);

    // Assess
    expect([ran.code, ran.stderr]).toEqual([2, 'npm run loadtest: Expected a whole number from 1 to 256 for --concurrency but received "lots"\nRun `npm run loadtest -- --help` for usage.\n']);
  });

  it('reads its options, with the defaults for the rest', () => {
    expect(parseLoadArgs(['--count', '20', '--json'])).toEqual({ options: { count: 20, concurrency: 32, herd: 50, seed: 7, timeLimitMs: 600_000 }, json: true });
    expect(() => parseLoadArgs(['--frob'])).toThrow(/Unknown option '--frob'/);
  });
});
