/**
 * Access copies: a master that is not a tiled pyramid Recto reads by ranges (a large JPEG, PNG,
 * WebP, a striped TIFF, any JPEG 2000) is converted once into a tiled pyramidal TIFF, stored in
 * the derivative bucket under the internal root and named by the master's ETag, and named in the
 * source record; from then on every render reads the copy by ranges. Built by the pre-warm
 * worker (a queued `ingest` job), by `npx recto ingest`, after an upload (the purge function
 * queues it), or queued by the first request that renders from such a master.
 *
 * One build per master version at a time: a single flight in this process, and across the fleet
 * a lease object created with If-None-Match beside the copy. The copy is stored with one
 * checksummed conditional PUT: it is there whole, or not at all, whatever kills a build.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accessCopyKey } from '../iiif/index.js';
import type { SourceProbe } from '../render/index.js';
import type { ReadRange } from '../render/tiff/ranges.js';
import type { DerivativeStore, SourceStore } from '../store/index.js';
import type { Deferrer } from './images.js';
import { SingleFlight } from './single-flight.js';
import { fromJson, obtainCounted, type AccessCopyRecord, type RecordStats, type SourceRecord, type SourceRecords } from './source-records.js';
import { TtlCache } from './ttl-cache.js';

/** Which masters get a copy, and what it is made of. */
export interface AccessCopyPolicy {
  /** Masters whose longer side is over this get one (JPEG 2000 masters always do). */
  readonly minSide: number;
  readonly tile: 256 | 512;
  /** JPEG quality of the copy's tiles (8-bit opaque masters). */
  readonly quality: number;
}

export interface CopyBuildOptions {
  readonly tile: 256 | 512;
  readonly quality: number;
  readonly maxInputPixels: number;
  readonly memoryBudgetBytes?: number;
}

/** lib/render's builder, loaded on first use. */
export type CopyBuilder = (input: string, probe: SourceProbe, output: string, options: CopyBuildOptions) => Promise<{ readonly bytes: number }>;

/** How a master is described from its directories (lib/render's TIFF describer). */
export type CopyDescriber = (read: ReadRange, bytes: number) => Promise<SourceProbe | undefined>;

export type CopyOutcome = 'built' | 'exists' | 'not-needed' | 'building-elsewhere';

export interface CopyReport {
  readonly identifier: string;
  readonly outcome: CopyOutcome;
  /** The copy, when there is one. */
  readonly copy?: AccessCopyRecord;
  readonly ms: number;
}

export interface AccessCopiesDeps {
  readonly records: Pick<SourceRecords, 'withCurrent' | 'attachCopy' | 'findCopy'>;
  readonly sources: SourceStore;
  readonly derivatives: Pick<DerivativeStore, 'putFile' | 'put' | 'describe' | 'deletePrefix'>;
  readonly build: CopyBuilder;
  readonly prefix: string;
  readonly policy: AccessCopyPolicy;
  /** Where copies are written before their upload. */
  readonly workDir: string;
  readonly maxInputPixels: number;
  readonly memoryBudgetBytes?: number;
}

/**
 * Whether a master gets an access copy: one that is not read by ranges already (a tiled pyramid
 * the tile decoder reads) and is a JPEG 2000, or larger than the policy's side.
 */
export function getsAccessCopy(probe: SourceProbe, policy: Pick<AccessCopyPolicy, 'minSide'>): boolean {
  if (probe.tiff !== undefined) return false;
  return probe.format === 'jp2' || Math.max(probe.width, probe.height) > policy.minSide;
}

/** A lease younger than this is a build going on elsewhere; an older one was abandoned. */
export const LEASE_MS = 15 * 60_000;
/** A request asks for a master's copy at most this often per process. */
const REQUESTED_TTL_MS = 10 * 60_000;

export class AccessCopies {
  readonly #builds = new SingleFlight<CopyReport>();
  readonly #requested: TtlCache<true>;

  constructor(
    private readonly deps: AccessCopiesDeps,
    private readonly now: () => number = Date.now,
  ) {
    this.#requested = new TtlCache<true>(10_000, REQUESTED_TTL_MS, now);
  }

  /** Whether this record's master wants a copy it does not have yet. */
  needs(record: SourceRecord): boolean {
    return record.copy === undefined && getsAccessCopy(record.probe, this.deps.policy);
  }

