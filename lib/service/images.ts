/**
 * The use cases behind the IIIF routes: describe a source (info.json) and answer an image
 * request (look up its canonical key; on a miss, have the producer render and store it once,
 * or hand a render too long for a request to the deferrer). HTTP-free and auth-free: lib/http
 * decides who may ask, and passes `authorizeRender`.
 */
import { RateLimitError, RectoError, UnavailableError, expected } from '../errors.js';
import { canonicalPath, resolve, storageKey, type ImageRequest, type Limits, type Plan } from '../iiif/index.js';
import { assertRenderableNow, assertRenderMemory } from '../render/estimate.js';
import type { DerivativeStore, PresignedUrl } from '../store/index.js';
import type { Producer, RenderEngine, Stored } from './produce.js';
import { budgetCaller, type RenderBudget } from './render-budget.js';
import { SingleFlight } from './single-flight.js';
import { renderProbe, type SourceRecord, type SourceRecords } from './source-records.js';
import { TtlCache } from './ttl-cache.js';

/** A render too long for a request, handed to someone who has the time. */
export interface DeferredRender {
  readonly identifier: string;
  /** The 3.0 canonical path of the derivative: `{region}/{size}/{rotation}/{quality}.{format}`. */
  readonly path: string;
}

/** The access copy of a master, to be built by someone who has the time. */
export interface DeferredCopy {
  readonly identifier: string;
  readonly copy: true;
}

export type DeferredJob = DeferredRender | DeferredCopy;

export interface Deferrer {
  defer(job: DeferredJob, work: () => Promise<unknown>): Promise<void>;
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
  /** Renders estimated to need more memory than this, in bytes, are refused (RENDER_TOO_LARGE). */
  readonly memoryBudgetBytes: number;
  /** Estimated renders longer than this are deferred (API Gateway allows an integration 30 s). */
  readonly budgetSeconds: number;
  /** New renders per caller and minute (RENDER_RATE_PER_MINUTE); none means no limit. */
  readonly renderBudget?: RenderBudget;
  /** Asks for the access copy of a master that needs one, on a miss (lib/service/access-copies.ts). */
  readonly copies?: { request(record: SourceRecord, deferrer: Deferrer | undefined): void };
}

export interface ImageContext {
  /** Throws unless the caller may create a missing derivative. */
  readonly authorizeRender: () => void;
  /**
   * Whether the caller may write at all, i.e. render (default true). Anonymous and read-only
   * callers never cause a write, not even of a source record (which then stays in memory).
   */
  readonly mayWrite?: boolean;
  /** Epoch ms by which the answer must be given (the Lambda deadline, less a margin). */
  readonly deadline?: number;
  /** The token's `sub`, whose render budget a miss spends (callers without one share a budget). */
  readonly caller?: string;
  readonly trace: RequestTrace;
}

export interface ImageAnswer {
  readonly plan: Plan;
  readonly key: string;
  /** The presigned GET the client is redirected to. */
  readonly location: PresignedUrl;
}

/** How long, and how many, keys seen stored are remembered by a warm container. */
const STORED_KEYS_TTL_MS = 15_000;
const STORED_KEYS_CAPACITY = 20_000;

/** Seconds kept back from the deadline for the upload and the response. */
const UPLOAD_MARGIN_SECONDS = 3;
/**
 * How long a key handed to the deferrer is not handed over again by this process: a herd of
 * cold requests for one long render sends one queue message, not one each. Past this, a render
 * that never arrived (a worker that failed) is asked for again.
 */
const DEFERRED_TTL_MS = 120_000;
const DEFERRED_CAPACITY = 1_000;

export class ImageService {
  readonly #renders = new SingleFlight<Stored>();
  /**
   * Keys this container has seen stored, so a hit repeated within seconds (a gallery's
   * thumbnails, a viewer's tiles) skips its HEAD. Derivatives are immutable; only a purge (a
   * replaced master) removes them, and a redirect already handed to a browser stays cached for
   * far longer than this, so the window adds no new kind of staleness.
   */
  readonly #stored = new TtlCache<true>(STORED_KEYS_CAPACITY, STORED_KEYS_TTL_MS, () => this.now());
  readonly #deferred = new TtlCache<true>(DEFERRED_CAPACITY, DEFERRED_TTL_MS, () => this.now());

