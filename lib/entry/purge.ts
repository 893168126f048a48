/**
 * The purge function's entry: S3 event notifications of the source bucket in, each changed
 * source's derivatives, record and access copies deleted; a created (or replaced) source then
 * gets an `ingest` job on the pre-warm queue, so its access copy is built without anyone asking.
 * Built lazily at the first event (the cold start), from the configuration, with storage and the
 * queue only: no renderer, no sharp in this bundle. A storage or queue failure throws, so Lambda
 * retries the event (purging twice is harmless).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { getConfig } from '../config.js';
import { expected } from '../errors.js';
import { QueueSender } from '../queue/index.js';
import { purgeChanges, type PurgeDeps, type PurgeOutcome, type SourceChange } from '../service/purge.js';
import { decodeEventKey } from '../store/index.js';
import { createStorage } from './storage.js';

export type PurgeHandler = (event: unknown) => Promise<{ readonly purged: readonly PurgeOutcome[] }>;

export type PurgeWorker = PurgeDeps & {
  readonly sourceBucket: string;
  readonly keyTemplate: string;
  readonly logger?: Pick<Logger, 'info'>;
  /** Where created sources' `ingest` jobs go (PREWARM_QUEUE_URL); none: no copies are queued. */
  readonly queue?: Pick<QueueSender, 'send'>;
};

/** One object an S3 event notification is about. */
export interface NotifiedChange extends SourceChange {
  /** `ObjectCreated:Put`, `ObjectRemoved:Delete`, … */
  readonly eventName: string;
}

/**
 * The objects of an S3 event notification (`{ Records: [{ eventName, s3: { bucket, object } }] }`),
 * keys decoded. Test events (`s3:TestEvent`) have no Records and give none.
 * @throws TypeError for something that is not an S3 notification.
 */
export function sourceChanges(event: unknown): NotifiedChange[] {
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

export function createPurgeHandler(make: () => PurgeWorker = defaultPurgeWorker): PurgeHandler {
  let deps: PurgeWorker | undefined;
  return async (event) => {
    deps ??= make();
    const changes = sourceChanges(event);
    const purged = await purgeChanges(deps, changes);
    for (const [i, outcome] of purged.entries()) {
      deps.logger?.info(outcome.identifier === undefined ? 'Not a source key: nothing to purge' : 'Purged', { ...outcome });
      if (outcome.identifier !== undefined && changes[i]?.eventName.startsWith('ObjectCreated') === true) await deps.queue?.send({ identifier: outcome.identifier, ingest: true });
    }
    return { purged };
  };
}

function defaultPurgeWorker(): PurgeWorker {
  const config = getConfig();
  const { derivatives, logger } = createStorage(config, { logger: new Logger({ serviceName: 'recto-purge' }) });
  return {
    derivatives,
    prefix: config.derivativePrefix,
    sourceBucket: config.sourceBucket,
    keyTemplate: config.sourceKeyTemplate,
    logger,
    ...(config.prewarmQueueUrl === undefined ? {} : { queue: new QueueSender(new SQSClient({}), config.prewarmQueueUrl) }),
  };
}
