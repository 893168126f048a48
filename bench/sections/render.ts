/**
 * Render paths: the requests a viewer makes (info probe, tiles at full resolution and at scale
 * factor 8, thumbnail, square, 1024 wide, a gray PNG crop, a 90-degree WebP, full/max) on four
 * generated sources, timed warm (median) with Recto's engine, with one naive sharp pipeline
 * (cut, then resize, no level choice, encoder defaults), and with the libvips command line as
 * the floor; with peak RSS, glibc's malloc as it comes and tuned, and the render estimate.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runWorker } from '../child.js';
import type { BenchSource, RequestId } from '../requests.js';
import { requestsFor, vipsCommand } from '../requests.js';
import type { WorkerMode, WorkerResult } from '../render-worker.js';
import type { BenchContext, BenchRow, BenchSection, BenchTarget, SectionResult } from '../section.js';
import { median } from '../section.js';
import { benchSources } from '../sources.js';

/**
 * glibc malloc tunables from the render engine's issue: serve large allocations from the heap
 * instead of fresh mmaps (no page-faulting of new zero pages per request) and keep freed memory
 * for the next request instead of trimming it.
 */
export const TUNED_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: '268435456',
  MALLOC_TRIM_THRESHOLD_: '1073741824',
  MALLOC_TOP_PAD_: '67108864',
} as const;

/** glibc malloc as it comes, or with TUNED_MALLOC_ENV. */
type Allocator = 'glibc' | 'tuned';

const RSS_LIMIT_MB = 400;
const RSS_LIMIT_LARGE_FULL_MB = 700;

function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MALLOC_')));
}

function renderWorker(context: BenchContext, source: BenchSource, mode: WorkerMode, allocator: Allocator): Promise<WorkerResult> {
  const env = allocator === 'tuned' ? { ...baseEnv(), ...TUNED_MALLOC_ENV } : baseEnv();
  return runWorker<WorkerResult>(context, 'render-worker.ts', [JSON.stringify(source), mode], env);
}

