/**
 * `npx recto ingest ID… [--file F | --all] [--queue]` (also `npm run ingest -- …`): build the
 * access copies of masters that need one (not tiled pyramids, and larger than
 * ACCESS_COPY_MIN_SIDE, or JPEG 2000), here, and return once they exist; or, with --queue, send
 * one `ingest` job per master to the pre-warm fleet. Against the local stack unless S3 or AWS
 * settings are given, as prewarm and purge are.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import cliProgress from 'cli-progress';
import type { ServiceOverrides, Services } from '../../lib/entry/wiring.js';
import { RectoError } from '../../lib/errors.js';
import { QueueSender } from '../../lib/queue/index.js';
import type { CopyReport } from '../../lib/service/access-copies.js';
import { helpHint, parseOrExit, runAsScript } from './script.js';
import { formatSeconds } from './prewarm.js';
import { EXIT, identifiersFrom, withScriptServices, type CliStreams } from './storage-script.js';

/** How `npm run ingest` is invoked; `npx recto ingest` passes its own words. */
export const INGEST_SCRIPT = 'npm run ingest --';

/** Masters converted at once (each conversion uses every core libvips gets). */
const CONCURRENCY = 1;

export function usage(command = INGEST_SCRIPT): string {
  return `Usage: ${command} [IDENTIFIER…] [options]

Builds the access copy of each master that needs one: a master that is not a tiled pyramid
(a JPEG, PNG, WebP, striped TIFF larger than ACCESS_COPY_MIN_SIDE, or any JPEG 2000) is
converted once into a tiled pyramidal TIFF beside its derivatives, which every request then
reads by ranges. Masters that are tiled pyramids, small, or already copied are skipped. The
command returns when the copies exist.

Images:
  IDENTIFIER…       identifiers (decoded: ms/0001, not ms%2F0001)
  --file PATH       one identifier per line (# comments, blank lines skipped; - for stdin)
  --all             every source in the source bucket (listed a page at a time)

How:
  --queue           send one ingest job per image to PREWARM_QUEUE_URL (the pre-warm fleet)
                    instead of building here
  -h, --help        this text

Storage: the local stack (npm start: PORT, S3_PORT, DATA_DIR) unless S3_ENDPOINT, SOURCE_BUCKET,
DERIVATIVE_BUCKET or AWS credentials are set; then those, with the function's variables
(SOURCE_KEY_TEMPLATE, DERIVATIVE_PREFIX, ACCESS_COPY_*), which must match the deployment's.
Exit status: 0 every copy exists or is not needed, 1 one failed (listed), 2 bad usage.
`;
}

type Env = Readonly<Record<string, string | undefined>>;

export interface IngestOverrides {
  readonly services?: ServiceOverrides;
  readonly sqs?: SQSClient;
}

export async function main(argv: readonly string[], env: Env = process.env, io: CliStreams = process, overrides: IngestOverrides = {}): Promise<number> {
  const command = io.command ?? INGEST_SCRIPT;
  const parsed = parseOrExit(() => parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, file: { type: 'string' }, all: { type: 'boolean' }, queue: { type: 'boolean' } },
  }), { ...io, command }, usage);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const hint = helpHint(command);
  const all = values.all === true;
  if (all && (positionals.length > 0 || values.file !== undefined)) {
    io.stderr.write(`--all lists every source: give it without identifiers or --file\n${hint}\n`);
    return EXIT.usage;
  }
  if (!all && positionals.length === 0 && values.file === undefined) {
    io.stderr.write(`Give identifiers, --file PATH or --all\n${hint}\n`);
    return EXIT.usage;
  }
  return withScriptServices({ env, io, overrides: overrides.services, needsLocalStack: values.queue !== true || all }, (services) => {
    const identifiers = all ? services.sources.listIdentifiers() : identifiersFrom(positionals, values.file, io.stdin);
    return values.queue === true ? sendToQueue(services, identifiers, env, io, overrides) : buildHere(services, identifiers, io);
  });
}

