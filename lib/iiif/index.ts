/** lib/iiif: the IIIF Image API 2.1 and 3.0, pure. No sharp, no AWS SDK, no Lambda types here. */
export * from './types.js';
export { parseImageRequest, parseImagePath, parseRotation, parseQualityFormat, type ImagePathSegments } from './parse.js';
export { resolve } from './resolve.js';
export {
  canonicalPath, canonicalUrl, storageKey, keyPath, identifierPrefix, recordKey, recordPrefix, internalPrefix, accessCopyKey, accessCopyPrefix, formatRotation,
  INTERNAL_ROOT, INTERNAL_AREAS, type InternalArea,
} from './canonical.js';
export { decodeIdentifier, encodeIdentifier, MAX_IDENTIFIER_BYTES } from './identifier.js';
export { VERSIONS, versionModule } from './versions.js';
export type { InfoOptions, VersionModule } from './version-module.js';
export { readInfo, viewerUrls, tileUrls, sizeUrls, VIEWERS, type Viewer, type ViewerUrl, type InfoSummary, type InfoTiles, type UrlKind } from './viewer-urls.js';
export { advertisedSizes, advertisedTiles, tileEdge, type TileSpec } from './info-common.js';
export { maxSize, heightForWidth, widthForHeight, limitExceeded, effectiveLimits } from './size.js';
