/**
 * `npm run prewarm -- [ID…] [--file F | --all] [--tiles] [--sizes] [--preset NAME…] [--api 2|3|both]
 *  [--concurrency N] [--dry-run] [--force] [--queue]`: render derivatives ahead of demand, here
 * (against S3: the local stack's, or AWS's), or by sending one message per image to the pre-warm
 * queue for the fleet. See USAGE. `npx recto prewarm` runs this same main().
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import cliProgress from 'cli-progress';
import type { Config } from '../../lib/config.js';
import type { ServiceOverrides } from '../../lib/entry/wiring.js';
import { RectoError } from '../../lib/errors.js';
import { API_CHOICES, QueueSender, type PrewarmMessage } from '../../lib/queue/index.js';
import { selectPresets } from '../../lib/service/presets.js';
import { Prewarmer, type ImageReport, type ProgressEvent } from '../../lib/service/prewarm.js';
import { PRODUCE_DEFAULTS } from '../../lib/service/produce.js';
import { EXIT, identifiersFrom, withScriptServices, type CliStreams } from './storage-script.js';

/** Images pre-warmed at once (each with --concurrency renders in flight). */
export const IMAGE_CONCURRENCY = 2;
const MAX_CONCURRENCY = 64;
/** Failure lines printed in the summary; the rest are counted. */
const MAX_FAILURE_LINES = 20;

/** How `npm run prewarm` is invoked; `npx recto prewarm` passes its own words. */
export const PREWARM_SCRIPT = 'npm run prewarm --';

export function usage(command = PREWARM_SCRIPT): string {
  return `Usage: ${command} [IDENTIFIER…] [options]

Renders derivatives before anyone asks for them, and stores them where the IIIF function finds
them: every tile and size a viewer (OpenSeadragon, Mirador, Leaflet-IIIF) builds from info.json,
in the URL forms it uses for IIIF 2.1 and 3.0, and named presets. What is already stored is
skipped, so a run that stopped halfway can simply be started again.

Images:
  IDENTIFIER…            identifiers (as in URLs, decoded: ms/0001, not ms%2F0001)
  --file PATH            one identifier per line (# comments, blank lines skipped; - for stdin)
  --all                  every source in the source bucket (listed a page at a time)

What to render (default: --tiles --sizes):
  --tiles                the tile pyramid of info.json
  --sizes                every sizes entry of info.json
  --preset NAME          a preset (repeat, or NAME,NAME); see presets.json or PRESETS_FILE
  --api 2|3|both         whose viewer URL forms to cover (default both)

How:
  --concurrency N        renders and uploads in flight per image (default ${PRODUCE_DEFAULTS.concurrency}; ${IMAGE_CONCURRENCY} images at a time)
  --dry-run              print what would be rendered (keys and counts); render nothing
  --force                render again and replace what is stored
  --queue                send one message per image to PREWARM_QUEUE_URL (the pre-warm fleet)
                         instead of rendering here
  -h, --help             this text

Storage: the local stack (npm start: PORT, S3_PORT, DATA_DIR) unless S3_ENDPOINT, SOURCE_BUCKET,
DERIVATIVE_BUCKET or AWS credentials are set; then those, with the function's variables
(SOURCE_KEY_TEMPLATE, DERIVATIVE_PREFIX, IIIF_TILE_SIZE, IIIF_MAX_*, PRESETS_FILE, …), which must
match the deployment's for the keys to match.

A progress bar with rate and ETA goes to stderr when it is a terminal; the summary to stdout.
Exit status: 0 all done, 1 something failed (listed in the summary), 2 bad usage, 130 interrupted.
`;
}

export const USAGE = usage();

type Env = Readonly<Record<string, string | undefined>>;

