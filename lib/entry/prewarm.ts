/**
 * The pre-warm worker's entry: SQS batches (with partial batch failure reporting, so one bad
 * image does not send the others back to the queue) and S3 Batch Operations invocations (one
 * result per task in the format S3 expects), both on the same runner as `npm run prewarm`.
 *
 * The shapes read here are declared structurally (no Lambda type imports below functions/):
 * - SQS: `{ Records: [{ messageId, body, eventSource: 'aws:sqs' }] }` → `{ batchItemFailures: [{ itemIdentifier }] }`;
 * - S3 Batch Operations, invocation schema 1.0 and 2.0: `{ invocationSchemaVersion, invocationId,
 *   job: { id, userArguments? }, tasks: [{ taskId, s3Key, s3BucketArn | s3Bucket }] }` →
 *   `{ invocationSchemaVersion, treatMissingKeysAs, invocationId, results: [{ taskId, resultCode, resultString }] }`.
 *   Manifest keys arrive URL-encoded and are mapped to identifiers through SOURCE_KEY_TEMPLATE.
 *   Schema 2.0 jobs may pass `userArguments`: `tiles`, `sizes`, `force`, `ingest` ("true"/"false"),
 *   `presets` (comma-separated), `api` ("2", "3", "both"); without any, tiles and sizes. With
 *   `ingest` alone, each master's access copy is built (a whole bucket converted by a fleet).
 * - A PrewarmMessage invoked directly (`aws lambda invoke`): answered with its report.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { defined, getConfig } from '../config.js';
import { RectoError, expected } from '../errors.js';
import { parsePrewarmMessage, type PrewarmMessage } from '../queue/index.js';
import { withDefaults, type ImageReport, type Prewarmer } from '../service/prewarm.js';
import { decodeEventKey, identifierFromKey } from '../store/index.js';
import { invocationDeadline, type InvocationContext } from './deadline.js';
import { createServices } from './wiring.js';

export interface WorkerDeps {
  readonly prewarmer: Pick<Prewarmer, 'run'>;
  readonly sourceBucket: string;
  readonly keyTemplate: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export type PrewarmHandler = (event: unknown, context?: InvocationContext) => Promise<unknown>;

/** Time kept back from the Lambda deadline to finish what is in flight and answer. */
const DEADLINE_MARGIN = { maxMs: 60_000, fraction: 0.2 } as const;

export type ResultCode = 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';

/** S3 Batch Operations keeps resultString in its completion report; keep it short. */
const MAX_RESULT_STRING = 512;

export interface BatchResult {
  readonly invocationSchemaVersion: string;
  readonly treatMissingKeysAs: ResultCode;
  readonly invocationId: string;
  readonly results: readonly { readonly taskId: string; readonly resultCode: ResultCode; readonly resultString: string }[];
}

export interface SqsBatchResponse {
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
}

/** The handler; `make` builds the worker at the first event (the cold start). */
export function createPrewarmHandler(make: () => WorkerDeps = defaultWorker): PrewarmHandler {
  let deps: WorkerDeps | undefined;
  return async (event, context) => {
    deps ??= make();
    const signal = deadlineSignal(context);
    if (isSqsEvent(event)) return handleSqs(deps, event, signal);
    if (isBatchEvent(event)) return handleBatch(deps, event, signal);
    const message = parsePrewarmMessage(event);
    return deps.prewarmer.run(withDefaults(message), { signal });
  };
}

function defaultWorker(): WorkerDeps {
  const config = getConfig();
  // A worker renders whatever it is given: nothing to defer to.
  const services = createServices(config, { deferral: 'never' });
  return {
    prewarmer: services.prewarmer,
    sourceBucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    logger: services.logger,
  };
}

// ---- SQS ----------------------------------------------------------------------------------

interface SqsEvent {
  readonly Records: readonly { readonly messageId: string; readonly body: string }[];
}

function isSqsEvent(event: unknown): event is SqsEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records.every((record) => (record as { eventSource?: unknown } | null)?.eventSource === 'aws:sqs');
}

/**
 * One message at a time (each is a whole image). A message is reported failed, and so comes
 * back after the visibility timeout (then goes to the dead-letter queue after three tries),
 * unless its image is done, or its source no longer exists (nothing to render, ever).
 */
