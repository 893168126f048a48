/**
 * The source record: what Recto knows about a source (probe result + ETag, and the access copy
 * of that version when one was built), kept as a small JSON object beside its derivatives and in
 * warm-container memory, so info.json and cache hits never read the source itself.
 */
import { RectoError, SourceError, UnsupportedError } from '../errors.js';
import { accessCopyKey, recordKey } from '../iiif/index.js';
import type { SourceProbe } from '../render/index.js';
import { isJp2Head, isJp2Name, isTiffHead, isTiffName } from '../render/sniff.js';
import type { ReadRange } from '../render/tiff/ranges.js';
import type { DerivativeStore, SourceObject, SourceStore } from '../store/index.js';
import { SingleFlight } from './single-flight.js';
import { countedReader, sourceTarget, storedTarget } from './source-ranges.js';
import { TtlCache } from './ttl-cache.js';

/**
 * 2: tiled TIFF masters carry their structure (probe.tiff) and are read by ranges; a record may
 * name the master's access copy.
 */
export const RECORD_SCHEMA = 2;

export interface SourceRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly identifier: string;
  readonly source: SourceObjectJson;
  /** The master as probed. */
  readonly probe: SourceProbe;
  /** The access copy made from this version of the master, when there is one. */
  readonly copy?: AccessCopyRecord;
}

/** An access copy: a tiled pyramidal TIFF in the derivative bucket, read by ranges. */
export interface AccessCopyRecord {
  readonly key: string;
  readonly etag: string;
  readonly bytes: number;
  /** The copy described from its directories (probe.tiff is set). */
  readonly probe: SourceProbe;
}

/**
 * What renders read: the access copy when there is one, else the master. Everything a client
 * sees (info.json, resolution, planning, storage keys) stays the master's: a copy changes how the
 * pixels are read, never which derivatives there are.
 */
export function renderProbe(record: SourceRecord): SourceProbe {
  return record.copy?.probe ?? record.probe;
}

/** SourceObject as stored in JSON (dates as ISO strings). */
export interface SourceObjectJson {
  readonly key: string;
  readonly etag: string;
  readonly bytes: number;
  readonly lastModified?: string;
  readonly contentType?: string;
}

export type Prober = (input: Buffer | string) => Promise<SourceProbe>;

/** Describe a TIFF from ranged reads; undefined when it must be read whole (not tiled, not decodable by tiles). */
export type RangedProber = (read: ReadRange, bytes: number) => Promise<SourceProbe | undefined>;

export interface Probers {
  /** A whole source, as a file path or its bytes (lib/render's probe). */
  readonly whole: Prober;
  /** A TIFF by ranges; without it every source is probed whole, and access copies are not looked for. */
  readonly ranged?: RangedProber;
  /** A JPEG 2000 by ranges, from its header (it is never decoded to be described). */
  readonly jp2?: (read: ReadRange, bytes: number) => Promise<SourceProbe>;
  /** Whether a master so described gets an access copy (one to look for); none: never. */
  readonly copied?: (probe: SourceProbe) => boolean;
}

/** How many bytes of a source a header-only probe reads (JPEG, PNG, GIF, WebP headers fit). */
const PROBE_RANGE_BYTES = 256 * 1024;
/** Sources this small are read whole: one request beats two. */
const READ_WHOLE_BELOW_BYTES = 2 * 1024 * 1024;
/** Warm-container memory: a source replaced in S3 is noticed within this long (the purge drops the S3 copy). */
const MEMORY_TTL_MS = 60_000;
const MEMORY_CAPACITY = 2_000;

export interface RecordStats {
  /** Bytes read from the source bucket to build the record (0 when it was cached). */
  sourceBytesRead: number;
}

export interface RecordOptions {
  /** Skip both caches and rebuild the record (its source changed). */
  readonly fresh?: boolean;
  /**
   * Store a record built for this call (or held only in memory) in the derivative bucket
   * (default true). False for callers who may not write (anonymous and read-only clients): the
   * record is then kept in memory only, and stored by the next caller who may write.
   */
  readonly persist?: boolean;
}

export class SourceRecords {
  readonly #memory: TtlCache<SourceRecord>;
  readonly #probers: Probers;
  readonly #building = new SingleFlight<SourceRecord>();
  /** Identifiers whose record in memory was built for a caller who may not write: not stored yet. */
  readonly #unstored = new Set<string>();

