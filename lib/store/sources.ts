/**
 * Read access to the source bucket: where an identifier's master lives (SOURCE_KEY_TEMPLATE), its
 * size and ETag (HEAD), its first bytes for probing (ranged GET), the whole object as a local
 * file for rendering (GET into the /tmp cache of source-cache.ts), and the identifiers the
 * bucket holds (a listing).
 *
 * Every read of content is pinned to the ETag the caller knows (If-Match), and the ETag of the
 * answer is checked as well (s3rver ignores If-Match): a source replaced while Recto reads it is a
 * SOURCE_CHANGED error, never a file mixing two versions.
 */
import { Transform } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { IiifRequestError, NotFoundError, SourceError, UnavailableError, expected, quote } from '../errors.js';
import type { StoreLogger } from './logger.js';
import { classifyS3Error, raiseS3Error, STORAGE_RETRY_AFTER_SECONDS, type S3Operation } from './s3-errors.js';
import { SourceCache, type ObtainedFile, type SourceCacheOptions, type SourceCacheStats } from './source-cache.js';
import { ID_PLACEHOLDER, identifierFromKey, keyPrefix } from './key-template.js';
import { listObjects } from './listing.js';
import { getRange } from './ranges.js';
import { readableOf } from './streams.js';

/** One version of a source object, as HEAD describes it. */
export interface SourceObject {
  readonly key: string;
  /** Exactly as S3 sends it, quotes included (`"9a0364b9e99bb480dd25e1f0284c8555"`). */
  readonly etag: string;
  readonly bytes: number;
  readonly lastModified?: Date;
  readonly contentType?: string;
}

export interface SourceStoreOptions {
  readonly bucket: string;
  /** Contains `{id}`, replaced by the decoded identifier (`masters/{id}.tif`). */
  readonly keyTemplate: string;
  /** The /tmp cache: `dir` and `maxBytes` (see source-cache.ts for residency and the clock). */
  readonly cache: SourceCacheOptions;
  readonly logger?: StoreLogger;
}

/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

