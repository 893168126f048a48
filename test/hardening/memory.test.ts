/**
 * Peak memory under abuse: the most memory-hungry requests the default limits
 * allow, sent to a local stack running in a child process (memory-child.ts), whose peak resident
 * set must stay under the IIIF function's Lambda memory setting (template.yaml IiifMemorySize,
 * 2048 MB by default). The child's figure includes the embedded S3 and the test client, so it
 * overstates the function's own.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config.js';
import { MEMORY_PROBES, type MemoryChildReport } from './memory-child.js';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
/** The child stops by itself; this only bounds a hang. */
const CHILD_TIMEOUT_MS = 240_000;

function runChild(): Promise<MemoryChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((each) => each.startsWith('RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`memory child ended with ${String(code ?? signal)}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as MemoryChildReport);
    });
  });
}

describe('peak memory', () => {
  it(`stays under the IIIF function's ${DEFAULTS.RENDER_MEMORY_MB} MB through the largest renders the default limits allow, refusing the one that would not fit`, async () => {
    // Act
    const report = await runChild();

    // Assess
    expect(report.results.map((result) => [result.path, result.status, result.code ?? null])).toEqual([
      [MEMORY_PROBES[0], 302, null],
      [MEMORY_PROBES[1], 302, null],
      [MEMORY_PROBES[2], 302, null],
      [MEMORY_PROBES[3], 501, 'RENDER_TOO_LARGE'],
      [MEMORY_PROBES[4], 302, null],
    ]);
    expect(report.maxRssMb).toBeLessThan(DEFAULTS.RENDER_MEMORY_MB);
    // The WebP render was real: it held more than a gigabyte at its peak.
    expect(report.maxRssMb).toBeGreaterThan(1000);
  }, CHILD_TIMEOUT_MS + 10_000);
});
