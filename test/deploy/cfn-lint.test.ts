/**
 * cfn-lint (AWS's CloudFormation linter; it applies the SAM transform itself, so it checks the
 * resources SAM generates too) on template.yaml. cfn-lint is a Python tool: it is used when
 * found on PATH and the tests are skipped, with the reason printed, when it is not. No npm
 * package does this job: the npm package named cfn-lint (martysweet/cfn-lint 1.9.7) is a
 * separate JavaScript validator on 2018-era dependencies with its own copy of an old resource
 * specification, not AWS's linter. Debian (bookworm) does not package AWS's cfn-lint either.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_PATH } from './template.js';

const execFileAsync = promisify(execFile);

interface Run {
  readonly code: number;
  readonly output: string;
}

async function cfnLint(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync('cfn-lint', args, { maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function version(): Promise<string | undefined> {
  try {
    return (await cfnLint('--version')).output.trim();
  } catch {
    return undefined;
  }
}

const found = await version();
if (found === undefined) {
  console.warn('cfn-lint tests skipped: cfn-lint is not on PATH (it is a Python tool: pip install cfn-lint).');
}

describe.skipIf(found === undefined)(`cfn-lint (${found ?? 'not installed'})`, () => {
  it('finds no error, warning or informational finding in template.yaml', async () => {
    const run = await cfnLint('--format', 'parseable', '--', TEMPLATE_PATH);
    expect(run.output).toBe('');
    expect(run.code).toBe(0);
  }, 60_000);

  it('does report a broken copy of the template (the linter really runs)', async () => {
    // Prepare: the same template with the runtime misspelt and a reference to nothing.
    const dir = await mkdtemp(join(tmpdir(), 'recto-cfn-lint-'));
    try {
      const broken = (await readFile(TEMPLATE_PATH, 'utf8'))
        .replace('Runtime: nodejs22.x', 'Runtime: nodejs22')
        .replace('MemorySize: !Ref IiifMemorySize', 'MemorySize: !Ref NoSuchParameter');
      const path = join(dir, 'template.yaml');
      await writeFile(path, broken);

      // Act
      const run = await cfnLint('--format', 'parseable', '--', path);

      // Assess: error findings set bit 2 of the exit code; both faults are named.
      expect(run.code & 2).toBe(2);
      expect(run.output).toContain('NoSuchParameter');
      expect(run.output).toContain('nodejs22');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