  /**
   * Hand the build of this record's copy to `deferrer` (the queue, or this process's background),
   * once per master per process for a while; does nothing when no copy is needed. Never throws:
   * the request that asked goes on from the master either way.
   */
  request(record: SourceRecord, deferrer: Deferrer | undefined, onError: (error: unknown) => void): void {
    if (deferrer === undefined || !this.needs(record)) return;
    const key = `${record.identifier}\n${record.source.etag}`;
    if (this.#requested.get(key) === true) return;
    this.#requested.set(key, true);
    deferrer.defer({ identifier: record.identifier, copy: true }, () => this.ensure(record.identifier)).catch((error: unknown) => {
      this.#requested.delete(key);
      onError(error);
    });
  }

  /**
   * Make sure the identifier's current master has its copy, building it here when it needs one
   * and nobody else is building it; resolves when the copy exists (or is not needed, or is being
   * built elsewhere).
   * @throws NotFoundError SOURCE_NOT_FOUND; SourceError for a master that cannot be read or
   *   converted; UnavailableError STORAGE_UNAVAILABLE.
   */
  ensure(identifier: string, stats?: RecordStats): Promise<CopyReport> {
    const started = this.now();
    return this.#builds.run(identifier, () =>
      this.deps.records.withCurrent(identifier, { ...(stats === undefined ? {} : { stats }) }, async (record) => {
        const report = (outcome: CopyOutcome, copy?: AccessCopyRecord): CopyReport => ({ identifier, outcome, ...(copy === undefined ? {} : { copy }), ms: this.now() - started });
        if (record.copy !== undefined) return report('exists', record.copy);
        if (!this.needs(record)) return report('not-needed');
        const source = fromJson(record.source);
        // Built by another worker since this record was made: only the record is behind.
        const found = await this.deps.records.findCopy(identifier, source, stats);
        if (found !== undefined) return report('exists', (await this.deps.records.attachCopy(record, found)).copy);
        const key = accessCopyKey(identifier, source.etag, this.deps.prefix);
        if (!(await this.#lease(key, source.etag))) return report('building-elsewhere');
        let copy: AccessCopyRecord;
        try {
          copy = await this.#build(record, key, stats);
        } catch (error) {
          // Let the next try build it at once, where this process may delete (a worker that may
          // not waits for the lease to age instead); a lease left after a success is harmless.
          await this.deps.derivatives.deletePrefix(leaseKey(key)).catch(() => undefined);
          throw error;
        }
        return report('built', (await this.deps.records.attachCopy(record, copy)).copy);
      }),
    );
  }

  async #build(record: SourceRecord, key: string, stats: RecordStats | undefined): Promise<AccessCopyRecord> {
    const { deps } = this;
    const master = await obtainCounted(deps.sources, fromJson(record.source), stats);
    await mkdir(deps.workDir, { recursive: true });
    const output = join(deps.workDir, `${randomUUID()}.tif`);
    try {
      await deps.build(master, record.probe, output, {
        tile: deps.policy.tile,
        quality: deps.policy.quality,
        maxInputPixels: deps.maxInputPixels,
        ...(deps.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: deps.memoryBudgetBytes }),
      });
      await deps.derivatives.putFile(key, output, { contentType: 'image/tiff' });
    } finally {
      await rm(output, { force: true });
    }
    const stored = await deps.records.findCopy(record.identifier, fromJson(record.source), stats);
    if (stored === undefined) throw new Error(`The access copy ${key} was stored but cannot be read back by ranges`);
    return stored;
  }

  /** Take the build lease of a copy: true when this process may build it. */
  async #lease(key: string, masterEtag: string): Promise<boolean> {
    const lease = leaseKey(key);
    const body = Buffer.from(JSON.stringify({ since: new Date(this.now()).toISOString() }));
    if ((await this.deps.derivatives.put(lease, body, { contentType: 'application/json', sourceEtag: masterEtag })) === 'created') return true;
    const held = await this.deps.derivatives.describe(lease);
    if (held?.lastModified !== undefined && this.now() - held.lastModified.getTime() < LEASE_MS) return false;
    // Abandoned (its builder died): take it over.
    await this.deps.derivatives.put(lease, body, { contentType: 'application/json', sourceEtag: masterEtag, replace: true });
    return true;
  }
}

function leaseKey(copyKey: string): string {
  return `${copyKey}.building`;
}
