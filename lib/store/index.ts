/**
 * lib/store: S3 source access (ranged reads, the /tmp cache, listings), the derivative store and
 * presigning, and the one mapping of SDK errors to Recto errors.
 */
export { createS3Client, transferTimeoutMs, type RetryMode, type S3ClientOptions, type S3Credentials } from './s3-client.js';
export {
  classifyS3Error,
  raiseS3Error,
  s3ErrorFacts,
  STORAGE_RETRY_AFTER_SECONDS,
  type S3ErrorContext,
  type S3ErrorFacts,
  type S3ErrorKind,
  type S3Operation,
} from './s3-errors.js';
export { SourceStore, type SourceObject, type SourceStoreOptions } from './sources.js';
export { decodeEventKey, identifierFromKey, keyPrefix } from './key-template.js';
export { type ObtainedFile, type SourceCacheOptions, type SourceCacheStats } from './source-cache.js';
export { DerivativeStore, SHORT_LIVED_TAG, type DerivativeStoreOptions, type ListedObject, type PresignedUrl, type PutOptions } from './derivatives.js';
export { type StoreLogAttributes, type StoreLogger } from './logger.js';
export { RENDER_BUDGET_WINDOW_MS, secondsLeftInWindow, type RenderRefusal } from './render-window.js';
