/**
 * The wiring: the one place that builds, from the configuration, the objects a cold start needs
 * (S3 client, stores, source records, render engine, producer, deferrer, queue sender, the use
 * cases), shared by every invocation of a warm container. The Lambda entries, the CLI and the
 * local stack all build through here; tests pass overrides (an S3 client, a clock, a spy).
 * Storage alone is built by storage.ts, the part the purge function needs: a bundle that imports
 * this module carries the renderer's chunk (and sharp), one that imports only storage.ts does not.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Authenticator } from '../auth/index.js';
import type { Config } from '../config.js';
import { QueueSender } from '../queue/index.js';
import { estimateRenderSeconds, renderMemoryBudget } from '../render/estimate.js';
import type * as RenderModuleNamespace from '../render/index.js';
import { describeJp2 } from '../render/jp2/describe.js';
import { describeTiff } from '../render/tiff/describe.js';
import { readTiffStructure } from '../render/tiff/structure.js';
import { AccessCopies, getsAccessCopy } from '../service/access-copies.js';
import { BackgroundDeferrer, QueueDeferrer } from '../service/deferral.js';
import { ImageService, type Deferrer } from '../service/images.js';
import { loadPresets, type Presets } from '../service/presets.js';
import { Prewarmer } from '../service/prewarm.js';
import { PRODUCE_DEFAULTS, Producer, type RenderEngine } from '../service/produce.js';
import { InProcessRenderBudget, type RenderBudget } from '../service/render-budget.js';
import { SourceRanges } from '../service/source-ranges.js';
import { SourceRecords } from '../service/source-records.js';
import { createStorage, type Storage, type StorageOverrides } from './storage.js';

export { createStorage, type Storage, type StorageOverrides } from './storage.js';

export interface Services extends Storage {
  readonly metrics: Metrics;
  readonly authenticator: Authenticator;
  readonly records: SourceRecords;
  readonly engine: RenderEngine;
  readonly producer: Producer;
  /** New renders per caller and minute; absent with RENDER_RATE_PER_MINUTE=0. */
  readonly renderBudget?: RenderBudget;
  readonly images: ImageService;
  readonly prewarmer: Prewarmer;
  readonly copies: AccessCopies;
  readonly presets: Presets;
  /** The pre-warm queue, when PREWARM_QUEUE_URL is set. */
  readonly queue?: QueueSender;
}

export interface ServiceOverrides extends StorageOverrides {
  readonly metrics?: Metrics;
  readonly engine?: RenderEngine;
  readonly sqs?: SQSClient;
  /** The render budget instead of the one the configuration names (tests). */
  readonly renderBudget?: RenderBudget;
  /**
   * How long renders are deferred: 'queue' (PREWARM_QUEUE_URL, the Lambda default when set),
   * 'background' (the local stack), or 'never' (render inline whatever the estimate).
   */
  readonly deferral?: 'queue' | 'background' | 'never';
}

type RenderModule = typeof RenderModuleNamespace;

/**
 * lib/render's sharp half, loaded on the first probe or render rather than at cold start:
 * loading libvips is most of a cold import (about 75 of 120 ms here), and a container that only
 * answers info.json and hits never needs it. The build splits it into its own chunk.
 */
let sharpHalf: Promise<RenderModule> | undefined;
function loadRenderer(): Promise<RenderModule> {
  sharpHalf ??= import('../render/index.js').then((module) => {
    module.configureSharp();
    return module;
  });
  return sharpHalf;
}

/**
 * Everything a cold start builds. Loads and validates the presets (a bad file fails here, at
 * cold start, with a message naming it).
 * @throws ConfigError for bad presets, or deferral to a queue without PREWARM_QUEUE_URL.
 */