async function buildHere(services: Services, identifiers: AsyncIterable<string>, io: CliStreams): Promise<number> {
  const started = Date.now();
  const bar = io.stderr.isTTY === true
    ? new cliProgress.SingleBar({ stream: io.stderr, format: 'ingest {bar} {value} image(s) | {identifier}', hideCursor: true, fps: 5 }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(0, 0, { identifier: '' });
  const reports: CopyReport[] = [];
  const failures: { identifier: string; code: string; message: string }[] = [];
  let done = 0;
  const iterator = identifiers[Symbol.asyncIterator]();
  const worker = async (): Promise<void> => {
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      const identifier = next.value;
      bar?.setTotal(done + 1);
      bar?.update(done, { identifier });
      try {
        const report = await services.copies.ensure(identifier);
        reports.push(report);
        if (bar === undefined) io.stderr.write(`${identifier}: ${describe(report)}\n`);
      } catch (error) {
        if (!(error instanceof RectoError)) throw error;
        failures.push({ identifier, code: error.code, message: error.message });
        if (bar === undefined) io.stderr.write(`${identifier}: ${error.code}: ${error.message}\n`);
      }
      done += 1;
      bar?.update(done, { identifier });
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    bar?.stop();
  }
  const count = (outcome: CopyReport['outcome']): number => reports.filter((report) => report.outcome === outcome).length;
  io.stdout.write(
    [
      'Ingest summary',
      `  images       ${reports.length + failures.length}${failures.length === 0 ? '' : ` (${failures.length} failed)`}`,
      `  copies       ${count('built')} built, ${count('exists')} already there, ${count('not-needed')} not needed${count('building-elsewhere') === 0 ? '' : `, ${count('building-elsewhere')} being built elsewhere`}`,
      `  time         ${formatSeconds(Date.now() - started)}`,
      ...(failures.length === 0 ? [] : ['Failures:', ...failures.map((failure) => `  ${failure.identifier}: ${failure.code}: ${failure.message}`)]),
      '',
    ].join('\n'),
  );
  return failures.length === 0 ? EXIT.ok : EXIT.failure;
}

function describe(report: CopyReport): string {
  switch (report.outcome) {
    case 'built': return `copy built in ${formatSeconds(report.ms)} (${report.copy?.bytes ?? 0} bytes)`;
    case 'exists': return 'copy already there';
    case 'not-needed': return 'no copy needed (a tiled pyramid, or small)';
    case 'building-elsewhere': return 'being built by another worker';
  }
}

async function sendToQueue(services: Services, identifiers: AsyncIterable<string>, env: Env, io: CliStreams, overrides: IngestOverrides): Promise<number> {
  const queueUrl = services.config.prewarmQueueUrl;
  if (queueUrl === undefined) {
    io.stderr.write('--queue needs PREWARM_QUEUE_URL: the URL of the stack\'s pre-warm queue (the PrewarmQueueUrl output of the deployment)\n');
    return EXIT.usage;
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const sqs = overrides.sqs ?? new SQSClient(region === undefined ? {} : { region });
  async function* messages(): AsyncGenerator<{ identifier: string; ingest: true }> {
    for await (const identifier of identifiers) yield { identifier, ingest: true };
  }
  const report = await new QueueSender(sqs, queueUrl).sendAll(messages()).finally(() => {
    if (overrides.sqs === undefined) sqs.destroy();
  });
  io.stdout.write(`Queued ${report.sent} ingest job(s) on ${queueUrl}${report.failed.length === 0 ? '' : `; ${report.failed.length} refused`}\n`);
  for (const failure of report.failed) io.stdout.write(`  ${failure.identifier}: ${failure.code}: ${failure.message}\n`);
  return report.failed.length === 0 ? EXIT.ok : EXIT.failure;
}

runAsScript(import.meta.filename, (argv) => main(argv));
