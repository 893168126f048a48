/**
 * Run by memory.test.ts as a child process (`node --import tsx`), so that its peak resident set
 * is the service's own and not the test runner's: starts a local stack with the default limits
 * (IIIF_MAX_AREA 100 MP, RENDER_MEMORY_MB 2048 = the IIIF function's default memory) and sends
 * the most memory-hungry requests those limits allow, each followed until it is served. Prints
 * one line: `RESULT {json}`.
 */
import { fileURLToPath } from 'node:url';
import { GRID_ID, startTestStack } from '../support/stack.js';
import { zeroPng } from './bombs.js';

export interface MemoryProbeResult {
  readonly path: string;
  readonly status: number;
  readonly code?: string;
  /** How many answers it took (a deferred render is asked for again until it is served). */
  readonly attempts: number;
  readonly ms: number;
}

export interface MemoryChildReport {
  readonly results: readonly MemoryProbeResult[];
  /** Peak resident set of this process, in MB. */
  readonly maxRssMb: number;
}

/** The requests, in order. */
export const MEMORY_PROBES = [
  // A 256-megapixel PNG bomb decoded whole for a thumbnail.
  '/iiif/3/zeros/full/!1000,1000/0/default.jpg',
  // 100 megapixels (the area limit) turned by 45 degrees: a 200-megapixel canvas, as PNG.
  '/iiif/3/zeros/full/10000,10000/45/default.png',
  // 100 megapixels with alpha as WebP: libwebp holds the whole picture (about 1.3 GB).
  '/iiif/3/rgba/full/max/0/default.webp',
  // The same turned by 45 degrees: about 3 GB, refused before any work.
  '/iiif/3/rgba/full/max/45/default.webp',
  // And the process still serves.
  `/iiif/3/${GRID_ID}/full/321,/0/default.png`,
] as const;

const DEFERRED_POLL_MS = 500;
const DEFERRED_WAIT_MS = 120_000;

async function main(): Promise<void> {
  const stack = await startTestStack({
    sources: { 'zeros.png': await zeroPng(16_000, 16_000, 1), 'rgba.png': await zeroPng(10_000, 10_000, 4) },
  });
  const results: MemoryProbeResult[] = [];
  try {
    const token = await stack.token();
    for (const path of MEMORY_PROBES) {
      const started = Date.now();
      let attempts = 0;
      for (;;) {
        attempts += 1;
        const answer = await stack.request(path, { token });
        const code = answer.status >= 400 ? (answer.json() as { error?: string }).error : undefined;
        // A render too long for a request goes to the background: ask again until it is there.
        if (code === 'RENDER_DEFERRED' && Date.now() - started < DEFERRED_WAIT_MS) {
          await new Promise((resolve) => setTimeout(resolve, DEFERRED_POLL_MS));
          continue;
        }
        results.push({ path, status: answer.status, ...(code === undefined ? {} : { code }), attempts, ms: Date.now() - started });
        break;
      }
    }
  } finally {
    await stack.close();
  }
  const report: MemoryChildReport = { results, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  process.stdout.write(`RESULT ${JSON.stringify(report)}\n`);
}

// Only when run as the child: memory.test.ts imports this module for MEMORY_PROBES.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
