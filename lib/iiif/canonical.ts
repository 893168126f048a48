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

/** Every derivative of one identifier lives under this prefix. */
export function identifierPrefix(identifier: string, prefix: string): string {
  return `${prefix}${encodeIdentifier(identifier)}/`;
}

/**
 * The root of everything in the derivative bucket that is not a derivative: source records,
 * S3 Batch Operations manifests and reports, access copies. Its first character, `!`, is one
 * encodeIdentifier always escapes (as `%21`), and every derivative key is the prefix followed by
 * an encoded identifier; so no identifier, however it is spelled, names a key in here, and no
 * purge of an identifier's prefix reaches in. (`!` is also one of the characters S3 calls safe
 * in keys.)
 */
export const INTERNAL_ROOT = '!recto/';

/** The areas under INTERNAL_ROOT, one folder each. */
export const INTERNAL_AREAS = ['records', 'batch', 'access'] as const;
export type InternalArea = (typeof INTERNAL_AREAS)[number];

/** `{prefix}!recto/{area}/`: where Recto keeps one kind of internal object. */
export function internalPrefix(area: InternalArea, prefix: string): string {
  return `${prefix}${INTERNAL_ROOT}${area}/`;
}

/** The folder of one identifier's source record (purged with its derivatives). */
export function recordPrefix(identifier: string, prefix: string): string {
  return `${internalPrefix('records', prefix)}${encodeIdentifier(identifier)}/`;
}

/** The source record's key: `{prefix}!recto/records/{encoded identifier}/source.json`. */
export function recordKey(identifier: string, prefix: string): string {
  return `${recordPrefix(identifier, prefix)}source.json`;
}

/** The folder of one identifier's access copies (purged with its derivatives). */
export function accessCopyPrefix(identifier: string, prefix: string): string {
  return `${internalPrefix('access', prefix)}${encodeIdentifier(identifier)}/`;
}

/**
 * The key of the access copy made from one version of a master, named by that version's ETag:
 * a replaced master never finds a copy of the old one under its own name.
 */
export function accessCopyKey(identifier: string, masterEtag: string, prefix: string): string {
  return `${accessCopyPrefix(identifier, prefix)}${encodeURIComponent(masterEtag.replace(/"/g, ''))}.tif`;
}

/**
 * The canonical URL for `Link: <…>;rel="canonical"`.
 * @param serviceBase the base URL including the version prefix, e.g. `https://x/iiif/3`
 */
export function canonicalUrl(serviceBase: string, version: ApiVersion, plan: Plan): string {
  return `${serviceBase}/${encodeIdentifier(plan.identifier)}/${canonicalPath(version, plan)}`;
}