  constructor(
    private readonly sources: SourceStore,
    private readonly derivatives: DerivativeStore,
    private readonly prefix: string,
    probe: Prober | Probers,
    now: () => number = Date.now,
  ) {
    this.#probers = typeof probe === 'function' ? { whole: probe } : probe;
    this.#memory = new TtlCache<SourceRecord>(MEMORY_CAPACITY, MEMORY_TTL_MS, now);
  }

  /**
   * The record for an identifier: from memory, else the stored JSON, else built by probing the
   * source (and stored unless `persist` is false). `fresh` skips both caches and rebuilds it
   * (its source changed).
   * @throws NotFoundError SOURCE_NOT_FOUND; SourceError / UnsupportedError from probing;
   *   UnavailableError STORAGE_UNAVAILABLE.
   */
  async get(identifier: string, stats?: RecordStats, options: RecordOptions = {}): Promise<SourceRecord> {
    const persist = options.persist ?? true;
    if (options.fresh !== true) {
      const remembered = this.#memory.get(identifier);
      if (remembered !== undefined) return this.#storeIfUnstored(identifier, remembered, persist);
      const stored = await this.derivatives.getJson<unknown>(recordKey(identifier, this.prefix));
      // A record from another schema version (or damaged) is rebuilt, not trusted.
      if (isRecordOf(stored, identifier)) {
        this.#unstored.delete(identifier);
        this.#memory.set(identifier, stored);
        return stored;
      }
    }
    const built = await this.#building.run(identifier, () => this.#build(identifier, stats, persist));
    // A caller who may write can join a build started by one who may not.
    return this.#storeIfUnstored(identifier, built, persist);
  }

  /**
   * Run `work` on the identifier's record; if the source turns out to have been replaced since
   * the record was made (SOURCE_CHANGED, from the record's own build or from `work`), run it once
   * more on a record built afresh. The one retry policy for everything made from a source.
   * @throws what `get` and `work` throw; SOURCE_CHANGED only when it happens twice.
   */
  async withCurrent<T>(identifier: string, options: RecordOptions & { readonly stats?: RecordStats }, work: (record: SourceRecord) => Promise<T>): Promise<T> {
    const { stats, ...rest } = options;
    try {
      return await work(await this.get(identifier, stats, rest));
    } catch (error) {
      if (!(error instanceof RectoError) || error.code !== 'SOURCE_CHANGED') throw error;
      return work(await this.get(identifier, stats, { ...rest, fresh: true }));
    }
  }

  /**
   * Record that an access copy of the master's current version exists: the stored record (and
   * this container's) names it from now on. Other warm containers see it within MEMORY_TTL_MS.
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async attachCopy(record: SourceRecord, copy: AccessCopyRecord): Promise<SourceRecord> {
    const updated: SourceRecord = { ...record, copy };
    await this.derivatives.putJson(recordKey(record.identifier, this.prefix), updated);
    this.#unstored.delete(record.identifier);
    this.#memory.set(record.identifier, updated);
    return updated;
  }

  /** Forget an identifier held in memory (after a purge). */
  forget(identifier: string): void {
    this.#memory.delete(identifier);
    this.#unstored.delete(identifier);
  }