export interface PrewarmCliOverrides {
  /** Service overrides (an S3 client, a render engine); the S3 client is built from env otherwise. */
  readonly services?: ServiceOverrides;
  readonly sqs?: SQSClient;
  /** Abort to stop starting new work (Ctrl-C when run as a script). */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Options {
  readonly identifiers: readonly string[];
  readonly file?: string;
  readonly all: boolean;
  readonly request: Omit<PrewarmMessage, 'identifier'>;
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly queue: boolean;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        file: { type: 'string' },
        all: { type: 'boolean' },
        tiles: { type: 'boolean' },
        sizes: { type: 'boolean' },
        preset: { type: 'string', multiple: true },
        api: { type: 'string' },
        concurrency: { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
        queue: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  const api = API_CHOICES.find((choice) => choice === (values.api ?? 'both'));
  if (api === undefined) throw new UsageError(`--api: expected 2, 3 or both, got ${JSON.stringify(values.api)}`);
  const concurrency = values.concurrency === undefined ? PRODUCE_DEFAULTS.concurrency : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency: expected a whole number from 1 to ${MAX_CONCURRENCY}, got ${JSON.stringify(values.concurrency)}`);
  }
  const all = values.all === true;
  if (all && (positionals.length > 0 || values.file !== undefined)) throw new UsageError('--all lists every source: give it without identifiers or --file');
  if (!all && positionals.length === 0 && values.file === undefined) throw new UsageError('Give identifiers, --file PATH or --all');
  const presets = (values.preset ?? []).flatMap((names) => names.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  const tiles = values.tiles === true;
  const sizes = values.sizes === true;
  const defaults = !tiles && !sizes && presets.length === 0;
  return {
    identifiers: positionals,
    ...(values.file === undefined ? {} : { file: values.file }),
    all,
    request: {
      ...(tiles || defaults ? { tiles: true } : {}),
      ...(sizes || defaults ? { sizes: true } : {}),
      ...(presets.length === 0 ? {} : { presets }),
      api,
      ...(values.force === true ? { force: true } : {}),
    },
    concurrency,
    dryRun: values['dry-run'] === true,
    queue: values.queue === true,
  };
}

/** `npm run prewarm`; returns the exit status. */
export async function main(argv: readonly string[], env: Env = process.env, io: CliStreams = process, overrides: PrewarmCliOverrides = {}): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${error.message}\nRun \`${io.command ?? PREWARM_SCRIPT} --help\` for the options.\n`);
    return EXIT.usage;
  }
  if (options === 'help') {
    io.stdout.write(usage(io.command));
    return EXIT.ok;
  }
  return withScriptServices({
    env,
    io,
    overrides: overrides.services,
    // A queue needs no storage, unless the sources are listed from it.
    needsLocalStack: !options.queue || options.all,
    isUsageError: (error) => error instanceof RectoError && error.code === 'PRESET_NOT_FOUND',
  }, async (services) => {
    selectPresets(services.presets, options.request.presets ?? []);
    const identifiers = options.all ? services.sources.listIdentifiers() : identifiersFrom(options.identifiers, options.file, io.stdin);
    if (options.queue) return sendToQueue(services.config, options, identifiers, env, io, overrides);
    const prewarmer = overrides.now === undefined ? services.prewarmer : new Prewarmer(services, services.presets, overrides.now);
    return runHere(prewarmer, options, identifiers, io, overrides);
  });
}

async function sendToQueue(config: Config, options: Options, identifiers: AsyncIterable<string>, env: Env, io: CliStreams, overrides: PrewarmCliOverrides): Promise<number> {
  const queueUrl = config.prewarmQueueUrl;
  if (queueUrl === undefined) {
    io.stderr.write('--queue needs PREWARM_QUEUE_URL: the URL of the stack\'s pre-warm queue (the PrewarmQueueUrl output of the deployment)\n');
    return EXIT.usage;
  }
  async function* messages(): AsyncGenerator<PrewarmMessage> {
    for await (const identifier of identifiers) yield { identifier, ...options.request };
  }
  if (options.dryRun) {
    let count = 0;
    for await (const message of messages()) {
      io.stdout.write(`${JSON.stringify(message)}\n`);
      count += 1;
    }
    io.stdout.write(`Dry run: ${count} message(s) would go to ${queueUrl}\n`);
    return EXIT.ok;
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const sqs = overrides.sqs ?? new SQSClient(region === undefined ? {} : { region });
  let queued = 0;
  const report = await new QueueSender(sqs, queueUrl).sendAll(messages(), (count) => {
    queued += count;
    if (io.stderr.isTTY === true) io.stderr.write(`\rqueued ${queued}…`);
  }).finally(() => {
    if (overrides.sqs === undefined) sqs.destroy();
  });
  if (io.stderr.isTTY === true && queued > 0) io.stderr.write('\n');
  io.stdout.write(`Queued ${report.sent} image(s) on ${queueUrl}${report.failed.length === 0 ? '' : `; ${report.failed.length} refused`}\n`);
  for (const failure of report.failed.slice(0, MAX_FAILURE_LINES)) io.stdout.write(`  ${failure.identifier}: ${failure.code}: ${failure.message}\n`);
  return report.failed.length === 0 ? EXIT.ok : EXIT.failure;
}

async function runHere(prewarmer: Prewarmer, options: Options, identifiers: AsyncIterable<string>, io: CliStreams, overrides: PrewarmCliOverrides): Promise<number> {
  const now = overrides.now ?? Date.now;
  const started = now();
  const progress = new Progress(io, now, started);
  const reports: ImageReport[] = [];
  const iterator = identifiers[Symbol.asyncIterator]();
  const worker = async (): Promise<void> => {
    for (;;) {
      if (overrides.signal?.aborted === true) return;
      const next = await iterator.next();
      if (next.done === true) return;
      const report = await prewarmer.run(
        { identifier: next.value, ...options.request },
        {
          dryRun: options.dryRun,
          concurrency: options.concurrency,
          onProgress: (event) => {
            progress.on(event);
          },
          ...(overrides.signal === undefined ? {} : { signal: overrides.signal }),
        },
      );
      reports.push(report);
      progress.imageDone(report);
      if (options.dryRun) for (const key of report.pending ?? []) io.stdout.write(`${key}\n`);
    }
  };
  try {
    await Promise.all(Array.from({ length: IMAGE_CONCURRENCY }, worker));
  } finally {
    progress.stop();
  }
  io.stdout.write(summarise(reports, now() - started, options.dryRun));
  if (reports.some((report) => report.status === 'failed')) return EXIT.failure;
  if (overrides.signal?.aborted === true) return EXIT.interrupted;
  return EXIT.ok;
}

/** The progress bar on a terminal; one line per image otherwise. */
class Progress {
  readonly #bar: cliProgress.SingleBar | undefined;
  #total = 0;
  #done = 0;
  #rendered = 0;
  #images = 0;
  #identifier = '';

  constructor(
    private readonly io: CliStreams,
    private readonly now: () => number,
    private readonly started: number,
  ) {
    if (io.stderr.isTTY === true) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: io.stderr,
          format: 'prewarm {bar} {percentage}% | {value}/{total} | {rate}/s | ETA {etaText} | {images} image(s) | {identifier}',
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(0, 0, this.#payload());
    }
  }

  on(event: ProgressEvent): void {
    if (event.type === 'planned') {
      this.#total += event.total;
      this.#identifier = event.identifier;
      this.#bar?.setTotal(this.#total);
      return;
    }
    this.#done += 1;
    if (event.outcome === 'rendered') this.#rendered += 1;
    this.#bar?.update(this.#done, this.#payload());
  }

  imageDone(report: ImageReport): void {
    this.#images += 1;
    if (this.#bar === undefined) {
      const state = report.error === undefined ? '' : ` — ${report.error.code}: ${report.error.message}`;
      this.io.stderr.write(`${report.identifier}: ${report.planned} planned, ${report.rendered} rendered, ${report.skipped} skipped, ${report.failed.length} failed, ${formatBytes(report.bytes)} in ${formatSeconds(report.ms)}${state}\n`);
    } else {
      this.#bar.update(this.#done, this.#payload());
    }
  }

  stop(): void {
    this.#bar?.stop();
  }

  #payload(): Record<string, string | number> {
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    // The rate of work done here (renders), not of skips, which cost nothing.
    const rate = this.#rendered / seconds;
    const left = this.#total - this.#done;
    return {
      rate: rate.toFixed(1),
      etaText: rate > 0 ? formatSeconds((left / rate) * 1000) : '…',
      images: this.#images,
      identifier: this.#identifier,
    };
  }
}

