/**
 * `npm start` (infra/local/start.ts) in a child process, as a developer runs it: its own data
 * directory, the ports the test gives (0 for free ones), and none of the caller's settings
 * beyond the environment a shell has. Output is collected; waits are for text, with a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cleanEnv, REPO_ROOT } from '../cli/support.js';
import { waitFor } from '../support/wait.js';

/** Starting includes rendering each sample's thumbnail; a shared two-core machine is slow. */
export const START_WAIT_MS = 90_000;

export interface StartProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Wait until stdout matches (rejects naming the output when it does not within the bound). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (as Ctrl-C) and wait for the exit. */
  stop(): Promise<void>;
}

export function startProcess(env: Readonly<Record<string, string>>): StartProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'local', 'start.ts')], {
    cwd: REPO_ROOT,
    env: cleanEnv({ POWERTOOLS_LOG_LEVEL: 'WARN', LOCAL_IMAGES_DIR: '', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStdout(pattern, timeoutMs = START_WAIT_MS) {
      await waitFor(() => pattern.test(out) || child.exitCode !== null, timeoutMs, 100, `${pattern.source} on stdout`).catch((error: unknown) => {
        throw new Error(`${String(error)}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`);
      });
      const match = pattern.exec(out);
      if (match === null) throw new Error(`Expected ${pattern.source} on stdout but the process exited ${String(child.exitCode)}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`);
      return match;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
