/** From an ImageRequest and the source's size to a Plan: the exact pixels, whatever the spelling. */
import { UnsupportedError, expected } from '../errors.js';
import { roundRotation } from './numbers.js';
import { resolveRegion } from './region.js';
import { resolveSize } from './size.js';
import { RENDERABLE_FORMATS, type ImageRequest, type Limits, type Plan, type RenderableFormat, type Size, type SizeRequest } from './types.js';

/**
 * Resolve a request against a source of the given size and the server's limits.
 * @throws IiifRequestError IIIF_REGION_OUT_OF_BOUNDS, IIIF_SIZE_TOO_SMALL,
 *   IIIF_UPSCALE_NOT_ALLOWED, IIIF_LIMIT_EXCEEDED; UnsupportedError FORMAT_NOT_SUPPORTED for a
 *   valid format Recto does not write (jp2, pdf).
 */
export function resolve(request: ImageRequest, source: Size, limits: Limits): Plan {
  const region = resolveRegion(request.region, source);
  const size = resolveSize(request.size, region, limits, request.version, formatSizeRequest(request.size, request.version === '3'));
  return {
    identifier: request.identifier,
    source: { width: source.width, height: source.height },
    limits,
    region,
    size,
    mirror: request.rotation.mirror,
    // 360 is the same pixels as 0: one Plan, one key.
    rotation: roundRotation(request.rotation.degrees) % 360,
    quality: request.quality,
    format: renderableFormat(request.format),
  };
}

function renderableFormat(format: string): RenderableFormat {
  const found = RENDERABLE_FORMATS.find((candidate) => candidate === format);
  if (found === undefined) {
    throw new UnsupportedError(
      'FORMAT_NOT_SUPPORTED',
      expected(`one of the formats this server writes (${RENDERABLE_FORMATS.join(', ')})`, 'format', format),
    );
  }
  return found;
}

/** The size as the client wrote it, for messages. */
function formatSizeRequest(size: SizeRequest, caret: boolean): string {
  const up = caret && 'upscale' in size && size.upscale ? '^' : '';
  switch (size.kind) {
    case 'full':
      return 'full';
    case 'max':
      return `${up}max`;
    case 'width':
      return `${up}${size.width},`;
    case 'height':
      return `${up},${size.height}`;
    case 'percent':
      return `${up}pct:${size.percent}`;
    case 'exact':
      return `${up}${size.width},${size.height}`;
    case 'fit':
      return `${up}!${size.width},${size.height}`;
  }
}
