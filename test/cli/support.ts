/**
 * Running the staff CLI as staff do: `npx recto …` in the repository, as a child process, with
 * an environment the test chooses (none of the caller's RECTO_* settings leak in).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../infra/cli/recto.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Ran {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** stdout as text. */
  readonly text: string;
}

/**
 * Variables the CLI (or the scripts it runs) reads: a test sets the ones it means. The AWS
 * SDK's Node-version switch is one: vitest.config.ts sets it for the test processes, and the
 * tools must keep their output clean without it.
 */
const CLI_VARIABLES: readonly string[] = ['RECTO_ENDPOINT', 'RECTO_TOKEN', 'PORT', 'S3_PORT', 'PRESETS_FILE', 'DATA_DIR', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'];

/** The parent's environment without the variables the CLI reads, plus `env`. */
export function cleanEnv(env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CLI_VARIABLES.includes(name)));
  return { ...base, ...env };
}

/**
 * `npx recto ARGS`, with `--yes=false` so that npx fails instead of fetching a package of that
 * name from the registry, should the project's own bin ever not be found.
 */
export function recto(args: readonly string[], options: { env?: Readonly<Record<string, string>>; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--yes=false', 'recto', ...args], { cwd: options.cwd ?? REPO_ROOT, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), text: stdout.toString('utf8') });
    });
  });
}

/** Run a TypeScript file the way its npm script does (`tsx FILE ARGS`). */
export function tsx(file: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, file), ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), text: stdout.toString('utf8') });
    });
  });
}

/** A CliIo for running the CLI in this process, with what it writes kept. */
export function capture(env: Readonly<Record<string, string | undefined>> = {}, cwd = REPO_ROOT): CliIo & { out(): string; err(): string } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const sink = (chunks: Buffer[]) => ({
    write(chunk: string | Uint8Array): boolean {
      chunks.push(Buffer.from(chunk));
      return true;
    },
  });
  return {
    env,
    cwd,
    stdout: sink(stdout) as unknown as CliIo['stdout'],
    stderr: sink(stderr) as unknown as CliIo['stderr'],
    out: () => Buffer.concat(stdout).toString('utf8'),
    err: () => Buffer.concat(stderr).toString('utf8'),
  };
}
