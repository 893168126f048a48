/**
 * Purge: delete every derivative of an identifier and its source record (everything under its
 * prefix in the derivative bucket, page by page), when its source changes or goes. Driven by S3
 * event notifications of the source bucket (the purge function) and by `npm run purge -- ID…`.
 * No sharp here: the purge function's bundle carries none.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { getConfig, type Config } from '../config.js';
import { expected } from '../errors.js';
import { identifierPrefix } from '../iiif/index.js';
import { createS3Client, DerivativeStore, identifierFromKey } from '../store/index.js';
import { decodeEventKey } from './source-keys.js';

export interface PurgeDeps {
  readonly derivatives: Pick<DerivativeStore, 'deletePrefix'>;
  readonly prefix: string;
  /** This process's record cache (the local stack, a warm Lambda serving both): dropped too. */
  readonly records?: { forget(identifier: string): void };
}

/**
 * Delete an identifier's derivatives and source record; returns how many objects went.
 * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
 */
export async function purgeIdentifier(deps: PurgeDeps, identifier: string): Promise<number> {
  // Forget before and after: a request between the two would otherwise rebuild from memory.
  deps.records?.forget(identifier);
  const deleted = await deps.derivatives.deletePrefix(identifierPrefix(identifier, deps.prefix));
  deps.records?.forget(identifier);
  return deleted;
}

/** One object an S3 event notification is about. */
export interface SourceChange {
  readonly bucket: string;
  /** Decoded. */
  readonly key: string;
  /** `ObjectCreated:Put`, `ObjectRemoved:Delete`, … */
  readonly eventName: string;
}

/**
 * The objects of an S3 event notification (`{ Records: [{ eventName, s3: { bucket, object } }] }`),
 * keys decoded. Test events (`s3:TestEvent`) have no Records and give none.
 * @throws TypeError for something that is not an S3 notification.
 */
export function sourceChanges(event: unknown): SourceChange[] {
  if (typeof event !== 'object' || event === null) throw new TypeError(expected('an S3 event notification', 'the event', typeof event));
  const records = (event as { Records?: unknown }).Records;
  if (records === undefined && (event as { Event?: unknown }).Event === 's3:TestEvent') return [];
  if (!Array.isArray(records)) throw new TypeError(expected('an S3 event notification with Records', 'the event', JSON.stringify(event).slice(0, 64)));
  return records.map((record: unknown, i) => {
    const shape = record as { eventName?: unknown; s3?: { bucket?: { name?: unknown }; object?: { key?: unknown } } } | null;
    const key = shape?.s3?.object?.key;
    const bucket = shape?.s3?.bucket?.name;
    const eventName = shape?.eventName;
    if (typeof key !== 'string' || typeof bucket !== 'string' || typeof eventName !== 'string') {
      throw new TypeError(expected('eventName, s3.bucket.name and s3.object.key', `Records[${i}]`, JSON.stringify(record).slice(0, 64)));
    }
    return { bucket, key: decodeEventKey(key), eventName };
  });
}

export interface PurgeOutcome {
  readonly key: string;
  /** Undefined when the key is not a source (another bucket, a key the template does not make). */
  readonly identifier?: string;
  readonly deleted: number;
}

/** Purge the identifiers an S3 event's objects are the sources of. */
export async function purgeForEvent(deps: PurgeDeps & { readonly sourceBucket: string; readonly keyTemplate: string }, event: unknown): Promise<PurgeOutcome[]> {
  const outcomes: PurgeOutcome[] = [];
  for (const change of sourceChanges(event)) {
    const identifier = change.bucket === deps.sourceBucket ? identifierFromKey(deps.keyTemplate, change.key) : undefined;
    if (identifier === undefined) {
      outcomes.push({ key: change.key, deleted: 0 });
      continue;
    }
    outcomes.push({ key: change.key, identifier, deleted: await purgeIdentifier(deps, identifier) });
  }
  return outcomes;
}

export type PurgeHandler = (event: unknown) => Promise<{ readonly purged: readonly PurgeOutcome[] }>;

/**
 * The purge function's handler: built lazily at the first event (the cold start), from the
 * configuration, without sharp. A storage failure throws, so Lambda retries the event.
 */
export function createPurgeHandler(make: () => PurgeDeps & { readonly sourceBucket: string; readonly keyTemplate: string; readonly logger?: Pick<Logger, 'info'> } = defaultPurgeDeps): PurgeHandler {
  let deps: ReturnType<typeof make> | undefined;
  return async (event) => {
    deps ??= make();
    const purged = await purgeForEvent(deps, event);
    for (const outcome of purged) {
      deps.logger?.info(outcome.identifier === undefined ? 'Not a source key: nothing to purge' : 'Purged', { ...outcome });
    }
    return { purged };
  };
}

function defaultPurgeDeps(): PurgeDeps & { sourceBucket: string; keyTemplate: string; logger: Logger } {
  const config: Config = getConfig();
  const s3 = createS3Client({ ...(config.s3Endpoint === undefined ? {} : { endpoint: config.s3Endpoint }) });
  return {
    derivatives: new DerivativeStore(s3, { bucket: config.derivativeBucket, presignTtlSeconds: config.presignTtlSeconds }),
    prefix: config.derivativePrefix,
    sourceBucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    logger: new Logger({ serviceName: 'recto-purge' }),
  };
}
