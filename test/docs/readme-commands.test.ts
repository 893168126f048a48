/**
 * The README's "in another terminal" lines, pasted into an interactive bash against a local
 * stack as `npm start` runs it (auth on, the samples): a token from `npm run -s token`, info.json
 * and a thumbnail with curl, and the conformance run on the sample `grid`. The one edit is the
 * address: the stack listens on ephemeral ports, not 3000. The conformance line runs with
 * `--only` the tests that compare pixels with the validator's image (the ones a wrong image
 * fails); test/conformance runs the whole suite.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { REPO_ROOT } from '../cli/support.js';
import { interactiveBash, type ShellRun } from '../support/shell.js';

const PIXEL_TESTS = 'id_squares,region_pixels,size_wc,rot_mirror,quality_color';

/** The fenced block of README.md that starts with the token line. */
function readmeLines(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? '').find((text) => text.startsWith('TOKEN=$(npm run -s token)'));
  if (block === undefined) throw new Error('Expected a ```sh block starting with TOKEN=$(npm run -s token) in README.md but found none');
  return block.split('\n').filter((line) => line.trim() !== '');
}

describe('the README\'s commands against the local stack', () => {
  let stack: LocalStack;
  let directory: string;
  let shell: ShellRun;
  let lines: string[];

  beforeAll(async () => {
    // Prepare: the stack as `npm start` has it; a working directory inside the repository (npm
    // finds package.json above it), under the git-ignored .data/.
    await mkdir(path.join(REPO_ROOT, '.data'), { recursive: true });
    directory = await mkdtemp(path.join(REPO_ROOT, '.data', 'readme-'));
    const dataDir = path.join(directory, 'data');
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir, imageDirs: [path.join(REPO_ROOT, 'samples')] });
    lines = readmeLines().map((line) => line.replaceAll('http://127.0.0.1:3000', stack.url)).map((line) => (line.startsWith('npm run conformance') ? `${line} --only ${PIXEL_TESTS}` : line));

    // Act
    shell = await interactiveBash(lines, directory, { DATA_DIR: dataDir, PORT: new URL(stack.url).port, S3_PORT: stack.s3Endpoint.port });
  }, 180_000);

  afterAll(async () => {
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('has the lines this test knows how to check', () => {
    expect(lines.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['TOKEN=$(npm run', 'curl -H', 'curl -L', 'npm run']);
  });

  it('runs them all in an interactive bash without a history-expansion error', () => {
    expect(shell.stderr).not.toContain('event not found');
    expect(shell.code).toBe(0);
  });

  it('prints the photo\'s info.json and saves a JPEG thumbnail that fits 400 x 400', async () => {
    expect(shell.stdout).toMatch(/"id":"http:\/\/127\.0\.0\.1:\d+\/iiif\/3\/photo"/);
    const thumbnail = await sharp(await readFile(path.join(directory, 'thumbnail.jpg'))).metadata();
    expect([thumbnail.format, Math.max(thumbnail.width, thumbnail.height)]).toEqual(['jpeg', 400]);
  });

  it('passes the conformance tests that compare pixels with the validator\'s image', () => {
    expect(shell.stdout).toMatch(/^3\.0: 5 tests, 5 passed, 0 failed, 0 skipped;/m);
  });
});
