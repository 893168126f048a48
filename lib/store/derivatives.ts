/**
 * The derivative bucket: rendered images (immutable, created once, served by presigned GET URLs)
 * and the small JSON source records kept beside them.
 *
 * - `put` creates with `If-None-Match: *`: when two requests race, one object is stored and the
 *   loser is told 'exists'. With `replace` (pre-warming's `--force`) it writes unconditionally
 *   instead, atomically replacing any object there in one request. Either way it sends an
 *   explicit SHA-256 checksum, so S3 refuses a body damaged or cut short on the way: an object is
 *   stored whole or not at all.
 * - `presign` signs with a time-bucketed signing date, so the same key gives the same URL for a
 *   while (browsers and CDNs can cache the redirect), and says how long that URL stays valid.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { UnavailableError, expected } from '../errors.js';
import { listObjects, listPage, type ListingOptions } from './listing.js';
import { getRange } from './ranges.js';
import { transferTimeoutMs } from './s3-client.js';
import { consoleStoreLogger, type StoreLogger } from './logger.js';
import { classifyS3Error, raiseS3Error, STORAGE_RETRY_AFTER_SECONDS, type S3Operation } from './s3-errors.js';
import { collect, readableOf } from './streams.js';

export const DERIVATIVE_DEFAULTS = {
  cacheControl: 'public, max-age=31536000, immutable',
  /** Source records change when their source does: caches must revalidate. */
  jsonCacheControl: 'no-cache',
  /** ListObjectsV2 and DeleteObjects both take at most 1000 keys per call. */
  pageSize: 1000,
  /** How long a loser of a conditional-write race waits for the winner's object to appear. */
  conflictWaitMs: 3_000,
  /** Larger source records are treated as damaged. */
  maxJsonBytes: 1024 * 1024,
  /** Signed URLs kept for reuse within their window; the map starts over when full. */
  signedUrlCacheEntries: 10_000,
} as const;

/** The metadata key (x-amz-meta-source-etag) holding the ETag of the source a derivative was made from. */
export const SOURCE_ETAG_METADATA = 'source-etag';

/**
 * The tag of a short-lived derivative, which the derivative bucket's lifecycle rule expires
 * (template.yaml, ExpireShortLived), and the x-amz-tagging header that sets it on the PUT.
 */
export const SHORT_LIVED_TAG = { key: 'recto:lifetime', value: 'short' } as const;
const SHORT_LIVED_TAGGING = new URLSearchParams([[SHORT_LIVED_TAG.key, SHORT_LIVED_TAG.value]]).toString();

export interface DerivativeStoreOptions {
  readonly bucket: string;
  readonly presignTtlSeconds: number;
  /** The clock (tests). */
  readonly now?: () => Date;
  /** Keys per ListObjectsV2 / DeleteObjects call, 1 to 1000 (smaller in tests to prove paging). */
  readonly pageSize?: number;
  readonly conflictWaitMs?: number;
  readonly logger?: StoreLogger;
}

export interface PutOptions {
  readonly contentType: string;
  /** The ETag of the source the derivative was rendered from, as SourceObject.etag gives it. */
  readonly sourceEtag: string;
  readonly cacheControl?: string;
  /**
   * Write unconditionally (no `If-None-Match`), atomically replacing an object already stored
   * under the key: the answer is then always 'created'. Still checksummed.
   */
  readonly replace?: boolean;
  /** 'short': tag the object SHORT_LIVED_TAG, so the bucket's lifecycle rule expires it. */
  readonly lifetime?: 'long' | 'short';
}

export interface PresignedUrl {
  readonly url: string;
  readonly expiresAt: Date;
  /** Whole seconds the URL stays valid from now: the most a redirect to it may be cached. */
  readonly maxAgeSeconds: number;
}

export interface ListedObject {
  readonly key: string;
  readonly bytes: number;
  readonly lastModified?: Date;
}