async function handleSqs(deps: WorkerDeps, event: SqsEvent, signal: AbortSignal): Promise<SqsBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    if (signal.aborted) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const report = await deps.prewarmer.run(withDefaults(parsePrewarmMessage(record.body)), { signal });
      log(deps, report, { messageId: record.messageId });
      if (report.status !== 'done' && report.error?.code !== 'SOURCE_NOT_FOUND') failures.push({ itemIdentifier: record.messageId });
    } catch (error) {
      deps.logger.error('Pre-warm message failed', { messageId: record.messageId, error });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

// ---- S3 Batch Operations ------------------------------------------------------------------

interface BatchTask {
  readonly taskId: string;
  readonly s3Key: string;
  readonly s3BucketArn?: string;
  readonly s3Bucket?: string;
}

interface BatchEvent {
  readonly invocationSchemaVersion: string;
  readonly invocationId: string;
  readonly job?: { readonly id?: string; readonly userArguments?: Readonly<Record<string, unknown>> };
  readonly tasks: readonly BatchTask[];
}

function isBatchEvent(event: unknown): event is BatchEvent {
  const shape = event as Partial<Record<keyof BatchEvent, unknown>> | null;
  return typeof shape?.invocationSchemaVersion === 'string' && typeof shape.invocationId === 'string' && Array.isArray(shape.tasks);
}

async function handleBatch(deps: WorkerDeps, event: BatchEvent, signal: AbortSignal): Promise<BatchResult> {
  const results: { taskId: string; resultCode: ResultCode; resultString: string }[] = [];
  let request: Omit<PrewarmMessage, 'identifier'> | RectoError;
  try {
    request = userArgumentsRequest(event.job?.userArguments);
  } catch (error) {
    if (!(error instanceof RectoError)) throw error;
    request = error;
  }
  for (const task of event.tasks) {
    results.push(await batchTask(deps, task, request, signal));
  }
  return {
    invocationSchemaVersion: event.invocationSchemaVersion,
    // A key in the manifest that is not in the bucket will not appear by retrying.
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: event.invocationId,
    results,
  };
}

async function batchTask(deps: WorkerDeps, task: BatchTask, request: Omit<PrewarmMessage, 'identifier'> | RectoError, signal: AbortSignal): Promise<{ taskId: string; resultCode: ResultCode; resultString: string }> {
  const answer = (resultCode: ResultCode, resultString: string) => ({ taskId: task.taskId, resultCode, resultString: resultString.slice(0, MAX_RESULT_STRING) });
  if (request instanceof RectoError) return answer('PermanentFailure', `${request.code}: ${request.message}`);
  const bucket = task.s3Bucket ?? task.s3BucketArn?.replace(/^arn:[^:]*:s3:::/, '');
  if (bucket !== deps.sourceBucket) {
    return answer('PermanentFailure', `PREWARM_INVALID_MESSAGE: ${expected(`an object of the source bucket ${deps.sourceBucket}`, 'the task', bucket ?? 'no bucket')}`);
  }
  let key: string;
  try {
    key = decodeEventKey(task.s3Key);
  } catch {
    return answer('PermanentFailure', `PREWARM_INVALID_MESSAGE: ${expected('a URL-encoded key', 's3Key', task.s3Key)}`);
  }
  const identifier = identifierFromKey(deps.keyTemplate, key);
  if (identifier === undefined) {
    return answer('PermanentFailure', `PREWARM_INVALID_MESSAGE: ${expected(`a key SOURCE_KEY_TEMPLATE (${deps.keyTemplate}) makes`, 's3Key', key)}`);
  }
  if (signal.aborted) return answer('TemporaryFailure', 'RENDER_TIMEOUT: the invocation ran out of time before this task');
  let report: ImageReport;
  try {
    report = await deps.prewarmer.run(withDefaults({ ...request, identifier }), { signal });
  } catch (error) {
    if (error instanceof RectoError) return answer('PermanentFailure', `${error.code}: ${error.message}`);
    deps.logger.error('Pre-warm task failed', { taskId: task.taskId, error });
    return answer('TemporaryFailure', `INTERNAL_ERROR: ${error instanceof Error ? error.message : 'unknown'}`);
  }
  log(deps, report, { taskId: task.taskId });
  return answer(resultCode(report), summary(report));
}

/** Done → Succeeded; cut short or failed for reasons a retry may fix → TemporaryFailure (S3 retries); else PermanentFailure. */
export function resultCode(report: ImageReport): ResultCode {
  if (report.status === 'done') return 'Succeeded';
  if (report.status === 'cancelled') return 'TemporaryFailure';
  const failures = report.error === undefined ? report.failed : [report.error, ...report.failed];
  return failures.every((failure) => failure.retryable) ? 'TemporaryFailure' : 'PermanentFailure';
}

function summary(report: ImageReport): string {
  const counts = `${report.identifier}: ${report.rendered} rendered, ${report.skipped} skipped, ${report.failed.length} failed of ${report.planned}`;
  const first = report.error ?? report.failed[0];
  return first === undefined ? counts : `${counts}; ${first.code}: ${first.message}`;
}

/** The arguments a schema 2.0 job may give, all strings: the message's fields but `identifier` and `paths`. */
const USER_ARGUMENTS = ['tiles', 'sizes', 'force', 'presets', 'api', 'ingest'] as const;

/** What stands for each task's identifier while the job's arguments are read: one request serves every task. */
const EVERY_TASK = 'userArguments';

/**
 * `userArguments` of a schema 2.0 job as a pre-warm request: "true"/"false" become booleans and
 * comma-separated `presets` a list, then parsePrewarmMessage checks the request.
 * @throws RectoError PREWARM_INVALID_MESSAGE for an unknown argument or value.
 */
export function userArgumentsRequest(args: Readonly<Record<string, unknown>> | undefined): Omit<PrewarmMessage, 'identifier'> {
  if (args === undefined) return {};
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    if (!(USER_ARGUMENTS as readonly string[]).includes(name)) throw invalidArgument(`only ${USER_ARGUMENTS.join(', ')}`, 'userArguments', name);
    const converted = name === 'presets' ? presetList(value) : name === 'api' ? value : flag(name, value);
    if (converted !== undefined) fields[name] = converted;
  }
  const { tiles, sizes, force, presets, api, ingest } = parsePrewarmMessage({ ...fields, identifier: EVERY_TASK });
  return { ...defined('tiles', tiles), ...defined('sizes', sizes), ...defined('force', force), ...defined('presets', presets), ...defined('api', api), ...defined('ingest', ingest) };
}

