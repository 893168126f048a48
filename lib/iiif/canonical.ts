/**
 * Canonical forms, computed from the Plan and never from the request strings: the canonical
 * path per version (2.1 §4.7, 3.0 §4.7), the canonical URL for the Link header, and the storage
 * key (the 3.0 form, so every spelling of the same pixels shares one object).
 */
import { encodeIdentifier } from './identifier.js';
import { formatNumber } from './numbers.js';
import { formatRegion } from './region.js';
import type { ApiVersion, Plan } from './types.js';
import { versionModule } from './versions.js';

/** Rotation, both versions: `!` when mirrored, then the degrees with no trailing zeros. */
export function formatRotation(plan: Pick<Plan, 'mirror' | 'rotation'>): string {
  return `${plan.mirror ? '!' : ''}${formatNumber(plan.rotation)}`;
}

/** `{region}/{size}/{rotation}/{quality}.{format}` in the given version's canonical form. */
export function canonicalPath(version: ApiVersion, plan: Plan): string {
  return [
    formatRegion(plan.region, plan.source),
    versionModule(version).formatSize(plan),
    formatRotation(plan),
    `${plan.quality}.${plan.format}`,
  ].join('/');
}

/**
 * The derivative's object key: `{prefix}{encoded identifier}/{region}/{w,h}/{rotation}/{quality}.{format}`,
 * the 3.0 canonical path except that the size is always the explicit `w,h`. A `max` in a key
 * would mean different pixels once the limits change; `w,h` always means the same pixels. The
 * identifier is percent-encoded exactly once, so it is always a single key segment.
 */
export function storageKey(plan: Plan, prefix: string): string {
  return `${identifierPrefix(plan.identifier, prefix)}${keyPath(plan)}`;
}

/** The part of a storage key after the identifier. */
export function keyPath(plan: Plan): string {
  return [
    formatRegion(plan.region, plan.source),
    `${plan.size.width},${plan.size.height}`,
    formatRotation(plan),
    `${plan.quality}.${plan.format}`,
  ].join('/');
}

/** Every object belonging to one identifier lives under this prefix (derivatives and record). */
export function identifierPrefix(identifier: string, prefix: string): string {
  return `${prefix}${encodeIdentifier(identifier)}/`;
}

/** The source record's key, beside the identifier's derivatives. */
export function recordKey(identifier: string, prefix: string): string {
  return `${identifierPrefix(identifier, prefix)}source.json`;
}

/**
 * The canonical URL for `Link: <…>;rel="canonical"`.
 * @param serviceBase the base URL including the version prefix, e.g. `https://x/iiif/3`
 */
export function canonicalUrl(serviceBase: string, version: ApiVersion, plan: Plan): string {
  return `${serviceBase}/${encodeIdentifier(plan.identifier)}/${canonicalPath(version, plan)}`;
}
