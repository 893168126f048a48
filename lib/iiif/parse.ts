/**
 * From the path segments of an image request to a typed ImageRequest, per API version. Each
 * segment is percent-decoded once; every malformed part is a 400 naming the part.
 */
import { IiifRequestError, expected } from '../errors.js';
import { decodeIdentifier, decodeSegment, encodeIdentifier } from './identifier.js';
import { parseDecimal } from './numbers.js';
import { parseRegion } from './region.js';
import { FORMATS, QUALITIES, type ApiVersion, type Format, type ImageRequest, type Quality, type RotationRequest } from './types.js';
import { versionModule } from './versions.js';

/** The five raw (still percent-encoded) path segments after the version prefix. */
export interface ImagePathSegments {
  readonly identifier: string;
  readonly region: string;
  readonly size: string;
  readonly rotation: string;
  /** `{quality}.{format}` */
  readonly qualityFormat: string;
}

/**
 * Parse an image request as written.
 * @throws IiifRequestError with IIIF_INVALID_IDENTIFIER, IIIF_INVALID_REGION, IIIF_INVALID_SIZE,
 *   IIIF_INVALID_ROTATION, IIIF_INVALID_QUALITY or IIIF_INVALID_FORMAT.
 */
export function parseImageRequest(version: ApiVersion, segments: ImagePathSegments): ImageRequest {
  const identifier = decodeIdentifier(segments.identifier);
  const region = parseRegion(decodeSegment(segments.region, 'region', 'IIIF_INVALID_REGION'));
  const size = versionModule(version).parseSize(decodeSegment(segments.size, 'size', 'IIIF_INVALID_SIZE'));
  const rotation = parseRotation(decodeSegment(segments.rotation, 'rotation', 'IIIF_INVALID_ROTATION'));
  const { quality, format } = parseQualityFormat(decodeSegment(segments.qualityFormat, 'quality.format', 'IIIF_INVALID_FORMAT'));
  return { version, identifier, region, size, rotation, quality, format };
}

/**
 * Parse a `{region}/{size}/{rotation}/{quality}.{format}` path (a preset, a viewer URL's tail, a
 * queued derivative) for an identifier that is already decoded, in the given version.
 * @throws IiifRequestError (400) naming the part; IIIF_INVALID_PATH when the path does not
 *   have four segments.
 */
export function parseImagePath(version: ApiVersion, path: string, identifier: string): ImageRequest {
  const segments = path.split('/');
  const [region, size, rotation, qualityFormat] = segments;
  if (segments.length !== 4 || region === undefined || size === undefined || rotation === undefined || qualityFormat === undefined) {
    throw new IiifRequestError('IIIF_INVALID_PATH', expected('four segments {region}/{size}/{rotation}/{quality}.{format}', 'the path', path));
  }
  return parseImageRequest(version, { identifier: encodeIdentifier(identifier), region, size, rotation, qualityFormat });
}

/** `n` or `!n`, 0 ≤ n ≤ 360, decimals allowed (2.1 §4.3, 3.0 §4.3). */
export function parseRotation(text: string): RotationRequest {
  const mirror = text.startsWith('!');
  const degrees = parseDecimal(mirror ? text.slice(1) : text);
  if (degrees === undefined || degrees > 360) {
    throw new IiifRequestError('IIIF_INVALID_ROTATION', expected('n or !n with 0 ≤ n ≤ 360', 'rotation', text));
  }
  return { mirror, degrees };
}

/** `{quality}.{format}` (2.1 §4.4–4.5, 3.0 §4.4–4.5). */
export function parseQualityFormat(text: string): { quality: Quality; format: Format } {
  const dot = text.indexOf('.');
  if (dot < 0) {
    throw new IiifRequestError('IIIF_INVALID_FORMAT', expected('{quality}.{format}, e.g. default.jpg', 'quality and format', text));
  }
  const quality = text.slice(0, dot);
  const format = text.slice(dot + 1);
  if (!isOneOf(QUALITIES, quality)) {
    throw new IiifRequestError('IIIF_INVALID_QUALITY', expected(`one of ${QUALITIES.join(', ')}`, 'quality', quality));
  }
  if (!isOneOf(FORMATS, format)) {
    throw new IiifRequestError('IIIF_INVALID_FORMAT', expected(`one of ${FORMATS.join(', ')}`, 'format', format));
  }
  return { quality, format };
}

function isOneOf<T extends string>(choices: readonly T[], value: string): value is T {
  return (choices as readonly string[]).includes(value);
}
