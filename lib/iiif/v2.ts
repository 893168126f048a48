/**
 * IIIF Image API 2.1: the size grammar (§4.2), canonical size (§4.7) and info.json (§5).
 * https://iiif.io/api/image/2.1/
 */
import { IiifRequestError, expected } from '../errors.js';
import { advertisedSizes, advertisedTiles } from './info-common.js';
import { heightForWidth } from './size.js';
import { parseSizeBody } from './size-grammar.js';
import type { Plan, SizeRequest, SourceImage } from './types.js';
import { EXTRA_FORMATS, type InfoOptions, type VersionModule } from './version-module.js';

const CONTEXT = 'http://iiif.io/api/image/2/context.json';
const PROFILE = 'http://iiif.io/api/image/2/level2.json';
const SIZE_FORMS = 'full, max, w,, ,h, pct:n, w,h or !w,h';

/** Every feature Recto supports, in 2.1's names (2.1 §5.3, compliance 2.1). */
export const SUPPORTS_2 = [
  'baseUriRedirect',
  'canonicalLinkHeader',
  'cors',
  'jsonldMediaType',
  'mirroring',
  'profileLinkHeader',
  'regionByPct',
  'regionByPx',
  'regionSquare',
  'rotationArbitrary',
  'rotationBy90s',
  'sizeAboveFull',
  'sizeByConfinedWh',
  'sizeByDistortedWh',
  'sizeByH',
  'sizeByPct',
  'sizeByW',
  'sizeByWh',
] as const;

/** @throws IiifRequestError IIIF_INVALID_SIZE */
function parseSize(text: string): SizeRequest {
  if (text === 'full') return { kind: 'full' };
  // 2.1 `max` never upscales: it is `full` unless a limit makes it smaller.
  if (text === 'max') return { kind: 'max', upscale: false };
  if (text.startsWith('^')) {
    throw new IiifRequestError('IIIF_INVALID_SIZE', expected(`one of ${SIZE_FORMS} ("^" is 3.0 only)`, 'size', text));
  }
  // 2.1 always allows upscaling (sizeAboveFull).
  const size = parseSizeBody(text, true, text);
  if (size === undefined) throw new IiifRequestError('IIIF_INVALID_SIZE', expected(`one of ${SIZE_FORMS}`, 'size', text));
  return size;
}

/**
 * 2.1 §4.7: `full` for the region at full size; `w,` when the aspect ratio is kept (the height
 * is the one `w,` yields); `w,h` only when the request distorts the image.
 */
function formatSize(plan: Plan): string {
  const { size, region } = plan;
  if (size.width === region.width && size.height === region.height) return 'full';
  if (size.height === heightForWidth(size.width, region)) return `${size.width},`;
  return `${size.width},${size.height}`;
}

function infoDocument(source: SourceImage, options: InfoOptions): Record<string, unknown> {
  const { limits } = options;
  return {
    '@context': CONTEXT,
    '@id': options.id,
    protocol: 'http://iiif.io/api/image',
    width: source.width,
    height: source.height,
    profile: [
      PROFILE,
      {
        formats: ['jpg', 'png', ...EXTRA_FORMATS],
        qualities: ['default', 'color', 'gray', 'bitonal'],
        supports: [...SUPPORTS_2],
        ...(limits.maxWidth === undefined ? {} : { maxWidth: limits.maxWidth }),
        ...(limits.maxHeight === undefined ? {} : { maxHeight: limits.maxHeight }),
        ...(limits.maxArea === undefined ? {} : { maxArea: limits.maxArea }),
      },
    ],
    sizes: advertisedSizes(source, limits),
    tiles: advertisedTiles(source, options.tileSize, limits),
  };
}

/** 2.1 §5: application/json, or application/ld+json when the client asks for it. */
function infoMediaType(accept: string | undefined): string {
  return accept !== undefined && /(^|,)\s*application\/ld\+json\s*(;|,|$)/i.test(accept)
    ? 'application/ld+json'
    : 'application/json';
}

export const v2 = {
  version: '2',
  contextUrl: CONTEXT,
  profileUrl: PROFILE,
  parseSize,
  formatSize,
  infoDocument,
  infoMediaType,
  infoVariesByAccept: true,
} as const satisfies VersionModule;
