/**
 * Wiring: the objects one cold start builds from the configuration, shared by every invocation
 * of a warm container. Tests and the local stack pass overrides (an S3 client, a clock).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Authenticator } from '../auth/index.js';
import type { Config } from '../config.js';
import { estimateRenderSeconds, renderMemoryBudget } from '../render/estimate.js';
import type * as RenderModuleNamespace from '../render/index.js';
import { createS3Client, DerivativeStore, SourceStore } from '../store/index.js';
import { BackgroundDeferrer, QueueDeferrer } from './deferrers.js';
import { ImageService, type Deferrer, type RenderEngine } from './image-service.js';
import { SourceRecords } from './source-records.js';

export interface Services {
  readonly config: Config;
  readonly s3: S3Client;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly authenticator: Authenticator;
  readonly sources: SourceStore;
  readonly derivatives: DerivativeStore;
  readonly records: SourceRecords;
  readonly images: ImageService;
}

export interface ServiceOverrides {
  readonly s3?: S3Client;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly engine?: RenderEngine;
  /** Epoch-ms clock for presigning and deadlines. */
  readonly now?: () => number;
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

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const logger = overrides.logger ?? new Logger({ serviceName: 'recto' });
  const metrics = overrides.metrics ?? new Metrics({ namespace: 'Recto', serviceName: 'recto' });
  const now = overrides.now ?? Date.now;
  const s3 = overrides.s3 ?? createS3Client({ ...(config.s3Endpoint === undefined ? {} : { endpoint: config.s3Endpoint }) });
  const sources = new SourceStore(s3, {
    bucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    cache: config.sourceCache,
  });
  const derivatives = new DerivativeStore(s3, {
    bucket: config.derivativeBucket,
    presignTtlSeconds: config.presignTtlSeconds,
    now: () => new Date(now()),
  });
  const maxInputPixels = config.render.maxInputPixels;
  const records = new SourceRecords(sources, derivatives, config.derivativePrefix, async (input) => (await loadRenderer()).probe(input, { maxInputPixels }));
  const engine = overrides.engine ?? {
    render: async (...args) => (await loadRenderer()).render(...args),
    // The configured WebP effort: a slower encoder must not look as quick as the default one.
    estimateRenderSeconds: (plan, source) => estimateRenderSeconds(plan, source, { webpEffort: config.render.encode.webpEffort }),
  };
  const images = new ImageService(
    records,
    sources,
    derivatives,
    engine,
    {
      prefix: config.derivativePrefix,
      limits: config.limits,
      renderOptions: { encode: config.render.encode, maxInputPixels, memoryBudgetBytes: renderMemoryBudget(config.render.memoryMb) },
      budgetSeconds: config.render.budgetSeconds,
    },
    chooseDeferrer(config, overrides.deferral, logger),
    now,
  );
  const authenticator = new Authenticator(config.auth, { currentDate: () => new Date(now()) });
  return { config, s3, logger, metrics, authenticator, sources, derivatives, records, images };
}

function chooseDeferrer(config: Config, deferral: ServiceOverrides['deferral'], logger: Logger): Deferrer | undefined {
  const mode = deferral ?? (config.prewarmQueueUrl === undefined ? 'never' : 'queue');
  if (mode === 'never') return undefined;
  if (mode === 'background') {
    return new BackgroundDeferrer((error, job) => {
      logger.error('Deferred render failed', { error, identifier: job.identifier, path: job.path });
    });
  }
  if (config.prewarmQueueUrl === undefined) {
    throw new Error('Deferral to a queue needs PREWARM_QUEUE_URL');
  }
  return new QueueDeferrer(new SQSClient({}), config.prewarmQueueUrl);
}
