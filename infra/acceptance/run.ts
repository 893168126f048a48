/**
 * `npm run test:acceptance`: the acceptance runs of test/acceptance, which check Recto against
 * other software on realistic masters: JPEG 2000 masters written by libvips with OpenJPEG, and
 * the same requests cut by libvips from the same files. Installs what they need from Debian when
 * it is missing (libvips-tools, with OpenJPEG), then runs them.
 */
import '../local/quiet-runtime.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScript } from '../cli/script.js';
import { ensureDebianPackages } from '../debian.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ACCEPTANCE_PACKAGES = ['libvips-tools'] as const;

async function main(argv: readonly string[]): Promise<number> {
  await ensureDebianPackages(ACCEPTANCE_PACKAGES, ['vips', 'vipsthumbnail'], (line) => process.stderr.write(`${line}\n`));
  const vitest = path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--config', 'test/acceptance/vitest.config.ts', ...argv], { cwd: REPO_ROOT, stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => {
    resolve(code ?? 1);
  }));
}

runAsScript(import.meta.filename, main);