export class DerivativeStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #ttlSeconds: number;
  readonly #windowSeconds: number;
  readonly #now: () => Date;
  readonly #pageSize: number;
  readonly #conflictWaitMs: number;
  readonly #logger: StoreLogger;
  /** URLs signed in the current window, by key: signing costs more than the HEAD it runs beside. */
  readonly #signed = new Map<string, { readonly url: string; readonly signingMs: number; readonly accessKeyId: string }>();

  constructor(s3: S3Client, options: DerivativeStoreOptions) {
    const ttl = options.presignTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 2 || ttl > 604_800) {
      throw new TypeError(expected('a whole number of seconds from 2 to 604800', 'presignTtlSeconds', String(ttl)));
    }
    const pageSize = options.pageSize ?? DERIVATIVE_DEFAULTS.pageSize;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new TypeError(expected('a whole number from 1 to 1000', 'pageSize', String(pageSize)));
    }
    this.#s3 = s3;
    this.#bucket = options.bucket;
    this.#ttlSeconds = ttl;
    // Half the TTL: a URL handed out is always valid for more than half the TTL.
    this.#windowSeconds = Math.floor(ttl / 2);
    this.#now = options.now ?? (() => new Date());
    this.#pageSize = pageSize;
    this.#conflictWaitMs = options.conflictWaitMs ?? DERIVATIVE_DEFAULTS.conflictWaitMs;
    this.#logger = options.logger ?? consoleStoreLogger;
  }

  /**
   * Whether a derivative is stored (HEAD).
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async exists(key: string): Promise<boolean> {
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (classifyS3Error(error) === 'not-found') return false;
      return this.#raise(error, 'HeadObject', key);
    }
  }

  /**
   * The ETag and size of a stored object, or undefined when there is none (HEAD).
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async describe(key: string): Promise<{ readonly etag: string; readonly bytes: number; readonly lastModified?: Date } | undefined> {
    try {
      const answer = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (answer.ETag === undefined || answer.ContentLength === undefined) return undefined;
      return { etag: answer.ETag, bytes: answer.ContentLength, ...(answer.LastModified === undefined ? {} : { lastModified: answer.LastModified }) };
    } catch (error) {
      if (classifyS3Error(error) === 'not-found') return undefined;
      return this.#raise(error, 'HeadObject', key);
    }
  }

  /**
   * Bytes `start` to `endInclusive` of a stored object (an access copy), pinned to `etag`.
   * @throws UnavailableError SOURCE_CHANGED when it was replaced (its record is stale),
   *   STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED; TypeError for a bad range.
   */
  readRange(key: string, start: number, endInclusive: number, etag: string): Promise<Buffer> {
    return getRange(this.#s3, {
      bucket: this.#bucket,
      key,
      start,
      endInclusive,
      etag,
      changed: (cause) =>
        new UnavailableError(
          'SOURCE_CHANGED',
          `${expected('the version of the stored object that was described', 'an access copy', 'a different ETag')}; retry after ${STORAGE_RETRY_AFTER_SECONDS.changed} s`,
          STORAGE_RETRY_AFTER_SECONDS.changed,
          cause === undefined ? {} : { cause },
        ),
      raise: (error) => this.#raise(error, 'GetObject', key),
    });
  }

  /**
   * Store a file (an access copy) under `key` unless something is already there: one PUT that
   * streams it with its SHA-256 checksum, so the object is whole or absent. 'exists': another
   * writer stored it first.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async putFile(key: string, path: string, options: { readonly contentType: string }): Promise<'created' | 'exists'> {
    const bytes = (await stat(path)).size;
    const checksum = await fileSha256(path);
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: createReadStream(path),
          ContentLength: bytes,
          ContentType: options.contentType,
          CacheControl: DERIVATIVE_DEFAULTS.cacheControl,
          ChecksumSHA256: checksum,
          IfNoneMatch: '*',
        }),
        { requestTimeout: transferTimeoutMs(bytes) },
      );
      return 'created';
    } catch (error) {
      const kind = classifyS3Error(error);
      if (kind === 'precondition-failed' || (kind === 'conflict' && (await this.#appears(key)))) return 'exists';
      return this.#raise(error, 'PutObject', key);
    }
  }

  /**
   * Store a derivative unless one is already there. 'exists' means another request stored it
   * first (412), or was storing it and has now finished (409, then it appeared). With
   * `options.replace`, store it whatever is there (one unconditional PUT) and answer 'created'.
   * @throws UnavailableError STORAGE_UNAVAILABLE (also when a concurrent writer neither finished
   *   nor gave up in time); StorageError STORAGE_MISCONFIGURED.
   */
  async put(key: string, body: Buffer, options: PutOptions): Promise<'created' | 'exists'> {
    const replace = options.replace === true;
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ContentType: options.contentType,
      CacheControl: options.cacheControl ?? DERIVATIVE_DEFAULTS.cacheControl,
      Metadata: { [SOURCE_ETAG_METADATA]: options.sourceEtag },
      ChecksumSHA256: sha256(body),
      ...(options.lifetime === 'short' ? { Tagging: SHORT_LIVED_TAGGING } : {}),
      ...(replace ? {} : { IfNoneMatch: '*' }),
    });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#s3.send(command, { requestTimeout: transferTimeoutMs(body.length) });
        return 'created';
      } catch (error) {
        const kind = classifyS3Error(error);
        if (kind === 'precondition-failed' && !replace) return 'exists';
        if (kind !== 'conflict') return this.#raise(error, 'PutObject', key);
        // 409 ConditionalRequestConflict: another conditional write of this key is in progress.
        // Wait for its object; if it never comes (the other writer failed), try once more. A
        // replacing write tries once more either way: its object is to win over that one.
        if ((await this.#appears(key)) && !replace) return 'exists';
        if (attempt === 2) {
          throw new UnavailableError(
            'STORAGE_UNAVAILABLE',
            `${expected('one writer at a time', 'a derivative', 'a concurrent write that neither finished nor failed')}; retry after ${STORAGE_RETRY_AFTER_SECONDS.unavailable} s`,
            STORAGE_RETRY_AFTER_SECONDS.unavailable,
            { cause: error },
          );
        }
      }
    }
  }

  /**
   * A GET URL for a derivative, the same for every call within a window of half the TTL.
   * `maxAgeSeconds` is never more than the URL's remaining validity, nor than the remaining
   * life of the credentials that signed it (temporary credentials end a URL early).
   */
  async presign(key: string): Promise<PresignedUrl> {
    const now = this.#now().getTime();
    const windowMs = this.#windowSeconds * 1000;
    const signingMs = Math.floor(now / windowMs) * windowMs;
    let expiresMs = signingMs + this.#ttlSeconds * 1000;
    const identity = await this.#s3.config.credentials();
    if (identity.expiration !== undefined && identity.expiration.getTime() < expiresMs) {
      expiresMs = identity.expiration.getTime();
    }
    const url = await this.#signedUrl(key, signingMs, identity.accessKeyId);
    return { url, expiresAt: new Date(expiresMs), maxAgeSeconds: Math.max(0, Math.floor((expiresMs - now) / 1000)) };
  }

  /** The URL for this key and window, signed once per window (and again when the credentials change). */
  async #signedUrl(key: string, signingMs: number, accessKeyId: string): Promise<string> {
    const cached = this.#signed.get(key);
    if (cached !== undefined && cached.signingMs === signingMs && cached.accessKeyId === accessKeyId) return cached.url;
    const url = await getSignedUrl(this.#s3, new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
      expiresIn: this.#ttlSeconds,
      signingDate: new Date(signingMs),
    });
    if (this.#signed.size >= DERIVATIVE_DEFAULTS.signedUrlCacheEntries) this.#signed.clear();
    this.#signed.set(key, { url, signingMs, accessKeyId });
    return url;
  }

  /**
   * A small JSON record, or undefined when there is none. A record that is not valid JSON (or
   * implausibly large) is logged and treated as absent: it is a cache, rewritten by putJson.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async getJson<T>(key: string): Promise<T | undefined> {
    let text: string;
    try {
      const answer = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const bytes = await collect(readableOf(answer.Body), DERIVATIVE_DEFAULTS.maxJsonBytes, 0);
      if (bytes.length > DERIVATIVE_DEFAULTS.maxJsonBytes) {
        this.#logger.warn('Ignoring an oversized JSON record', { bucket: this.#bucket, key, bytes: bytes.length });
        return undefined;
      }
      text = bytes.toString('utf8');
    } catch (error) {
      if (classifyS3Error(error) === 'not-found') return undefined;
      return this.#raise(error, 'GetObject', key);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      this.#logger.warn('Ignoring a JSON record that does not parse', { bucket: this.#bucket, key, bytes: text.length });
      return undefined;
    }
  }

  /**
   * Write a small JSON record (replacing any earlier one).
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async putJson(key: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/json',
          CacheControl: DERIVATIVE_DEFAULTS.jsonCacheControl,
          ChecksumSHA256: sha256(body),
        }),
      );
    } catch (error) {
      this.#raise(error, 'PutObject', key);
    }
  }

  /**
   * Every object under a prefix, page by page.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  list(prefix: string): AsyncIterable<ListedObject> {
    return listObjects(this.#s3, this.#listing(prefix));
  }

  /**
   * Delete every object under a prefix; returns how many were deleted. Lists the first page,
   * deletes it, and lists again from the start until nothing is left, so objects added meanwhile
   * are caught and no listing order is relied on. An empty prefix (the whole bucket) is refused.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED; TypeError.
   */
  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '') throw new TypeError(expected('a non-empty prefix', 'deletePrefix', prefix));
    let deleted = 0;
    let previous = '';
    for (;;) {
      const page = await listPage(this.#s3, this.#listing(prefix));
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
      if (keys.length === 0) return deleted;
      const signature = keys.join('\n');
      if (signature === previous) {
        // The same page twice after deleting it: storage accepts deletes that do nothing.
        throw new Error(`Storage listed the same ${keys.length} keys under a prefix again after deleting them`);
      }
      previous = signature;
      deleted += await this.#deleteKeys(keys);
    }
  }

  #listing(prefix: string): ListingOptions {
    return { bucket: this.#bucket, prefix, pageSize: this.#pageSize, raise: (error) => this.#raise(error, 'ListObjectsV2', prefix) };
  }

  async #deleteKeys(keys: readonly string[]): Promise<number> {
    let answer;
    try {
      answer = await this.#s3.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    } catch (error) {
      return this.#raise(error, 'DeleteObjects', keys[0]);
    }
    const failures = answer.Errors ?? [];
    const first = failures[0];
    if (first !== undefined) {
      // Per-key failures come back in a 200: raise the first as the error it would have been.
      const name = first.Code ?? 'Unknown';
      return this.#raise(Object.assign(new Error(first.Message ?? name), { name }), 'DeleteObjects', first.Key);
    }
    return keys.length;
  }

  /** Poll HEAD until the key exists or the wait is over. */
  async #appears(key: string): Promise<boolean> {
    const deadline = Date.now() + this.#conflictWaitMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 800)) {
      if (await this.exists(key)) return true;
      if (Date.now() + delay > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #raise(error: unknown, operation: S3Operation, key: string | undefined): never {
    if (error instanceof UnavailableError) throw error;
    return raiseS3Error(error, {
      operation,
      bucket: this.#bucket,
      ...(key === undefined ? {} : { key }),
      subject: 'a derivative',
      logger: this.#logger,
    });
  }
}

/** Base64 SHA-256, the form x-amz-checksum-sha256 takes. */
function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

/** The same, of a file, read once as a stream. */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
