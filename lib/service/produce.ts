/**
 * The one pipeline that makes derivatives, for a request's miss and the pre-warm worker alike:
 * obtain the source, render every Plan (many Plans of one level share one decode), and store each
 * result under its key with a conditional PUT (or, for keys to replace, an unconditional one).
 * Who may ask, and when a render is worth it, is decided by the callers (images.ts, prewarm.ts).
 */
import type { Plan } from '../iiif/index.js';
import type { BatchHandlers, BatchInput, BatchItem, BatchRenderOptions, RenderInput, RenderOptions, RenderResult, SourceProbe } from '../render/index.js';
import type { DerivativeStore, SourceStore } from '../store/index.js';
import { sourceTarget, storedTarget, type SourceRanges } from './source-ranges.js';
import { derivativeLifetime, type LifetimeRules } from './lifetime.js';
import { fromJson, obtainCounted, renderProbe, type RecordStats, type SourceRecord } from './source-records.js';

/** The render engine as the service sees it: lib/render, loaded on first use (tests wrap it). */
export interface RenderEngine {
  render(input: RenderInput, plan: Plan, source: SourceProbe, options: RenderOptions): Promise<RenderResult>;
  renderBatch(input: BatchInput, source: SourceProbe, items: readonly BatchItem[], options: BatchRenderOptions, handlers: BatchHandlers): Promise<void>;
  estimateRenderSeconds(plan: Plan, source: SourceProbe): number;
}

export const PRODUCE_DEFAULTS = {
  /** Renders and uploads in flight for one source (a request's miss has one). */
  concurrency: 8,
} as const;

/** 'exists': another writer stored the same key first (it is there either way). */
export type Stored = 'created' | 'exists';

/** One derivative to make. */
export type ProduceItem = BatchItem;

/** What a produce call did, for a request's log line: bytes read, render and upload times. */
export interface ProduceTrace extends RecordStats {
  renderMs?: number;
  uploadMs?: number;
}

export interface ProducerOptions {
  readonly render: Omit<RenderOptions, 'timeoutSeconds'>;
  /** Renders and uploads in flight at once for one source. */
  readonly concurrency: number;
  /**
   * What viewers and presets ask for: anything else is stored short-lived (lifetime.ts). Without
   * it every derivative is kept.
   */
  readonly lifetimes?: LifetimeRules;
}

export interface ProduceOptions {
  readonly trace?: ProduceTrace;
  /** A render of a single Plan that runs longer than this is stopped (RENDER_TIMEOUT). */
  readonly timeoutSeconds?: number;
  /** Keys to overwrite in one unconditional PUT (pre-warming's `--force`), not create. */
  readonly replace?: ReadonlySet<string>;
  readonly concurrency?: number;
  /** Stop starting new renders; those in flight finish. */
  readonly signal?: AbortSignal;
  /** A derivative stored, with the size of what was rendered. */
  readonly stored?: (item: ProduceItem, outcome: Stored, bytes: number) => void;
  /** A derivative that could not be rendered or stored. */
  readonly failed?: (item: ProduceItem, error: unknown) => void;
}

export class Producer {
  constructor(
    private readonly sources: SourceStore,
    private readonly derivatives: Pick<DerivativeStore, 'put' | 'readRange'>,
    private readonly engine: RenderEngine,
    readonly options: ProducerOptions,
    private readonly now: () => number = Date.now,
    /** Ranged reads of tiled masters; without it every master is read whole. */
    private readonly ranges?: SourceRanges,
  ) {}

  /**
   * Make one derivative.
   * @throws what rendering or storing it threw (RectoErrors: SourceError, UnsupportedError,
   *   UnavailableError RENDER_TIMEOUT / STORAGE_UNAVAILABLE / SOURCE_CHANGED, …).
   */
  async one(record: SourceRecord, item: ProduceItem, options: Omit<ProduceOptions, 'stored' | 'failed' | 'concurrency'> = {}): Promise<Stored> {
    let outcome: { readonly stored: Stored } | { readonly error: unknown } | undefined;
    await this.produce(record, [item], {
      ...options,
      stored: (_item, stored) => {
        outcome = { stored };
      },
      failed: (_item, error) => {
        outcome = { error };
      },
    });
    if (outcome === undefined) throw new Error(`Producing ${item.key} ended without an outcome`);
    if ('error' in outcome) throw outcome.error;
    return outcome.stored;
  }

  /**
   * Make many derivatives of one source, from as few decodes as possible. Each ends in `stored`
   * or `failed`; resolves when all have, or after `signal` aborts, when those in flight have.
   * @throws only when the source itself cannot be obtained (SOURCE_NOT_FOUND, SOURCE_CHANGED,
   *   STORAGE_UNAVAILABLE, …): nothing was rendered then.
   */
  async produce(record: SourceRecord, items: readonly ProduceItem[], options: ProduceOptions = {}): Promise<void> {
    const source = fromJson(record.source);
    const open = await this.#input(record, options.trace);
    const probe = renderProbe(record);
    const replace = options.replace ?? new Set<string>();
    await this.engine.renderBatch(
      { open },
      probe,
      items,
      {
        encode: this.options.render.encode,
        maxInputPixels: this.options.render.maxInputPixels,
        concurrency: options.concurrency ?? this.options.concurrency,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      {
        single: async (plan) => {
          const input = await open();
          const started = this.now();
          const result = await this.engine.render(input, plan, probe, {
            ...this.options.render,
            ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
          });
          if (options.trace !== undefined) options.trace.renderMs = this.now() - started;
          return result;
        },
        rendered: async (item, result) => {
          const started = this.now();
          const lifetime = this.options.lifetimes === undefined ? 'long' : derivativeLifetime(item.plan, record.probe, this.options.lifetimes);
          const stored = await this.derivatives.put(item.key, result.data, { contentType: result.contentType, sourceEtag: source.etag, replace: replace.has(item.key), lifetime });
          if (options.trace !== undefined) options.trace.uploadMs = this.now() - started;
          options.stored?.(item, stored, result.data.length);
        },
        failed: (item, error) => {
          options.failed?.(item, error);
        },
      },
    );
  }

  /**
   * How renders of this record open their pixels: by ranges from its access copy when it has one,
   * or from the master when it is read by ranges itself (only the tiles under each region are
   * fetched); else the master as a whole file from the /tmp cache, fetched here so that a source
   * that cannot be obtained fails before any render, and obtained again before each decode (a
   * cache hit, which keeps it from eviction mid-run).
   */
  async #input(record: SourceRecord, trace: ProduceTrace | undefined): Promise<() => Promise<RenderInput>> {
    const source = fromJson(record.source);
    const target = this.ranges === undefined ? undefined
      : record.copy !== undefined ? storedTarget(this.derivatives, record.copy)
      : record.probe.tiff !== undefined || record.probe.jp2 !== undefined ? sourceTarget(this.sources, record.identifier, source)
      : undefined;
    if (target !== undefined && this.ranges !== undefined) {
      const ranged = { read: this.ranges.reader(target, trace) };
      return () => Promise.resolve(ranged);
    }
    const obtain = (): Promise<string> => obtainCounted(this.sources, source, trace);
    await obtain();
    return obtain;
  }
}
