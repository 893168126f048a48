/**
 * The use cases behind the routes: describe a source (info.json) and produce a derivative
 * (look up its canonical key; on a miss, render it from the source and store it once).
 * HTTP-free and auth-free: lib/http decides who may ask, and passes `authorizeRender`.
 */
import { RectoError, UnavailableError } from '../errors.js';
import { canonicalPath, resolve, storageKey, type ImageRequest, type Limits, type Plan } from '../iiif/index.js';
import type { RenderOptions, RenderResult, SourceProbe } from '../render/index.js';
import type { DerivativeStore, SourceStore } from '../store/index.js';
import { SingleFlight } from './singleflight.js';
import { fromJson, type SourceRecord, type SourceRecords } from './source-records.js';

/** The render engine as the service sees it (lib/render in production). */
export interface RenderEngine {
  render(input: Buffer | string, plan: Plan, source: SourceProbe, options: RenderOptions): Promise<RenderResult>;
  estimateRenderSeconds(plan: Plan, source: SourceProbe): number;
}

/** A render too long for a request, handed to someone who has the time. */
export interface DeferredRender {
  readonly identifier: string;
  /** The 3.0 canonical path of the derivative: `{region}/{size}/{rotation}/{quality}.{format}`. */
  readonly path: string;
}

export interface Deferrer {
  defer(job: DeferredRender, work: () => Promise<unknown>): Promise<void>;
}

/** What one request did, for its log line and metrics. Filled in as the request goes. */
export interface RequestTrace {
  cache?: 'hit' | 'miss';
  sourceBytesRead: number;
  renderMs?: number;
  uploadMs?: number;
  stored?: 'created' | 'exists';
  deferred?: boolean;
  key?: string;
  /** The error code the request ended with, if any. */
  error?: string;
}

export function newTrace(): RequestTrace {
  return { sourceBytesRead: 0 };
}

export interface ImageServiceOptions {
  readonly prefix: string;
  readonly limits: Limits;
  readonly renderOptions: Omit<RenderOptions, 'timeoutSeconds'>;
  /** Estimated renders longer than this are deferred (API Gateway allows an integration 30 s). */
  readonly budgetSeconds: number;
}

export interface ImageContext {
  /** Throws unless the caller may create a missing derivative. */
  readonly authorizeRender: () => void;
  /** Epoch ms by which the answer must be given (the Lambda deadline, less a margin). */
  readonly deadline?: number;
  readonly trace: RequestTrace;
}

export interface ImageAnswer {
  readonly plan: Plan;
  readonly key: string;
}

/** Seconds kept back from the deadline for the upload and the response. */
const UPLOAD_MARGIN_SECONDS = 3;

export class ImageService {
  readonly #renders = new SingleFlight<'created' | 'exists'>();

  constructor(
    private readonly records: SourceRecords,
    private readonly sources: SourceStore,
    private readonly derivatives: DerivativeStore,
    private readonly engine: RenderEngine,
    private readonly options: ImageServiceOptions,
    private readonly deferrer?: Deferrer,
    private readonly now: () => number = Date.now,
  ) {}

  /** The source record behind info.json. */
  info(identifier: string, trace: RequestTrace): Promise<SourceRecord> {
    return this.records.get(identifier, trace);
  }

  /**
   * Make sure the derivative a request names exists, rendering it when it does not.
   * @throws IiifRequestError (400) from resolution; AuthError from `authorizeRender` on a miss;
   *   UnavailableError RENDER_DEFERRED / RENDER_TIMEOUT / STORAGE_UNAVAILABLE (503);
   *   NotFoundError, SourceError, UnsupportedError from the source.
   */
  async image(request: ImageRequest, context: ImageContext): Promise<ImageAnswer> {
    try {
      return await this.#image(request, context, false);
    } catch (error) {
      // The source was replaced since its record was made: the record (size, pyramid) is
      // stale. Build a fresh one and try once more.
      if (!(error instanceof RectoError) || error.code !== 'SOURCE_CHANGED') throw error;
      return this.#image(request, context, true);
    }
  }

  async #image(request: ImageRequest, context: ImageContext, fresh: boolean): Promise<ImageAnswer> {
    const { trace } = context;
    const record = await this.records.get(request.identifier, trace, fresh);
    const plan = resolve(request, record.probe, this.options.limits);
    const key = storageKey(plan, this.options.prefix);
    trace.key = key;
    if (!this.#renders.has(key) && (await this.derivatives.exists(key))) {
      trace.cache = 'hit';
      return { plan, key };
    }
    trace.cache = 'miss';
    context.authorizeRender();
    const estimate = this.engine.estimateRenderSeconds(plan, record.probe);
    if (estimate > this.options.budgetSeconds && this.deferrer !== undefined) {
      await this.#defer(plan, record, key, estimate, trace);
    }
    trace.stored = await this.#renders.run(key, () => this.#renderAndStore(plan, record, key, trace, context.deadline));
    return { plan, key };
  }

  /**
   * Render a Plan and store it under its key, unless it is already there. For pre-warming and
   * deferred renders: no authorisation, no deadline.
   */
  ensure(plan: Plan, record: SourceRecord, trace: RequestTrace = newTrace()): Promise<'created' | 'exists'> {
    const key = storageKey(plan, this.options.prefix);
    return this.#renders.run(key, () => this.#renderAndStore(plan, record, key, trace, undefined));
  }

  async #defer(plan: Plan, record: SourceRecord, key: string, estimate: number, trace: RequestTrace): Promise<never> {
    trace.deferred = true;
    const job = { identifier: plan.identifier, path: canonicalPath('3', plan) };
    // Only one deferral per key at a time in this process; the worker skips what exists.
    if (!this.#renders.has(key)) {
      await this.deferrer?.defer(job, () =>
        this.#renders.run(key, () => this.#renderAndStore(plan, record, key, trace, undefined)),
      );
    }
    throw new UnavailableError(
      'RENDER_DEFERRED',
      `This image takes about ${Math.ceil(estimate)} s to render, longer than a request may wait; it is being rendered now. Retry after the time in Retry-After.`,
      Math.min(120, Math.max(5, Math.ceil(estimate))),
    );
  }

  async #renderAndStore(plan: Plan, record: SourceRecord, key: string, trace: RequestTrace, deadline: number | undefined): Promise<'created' | 'exists'> {
    const timeoutSeconds = deadline === undefined ? undefined : Math.floor((deadline - this.now()) / 1000) - UPLOAD_MARGIN_SECONDS;
    if (timeoutSeconds !== undefined && timeoutSeconds < 1) {
      throw new UnavailableError('RENDER_TIMEOUT', 'Not enough time is left in this invocation to render the image; retry.', 1);
    }
    const source = fromJson(record.source);
    const downloadsBefore = this.sources.cacheStats.downloads;
    const input = await this.sources.fetch(source);
    // Count the bytes only when this fetch downloaded (not a /tmp cache hit).
    if (this.sources.cacheStats.downloads > downloadsBefore) trace.sourceBytesRead += source.bytes;
    const renderStart = this.now();
    const result = await this.engine.render(input, plan, record.probe, {
      ...this.options.renderOptions,
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    });
    trace.renderMs = this.now() - renderStart;
    const uploadStart = this.now();
    const stored = await this.derivatives.put(key, result.data, { contentType: result.contentType, sourceEtag: source.etag });
    trace.uploadMs = this.now() - uploadStart;
    return stored;
  }
}