/** "true" or "false" (or the boolean itself) as a boolean. */
function flag(name: string, value: unknown): boolean | undefined {
  if (value === 'true' || value === true) return true;
  if (value === 'false' || value === false) return false;
  if (value === undefined) return undefined;
  throw invalidArgument('"true" or "false"', `userArguments.${name}`, JSON.stringify(value));
}

/** A comma-separated list of names; none at all (`""`, `","`) is no list. */
function presetList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgument('a comma-separated string', 'userArguments.presets', JSON.stringify(value));
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  return names.length === 0 ? undefined : names;
}

function invalidArgument(what: string, part: string, received: string): RectoError {
  return new RectoError('PREWARM_INVALID_MESSAGE', expected(what, part, received));
}

// ---- shared -------------------------------------------------------------------------------

function deadlineSignal(context: InvocationContext | undefined): AbortSignal {
  const controller = new AbortController();
  if (context !== undefined) {
    const deadline = invocationDeadline(context, (remaining) => Math.min(DEADLINE_MARGIN.maxMs, remaining * DEADLINE_MARGIN.fraction));
    // Unref'd: a finished invocation must not wait for the timer.
    setTimeout(() => {
      controller.abort();
    }, Math.max(0, deadline - Date.now())).unref();
  }
  return controller.signal;
}

function log(deps: WorkerDeps, report: ImageReport, extra: Record<string, string>): void {
  const { failed, unavailable, ...counts } = report;
  const details = { ...extra, ...counts, failedCount: failed.length, firstFailure: failed[0], unavailable: unavailable.length };
  if (report.status === 'done') deps.logger.info('Pre-warmed', details);
  else deps.logger.warn('Pre-warm incomplete', details);
}