/** The vips CLI's version, or undefined when it is not installed (or BENCH_NO_VIPS is set). */
function vipsAvailable(): string | undefined {
  if (process.env.BENCH_NO_VIPS !== undefined) return undefined;
  const probe = spawnSync('vips', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && probe.error === undefined ? probe.stdout.trim() : undefined;
}

/** Wall-clock median of the vips CLI doing the request, process start included. */
async function timeVips(context: BenchContext, source: BenchSource, requestId: RequestId): Promise<number | null> {
  const request = requestsFor(source).find((r) => r.id === requestId);
  if (request === undefined) return null;
  const out = join(context.cacheDir, `vips-out-${process.pid}`);
  const command = vipsCommand(source, request, out);
  if (command === undefined) return null;
  const [program, args] = command;
  const runOnce = (): number => {
    const started = performance.now();
    const result = spawnSync(program, args, { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} exited ${String(result.status)}`);
    return performance.now() - started;
  };
  runOnce();
  const first = runOnce();
  const times = [first, ...Array.from({ length: first > 1000 ? 2 : 6 }, runOnce)];
  await rm(`${out}.jpg`, { force: true });
  return median(times);
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const renderSection: BenchSection = {
  name: 'render',
  description: 'Viewer requests on generated sources: Recto vs a naive sharp pipeline vs the vips CLI',
  async run(context: BenchContext): Promise<SectionResult> {
    const sources = await benchSources(context.cacheDir, context.log);
    const vipsVersion = vipsAvailable();
    const startLoad = loadavg()[0] ?? 0;
    const results = new Map<string, { ours: Record<Allocator, WorkerResult>; naive: WorkerResult }>();
    for (const source of sources) {
      context.log(`render: ${source.label}`);
      const oursGlibc = await renderWorker(context, source, 'ours', 'glibc');
      const oursTuned = await renderWorker(context, source, 'ours', 'tuned');
      const naive = await renderWorker(context, source, 'naive', 'glibc');
      results.set(source.id, { ours: { glibc: oursGlibc, tuned: oursTuned }, naive });
    }
    const vipsTimes = new Map<string, number | null>();
    if (vipsVersion !== undefined) {
      context.log(`render: vips CLI ${vipsVersion}`);
      for (const source of sources) {
        for (const request of requestsFor(source)) vipsTimes.set(`${source.id}/${request.id}`, await timeVips(context, source, request.id));
      }
    }

    // Which allocator setting wins: the geometric mean of per-request speed-ups.
    const speedups: number[] = [];
    for (const { ours } of results.values()) {
      ours.glibc.requests.forEach((r, i) => {
        const tuned = ours.tuned.requests[i];
        if (tuned !== undefined) speedups.push(r.measurement.medianMs / tuned.measurement.medianMs);
      });
    }
    const geometricSpeedup = Math.exp(speedups.reduce((sum, s) => sum + Math.log(s), 0) / Math.max(1, speedups.length));

    const rows: BenchRow[] = [];
    const byKey = new Map<string, { ours: number; tuned: number; naive: number; rss: number; rssTuned: number; vips: number | null; large: boolean; id: RequestId; estimate: number | undefined }>();
    for (const source of sources) {
      const entry = results.get(source.id);
      if (entry === undefined) continue;
      entry.ours.glibc.requests.forEach((ours, i) => {
        const tuned = entry.ours.tuned.requests[i];
        const naive = entry.naive.requests[i];
        if (tuned === undefined || naive === undefined) return;
        const vips = vipsTimes.get(`${source.id}/${ours.id}`) ?? null;
        const best = Math.min(ours.measurement.medianMs, tuned.measurement.medianMs);
        byKey.set(`${source.id}/${ours.id}`, {
          ours: ours.measurement.medianMs, tuned: tuned.measurement.medianMs, naive: naive.measurement.medianMs,
          rss: ours.measurement.peakRssMb, rssTuned: tuned.measurement.peakRssMb, vips, large: source.large, id: ours.id, estimate: ours.estimateSeconds,
        });
        rows.push({
          subject: source.label,
          case: ours.path,
          values: {
            ours: round(ours.measurement.medianMs),
            tuned: round(tuned.measurement.medianMs),
            naive: round(naive.measurement.medianMs),
            ratio: round(naive.measurement.medianMs / ours.measurement.medianMs, 2),
            vips: vips === null ? null : round(vips),
            vipsRatio: vips === null ? null : round(best / vips, 2),
            rss: Math.round(ours.measurement.peakRssMb),
            rssTuned: Math.round(tuned.measurement.peakRssMb),
            estimate: ours.estimateSeconds === undefined ? null : round(ours.estimateSeconds, 2),
            runs: ours.measurement.runs,
          },
        });
      });
    }

    const targets: BenchTarget[] = [];
    const get = (key: string) => byKey.get(key);
    const ms = (n: number): string => `${round(n)} ms`;
    for (const id of ['tile', 'tile-sf8'] as const) {
      const r = get(`pyramid-75mp/${id}`);
      if (r !== undefined) targets.push({ description: `pyramidal TIFF ${id === 'tile' ? 'full-resolution 512 tile' : 'scale-factor-8 tile'} < 25 ms median`, measured: `${ms(r.ours)} (tuned malloc ${ms(r.tuned)})`, met: Math.min(r.ours, r.tuned) < 25 });
    }
    const pyramidThumb = get('pyramid-75mp/thumbnail');
    if (pyramidThumb !== undefined) targets.push({ description: 'pyramidal TIFF !400,400 thumbnail < 40 ms', measured: `${ms(pyramidThumb.ours)} (tuned ${ms(pyramidThumb.tuned)})`, met: Math.min(pyramidThumb.ours, pyramidThumb.tuned) < 40 });
    const sf8 = get('photo-75mp/tile-sf8');
    if (sf8 !== undefined) targets.push({ description: '10000x7500 JPEG scale-factor-8 tile ≥ 2x faster than naive', measured: `${round(sf8.naive / sf8.ours, 2)}x (${ms(sf8.ours)} vs ${ms(sf8.naive)})`, met: sf8.naive / sf8.ours >= 2 });
    const thumb = get('photo-75mp/thumbnail');
    if (thumb !== undefined) targets.push({ description: '10000x7500 JPEG thumbnail < 250 ms', measured: `${ms(thumb.ours)} (tuned ${ms(thumb.tuned)})`, met: Math.min(thumb.ours, thumb.tuned) < 250 });
    const full = get('photo-75mp/full-max');
    if (full !== undefined) {
      targets.push(full.vips === null
        ? { description: '10000x7500 JPEG full/max within 1.3x of `vips copy`', measured: `${ms(full.ours)}; vips CLI not installed (apt-get install libvips-tools)`, met: null }
        : { description: '10000x7500 JPEG full/max within 1.3x of `vips copy`', measured: `${round(Math.min(full.ours, full.tuned) / full.vips, 2)}x (${ms(Math.min(full.ours, full.tuned))} vs ${ms(full.vips)})`, met: Math.min(full.ours, full.tuned) <= 1.3 * full.vips });
    }
    const overRss: string[] = [];
    for (const [key, r] of byKey) {
      const limit = r.large && r.id === 'full-max' ? RSS_LIMIT_LARGE_FULL_MB : RSS_LIMIT_MB;
      if (r.rss >= limit) overRss.push(`${key} ${Math.round(r.rss)} MB`);
    }
    const maxRss = Math.max(...[...byKey.values()].filter((r) => !(r.large && r.id === 'full-max')).map((r) => r.rss));
    const maxLargeFull = Math.max(...[...byKey.values()].filter((r) => r.large && r.id === 'full-max').map((r) => r.rss));
    targets.push({ description: `peak RSS < ${RSS_LIMIT_MB} MB (75 MP full/max < ${RSS_LIMIT_LARGE_FULL_MB} MB), glibc malloc`, measured: overRss.length === 0 ? `max ${Math.round(maxRss)} MB; 75 MP full/max max ${Math.round(maxLargeFull)} MB` : overRss.join(', '), met: overRss.length === 0 });
    const overEstimate = [...byKey.entries()].filter(([, r]) => r.estimate !== undefined && r.estimate * 1000 < Math.max(r.ours, r.tuned));
    targets.push({ description: 'estimateRenderSeconds() ≥ measured time on this machine (before its Lambda factor of 3x)', measured: overEstimate.length === 0 ? 'all requests' : `under for ${overEstimate.map(([k]) => k).join(', ')}`, met: overEstimate.length === 0 });

    const endLoad = loadavg()[0] ?? 0;
    const notes = [
      `ours = Recto's render() with glibc malloc as it comes; tuned = the same with ${Object.entries(TUNED_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}; naive = one sharp pipeline (extract → resize → rotate, encoder defaults, same quality), same process settings; ratio = naive / ours.`,
      `vips = the libvips CLI (${vipsVersion ?? 'not installed: column skipped'}) doing the same work in one command, process start included (median wall clock); vips× = best of ours / vips.`,
      `tuned malloc: geometric-mean speed-up ${round(geometricSpeedup, 2)}x over all requests.`,
      `rss = peak RSS of the warm worker while serving the request (VmHWM reset before it), MB; est = estimateRenderSeconds() (Lambda-class seconds).`,
      'naive/ours below 1: the naive pipeline does less (full/max of a mid-size image: Recto writes progressive JPEG up to 4 MP and optimised Huffman tables up to 16 MP, for smaller files; the probe reads every pyramid level and the tile size).',
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; 1-minute load average ${round(startLoad, 2)} at start${startLoad > 1 ? ' (other work was running: timings are noisy)' : ''}, ${round(endLoad, 2)} at end (the bench itself keeps ~2 threads busy).`,
    ];
    return {
      columns: [
        { key: 'ours', title: 'ours ms' },
        { key: 'tuned', title: 'tuned ms' },
        { key: 'naive', title: 'naive ms' },
        { key: 'ratio', title: 'naive/ours', digits: 2 },
        { key: 'vips', title: 'vips ms' },
        { key: 'vipsRatio', title: 'vips×', digits: 2 },
        { key: 'rss', title: 'rss MB', digits: 0 },
        { key: 'rssTuned', title: 'rss tuned', digits: 0 },
        { key: 'estimate', title: 'est s', digits: 2 },
        { key: 'runs', title: 'runs', digits: 0 },
      ],
      rows,
      targets,
      notes,
      details: {
        vips: vipsVersion ?? null,
        loadAverage: { start: startLoad, end: endLoad },
        mallocSpeedup: geometricSpeedup,
        sources: sources.map(({ id, label, width, height, bytes, format }) => ({ id, label, width, height, bytes, format })),
        workers: Object.fromEntries([...results.entries()]),
      },
    };
  },
};