  constructor(
    private readonly records: SourceRecords,
    private readonly derivatives: Pick<DerivativeStore, 'exists' | 'presign'>,
    private readonly producer: Producer,
    private readonly engine: Pick<RenderEngine, 'estimateRenderSeconds'>,
    private readonly options: ImageServiceOptions,
    private readonly deferrer?: Deferrer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The source record behind info.json. With `mayWrite` false (an anonymous or read-only
   * caller) a record built now is kept in memory only.
   */
  info(identifier: string, trace: RequestTrace, mayWrite = true): Promise<SourceRecord> {
    return this.records.get(identifier, trace, { persist: mayWrite });
  }

  /**
   * Make sure the derivative a request names exists, rendering it when it does not.
   * @throws IiifRequestError (400) from resolution; AuthError from `authorizeRender` on a miss;
   *   UnavailableError RENDER_DEFERRED / RENDER_TIMEOUT / STORAGE_UNAVAILABLE (503);
   *   NotFoundError, SourceError, UnsupportedError from the source.
   */
  image(request: ImageRequest, context: ImageContext): Promise<ImageAnswer> {
    const options = { stats: context.trace, persist: context.mayWrite ?? true };
    return this.records.withCurrent(request.identifier, options, (record) => this.#image(request, record, context));
  }

  async #image(request: ImageRequest, record: SourceRecord, context: ImageContext): Promise<ImageAnswer> {
    const { trace } = context;
    const plan = resolve(request, record.probe, this.options.limits);
    const key = storageKey(plan, this.options.prefix);
    trace.key = key;
    // Signing needs no answer from S3: it runs beside the HEAD, so a hit costs one round trip.
    const signing = this.derivatives.presign(key);
    signing.catch(() => undefined); // awaited below; a miss that fails first must not leave it unhandled
    // Remembered for a fixed window from the HEAD that saw it: a hit from memory does not extend
    // it, so a purged key is looked up again within the window however often it is asked for.
    const remembered = this.#stored.get(key) === true;
    if (remembered || (!this.#renders.has(key) && (await this.derivatives.exists(key)))) {
      if (!remembered) this.#stored.set(key, true);
      trace.cache = 'hit';
      return { plan, key, location: await signing };
    }
    trace.cache = 'miss';
    context.authorizeRender();
    // A master that is not a tiled pyramid gets its access copy built once, in the background;
    // this render goes on from the master (a JPEG 2000 one only for what a reduced decode makes).
    this.options.copies?.request(record, this.deferrer);
    // What will be read: the copy when there is one. A JPEG 2000 render too long for a reduced
    // decode waits for the copy (503) rather than go to a worker that could not make it either;
    // what this process could not hold is refused before anything is spent or handed on.
    const probe = renderProbe(record);
    assertRenderableNow(plan, probe);
    assertRenderMemory(plan, probe, this.options.memoryBudgetBytes);
    // A new render spends the caller's budget; joining one in flight, or one handed on, does not.
    if (!this.#renders.has(key) && this.#deferred.get(key) === undefined) await this.#spend(context.caller);
    const estimate = this.engine.estimateRenderSeconds(plan, probe);
    // Too long for any request, or for the time this invocation has left: go asynchronous now
    // rather than start a render the gateway or the platform would cut short.
    if (this.deferrer !== undefined && (estimate > this.options.budgetSeconds || estimate > this.#secondsLeft(context.deadline))) {
      await this.#defer(plan, record, key, estimate, trace);
    }
    try {
      trace.stored = await this.#renders.run(key, () => this.#renderAndStore(plan, record, key, trace, context.deadline));
      this.#stored.set(key, true);
    } catch (error) {
      // Out of time after all (the estimate was low, or storage was slow): hand the render on, so
      // that the client's retry finds it done instead of running out of time again.
      if (this.deferrer !== undefined && error instanceof RectoError && error.code === 'RENDER_TIMEOUT') {
        await this.#defer(plan, record, key, estimate, trace);
      }
      throw error;
    }
    return { plan, key, location: await signing };
  }

  /**
   * Count one new render against the caller's budget.
   * @throws RateLimitError RENDER_RATE_LIMITED (429, Retry-After) when the minute's is used up.
   */
  async #spend(subject: string | undefined): Promise<void> {
    const budget = this.options.renderBudget;
    if (budget === undefined) return;
    const answer = await budget.take(budgetCaller(subject));
    if (answer === true) return;
    throw new RateLimitError(
      'RENDER_RATE_LIMITED',
      `${expected(`at most ${answer.perMinute} new renders a minute`, 'one caller', 'one more')}; retry after ${answer.retryAfterSeconds} s. ` +
        'Images that already exist are never limited: pre-warm the ones you need (npm run prewarm, docs/prewarm.md), or ask for the sizes and tiles info.json lists.',
      answer.retryAfterSeconds,
    );
  }

  /** Seconds a render may take before `deadline`, the upload's margin kept back. */
  #secondsLeft(deadline: number | undefined): number {
    return deadline === undefined ? Number.POSITIVE_INFINITY : (deadline - this.now()) / 1000 - UPLOAD_MARGIN_SECONDS;
  }

  async #defer(plan: Plan, record: SourceRecord, key: string, estimate: number, trace: RequestTrace): Promise<never> {
    trace.deferred = true;
    const job = { identifier: plan.identifier, path: canonicalPath('3', plan) };
    // One hand-over per key at a time in this process (the worker also skips what exists). A
    // hand-over that fails, or whose render fails, may be tried again at once.
    if (!this.#renders.has(key) && this.#deferred.get(key) === undefined) {
      this.#deferred.set(key, true);
      const work = () =>
        this.#renders.run(key, () => this.#renderAndStore(plan, record, key, trace, undefined)).catch((error: unknown) => {
          this.#deferred.delete(key);
          throw error;
        });
      try {
        await this.deferrer?.defer(job, work);
      } catch (error) {
        this.#deferred.delete(key);
        throw error;
      }
    }
    throw new UnavailableError(
      'RENDER_DEFERRED',
      `This image takes about ${Math.ceil(estimate)} s to render, longer than a request may wait; it is being rendered now. Retry after the time in Retry-After.`,
      Math.min(120, Math.max(5, Math.ceil(estimate))),
    );
  }

  #renderAndStore(plan: Plan, record: SourceRecord, key: string, trace: RequestTrace, deadline: number | undefined): Promise<Stored> {
    const timeoutSeconds = deadline === undefined ? undefined : Math.floor((deadline - this.now()) / 1000) - UPLOAD_MARGIN_SECONDS;
    if (timeoutSeconds !== undefined && timeoutSeconds < 1) {
      return Promise.reject(new UnavailableError('RENDER_TIMEOUT', 'Not enough time is left in this invocation to render the image; retry.', 1));
    }
    return this.producer.one(record, { key, plan }, { trace, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) });
  }
}