export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const storage = createStorage(config, overrides);
  const { sources, derivatives, logger } = storage;
  const metrics = overrides.metrics ?? new Metrics({ namespace: 'Recto', serviceName: 'recto' });
  const now = overrides.now ?? Date.now;
  const maxInputPixels = config.render.maxInputPixels;
  const memoryBudgetBytes = renderMemoryBudget(config.render.memoryMb);
  const records = new SourceRecords(sources, derivatives, config.derivativePrefix, {
    whole: async (input) => (await loadRenderer()).probe(input, { maxInputPixels }),
    // A tiled TIFF is described from its directories, without loading the renderer.
    ranged: async (read, bytes) => describeTiff((await readTiffStructure(read, bytes)).structure),
    jp2: describeJp2,
    copied: (probe) => getsAccessCopy(probe, config.accessCopy),
  }, now);
  const engine = overrides.engine ?? {
    render: async (...args) => (await loadRenderer()).render(...args),
    renderBatch: async (...args) => (await loadRenderer()).renderBatch(...args),
    // The configured WebP effort: a slower encoder must not look as quick as the default one.
    estimateRenderSeconds: (plan, source) => estimateRenderSeconds(plan, source, { webpEffort: config.render.encode.webpEffort }),
  };
  const presets = loadPresets(config);
  const producer = new Producer(
    sources,
    derivatives,
    engine,
    {
      render: { encode: config.render.encode, maxInputPixels, memoryBudgetBytes },
      concurrency: PRODUCE_DEFAULTS.concurrency,
      lifetimes: { limits: config.limits, tileSize: config.tileSize, presets },
    },
    now,
    new SourceRanges(),
  );
  const queue = config.prewarmQueueUrl === undefined ? undefined : new QueueSender(overrides.sqs ?? new SQSClient({}), config.prewarmQueueUrl);
  const copies = new AccessCopies(
    {
      records,
      sources,
      derivatives,
      build: async (...args) => (await loadRenderer()).buildAccessCopy(...args),
      prefix: config.derivativePrefix,
      policy: { minSide: config.accessCopy.minSide, tile: config.accessCopy.tile, quality: config.accessCopy.quality },
      workDir: config.accessCopy.workDir,
      maxInputPixels,
      memoryBudgetBytes,
    },
    now,
  );
  const renderBudget = overrides.renderBudget ?? chooseRenderBudget(config.renderRate, logger, now);
  const images = new ImageService(
    records,
    derivatives,
    producer,
    engine,
    {
      prefix: config.derivativePrefix,
      limits: config.limits,
      memoryBudgetBytes,
      budgetSeconds: config.render.budgetSeconds,
      ...(renderBudget === undefined ? {} : { renderBudget }),
      copies: {
        request: (record, deferrer) => {
          copies.request(record, deferrer, (error) => {
            logger.warn('Could not ask for an access copy', { identifier: record.identifier, error });
          });
        },
      },
    },
    chooseDeferrer(queue, overrides.deferral, logger),
    now,
  );
  const prewarmer = new Prewarmer({ config, records, derivatives, producer, copies }, presets, now);
  const authenticator = new Authenticator(config.auth, { currentDate: () => new Date(now()) });
  return {
    ...storage, metrics, authenticator, records, engine, producer, images, prewarmer, copies, presets,
    ...(queue === undefined ? {} : { queue }),
    ...(renderBudget === undefined ? {} : { renderBudget }),
  };
}

/**
 * RENDER_RATE_PER_MINUTE counted fleet-wide in RENDER_RATE_TABLE (DynamoDB), or in this process
 * without a table (the local stack). The DynamoDB client is loaded on the first render, not at
 * cold start: a container that only answers hits never needs it.
 */
function chooseRenderBudget(rate: Config['renderRate'], logger: Logger, now: () => number): RenderBudget | undefined {
  const { perMinute, table } = rate;
  if (perMinute === 0) return undefined;
  if (table === undefined) return new InProcessRenderBudget(perMinute, now);
  let fleet: Promise<RenderBudget> | undefined;
  return {
    take: async (caller) => {
      fleet ??= import('../store/render-budget.js').then((module) => new module.DynamoDbRenderBudget(module.createDynamoDbClient(), { table, perMinute, now, logger }));
      return (await fleet).take(caller);
    },
  };
}

function chooseDeferrer(queue: QueueSender | undefined, deferral: ServiceOverrides['deferral'], logger: Logger): Deferrer | undefined {
  const mode = deferral ?? (queue === undefined ? 'never' : 'queue');
  if (mode === 'never') return undefined;
  if (mode === 'background') {
    return new BackgroundDeferrer((error, job) => {
      logger.error('path' in job ? 'Deferred render failed' : 'Access copy failed', { error, identifier: job.identifier, ...('path' in job ? { path: job.path } : {}) });
    });
  }
  if (queue === undefined) {
    throw new Error('Deferral to a queue needs PREWARM_QUEUE_URL');
  }
  return new QueueDeferrer(queue);
}
