/**
 * Purge: delete every derivative of an identifier, its source record and its access copies
 * (everything under its prefix in the derivative bucket, and its folders under the internal
 * root, page by page), when its source changes or goes. Driven by S3 event notifications of the source bucket (the purge function)
 * and by `npm run purge -- ID…`.
 * No sharp here: the purge function's bundle carries none.
 */
import { accessCopyPrefix, identifierPrefix, recordPrefix } from '../iiif/index.js';
import { identifierFromKey, type DerivativeStore } from '../store/index.js';

export interface PurgeDeps {
  readonly derivatives: Pick<DerivativeStore, 'deletePrefix'>;
  readonly prefix: string;
  /** This process's record cache (the local stack, a warm Lambda serving both): dropped too. */
  readonly records?: { forget(identifier: string): void };
}

/**
 * The prefixes that hold everything of one identifier: its derivatives, its access copies, then
 * the folder of its source record under the internal root. None can reach another identifier's
 * objects or anything else internal (see INTERNAL_ROOT in lib/iiif).
 */
export function purgePrefixes(identifier: string, prefix: string): readonly string[] {
  return [identifierPrefix(identifier, prefix), accessCopyPrefix(identifier, prefix), recordPrefix(identifier, prefix)];
}

/**
 * Delete an identifier's derivatives and source record; returns how many objects went.
 * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
 */
export async function purgeIdentifier(deps: PurgeDeps, identifier: string): Promise<number> {
  // Forget before and after: a request between the two would otherwise rebuild from memory.
  deps.records?.forget(identifier);
  let deleted = 0;
  // Derivatives first, the record last: a render between the two finds no record and rebuilds it
  // from the source as it is now.
  for (const prefix of purgePrefixes(identifier, deps.prefix)) deleted += await deps.derivatives.deletePrefix(prefix);
  deps.records?.forget(identifier);
  return deleted;
}

/** One object of a bucket that was created, replaced or removed. */
export interface SourceChange {
  readonly bucket: string;
  /** Decoded. */
  readonly key: string;
}

export interface PurgeOutcome {
  readonly key: string;
  /** Undefined when the key is not a source (another bucket, a key the template does not make). */
  readonly identifier?: string;
  readonly deleted: number;
}

/** Purge the identifiers whose sources these changed objects are; other objects are passed over. */
export async function purgeChanges(deps: PurgeDeps & { readonly sourceBucket: string; readonly keyTemplate: string }, changes: readonly SourceChange[]): Promise<PurgeOutcome[]> {
  const outcomes: PurgeOutcome[] = [];
  for (const change of changes) {
    const identifier = change.bucket === deps.sourceBucket ? identifierFromKey(deps.keyTemplate, change.key) : undefined;
    if (identifier === undefined) {
      outcomes.push({ key: change.key, deleted: 0 });
      continue;
    }
    outcomes.push({ key: change.key, identifier, deleted: await purgeIdentifier(deps, identifier) });
  }
  return outcomes;
}
