/**
 * Byte ranges of a source, as the ranged TIFF reader asks for them: each read pinned to the
 * version of the source that was described (a replaced source is SOURCE_CHANGED, never a mix of
 * two versions), counted in the request's trace, and, for small reads, served from a bounded
 * per-container cache of aligned blocks. The small reads are the ones worth keeping: slices of a
 * level's tile-offset arrays (neighbouring tiles share them), ICC profiles and hot tiles.
 */
import type { ReadRange } from '../render/tiff/ranges.js';
import type { DerivativeStore, SourceObject, SourceStore } from '../store/index.js';
import type { RecordStats } from './source-records.js';

export const SOURCE_RANGE_DEFAULTS = {
  /** Small reads are widened to whole blocks of this size, cached and shared. */
  blockBytes: 64 * 1024,
  /** The cache's budget per container: structure-sized, never a whole master. */
  budgetBytes: 32 * 1024 * 1024,
  /** Reads this large go straight to storage (tile runs of a region) and are not cached. */
  bypassBytes: 512 * 1024,
} as const;

/** One version of one object whose ranges are read: a master, or an access copy. */
export interface RangeTarget {
  /** Names the object in the cache (with the ETag). */
  readonly key: string;
  readonly etag: string;
  readonly bytes: number;
  /** Bytes `start` to `endInclusive`, pinned to `etag`. */
  fetch(start: number, endInclusive: number): Promise<Buffer>;
}

/** A master in the source bucket, by identifier. */
export function sourceTarget(sources: Pick<SourceStore, 'readRange'>, identifier: string, object: SourceObject): RangeTarget {
  return { key: object.key, etag: object.etag, bytes: object.bytes, fetch: (start, end) => sources.readRange(identifier, start, end, object.etag) };
}

/** An object of the derivative bucket (an access copy). */
export function storedTarget(derivatives: Pick<DerivativeStore, 'readRange'>, object: { readonly key: string; readonly etag: string; readonly bytes: number }): RangeTarget {
  return { key: `derivatives/${object.key}`, etag: object.etag, bytes: object.bytes, fetch: (start, end) => derivatives.readRange(object.key, start, end, object.etag) };
}

/**
 * A reader of the target's bytes that counts what it reads in `stats` (as bytes read from
 * storage for the request); no cache (for reads done once per version, like the structure).
 */
export function countedReader(target: RangeTarget, stats?: RecordStats): ReadRange {
  return async (offset, length) => {
    if (length === 0) return Buffer.alloc(0);
    const bytes = await target.fetch(offset, offset + length - 1);
    if (stats !== undefined) stats.sourceBytesRead += bytes.length;
    return bytes;
  };
}

export class SourceRanges {
  /** Blocks by `key \n etag \n index`; Map order is recency order. */
  readonly #blocks = new Map<string, Buffer>();
  readonly #pending = new Map<string, Promise<Buffer>>();
  #bytes = 0;

  constructor(private readonly options: { readonly blockBytes: number; readonly budgetBytes: number; readonly bypassBytes: number } = SOURCE_RANGE_DEFAULTS) {}

  /** Bytes held now (for tests and metrics). */
  get cachedBytes(): number {
    return this.#bytes;
  }

  /** A reader of the target whose small reads go through the block cache; only storage reads are counted. */
  reader(target: RangeTarget, stats?: RecordStats): ReadRange {
    const direct = countedReader(target, stats);
    const object = target;
    return async (offset, length) => {
      if (length >= this.options.bypassBytes) return direct(offset, length);
      const size = this.options.blockBytes;
      const first = Math.floor(offset / size);
      const last = Math.floor((offset + Math.max(1, length) - 1) / size);
      const blocks = await this.#blocksOf(object, first, last, direct);
      const joined = blocks.length === 1 ? (blocks[0] ?? Buffer.alloc(0)) : Buffer.concat(blocks);
      const start = offset - first * size;
      return joined.subarray(start, start + length);
    };
  }

  /** Blocks `first`..`last`, the missing ones fetched in as few reads as they are runs. */
  async #blocksOf(object: RangeTarget, first: number, last: number, direct: ReadRange): Promise<Buffer[]> {
    const size = this.options.blockBytes;
    const found = new Map<number, Promise<Buffer>>();
    let run: number | undefined;
    const fetchRun = (from: number, to: number): void => {
      const start = from * size;
      const end = Math.min((to + 1) * size, object.bytes);
      const fetched = direct(start, Math.max(0, end - start));
      for (let index = from; index <= to; index++) {
        const key = blockKey(object, index);
        const block = fetched.then((bytes) => bytes.subarray((index - from) * size, (index - from + 1) * size));
        const settled = block.then(
          (bytes) => {
            this.#keep(key, bytes);
            return bytes;
          },
          (error: unknown) => {
            throw error;
          },
        ).finally(() => this.#pending.delete(key));
        this.#pending.set(key, settled);
        found.set(index, settled);
      }
    };
    for (let index = first; index <= last; index++) {
      const key = blockKey(object, index);
      const cached = this.#blocks.get(key) ?? undefined;
      const pending = this.#pending.get(key);
      if (cached !== undefined || pending !== undefined) {
        if (run !== undefined) fetchRun(run, index - 1);
        run = undefined;
        if (cached !== undefined) this.#touch(key, cached);
        found.set(index, cached === undefined ? (pending ?? Promise.resolve(Buffer.alloc(0))) : Promise.resolve(cached));
        continue;
      }
      run ??= index;
    }
    if (run !== undefined) fetchRun(run, last);
    const out: Buffer[] = [];
    for (let index = first; index <= last; index++) out.push(await (found.get(index) ?? Promise.resolve(Buffer.alloc(0))));
    return out;
  }

  #touch(key: string, block: Buffer): void {
    this.#blocks.delete(key);
    this.#blocks.set(key, block);
  }

  #keep(key: string, block: Buffer): void {
    if (block.length > this.options.budgetBytes) return;
    const previous = this.#blocks.get(key);
    if (previous !== undefined) this.#bytes -= previous.length;
    this.#blocks.delete(key);
    this.#blocks.set(key, block);
    this.#bytes += block.length;
    for (const [oldest, bytes] of this.#blocks) {
      if (this.#bytes <= this.options.budgetBytes) break;
      this.#blocks.delete(oldest);
      this.#bytes -= bytes.length;
    }
  }
}

function blockKey(object: RangeTarget, index: number): string {
  return `${object.key}\n${object.etag}\n${index}`;
}
