/**
 * The pre-warm runner: pre-warm one image. Plan its derivatives (prewarm-jobs.ts), list what its
 * prefix already holds (one paginated listing, not a HEAD per key), and hand the rest to the
 * producer, which renders them from as few decodes as possible and stores each with a
 * conditional PUT.
 *
 * Resumable by construction: every derivative is stored whole or not at all (a checksummed PUT),
 * and a run skips what is stored, so a run killed halfway and started again finishes the set
 * with no duplicates and nothing partial. `force` re-renders and replaces what is stored, each
 * with one unconditional PUT (never a delete first, so no key is ever missing meanwhile).
 */
import type { Config } from '../config.js';
import { RectoError, UnavailableError } from '../errors.js';
import { identifierPrefix } from '../iiif/index.js';
import type { PrewarmMessage } from '../queue/index.js';
import type { DerivativeStore } from '../store/index.js';
import type { AccessCopies, CopyOutcome } from './access-copies.js';
import type { Producer } from './produce.js';
import { planJobs, type Job, type Unavailable } from './prewarm-jobs.js';
import { selectPresets, type Preset, type Presets } from './presets.js';
import type { SourceRecord, SourceRecords } from './source-records.js';

/** What the runner needs (the wiring's Services has it all; tests replace parts). */
export interface PrewarmDeps {
  readonly config: Config;
  readonly records: Pick<SourceRecords, 'withCurrent'>;
  readonly derivatives: Pick<DerivativeStore, 'list'>;
  readonly producer: Pick<Producer, 'produce' | 'options'>;
  /** Builds access copies for messages that ask for one (`ingest`). */
  readonly copies?: Pick<AccessCopies, 'ensure'>;
}