  async #build(identifier: string, stats: RecordStats | undefined, persist: boolean): Promise<SourceRecord> {
    const object = await this.sources.head(identifier);
    const probe = await this.#probe(identifier, object, stats);
    // Only a master that gets a copy can have one, named by its ETag: one HEAD to know.
    const copy = this.#probers.copied?.(probe) === true ? await this.findCopy(identifier, object, stats) : undefined;
    const record: SourceRecord = {
      schema: RECORD_SCHEMA,
      identifier,
      source: toJson(object),
      probe,
      ...(copy === undefined ? {} : { copy }),
    };
    if (persist) {
      await this.derivatives.putJson(recordKey(identifier, this.prefix), record);
      this.#unstored.delete(identifier);
    } else {
      this.#unstored.add(identifier);
    }
    this.#memory.set(identifier, record);
    return record;
  }

  async #storeIfUnstored(identifier: string, record: SourceRecord, persist: boolean): Promise<SourceRecord> {
    if (persist && this.#unstored.has(identifier)) {
      await this.derivatives.putJson(recordKey(identifier, this.prefix), record);
      this.#unstored.delete(identifier);
    }
    return record;
  }

  async #probe(identifier: string, object: SourceObject, stats?: RecordStats): Promise<SourceProbe> {
    const { whole } = this.#probers;
    // A TIFF keeps its directories anywhere in the file: its first bytes cannot describe it, but
    // ranged reads of its directories can; a TIFF the HEAD already named is not sniffed first.
    let tiff = isTiffName(object.key, object.contentType);
    let jp2 = isJp2Name(object.key, object.contentType);
    if (!tiff && !jp2 && object.bytes > READ_WHOLE_BELOW_BYTES) {
      const head = await this.sources.readRange(identifier, 0, PROBE_RANGE_BYTES - 1, object.etag);
      if (stats !== undefined) stats.sourceBytesRead += head.length;
      tiff = isTiffHead(head);
      jp2 = isJp2Head(head);
      if (!tiff && !jp2) {
        try {
          return await whole(head);
        } catch {
          // A header that needs more than the first bytes: fall through to the whole file.
        }
      }
    }
    if (tiff) {
      const described = await this.#describeByRanges(identifier, object, stats);
      if (described !== undefined) return described;
    }
    // A JPEG 2000 is described from its header alone, and read by ranges from then on.
    if (jp2 && this.#probers.jp2 !== undefined) return this.#probers.jp2(countedReader(sourceTarget(this.sources, identifier, object), stats), object.bytes);
    return whole(await obtainCounted(this.sources, object, stats));
  }

  /**
   * The access copy of this version of the master, described from its directories, if it was
   * built (and this reader can read it).
   * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
   */
  async findCopy(identifier: string, object: SourceObject, stats?: RecordStats): Promise<AccessCopyRecord | undefined> {
    const describeTiff = this.#probers.ranged;
    if (describeTiff === undefined) return undefined;
    const key = accessCopyKey(identifier, object.etag, this.prefix);
    const stored = await this.derivatives.describe(key);
    if (stored === undefined) return undefined;
    const probe = await describeTiff(countedReader(storedTarget(this.derivatives, { key, ...stored }), stats), stored.bytes);
    // A copy this reader cannot read is no copy: renders go on from the master.
    return probe === undefined ? undefined : { key, ...stored, probe };
  }

  /** A tiled TIFF described from its directories alone; undefined sends it to the whole-file probe. */
  async #describeByRanges(identifier: string, object: SourceObject, stats?: RecordStats): Promise<SourceProbe | undefined> {
    if (this.#probers.ranged === undefined) return undefined;
    try {
      return await this.#probers.ranged(countedReader(sourceTarget(this.sources, identifier, object), stats), object.bytes);
    } catch (error) {
      // Directories this reader finds wrong or cannot use: libvips, reading the whole file, says
      // what it makes of them (it is the judge of a source's readability either way).
      if (error instanceof SourceError || error instanceof UnsupportedError) return undefined;
      throw error;
    }
  }
}

/**
 * The whole source from the /tmp cache (downloaded if absent), its bytes counted in `stats` only
 * when this very call downloaded them (not a cache hit, nor another request's download it joined).
 */
export async function obtainCounted(sources: SourceStore, object: SourceObject, stats?: RecordStats): Promise<string> {
  const { path, downloaded } = await sources.obtain(object);
  if (stats !== undefined && downloaded) stats.sourceBytesRead += object.bytes;
  return path;
}

function toJson(object: SourceObject): SourceObjectJson {
  return {
    key: object.key,
    etag: object.etag,
    bytes: object.bytes,
    ...(object.lastModified === undefined ? {} : { lastModified: object.lastModified.toISOString() }),
    ...(object.contentType === undefined ? {} : { contentType: object.contentType }),
  };
}

/** A SourceObject back from its JSON form. */
export function fromJson(json: SourceObjectJson): SourceObject {
  return {
    key: json.key,
    etag: json.etag,
    bytes: json.bytes,
    ...(json.lastModified === undefined ? {} : { lastModified: new Date(json.lastModified) }),
    ...(json.contentType === undefined ? {} : { contentType: json.contentType }),
  };
}

function isRecordOf(value: unknown, identifier: string): value is SourceRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<Record<keyof SourceRecord, unknown>>;
  const probe = record.probe as Partial<Record<keyof SourceProbe, unknown>> | undefined;
  const source = record.source as Partial<Record<keyof SourceObjectJson, unknown>> | undefined;
  return (
    record.schema === RECORD_SCHEMA &&
    record.identifier === identifier &&
    typeof source?.etag === 'string' &&
    typeof source.key === 'string' &&
    typeof probe?.width === 'number' &&
    typeof probe.height === 'number'
  );
}
