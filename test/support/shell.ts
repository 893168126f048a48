/**
 * Commands as a developer pastes them: lines typed into an interactive bash (no rc files), so
 * that history expansion is on, as in a terminal, and a `!` outside single quotes fails as it
 * would there ("event not found").
 */
import { spawn } from 'node:child_process';

export interface ShellRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Type `lines` into `bash -i` in `cwd`, then `exit`; what it printed. */
export function interactiveBash(lines: readonly string[], cwd: string, env: Readonly<Record<string, string>> = {}): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-i'], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(`${lines.join('\n')}\nexit\n`);
  });
}
