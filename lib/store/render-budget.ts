/**
 * The fleet-wide render budget (RENDER_RATE_PER_MINUTE, RENDER_RATE_TABLE): one item per caller
 * per minute in a DynamoDB table, counted up by a conditional UpdateItem that fails once the
 * minute's count has reached the limit. Every container of the IIIF function shares the count;
 * items carry an expiry time (the table's TTL attribute), so the table holds only recent minutes.
 *
 * The item key is a hash of the caller (the token's `sub`) and the minute: the table holds no
 * subject in the clear. When the count cannot be kept (DynamoDB throttled, down, or refusing the
 * function), the render is refused too, with the 503 or 500 storage trouble gets: a limit that
 * lapses whenever its store does would bound nothing.
 *
 * lib/service/render-budget.ts defines the interface this class satisfies, and the in-process
 * budget that shares its contract. Not exported by lib/store/index.ts: the wiring loads this
 * module (and the DynamoDB client) on the first render, so hits and other bundles never do.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StorageError, UnavailableError, expected } from '../errors.js';
import { consoleStoreLogger, type StoreLogger } from './logger.js';
import { S3_CLIENT_DEFAULTS } from './s3-client.js';
import { RENDER_BUDGET_WINDOW_MS, secondsLeftInWindow, type RenderRefusal } from './render-window.js';
import { NETWORK_CODES, STORAGE_RETRY_AFTER_SECONDS, THROTTLING_NAMES, s3ErrorFacts } from './s3-errors.js';

/** The table's attributes: the partition key, the count, and the TTL attribute (epoch seconds). */
export const RENDER_BUDGET_ATTRIBUTES = { key: 'pk', count: 'renders', expires: 'expiresAt' } as const;

/** Items outlive their minute by this much before DynamoDB may delete them. */
const EXPIRY_MARGIN_SECONDS = 120;

export interface DynamoDbRenderBudgetOptions {
  readonly table: string;
  /** RENDER_RATE_PER_MINUTE, at least 1. */
  readonly perMinute: number;
  readonly now?: () => number;
  readonly logger?: StoreLogger;
}

/** The DynamoDB client, with the S3 client's attempts and timeouts (and so its retry window). */
export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: S3_CLIENT_DEFAULTS.maxAttempts,
    retryMode: S3_CLIENT_DEFAULTS.retryMode,
    requestHandler: {
      connectionTimeout: S3_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: S3_CLIENT_DEFAULTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

const MISCONFIGURED_NAMES: ReadonlySet<string> = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'ValidationException',
]);

const UNAVAILABLE_NAMES: ReadonlySet<string> = new Set(['InternalServerError', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError', 'ExpiredTokenException']);

export class DynamoDbRenderBudget {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #perMinute: number;
  readonly #now: () => number;
  readonly #logger: StoreLogger;

  constructor(client: DynamoDBClient, options: DynamoDbRenderBudgetOptions) {
    if (!Number.isInteger(options.perMinute) || options.perMinute < 1) {
      throw new TypeError(expected('a whole number of at least 1', 'perMinute', String(options.perMinute)));
    }
    this.#client = client;
    this.#table = options.table;
    this.#perMinute = options.perMinute;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? consoleStoreLogger;
  }

  /**
   * Count one render for the caller in this minute, unless the minute's count has reached the
   * limit.
   * @throws UnavailableError STORAGE_UNAVAILABLE (DynamoDB throttled or unreachable after the
   *   client's retries); StorageError STORAGE_MISCONFIGURED (no table, no permission).
   */
  async take(caller: string): Promise<true | RenderRefusal> {
    const now = this.#now();
    const window = Math.floor(now / RENDER_BUDGET_WINDOW_MS);
    const expiresAt = ((window + 1) * RENDER_BUDGET_WINDOW_MS) / 1000 + EXPIRY_MARGIN_SECONDS;
    const { key, count, expires } = RENDER_BUDGET_ATTRIBUTES;
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { [key]: { S: `${digest(caller)}#${window}` } },
          UpdateExpression: 'ADD #count :one SET #expires = if_not_exists(#expires, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': count, '#expires': expires },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: String(this.#perMinute) }, ':expires': { N: String(expiresAt) } },
        }),
      );
      return true;
    } catch (error) {
      if (s3ErrorFacts(error).name === 'ConditionalCheckFailedException') {
        return { retryAfterSeconds: secondsLeftInWindow(now), perMinute: this.#perMinute };
      }
      return this.#raise(error);
    }
  }

  #raise(error: unknown): never {
    const facts = s3ErrorFacts(error);
    const name = facts.name ?? '';
    const details = { table: this.#table, operation: 'UpdateItem', error: name || facts.code, httpStatus: facts.status, requestId: facts.requestId, attempts: facts.attempts };
    const what = `${name || facts.code || 'an error'}${facts.status === undefined ? '' : ` (HTTP ${facts.status})`}`;
    if (MISCONFIGURED_NAMES.has(name)) {
      this.#logger.error('The render budget table refused the service itself: check RENDER_RATE_TABLE (the table exists, in this region) and the function role (dynamodb:UpdateItem on it)', details);
      throw new StorageError(
        'STORAGE_MISCONFIGURED',
        `${expected('the render budget table to accept the service', 'counting a render', what)}; this is a fault of this deployment, not of the request, and is logged for its operators`,
        { cause: error },
      );
    }
    const throttled = facts.throttling || THROTTLING_NAMES.has(name);
    if (throttled || UNAVAILABLE_NAMES.has(name) || NETWORK_CODES.has(facts.code ?? '') || (facts.status !== undefined && facts.status >= 500)) {
      const retryAfter = throttled ? STORAGE_RETRY_AFTER_SECONDS.throttled : STORAGE_RETRY_AFTER_SECONDS.unavailable;
      this.#logger.warn('The render budget table is unavailable; answering 503', details);
      throw new UnavailableError('STORAGE_UNAVAILABLE', `${expected('an answer from the render budget table', 'counting a render', what)}; retry after ${retryAfter} s`, retryAfter, { cause: error });
    }
    throw error;
  }
}

/** The caller as it is kept in the table: a hash, not the subject itself. */
function digest(caller: string): string {
  return createHash('sha256').update(caller).digest('base64url').slice(0, 32);
}