/** How one derivative ended. */
export const OUTCOMES = ['rendered', 'skipped', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type ProgressEvent =
  | { readonly type: 'planned'; readonly identifier: string; readonly total: number; readonly existing: number }
  | { readonly type: 'job'; readonly identifier: string; readonly key: string; readonly outcome: Outcome; readonly bytes: number };

export interface RunOptions {
  /** Plan and list only: nothing is rendered or stored (the source record may be). */
  readonly dryRun?: boolean;
  readonly concurrency?: number;
  /** Stop starting new renders; the result says 'cancelled'. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface JobFailure {
  readonly key: string;
  readonly code: string;
  readonly message: string;
  /** Worth retrying (storage or time), as opposed to a source that will never render. */
  readonly retryable: boolean;
}

export interface ImageReport {
  readonly identifier: string;
  /** `failed`: the image as a whole (its source, its record) or some of its derivatives failed. */
  readonly status: 'done' | 'failed' | 'cancelled';
  /** Distinct derivatives asked for. */
  readonly planned: number;
  readonly rendered: number;
  /** Already stored (or stored meanwhile by someone else). */
  readonly skipped: number;
  readonly failed: readonly JobFailure[];
  /** Requests that do not apply to this image (a preset larger than it, …). */
  readonly unavailable: readonly Unavailable[];
  /** Bytes stored. */
  readonly bytes: number;
  readonly ms: number;
  /** With dryRun: the keys that would be rendered. */
  readonly pending?: readonly string[];
  /** When the image as a whole failed. */
  readonly error?: JobFailure;
  /** What became of the master's access copy, when the request asked for it (`ingest`). */
  readonly copy?: CopyOutcome;
}

export class Prewarmer {
  constructor(
    private readonly deps: PrewarmDeps,
    readonly presets: Presets,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Pre-warm one image. Never throws for the image's own problems (they are in the report);
   * throws RectoError PRESET_NOT_FOUND for an unknown preset name (a caller's mistake).
   */
  async run(request: PrewarmMessage, options: RunOptions = {}): Promise<ImageReport> {
    const started = this.now();
    const { identifier } = request;
    const presets = selectPresets(this.presets, request.presets ?? []);
    // --force plans from a record built afresh, as a replaced source would need.
    const recordOptions = { fresh: request.force === true, persist: options.dryRun !== true };
    const base = { identifier, planned: 0, rendered: 0, skipped: 0, failed: [], unavailable: [], bytes: 0 };
    let copy: CopyOutcome | undefined;
    try {
      // The copy first, when asked for or when derivatives are to be made from a master that
      // needs one: they are rendered from it (a pyramid from a JPEG 2000 could not be otherwise).
      const rendering = hasDerivatives(request);
      if ((request.ingest === true || rendering) && options.dryRun !== true && this.deps.copies !== undefined) copy = (await this.deps.copies.ensure(identifier)).outcome;
      const report = rendering
        ? await this.deps.records.withCurrent(identifier, recordOptions, (record) => this.#attempt(record, request, presets, options, started))
        : { ...base, status: 'done' as const, ms: this.now() - started };
      // Said when asked for, or when something was done or found about it.
      return copy === undefined || (copy === 'not-needed' && request.ingest !== true) ? report : { ...report, copy };
    } catch (error) {
      return { ...base, status: 'failed', ms: this.now() - started, error: failure(identifier, error), ...(copy === undefined ? {} : { copy }) };
    }
  }

  /** One try on one record. @throws SOURCE_CHANGED (the caller retries) and record errors. */
  async #attempt(record: SourceRecord, request: PrewarmMessage, presets: readonly Preset[], options: RunOptions, started: number): Promise<ImageReport> {
    const { identifier } = request;
    const force = request.force === true;
    const { config } = this.deps;
    const plan = planJobs(
      { identifier, source: record.probe, limits: config.limits, tileSize: config.tileSize, prefix: config.derivativePrefix },
      {
        tiles: request.tiles === true,
        sizes: request.sizes === true,
        presets,
        paths: request.paths ?? [],
        api: request.api ?? 'both',
      },
    );
    const planned = { identifier, planned: plan.jobs.length, rendered: 0, skipped: 0, failed: [], unavailable: plan.unavailable, bytes: 0 };
    let stored: Set<string>;
    try {
      stored = await this.#listStored(identifier);
    } catch (error) {
      return { ...planned, status: 'failed', ms: this.now() - started, error: failure(identifier, error) };
    }
    const todo = force ? [...plan.jobs] : plan.jobs.filter((job) => !stored.has(job.key));
    const skipped = plan.jobs.length - todo.length;
    options.onProgress?.({ type: 'planned', identifier, total: plan.jobs.length, existing: skipped });
    if (skipped > 0) {
      for (const job of plan.jobs) {
        if (stored.has(job.key)) options.onProgress?.({ type: 'job', identifier, key: job.key, outcome: 'skipped', bytes: 0 });
      }
    }
    if (options.dryRun === true || todo.length === 0) {
      return {
        ...planned,
        status: 'done',
        skipped,
        ms: this.now() - started,
        ...(options.dryRun === true ? { pending: todo.map((job) => job.key) } : {}),
      };
    }
    const outcome = { rendered: 0, skipped: 0, failed: [] as JobFailure[], bytes: 0 };
    try {
      await this.#produce(record, todo, force ? stored : new Set(), options, outcome);
    } catch (error) {
      // The source itself could not be read: every derivative failed, for that one reason.
      const why = failure(identifier, error);
      if (why.code === 'SOURCE_CHANGED') throw error;
      for (const job of todo) options.onProgress?.({ type: 'job', identifier, key: job.key, outcome: 'failed', bytes: 0 });
      return { ...planned, status: 'failed', skipped, failed: todo.map((job) => ({ ...why, key: job.key })), ms: this.now() - started, error: why };
    }
    const finished = outcome.rendered + outcome.skipped + outcome.failed.length;
    const status = outcome.failed.length > 0 ? 'failed' : finished < todo.length ? 'cancelled' : 'done';
    return { ...planned, status, rendered: outcome.rendered, skipped: skipped + outcome.skipped, failed: outcome.failed, bytes: outcome.bytes, ms: this.now() - started };
  }

  async #listStored(identifier: string): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const object of this.deps.derivatives.list(identifierPrefix(identifier, this.deps.config.derivativePrefix))) keys.add(object.key);
    return keys;
  }

  #produce(record: SourceRecord, jobs: readonly Job[], replace: ReadonlySet<string>, options: RunOptions, outcome: { rendered: number; skipped: number; failed: JobFailure[]; bytes: number }): Promise<void> {
    const { identifier } = record;
    return this.deps.producer.produce(record, jobs.map((job) => ({ key: job.key, plan: job.plan })), {
      replace,
      concurrency: options.concurrency ?? this.deps.producer.options.concurrency,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      stored: (item, answer, size) => {
        const bytes = answer === 'created' ? size : 0;
        if (answer === 'created') outcome.rendered += 1;
        else outcome.skipped += 1;
        outcome.bytes += bytes;
        options.onProgress?.({ type: 'job', identifier, key: item.key, outcome: answer === 'created' ? 'rendered' : 'skipped', bytes });
      },
      failed: (item, error) => {
        outcome.failed.push({ ...failure(identifier, error), key: item.key });
        options.onProgress?.({ type: 'job', identifier, key: item.key, outcome: 'failed', bytes: 0 });
      },
    });
  }
}
/** An error as a report line: its stable code, its message, and whether a retry may help. */
export function failure(key: string, error: unknown): JobFailure {
  if (error instanceof RectoError) {
    // Only "try again later" errors: a misconfigured deployment (500) or a source that cannot be
    // rendered (4xx, 501) fails the same way every time.
    return { key, code: error.code, message: error.message, retryable: error instanceof UnavailableError };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { key, code: 'INTERNAL_ERROR', message, retryable: true };
}

/** The request of a PrewarmMessage-shaped job, with defaults: tiles and sizes when nothing is named. */
export function withDefaults(request: PrewarmMessage): PrewarmMessage {
  return hasDerivatives(request) || request.ingest === true ? request : { ...request, tiles: true, sizes: true };
}

/** Whether a request names derivatives to make (an `ingest`-only one does not). */
function hasDerivatives(request: PrewarmMessage): boolean {
  return request.tiles === true || request.sizes === true || (request.presets?.length ?? 0) > 0 || (request.paths?.length ?? 0) > 0;
}

