/**
 * The local stack (`npm start`) in a child process, for sections that measure it as a developer
 * runs it: its own process, its own embedded S3, on free loopback ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchContext } from './section.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/** `npm start` in a child process; resolves once it says it is running. */
export async function startStack(context: BenchContext, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(context.root, 'infra', 'local', 'start.ts')], {
    cwd: context.root,
    // Auth off unless the caller says otherwise: a section measures storage and rendering, not JWTs.
    env: { ...process.env, IIIF_AUTH: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`the local stack did not start within 120 s: ${output.slice(-2000)}`));
    }, 120_000);
    const watch = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Recto is running at')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited ${String(code)}: ${output.slice(-2000)}`));
    });
  });
  return child;
}

export async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  await exited;
}
