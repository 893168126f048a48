/**
 * The job runner: pre-warm one image. Plan its derivatives (jobs.ts), list what its prefix
 * already holds (one paginated listing, not a HEAD per key), render the rest from as few decodes
 * as possible (batch-render.ts) and store each with a conditional PUT.
 *
 * Resumable by construction: every derivative is stored whole or not at all (a checksummed PUT),
 * and a run skips what is stored, so a run killed halfway and started again finishes the set
 * with no duplicates and nothing partial. `force` re-renders and replaces what is stored, each
 * with one unconditional PUT (never a delete first, so no key is ever missing meanwhile).
 */
import { RectoError, UnavailableError } from '../errors.js';
import { identifierPrefix, type Plan } from '../iiif/index.js';
import { render, renderMemoryBudget, type RenderResult } from '../render/index.js';
import type { Services } from '../service/services.js';
import type { SourceObject } from '../store/index.js';
import { fromJson, type SourceRecord } from '../service/source-records.js';
import { renderBatch, type BatchItem } from './batch-render.js';
import { planJobs, type Job, type Unavailable } from './jobs.js';
import type { PrewarmMessage } from './message.js';
import { selectPresets, type Preset, type Presets } from './presets.js';

export const RUNNER_DEFAULTS = {
  /** Renders and uploads in flight for one image. */
  concurrency: 8,
} as const;

/** What the runner needs from the service (Services has it all; tests wrap parts). */
export interface PrewarmServices {
  readonly config: Services['config'];
  readonly sources: Pick<Services['sources'], 'fetch'>;
  readonly derivatives: Pick<Services['derivatives'], 'list' | 'put'>;
  readonly records: Pick<Services['records'], 'get'>;
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
}

/** The renderer of single Plans (lib/render's render; tests inject faults). */
export type RenderOne = (input: string, plan: Plan, record: SourceRecord) => Promise<RenderResult>;

export class Prewarmer {
  readonly #renderOne: RenderOne;

  constructor(
    private readonly services: PrewarmServices,
    readonly presets: Presets,
    renderOne?: RenderOne,
    private readonly now: () => number = Date.now,
  ) {
    const { encode, maxInputPixels, memoryMb } = services.config.render;
    // The same memory guard as a request: a render this worker could not hold fails cleanly.
    const memoryBudgetBytes = renderMemoryBudget(memoryMb);
    this.#renderOne = renderOne ?? ((input, plan, record) => render(input, plan, record.probe, { encode, maxInputPixels, memoryBudgetBytes }));
  }

  /**
   * Pre-warm one image. Never throws for the image's own problems (they are in the report);
   * throws RectoError PRESET_NOT_FOUND for an unknown preset name (a caller's mistake).
   */
  async run(request: PrewarmMessage, options: RunOptions = {}): Promise<ImageReport> {
    const started = this.now();
    const presets = selectPresets(this.presets, request.presets ?? []);
    const first = await this.#attempt(request, presets, request.force === true, options, started);
    // The source was replaced since its record was made: plan again from a fresh record, once.
    if (first.error?.code !== 'SOURCE_CHANGED') return first;
    return this.#attempt(request, presets, true, options, started);
  }

  async #attempt(request: PrewarmMessage, presets: readonly Preset[], freshRecord: boolean, options: RunOptions, started: number): Promise<ImageReport> {
    const { identifier } = request;
    const force = request.force === true;
    const base = { identifier, planned: 0, rendered: 0, skipped: 0, failed: [], unavailable: [], bytes: 0 };
    let record: SourceRecord;
    try {
      record = await this.services.records.get(identifier, undefined, { fresh: freshRecord, persist: options.dryRun !== true });
    } catch (error) {
      return { ...base, status: 'failed', ms: this.now() - started, error: failure(identifier, error) };
    }
    const { config } = this.services;
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
    const planned = { ...base, planned: plan.jobs.length, unavailable: plan.unavailable };
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
    let object: SourceObject;
    let input: string;
    try {
      object = fromJson(record.source);
      input = await this.services.sources.fetch(object);
    } catch (error) {
      const why = failure(identifier, error);
      if (why.code === 'SOURCE_CHANGED') return { ...planned, status: 'failed', ms: this.now() - started, error: why };
      for (const job of todo) options.onProgress?.({ type: 'job', identifier, key: job.key, outcome: 'failed', bytes: 0 });
      return { ...planned, status: 'failed', skipped, failed: todo.map((job) => ({ ...why, key: job.key })), ms: this.now() - started, error: why };
    }
    const outcome = await this.#render(record, object, input, todo, force ? stored : new Set(), options);
    const finished = outcome.rendered + outcome.skipped + outcome.failed.length;
    const status = outcome.failed.length > 0 ? 'failed' : finished < todo.length ? 'cancelled' : 'done';
    return { ...planned, status, rendered: outcome.rendered, skipped: skipped + outcome.skipped, failed: outcome.failed, bytes: outcome.bytes, ms: this.now() - started };
  }

  async #listStored(identifier: string): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const object of this.services.derivatives.list(identifierPrefix(identifier, this.services.config.derivativePrefix))) keys.add(object.key);
    return keys;
  }

  async #render(record: SourceRecord, object: SourceObject, input: string, jobs: readonly Job[], replace: ReadonlySet<string>, options: RunOptions): Promise<{ rendered: number; skipped: number; failed: JobFailure[]; bytes: number }> {
    const { sources, derivatives, config } = this.services;
    const { identifier } = record;
    const result = { rendered: 0, skipped: 0, failed: [] as JobFailure[], bytes: 0 };
    const items: BatchItem[] = jobs.map((job) => ({ key: job.key, plan: job.plan }));
    await renderBatch(
      // Fetched again before each decode: a cache hit that keeps the file from eviction mid-run.
      { path: input, refresh: () => sources.fetch(object) },
      record.probe,
      items,
      {
        encode: config.render.encode,
        maxInputPixels: config.render.maxInputPixels,
        concurrency: options.concurrency ?? RUNNER_DEFAULTS.concurrency,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      {
        rendered: async (item, output) => {
          // --force: what is stored is overwritten in place (a conditional PUT would keep it).
          const answer = await derivatives.put(item.key, output.data, { contentType: output.contentType, sourceEtag: object.etag, replace: replace.has(item.key) });
          const bytes = answer === 'created' ? output.data.length : 0;
          if (answer === 'created') result.rendered += 1;
          else result.skipped += 1;
          result.bytes += bytes;
          options.onProgress?.({ type: 'job', identifier, key: item.key, outcome: answer === 'created' ? 'rendered' : 'skipped', bytes });
        },
        failed: (item, error) => {
          result.failed.push({ ...failure(identifier, error), key: item.key });
          options.onProgress?.({ type: 'job', identifier, key: item.key, outcome: 'failed', bytes: 0 });
        },
        single: async (plan) => this.#renderOne(await sources.fetch(object), plan, record),
      },
    );
    return result;
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
  const named = request.tiles === true || request.sizes === true || (request.presets?.length ?? 0) > 0 || (request.paths?.length ?? 0) > 0;
  return named ? request : { ...request, tiles: true, sizes: true };
}

