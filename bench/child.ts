/**
 * A bench worker in a child process of its own (its memory peak is then its own, and it loads
 * only what it measures): `node --import tsx bench/<file> args…`, whose stdout carries one
 * `RESULT {json}` line.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchContext } from './section.js';

/** The `RESULT` line of a worker's stdout, parsed; rejects when the worker fails or prints none. */
export function runWorker<T>(context: BenchContext, file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(context.root, 'bench', file), ...args], { cwd: context.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${file} ${args.join(' ')} exited ${String(code)}: ${(stderr || stdout).slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as T);
    });
  });
}

/** Print a worker's result as runWorker reads it. */
export function printResult(result: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** This process's peak resident memory so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
