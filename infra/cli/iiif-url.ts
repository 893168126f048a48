/**
 * IIIF request paths from their parts, checked with lib/iiif's own grammar, so the staff CLI
 * (`recto url`) and the local page's URL builder print only what the service would parse, and a
 * bad part fails with the message the service would answer (400, naming the part). Pure: the
 * browser bundle imports it too.
 */
import { encodeIdentifier, parseImageRequest, type ApiVersion } from '../../lib/iiif/index.js';

/** The parts of an image request, as written in the URL (before percent-encoding). */
export interface ImageRequestParts {
  readonly identifier: string;
  readonly region: string;
  readonly size: string;
  readonly rotation: string;
  readonly quality: string;
  readonly format: string;
  readonly version: ApiVersion;
}

/** What each part is when not given: the whole image at its largest size, as a JPEG, 3.0. */
export const IMAGE_REQUEST_DEFAULTS = {
  region: 'full',
  size: 'max',
  rotation: '0',
  quality: 'default',
  format: 'jpg',
  version: '3',
} as const satisfies Omit<ImageRequestParts, 'identifier'>;

/**
 * Percent-encode one path part written by a person, leaving the characters IIIF uses as
 * delimiters (`,` `:` `!` `^`) readable; anything else unusual (a space, `/`, `?`, `#`) is encoded,
 * so it reaches the service and is judged by the IIIF grammar, not lost on the way.
 */
export function encodePathPart(text: string): string {
  return encodeURIComponent(text).replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%5E/g, '^');
}

/**
 * `/iiif/{version}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}`, the identifier
 * percent-encoded once (`/` as `%2F`).
 *
 * @throws IiifRequestError (IIIF_INVALID_REGION, IIIF_INVALID_SIZE, IIIF_INVALID_ROTATION,
 *   IIIF_INVALID_QUALITY, IIIF_INVALID_FORMAT, IIIF_INVALID_IDENTIFIER) for a part the service
 *   would refuse with a 400.
 */
export function imageRequestPath(parts: ImageRequestParts): string {
  const segments = {
    identifier: encodeIdentifier(parts.identifier),
    region: encodePathPart(parts.region),
    size: encodePathPart(parts.size),
    rotation: encodePathPart(parts.rotation),
    qualityFormat: `${encodePathPart(parts.quality)}.${encodePathPart(parts.format)}`,
  };
  parseImageRequest(parts.version, segments);
  return `/iiif/${parts.version}/${segments.identifier}/${segments.region}/${segments.size}/${segments.rotation}/${segments.qualityFormat}`;
}

/** `/iiif/{version}/{identifier}/info.json`. */
export function infoRequestPath(identifier: string, version: ApiVersion): string {
  return `/iiif/${version}/${encodeIdentifier(identifier)}/info.json`;
}