export class SourceStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #template: string;
  readonly #cache: SourceCache;
  readonly #logger: StoreLogger | undefined;

  constructor(s3: S3Client, options: SourceStoreOptions) {
    if (!options.keyTemplate.includes(ID_PLACEHOLDER)) {
      throw new TypeError(expected('a key template containing {id}', 'keyTemplate', options.keyTemplate));
    }
    this.#s3 = s3;
    this.#bucket = options.bucket;
    this.#template = options.keyTemplate;
    this.#cache = new SourceCache(options.cache);
    this.#logger = options.logger;
  }

  /** The source cache's counters: hits, shared and completed downloads, evictions, bytes on disk. */
  get cacheStats(): Readonly<SourceCacheStats> {
    return this.#cache.stats;
  }

  /**
   * The source key of a (decoded) identifier. Identifiers that no key should be made from are
   * refused here as well as by the parser, so a key never leaves the template's prefix in a URL
   * (`.` and `..` segments are normalised away by browsers and some HTTP stacks).
   * @throws IiifRequestError IIIF_INVALID_IDENTIFIER
   */
  keyFor(identifier: string): string {
    const refuse = (what: string): never => {
      throw new IiifRequestError('IIIF_INVALID_IDENTIFIER', expected(what, 'the identifier', identifier));
    };
    if (identifier === '') refuse('a non-empty identifier');
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f]/.test(identifier)) refuse('an identifier without control characters');
    if (identifier.split('/').some((segment) => segment === '.' || segment === '..')) {
      refuse('an identifier without "." or ".." path segments');
    }
    const key = this.#template.replaceAll(ID_PLACEHOLDER, identifier);
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) refuse(`an identifier short enough for a ${MAX_KEY_BYTES}-byte storage key`);
    return key;
  }

  /**
   * Size, ETag and type of an identifier's source.
   * @throws NotFoundError SOURCE_NOT_FOUND; IiifRequestError IIIF_INVALID_IDENTIFIER;
   *   UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async head(identifier: string): Promise<SourceObject> {
    const key = this.keyFor(identifier);
    try {
      const answer = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (answer.ETag === undefined || answer.ContentLength === undefined) {
        throw new Error(`Storage answered HeadObject without ${answer.ETag === undefined ? 'an ETag' : 'a Content-Length'}`);
      }
      return {
        key,
        etag: answer.ETag,
        bytes: answer.ContentLength,
        ...(answer.LastModified === undefined ? {} : { lastModified: answer.LastModified }),
        ...(answer.ContentType === undefined ? {} : { contentType: answer.ContentType }),
      };
    } catch (error) {
      return this.#raise(error, 'HeadObject', key, identifier);
    }
  }

  /**
   * Bytes `start` to `endInclusive` of a source (fewer when the object is shorter; empty when it
   * starts past the end), pinned to `etag` when given.
   * @throws NotFoundError SOURCE_NOT_FOUND; UnavailableError SOURCE_CHANGED (the ETag moved) or
   *   STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED; TypeError for a bad range.
   */
  readRange(identifier: string, start: number, endInclusive: number, etag?: string): Promise<Buffer> {
    const key = this.keyFor(identifier);
    return getRange(this.#s3, {
      bucket: this.#bucket,
      key,
      start,
      endInclusive,
      etag,
      changed: (cause) => sourceChanged(identifier, cause),
      raise: (error, pinned) => this.#raise(error, 'GetObject', key, identifier, pinned),
    });
  }

  /**
   * The whole object as a local file (see source-cache.ts for when it is removed), and whether
   * this call's own download made it (not a cache hit, not another request's download it
   * joined). The path stays valid for at least the cache's minimum residency (60 s by default)
   * after this returns.
   * @throws NotFoundError SOURCE_NOT_FOUND (deleted since its HEAD); UnavailableError
   *   SOURCE_CHANGED (replaced since its HEAD) or STORAGE_UNAVAILABLE; StorageError
   *   STORAGE_MISCONFIGURED; SourceError SOURCE_TOO_LARGE (no room left on the local disk).
   */
  obtain(source: SourceObject): Promise<ObtainedFile> {
    return this.#cache.obtain({ bucket: this.#bucket, key: source.key, etag: source.etag }, source.bytes, (part) =>
      this.#download(source, part),
    );
  }

  /**
   * Every identifier with a source in the bucket, in key order, a listing page (1000 keys) at a
   * time: keys the template does not make, and "folder" markers, are passed over.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async *listIdentifiers(pageSize = 1000): AsyncGenerator<string> {
    const listing = {
      bucket: this.#bucket,
      prefix: keyPrefix(this.#template),
      pageSize,
      raise: (error: unknown) => raiseS3Error(error, { operation: 'ListObjectsV2', bucket: this.#bucket, subject: 'the source bucket listing', ...(this.#logger === undefined ? {} : { logger: this.#logger }) }),
    };
    for await (const object of listObjects(this.#s3, listing)) {
      if (object.key.endsWith('/')) continue;
      const identifier = identifierFromKey(this.#template, object.key);
      if (identifier !== undefined) yield identifier;
    }
  }

  async #download(source: SourceObject, part: string): Promise<void> {
    // The identifier names the source in errors; a key the template does not make names itself.
    const identifier = identifierFromKey(this.#template, source.key) ?? source.key;
    const name = quote(identifier);
    const cutShort = (received: string, cause?: unknown) =>
      new UnavailableError(
        'STORAGE_UNAVAILABLE',
        `${expected(`${source.bytes} bytes`, `the source ${name}`, received)}; the transfer was cut short, retry after ${STORAGE_RETRY_AFTER_SECONDS.unavailable} s`,
        STORAGE_RETRY_AFTER_SECONDS.unavailable,
        cause === undefined ? {} : { cause },
      );
    // An error of the body stream means the transfer broke, whatever its type (a reset, an idle
    // timeout, or the SDK's plain Error for a checksum mismatch), once the answer had begun.
    let bodyError: unknown;
    let written = 0;
    try {
      const answer = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: source.key, IfMatch: source.etag }));
      const body = readableOf(answer.Body);
      if ((answer.ETag !== undefined && answer.ETag !== source.etag) || (answer.ContentLength !== undefined && answer.ContentLength !== source.bytes)) {
        body.destroy();
        throw sourceChanged(identifier);
      }
      body.once('error', (error: unknown) => {
        bodyError = error;
      });
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          written += chunk.length;
          done(null, chunk);
        },
      });
      // 'wx': the part name is unique, so an existing file means something is badly wrong.
      await pipeline(body, count, createWriteStream(part, { flags: 'wx' }));
      if (written !== source.bytes) throw cutShort(`${written} bytes`);
    } catch (error) {
      if (isErrnoCode(error, 'ENOSPC')) {
        throw new SourceError(
          'SOURCE_TOO_LARGE',
          `${expected('a source that fits the local disk', `the source ${name}`, `${source.bytes} bytes`)}; give the function more ephemeral storage`,
          { cause: error },
        );
      }
      if (bodyError !== undefined && classifyS3Error(bodyError) === 'unknown') throw cutShort(`${written} bytes and an error`, bodyError);
      return this.#raise(error, 'GetObject', source.key, identifier, true);
    }
  }

  /** Map an SDK error for one source; RectoErrors pass through. */
  #raise(error: unknown, operation: S3Operation, key: string, identifier: string, pinned = false): never {
    if (error instanceof IiifRequestError || error instanceof NotFoundError || error instanceof UnavailableError) throw error;
    if (pinned && classifyS3Error(error) === 'precondition-failed') throw sourceChanged(identifier, error);
    return raiseS3Error(error, {
      operation,
      bucket: this.#bucket,
      key,
      subject: `source ${quote(identifier)}`,
      onNotFound: () =>
        new NotFoundError('SOURCE_NOT_FOUND', expected('an existing source', 'the identifier', identifier), { cause: error }),
      ...(this.#logger === undefined ? {} : { logger: this.#logger }),
    });
  }
}

function sourceChanged(identifier: string, cause?: unknown): UnavailableError {
  return new UnavailableError(
    'SOURCE_CHANGED',
    `${expected('the version of the source that was looked up', `the source ${quote(identifier)}`, 'a different ETag')}; it was replaced while being read, retry after ${STORAGE_RETRY_AFTER_SECONDS.changed} s`,
    STORAGE_RETRY_AFTER_SECONDS.changed,
    cause === undefined ? {} : { cause },
  );
}

function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
