/**
 * `npm run loadtest`: load on the local stack, loopback only, bounded in count
 * and time, stopping by itself.
 *
 * 1. A mix of `count` requests (default 2,000) at `concurrency` (default 32): hits and misses of
 *    derivatives (a Zipf-like pick from a pool of tiles and sizes, so early picks render and later
 *    ones hit), unique misses, info.json for both versions, and errors (malformed paths from the
 *    hostile corpus, unknown identifiers, bad tokens, a read-only token asking for a render).
 *    Every answer must be the one expected; none may be a 5xx.
 * 2. Every derivative a redirect pointed at must be stored (nothing lost), and every stored
 *    derivative must decode whole at its key's dimensions (nothing corrupt).
 * 3. A thundering herd: `herd` (default 50) identical cold requests at once.
 *
 * Reported: p50/p95/p99 latency (all, and per kind), peak RSS of this process (the stack, its
 * embedded S3 and the load generator together: an upper bound for the service alone), renders,
 * and the herd's render and store counts. `npm test` runs it small (test/hardening/load.test.ts).
 *
 * Usage: npm run loadtest -- [--count 2000] [--concurrency 32] [--herd 50] [--seed 7] [--json]
 * (LOADTEST_USAGE, `--help`, says what each does).
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../infra/local/quiet-runtime.js';
import { percentiles, type Percentiles } from './section.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baselineJpeg, gridImage, photoLike, random } from '../test/support/fixtures.js';
import { startTestStack, type Answer, type TestStack } from '../test/support/stack.js';
import { readHostileCorpus } from '../test/hardening/hostile-paths.js';
import { callProblems, parseS3Call, storedImageProblems } from '../test/hardening/support.js';

export const LOAD_DEFAULTS = {
  count: 2000,
  concurrency: 32,
  herd: 50,
  seed: 7,
  /** The whole run stops (and fails) past this, whatever is left. */
  timeLimitMs: 10 * 60_000,
} as const;

export const REQUEST_KINDS = ['hit-or-miss', 'unique-miss', 'info', 'error'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface LoadOptions {
  readonly count: number;
  readonly concurrency: number;
  readonly herd: number;
  readonly seed: number;
  readonly timeLimitMs: number;
}

export interface LoadReport {
  readonly options: LoadOptions;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: Percentiles;
  readonly latencyByKindMs: Readonly<Record<RequestKind, Percentiles>>;
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers that were not the one expected (a 5xx always is not). */
  readonly unexpected: readonly string[];
  readonly serverErrors: number;
  readonly renders: number;
  /** Derivatives redirected to but not stored. */
  readonly lost: readonly string[];
  /** Stored derivatives that do not decode whole at their key's dimensions. */
  readonly corrupt: readonly string[];
  readonly storedImages: number;
  /** S3 commands whose key was outside DERIVATIVE_PREFIX or SOURCE_KEY_TEMPLATE. */
  readonly keysOutsidePrefixes: readonly string[];
  readonly peakRssMb: number;
  readonly herd: {
    readonly requests: number;
    readonly statuses: Readonly<Record<string, number>>;
    readonly renders: number;
    readonly puts: number;
    readonly stored: number;
    readonly latencyMs: Percentiles;
  };
  readonly completed: boolean;
}

interface PlannedRequest {
  readonly kind: RequestKind;
  readonly path: string;
  readonly token: 'render' | 'read' | 'bad' | 'none';
  readonly expected: number;
}

/** A deterministic mix of requests: what each is and what it must answer. */
export function planRequests(count: number, seed: number): PlannedRequest[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  // The pool a viewer would ask for: tiles, thumbnails and sizes of three sources, both versions.
  const pool: string[] = [];
  for (const id of ['grid', 'photo', 'small']) {
    for (const size of [128, 256, 400]) pool.push(`/iiif/3/${id}/full/${size},/0/default.jpg`, `/iiif/2/${id}/full/${size},/0/default.jpg`);
    pool.push(`/iiif/3/${id}/square/200,200/0/default.png`, `/iiif/3/${id}/full/!300,300/90/gray.webp`, `/iiif/3/${id}/full/300,/!180/bitonal.png`);
  }
  for (const id of ['grid', 'photo']) {
    for (const [x, y] of [[0, 0], [512, 0], [0, 512], [512, 512]] as const) pool.push(`/iiif/3/${id}/${x},${y},488,488/244,/0/default.jpg`);
  }
  const errors = readHostileCorpus().filter((entry) => entry.s3 === 'none');
  const requests: PlannedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const roll = next();
    if (roll < 0.45) {
      // Zipf-like: low indices far more often, so most picks are hits once rendered.
      const index = Math.min(pool.length - 1, Math.floor(pool.length * next() ** 2.5));
      requests.push({ kind: 'hit-or-miss', path: pool[index] as string, token: 'render', expected: 302 });
    } else if (roll < 0.55) {
      // The 2400-pixel photo has room for a new width each time (up to 2,300 requests).
      requests.push({ kind: 'unique-miss', path: `/iiif/3/photo/full/${64 + (i % 2300)},/0/default.jpg`, token: 'render', expected: 302 });
    } else if (roll < 0.75) {
      const id = pick(['grid', 'photo', 'small']);
      requests.push({ kind: 'info', path: `/iiif/${pick(['2', '3'])}/${id}/info.json`, token: pick(['render', 'read']), expected: 200 });
    } else {
      const which = next();
      if (which < 0.6) {
        const entry = pick(errors);
        requests.push({ kind: 'error', path: entry.path, token: 'render', expected: entry.status });
      } else if (which < 0.75) {
        requests.push({ kind: 'error', path: `/iiif/3/missing-${i % 17}/full/max/0/default.jpg`, token: 'render', expected: 404 });
      } else if (which < 0.9) {
        requests.push({ kind: 'error', path: pick(pool), token: 'bad', expected: 401 });
      } else {
        // A render asked for by a read-only token: refused, and nothing rendered.
        requests.push({ kind: 'error', path: `/iiif/3/photo/full/${64 + (i % 2300)},/0/default.png`, token: 'read', expected: 403 });
      }
    }
  }
  return requests;
}


