/**
 * The storage half of the wiring: the S3 client and the two stores, built from the configuration.
 * No renderer and no sharp, so the purge function, which needs only this, bundles without them;
 * wiring.ts builds everything else on top of it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from '../config.js';
import { createS3Client, DerivativeStore, SourceStore, type S3Credentials } from '../store/index.js';

/** What every entry point needs to reach storage; all the purge function builds. */
export interface Storage {
  readonly config: Config;
  readonly s3: S3Client;
  readonly logger: Logger;
  readonly sources: SourceStore;
  readonly derivatives: DerivativeStore;
}

export interface StorageOverrides {
  readonly s3?: S3Client;
  /** Credentials and region for the S3 client built here (scripts given their own environment). */
  readonly credentials?: S3Credentials;
  readonly region?: string;
  readonly logger?: Logger;
  /** Epoch-ms clock for presigning and deadlines. */
  readonly now?: () => number;
}

/** The S3 client and the two stores: no renderer, no sharp (the purge function's whole need). */
export function createStorage(config: Config, overrides: StorageOverrides = {}): Storage {
  const logger = overrides.logger ?? new Logger({ serviceName: 'recto' });
  const now = overrides.now ?? Date.now;
  const s3 = overrides.s3 ?? createS3Client({
    ...(config.s3Endpoint === undefined ? {} : { endpoint: config.s3Endpoint }),
    ...(overrides.region === undefined ? {} : { region: overrides.region }),
    ...(overrides.credentials === undefined ? {} : { credentials: overrides.credentials }),
  });
  const sources = new SourceStore(s3, { bucket: config.sourceBucket, keyTemplate: config.sourceKeyTemplate, cache: config.sourceCache });
  const derivatives = new DerivativeStore(s3, { bucket: config.derivativeBucket, presignTtlSeconds: config.presignTtlSeconds, now: () => new Date(now()) });
  return { config, s3, logger, sources, derivatives };
}
