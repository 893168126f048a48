/**
 * Whole source objects on local disk (/tmp in Lambda), so that a warm container cutting many
 * tiles from one large source downloads it once.
 *
 * - Keyed by bucket, key and ETag: a changed source is a different entry, never a stale hit.
 * - Atomic: a download goes to a `.part` file beside its final name and is renamed into place
 *   only once complete and checked, so no reader ever sees half a file. A failed download leaves
 *   nothing behind.
 * - Concurrent requests for the same object share one download.
 * - Least recently used entries are deleted to stay within `maxBytes`, before a download (to make
 *   room) and after it. Two exceptions, both deliberate:
 *   1. The entry just fetched is never evicted by its own fetch. An object larger than the
 *      budget (or any object with a budget of 0) is therefore still downloaded and returned as a
 *      path; it stays until a later fetch of another object evicts it.
 *   2. An entry used within the last `minResidencyMs` is not evicted: its path has just been
 *      handed to a render that may not have opened it yet (sharp opens files lazily, and a
 *      probe and a render open it twice). Over-budget usage from this is temporary.
 * - Files left in the directory by an earlier process are adopted (the local stack keeps its
 *   cache across restarts); stray `.part` files older than an hour are removed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expected } from '../errors.js';

export const SOURCE_CACHE_DEFAULTS = {
  minResidencyMs: 60_000,
  /** A `.part` file this old belongs to no live download. */
  stalePartMs: 3_600_000,
} as const;

export interface SourceCacheOptions {
  readonly dir: string;
  /** The byte budget; 0 keeps only the most recent object (see exception 1 above). */
  readonly maxBytes: number;
  readonly minResidencyMs?: number;
  /** The clock, in ms (tests). */
  readonly now?: () => number;
}

/** The identity of one version of one object. */
export interface CachedObjectId {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

export interface SourceCacheStats {
  /** Fetches answered from disk. */
  hits: number;
  /** Fetches that joined a download already in progress. */
  shared: number;
  /** Completed downloads. */
  downloads: number;
  evictions: number;
  /** Bytes on disk now, entries in use included. */
  bytes: number;
  entries: number;
}

/** An object's file, and whether this call downloaded it. */
export interface ObtainedFile {
  readonly path: string;
  /**
   * True only when this call's own download made the file: false for a hit on disk and for a
   * call that joined another call's download in progress.
   */
  readonly downloaded: boolean;
}

interface Entry {
  readonly path: string;
  readonly bytes: number;
  lastUsed: number;
}

const ENTRY_NAME = /^[0-9a-f]{64}$/;
const PART_SUFFIX = '.part';

export class SourceCache {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #minResidencyMs: number;
  readonly #now: () => number;
  /** Map order is recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string>>();
  /** The counters kept as events happen; bytes and entries are read from the index. */
  readonly #stats = { hits: 0, shared: 0, downloads: 0, evictions: 0 };
  #ready: Promise<void> | undefined;

  constructor(options: SourceCacheOptions) {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new TypeError(expected('a whole number of bytes, 0 or more', 'cache.maxBytes', String(options.maxBytes)));
    }
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#minResidencyMs = options.minResidencyMs ?? SOURCE_CACHE_DEFAULTS.minResidencyMs;
    this.#now = options.now ?? Date.now;
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<SourceCacheStats> {
    return { ...this.#stats, bytes: this.#totalBytes(), entries: this.#entries.size };
  }

  /**
   * The object's file: from disk, from a download in progress (both `downloaded: false`), or by
   * calling `download(partPath)`, which must write the whole object to `partPath` or throw
   * (`downloaded: true` for this call alone). `expectedBytes` makes room before the download
   * starts.
   */
  async obtain(id: CachedObjectId, expectedBytes: number, download: (partPath: string) => Promise<void>): Promise<ObtainedFile> {
    await this.#init();
    const name = entryName(id);
    const pending = this.#inflight.get(name);
    if (pending !== undefined) {
      this.#stats.shared += 1;
      return { path: await pending, downloaded: false };
    }
    const entry = this.#entries.get(name);
    if (entry !== undefined) {
      // Touched before the check, so a concurrent eviction cannot pick it while we look.
      this.#touch(name, entry);
      const size = await fileSize(entry.path);
      if (size === entry.bytes) {
        this.#stats.hits += 1;
        return { path: entry.path, downloaded: false };
      }
      // Deleted or damaged behind our back (another process sharing the directory): fetch again.
      if (this.#entries.get(name) === entry) this.#entries.delete(name);
      await rm(entry.path, { force: true });
      const joined = this.#inflight.get(name);
      if (joined !== undefined) return { path: await joined, downloaded: false };
    }
    const promise = this.#download(name, expectedBytes, download).finally(() => this.#inflight.delete(name));
    this.#inflight.set(name, promise);
    return { path: await promise, downloaded: true };
  }

  async #download(name: string, expectedBytes: number, download: (partPath: string) => Promise<void>): Promise<string> {
    await this.#evict(expectedBytes, undefined);
    const path = join(this.#dir, name);
    const part = `${path}.${randomUUID()}${PART_SUFFIX}`;
    try {
      await download(part);
      const bytes = (await stat(part)).size;
      await rename(part, path);
      this.#entries.delete(name);
      this.#entries.set(name, { path, bytes, lastUsed: this.#now() });
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
    this.#stats.downloads += 1;
    await this.#evict(0, name);
    return path;
  }

  #touch(name: string, entry: Entry): void {
    entry.lastUsed = this.#now();
    this.#entries.delete(name);
    this.#entries.set(name, entry);
  }

  #totalBytes(): number {
    let total = 0;
    for (const entry of this.#entries.values()) total += entry.bytes;
    return total;
  }

  /** Delete least recently used entries until `incoming` more bytes fit, sparing `keep` and recent ones. */
  async #evict(incoming: number, keep: string | undefined): Promise<void> {
    let total = this.#totalBytes();
    if (total + incoming <= this.#maxBytes) return;
    const protectedSince = this.#now() - this.#minResidencyMs;
    const victims: Entry[] = [];
    for (const [name, entry] of this.#entries) {
      if (total + incoming <= this.#maxBytes) break;
      if (name === keep || entry.lastUsed > protectedSince) continue;
      // Out of the index before the unlink, so no concurrent fetch can be handed this path.
      this.#entries.delete(name);
      total -= entry.bytes;
      victims.push(entry);
    }
    this.#stats.evictions += victims.length;
    await Promise.all(victims.map((entry) => rm(entry.path, { force: true })));
  }

  #init(): Promise<void> {
    this.#ready ??= this.#adopt().catch((error: unknown) => {
      // Let the next call try again rather than caching a failure to create the directory.
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #adopt(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const now = this.#now();
    const found: { name: string; entry: Entry }[] = [];
    for (const name of await readdir(this.#dir)) {
      const path = join(this.#dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || !info.isFile()) continue;
      if (ENTRY_NAME.test(name)) {
        found.push({ name, entry: { path, bytes: info.size, lastUsed: info.mtimeMs } });
      } else if (name.endsWith(PART_SUFFIX) && now - info.mtimeMs > SOURCE_CACHE_DEFAULTS.stalePartMs) {
        await rm(path, { force: true });
      }
    }
    found.sort((a, b) => a.entry.lastUsed - b.entry.lastUsed);
    for (const { name, entry } of found) this.#entries.set(name, entry);
    await this.#evict(0, undefined);
  }
}

/** A fixed-length file name for an object version: no key can escape the directory. */
function entryName(id: CachedObjectId): string {
  return createHash('sha256').update(JSON.stringify([id.bucket, id.key, id.etag])).digest('hex');
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
