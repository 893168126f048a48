/**
 * lib/store: S3 source access (ranged reads, the /tmp cache), the derivative store and
 * presigning, and the one mapping of SDK errors to Recto errors.
 */
export { createS3Client, RETRY_MODES, S3_CLIENT_DEFAULTS, type RetryMode, type S3ClientOptions, type S3Credentials } from './s3-client.js';
export {
  classifyS3Error,
  raiseS3Error,
  s3ErrorFacts,
  S3_ERROR_KINDS,
  S3_OPERATIONS,
  STORAGE_RETRY_AFTER_SECONDS,
  type S3ErrorContext,
  type S3ErrorFacts,
  type S3ErrorKind,
  type S3Operation,
} from './s3-errors.js';
export { MAX_KEY_BYTES, SourceStore, type SourceObject, type SourceStoreOptions } from './sources.js';
export { SOURCE_CACHE_DEFAULTS, SourceCache, type SourceCacheOptions, type SourceCacheStats } from './source-cache.js';
export {
  DERIVATIVE_DEFAULTS,
  DerivativeStore,
  SOURCE_ETAG_METADATA,
  type DerivativeStoreOptions,
  type ListedObject,
  type PresignedUrl,
  type PutOptions,
} from './derivatives.js';
export { consoleStoreLogger, type StoreLogAttributes, type StoreLogger } from './logger.js';
