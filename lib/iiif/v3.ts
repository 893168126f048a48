/**
 * IIIF Image API 3.0: the size grammar (§4.2), canonical size (§4.7) and info.json (§5).
 * https://iiif.io/api/image/3.0/
 */
import { IiifRequestError, expected } from '../errors.js';
import { advertisedSizes, advertisedTiles } from './info-common.js';
import { maxSize } from './size.js';
import { parseSizeBody } from './size-grammar.js';
import type { Plan, SizeRequest, SourceImage } from './types.js';
import { EXTRA_FORMATS, type InfoOptions, type VersionModule } from './version-module.js';

const CONTEXT = 'http://iiif.io/api/image/3/context.json';
const SIZE_FORMS = 'max, ^max, w,, ^w,, ,h, ^,h, pct:n, ^pct:n, w,h, ^w,h, !w,h or ^!w,h';

/** Optional features beyond level 2 that Recto supports (3.0 §6 / compliance 3.0). */
export const EXTRA_FEATURES_3 = [
  'canonicalLinkHeader',
  'mirroring',
  'profileLinkHeader',
  'rotationArbitrary',
  'sizeUpscaling',
] as const;

/** @throws IiifRequestError IIIF_INVALID_SIZE */
function parseSize(text: string): SizeRequest {
  const upscale = text.startsWith('^');
  const body = upscale ? text.slice(1) : text;
  if (body === 'max') return { kind: 'max', upscale };
  if (body === 'full') {
    throw new IiifRequestError('IIIF_INVALID_SIZE', expected(`one of ${SIZE_FORMS} ("full" is 2.1 only; use "max")`, 'size', text));
  }
  const size = parseSizeBody(body, upscale, text);
  if (size === undefined) throw new IiifRequestError('IIIF_INVALID_SIZE', expected(`one of ${SIZE_FORMS}`, 'size', text));
  return size;
}

/**
 * 3.0 §4.7: `max` when the result is the region at its largest without upscaling, `^max` for
 * the largest upscaled, otherwise `w,h`, with `^` only when larger than the region.
 */
function formatSize(plan: Plan): string {
  const { size, region, limits } = plan;
  if (sameSize(size, maxSize(region, limits, false))) return 'max';
  const upscaled = size.width > region.width || size.height > region.height;
  if (upscaled && sameSize(size, maxSize(region, limits, true))) return '^max';
  return `${upscaled ? '^' : ''}${size.width},${size.height}`;
}

function sameSize(a: { width: number; height: number }, b: { width: number; height: number }): boolean {
  return a.width === b.width && a.height === b.height;
}

function infoDocument(source: SourceImage, options: InfoOptions): Record<string, unknown> {
  const { limits } = options;
  return {
    '@context': CONTEXT,
    id: options.id,
    type: 'ImageService3',
    protocol: 'http://iiif.io/api/image',
    profile: 'level2',
    width: source.width,
    height: source.height,
    ...(limits.maxWidth === undefined ? {} : { maxWidth: limits.maxWidth }),
    ...(limits.maxHeight === undefined ? {} : { maxHeight: limits.maxHeight }),
    ...(limits.maxArea === undefined ? {} : { maxArea: limits.maxArea }),
    sizes: advertisedSizes(source, limits),
    tiles: advertisedTiles(source, options.tileSize, limits),
    preferredFormats: ['jpg', 'webp'],
    extraFormats: [...EXTRA_FORMATS],
    extraQualities: ['color', 'gray', 'bitonal'],
    extraFeatures: [...EXTRA_FEATURES_3],
  };
}

export const v3 = {
  version: '3',
  contextUrl: CONTEXT,
  profileUrl: 'http://iiif.io/api/image/3/level2.json',
  parseSize,
  formatSize,
  infoDocument,
  // 3.0 §5: the JSON-LD media type with the context as its profile, whatever the Accept header.
  infoMediaType: () => `application/ld+json;profile="${CONTEXT}"`,
  infoVariesByAccept: false,
} as const satisfies VersionModule;