/** The end-of-run summary: counts, bytes, time, and failures grouped by reason. */
export function summarise(reports: readonly ImageReport[], ms: number, dryRun: boolean): string {
  const sum = (pick: (report: ImageReport) => number): number => reports.reduce((total, report) => total + pick(report), 0);
  const planned = sum((r) => r.planned);
  const rendered = sum((r) => r.rendered);
  const skipped = sum((r) => r.skipped);
  const failedJobs = sum((r) => r.failed.length);
  const failedImages = reports.filter((r) => r.status === 'failed').length;
  const lines = [
    dryRun ? 'Pre-warm dry run' : 'Pre-warm summary',
    `  images       ${reports.length}${failedImages === 0 ? '' : ` (${failedImages} failed)`}`,
    dryRun
      ? `  derivatives  ${planned} planned: ${planned - skipped} to render, ${skipped} already stored`
      : `  derivatives  ${planned} planned: ${rendered} rendered, ${skipped} skipped (already stored), ${failedJobs} failed`,
  ];
  const unavailable = reports.flatMap((r) => r.unavailable.map((u) => `${u.origin}: ${u.code}`));
  if (unavailable.length > 0) lines.push(`  unavailable  ${unavailable.length} (${[...countBy(unavailable)].map(([what, n]) => `${what} ×${n}`).join(', ')})`);
  if (!dryRun) {
    const seconds = ms / 1000;
    lines.push(`  stored       ${formatBytes(sum((r) => r.bytes))}`);
    lines.push(`  time         ${formatSeconds(ms)}${rendered > 0 && seconds > 0 ? ` (${(rendered / seconds).toFixed(1)} derivatives/s)` : ''}`);
  }
  const failures = reports.flatMap((r) => [
    ...(r.error === undefined ? [] : [{ identifier: r.identifier, key: '', code: r.error.code, message: r.error.message }]),
    ...r.failed.map((f) => ({ identifier: r.identifier, key: f.key, code: f.code, message: f.message })),
  ]);
  if (failures.length > 0) {
    lines.push('Failures:');
    for (const [code, n] of countBy(failures.map((f) => f.code))) lines.push(`  ${code} ×${n}`);
    for (const failure of failures.slice(0, MAX_FAILURE_LINES)) {
      lines.push(`  ${failure.identifier}${failure.key === '' ? '' : ` ${failure.key}`}: ${failure.code}: ${failure.message}`);
    }
    if (failures.length > MAX_FAILURE_LINES) lines.push(`  … and ${failures.length - MAX_FAILURE_LINES} more`);
  }
  return `${lines.join('\n')}\n`;
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  // EMF metrics are for CloudWatch.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nStopping after the renders in flight (Ctrl-C again to quit now)…\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
  });
  main(process.argv.slice(2), process.env, process, { signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