/** The derivative key a redirect points at: the presigned URL's path after the bucket. */
function keyOf(answer: Answer, bucket: string): string | undefined {
  const location = answer.headers.location;
  if (location === undefined) return undefined;
  const path = decodeURIComponent(new URL(location).pathname);
  return path.startsWith(`/${bucket}/`) ? path.slice(bucket.length + 2) : undefined;
}

function tally(statuses: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

async function sources(): Promise<Record<string, Buffer>> {
  return {
    'photo.jpg': await photoLike({ width: 2400, height: 1600, format: 'jpeg', quality: 85 }),
    'small.png': (await gridImage({ width: 600, height: 400, cols: 6, rows: 4 })).png,
    'herd.jpg': await baselineJpeg((await gridImage({ width: 2000, height: 1500, cols: 8, rows: 6 })).png),
  };
}

/** Run the load test on a fresh local stack; the stack is closed before this returns. */
export async function runLoadTest(options: LoadOptions): Promise<LoadReport> {
  const t: TestStack = await startTestStack({ sources: await sources() });
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  try {
    const tokens = {
      render: await t.token(),
      read: await t.token([t.stack.config.auth.readScope]),
      bad: `${(await t.token()).slice(0, -6)}AAAAAA`,
      none: undefined,
    } as const;
    const planned = planRequests(options.count, options.seed);
    const latencies: number[] = [];
    const byKind = new Map<RequestKind, number[]>(REQUEST_KINDS.map((kind) => [kind, []]));
    const statuses: number[] = [];
    const unexpected: string[] = [];
    const redirected = new Set<string>();
    let next = 0;
    // Set by the workers when the time limit stops them.
    const run = { stopped: false };
    const worker = async (): Promise<void> => {
      for (let index = next++; index < planned.length; index = next++) {
        if (Date.now() > deadline) {
          run.stopped = true;
          return;
        }
        const request = planned[index] as PlannedRequest;
        const token = tokens[request.token];
        const sent = Date.now();
        const answer = await t.send(request.path, token === undefined ? {} : { token });
        const ms = Date.now() - sent;
        latencies.push(ms);
        byKind.get(request.kind)?.push(ms);
        statuses.push(answer.status);
        if (answer.status !== request.expected) {
          unexpected.push(`${request.path.slice(0, 120)}: ${answer.status}, expected ${request.expected} ${answer.text().slice(0, 120)}`);
        }
        if (answer.status === 302) {
          const key = keyOf(answer, t.derivativeBucket);
          if (key === undefined) unexpected.push(`${request.path.slice(0, 120)}: a redirect outside the derivative bucket`);
          else redirected.add(key);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = (Date.now() - started) / 1000;
    const renders = t.engine.count;

    // Lost and corrupt: every redirect's key stored; every stored image whole.
    const stored = await t.listImages();
    const storedKeys = new Set(stored.map((object) => object.key));
    const lost = [...redirected].filter((key) => !storedKeys.has(key));
    const objects = await Promise.all(stored.map(async (object) => ({ key: object.key, body: (await t.getDerivative(object.key)) ?? Buffer.alloc(0) })));
    const corrupt = await storedImageProblems(objects);
    const keysOutsidePrefixes = callProblems(t.s3Calls.map(parseS3Call), t.stack.config, { writes: true });

    // The herd: identical cold requests, all at once.
    const herdPath = '/iiif/3/herd/full/1234,/0/default.webp';
    const rendersBefore = t.engine.count;
    const callsBefore = t.s3Calls.length;
    const herdLatencies: number[] = [];
    const herdAnswers = await Promise.all(
      Array.from({ length: options.herd }, async () => {
        const sent = Date.now();
        const answer = await t.send(herdPath, { token: tokens.render });
        herdLatencies.push(Date.now() - sent);
        return answer;
      }),
    );
    const herdKey = herdAnswers[0] === undefined ? '' : (keyOf(herdAnswers[0], t.derivativeBucket) ?? '');
    const herdPuts = t.s3Calls.slice(callsBefore).filter((call) => call === `PutObjectCommand ${t.derivativeBucket}/${herdKey}`).length;
    const herdStored = (await t.listImages()).filter((object) => object.key === herdKey).length;
    clearInterval(sampler);
    const serverErrors = statuses.filter((status) => status >= 500).length + herdAnswers.filter((answer) => answer.status >= 500).length;

    return {
      options,
      seconds,
      requestsPerSecond: latencies.length / seconds,
      latencyMs: percentiles(latencies),
      latencyByKindMs: Object.fromEntries(REQUEST_KINDS.map((kind) => [kind, percentiles(byKind.get(kind) ?? [])])) as Record<RequestKind, Percentiles>,
      statuses: tally(statuses),
      unexpected,
      serverErrors,
      renders,
      lost,
      corrupt,
      storedImages: stored.length,
      keysOutsidePrefixes,
      peakRssMb: Math.round(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / (1024 * 1024)),
      herd: {
        requests: herdAnswers.length,
        statuses: tally(herdAnswers.map((answer) => answer.status)),
        renders: t.engine.plans.slice(rendersBefore).filter((plan) => plan.identifier === 'herd').length,
        puts: herdPuts,
        stored: herdStored,
        latencyMs: percentiles(herdLatencies),
      },
      completed: !run.stopped && latencies.length === planned.length,
    };
  } finally {
    clearInterval(sampler);
    await t.close();
  }
}

/** The report as the lines `npm run loadtest` prints. */
export function formatReport(report: LoadReport): string {
  const row = (name: string, p: Percentiles): string =>
    `${name.padEnd(12)} ${String(p.count).padStart(6)} ${p.p50.toFixed(0).padStart(6)} ${p.p95.toFixed(0).padStart(6)} ${p.p99.toFixed(0).padStart(6)} ${p.max.toFixed(0).padStart(6)}`;
  return [
    `${report.latencyMs.count} requests at concurrency ${report.options.concurrency} in ${report.seconds.toFixed(1)} s (${report.requestsPerSecond.toFixed(0)}/s), ${report.renders} renders`,
    '',
    `${'kind'.padEnd(12)} ${'count'.padStart(6)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}   (ms)`,
    row('all', report.latencyMs),
    ...REQUEST_KINDS.map((kind) => row(kind, report.latencyByKindMs[kind])),
    '',
    `statuses: ${JSON.stringify(report.statuses)}; 5xx: ${report.serverErrors}; unexpected answers: ${report.unexpected.length}`,
    `stored images: ${report.storedImages}; lost: ${report.lost.length}; corrupt: ${report.corrupt.length}; S3 keys outside the prefixes: ${report.keysOutsidePrefixes.length}`,
    `peak RSS: ${report.peakRssMb} MB (the stack, its embedded S3 and the load generator in one process)`,
    `herd: ${report.herd.requests} identical cold requests -> ${JSON.stringify(report.herd.statuses)}, ${report.herd.renders} render(s), ${report.herd.puts} PUT(s), ${report.herd.stored} object(s) stored; p50 ${report.herd.latencyMs.p50} ms, max ${report.herd.latencyMs.max} ms`,
    ...report.unexpected.slice(0, 20).map((line) => `  unexpected: ${line}`),
    ...report.lost.slice(0, 20).map((key) => `  lost: ${key}`),
    ...report.corrupt.slice(0, 20).map((line) => `  corrupt: ${line}`),
  ].join('\n');
}

/** Whether the run met every requirement. */
export function passed(report: LoadReport): boolean {
  return report.completed && report.serverErrors === 0 && report.unexpected.length === 0 && report.lost.length === 0 && report.corrupt.length === 0 &&
    report.keysOutsidePrefixes.length === 0 &&
    report.herd.stored === 1 && report.herd.puts === 1 && (report.herd.statuses['302'] ?? 0) === report.herd.requests;
}

/** Each option's upper bound (all are whole numbers from 1). */
const LOAD_LIMITS = { count: 100_000, concurrency: 256, herd: 1000, seed: 2 ** 31 } as const;

export const LOADTEST_USAGE = `Usage: npm run loadtest -- [options]

Starts a throwaway local stack (loopback, ephemeral ports, temporary data; auth on) and loads it:
a deterministic mix of requests (cache hits and misses of tiles and sizes, unique misses,
info.json in both versions, malformed paths, unknown identifiers, bad tokens, a read-only token
asking for a render), then checks that every answer was the expected one, no 5xx, every
redirected derivative is stored and decodes whole; then a thundering herd of identical cold
requests, which must render and store exactly once. Stops by itself within ${LOAD_DEFAULTS.timeLimitMs / 60_000} minutes.

Options:
  --count N          requests in the mix (default ${LOAD_DEFAULTS.count}; 1 to ${LOAD_LIMITS.count})
  --concurrency N    requests in flight at once (default ${LOAD_DEFAULTS.concurrency}; 1 to ${LOAD_LIMITS.concurrency})
  --herd N           identical cold requests sent at once at the end (default ${LOAD_DEFAULTS.herd}; 1 to ${LOAD_LIMITS.herd})
  --seed N           seed of the request mix: the same seed, the same requests (default ${LOAD_DEFAULTS.seed})
  --json             print the report as JSON instead of the table
  -h, --help         this text

Prints p50/p95/p99 latency (all, and per kind of request), statuses, renders, stored, lost and
corrupt derivatives, peak RSS, and the herd's renders and PUTs. docs/performance.md explains them.
Exit status: 0 every check passed, 1 a check failed, 2 bad usage.
`;

class LoadUsageError extends Error {
  override readonly name = 'LoadUsageError';
}

/** The options of a command line, or 'help'. @throws LoadUsageError for anything it cannot use. */
export function parseLoadArgs(argv: readonly string[]): { options: LoadOptions; json: boolean } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        count: { type: 'string' },
        concurrency: { type: 'string' },
        herd: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new LoadUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return 'help';
  const number = (name: keyof typeof LOAD_LIMITS, raw: string | undefined): number => {
    if (raw === undefined) return LOAD_DEFAULTS[name];
    const value = Number(raw);
    const max = LOAD_LIMITS[name];
    if (!Number.isInteger(value) || value < 1 || value > max) throw new LoadUsageError(`Expected a whole number from 1 to ${max} for --${name} but received ${JSON.stringify(raw)}`);
    return value;
  };
  return {
    options: {
      count: number('count', values.count),
      concurrency: number('concurrency', values.concurrency),
      herd: number('herd', values.herd),
      seed: number('seed', values.seed),
      timeLimitMs: LOAD_DEFAULTS.timeLimitMs,
    },
    json: values.json === true,
  };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseLoadArgs>;
  try {
    parsed = parseLoadArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error;
    process.stderr.write(`npm run loadtest: ${error.message}\nRun \`npm run loadtest -- --help\` for usage.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(LOADTEST_USAGE);
    return;
  }
  const { options } = parsed;
  // One EMF line per request on stdout would drown the report (the logger is captured anyway).
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  console.error(`Load test: ${options.count} requests at concurrency ${options.concurrency}, then a herd of ${options.herd}, on a local stack at 127.0.0.1 ...`);
  const report = await runLoadTest(options);
  console.log(parsed.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (!passed(report)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
