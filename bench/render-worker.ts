/**
 * One benchmark process: renders every viewer request of one source, warm, with Recto's engine
 * and with the naive pipeline, timing each and recording peak RSS. Run by the render section,
 * once per source and per allocator setting (glibc's malloc tunables only take effect at process
 * start). Prints one line, `RESULT {json}`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DEFAULTS } from '../lib/config.js';
import { configureSharp, estimateRenderSeconds, probe, render } from '../lib/render/index.js';
import type { RenderOptions } from '../lib/render/index.js';
import { printResult } from './child.js';
import type { BenchSource, RequestId } from './requests.js';
import { naivePipeline, requestsFor } from './requests.js';
import { median } from './section.js';

export interface Measurement {
  readonly medianMs: number;
  readonly runs: number;
  readonly peakRssMb: number;
}

export const WORKER_MODES = ['ours', 'naive'] as const;
export type WorkerMode = (typeof WORKER_MODES)[number];

export interface WorkerRequestResult {
  readonly id: RequestId;
  readonly path: string;
  readonly measurement: Measurement;
  /** estimateRenderSeconds() for the request (Lambda-class seconds), `ours` only. */
  readonly estimateSeconds?: number;
  readonly outputBytes?: number;
}

export interface WorkerResult {
  readonly source: string;
  readonly mode: WorkerMode;
  /** RSS once the source is probed, before the first request. */
  readonly baseRssMb: number;
  readonly requests: readonly WorkerRequestResult[];
}

const OPTIONS: RenderOptions = {
  encode: { jpegQuality: DEFAULTS.JPEG_QUALITY, webpQuality: DEFAULTS.WEBP_QUALITY, webpEffort: DEFAULTS.WEBP_EFFORT, pngCompressionLevel: DEFAULTS.PNG_COMPRESSION_LEVEL },
  maxInputPixels: DEFAULTS.RENDER_MAX_INPUT_PIXELS,
};

/** At least this many timed runs, and keep going until this much time has passed (or the cap). */
const MIN_RUNS = 3;
const MAX_RUNS = 15;
const MIN_TOTAL_MS = 400;

function rssMb(field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
}

/** Reset the peak-RSS mark to the current RSS (Linux: write 5 to clear_refs). */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then covers the whole process so far.
  }
}

async function measure(work: () => Promise<unknown>): Promise<Measurement> {
  resetPeak();
  await work(); // warm-up: first-use costs (thread pool, code paths) are not a warm request
  const times: number[] = [];
  const started = performance.now();
  while (times.length < MAX_RUNS && (times.length < MIN_RUNS || performance.now() - started < MIN_TOTAL_MS)) {
    const t = performance.now();
    await work();
    times.push(performance.now() - t);
  }
  return { medianMs: median(times), runs: times.length, peakRssMb: rssMb('VmHWM') };
}

async function main(): Promise<void> {
  const source = JSON.parse(process.argv[2] ?? '{}') as BenchSource;
  const mode = (process.argv[3] ?? 'ours') as WorkerMode;
  configureSharp();
  const { default: sharp } = await import('sharp');
  const probed = await probe(source.path, OPTIONS);
  const results: WorkerRequestResult[] = [];
  const baseRssMb = rssMb('VmRSS');
  for (const request of requestsFor(source)) {
    const plan = request.plan;
    if (plan === undefined) {
      const measurement = await measure(() => (mode === 'ours' ? probe(source.path, OPTIONS) : sharp(source.path).metadata()));
      results.push({ id: request.id, path: request.path, measurement });
      continue;
    }
    let outputBytes = 0;
    const measurement = await measure(async () => {
      const data = mode === 'ours' ? (await render(source.path, plan, probed, OPTIONS)).data : await naivePipeline(source.path, plan, source.hasAlpha).toBuffer();
      outputBytes = data.length;
    });
    results.push({
      id: request.id,
      path: request.path,
      measurement,
      outputBytes,
      ...(mode === 'ours' ? { estimateSeconds: estimateRenderSeconds(plan, probed, { webpEffort: OPTIONS.encode.webpEffort }) } : {}),
    });
  }
  const result: WorkerResult = { source: source.id, mode, baseRssMb, requests: results };
  printResult(result);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
