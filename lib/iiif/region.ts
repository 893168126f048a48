/**
 * The region parameter, identical in 2.1 (§4.1) and 3.0 (§4.1): grammar, resolution to source
 * pixels, and the canonical form.
 */
import { IiifRequestError, expected } from '../errors.js';
import { formatNumber, parseDecimal, parseInteger } from './numbers.js';
import type { Rect, RegionRequest, Size } from './types.js';

const REGION_FORMS = 'full, square, x,y,w,h or pct:x,y,w,h';

/** @throws IiifRequestError IIIF_INVALID_REGION */
export function parseRegion(text: string): RegionRequest {
  if (text === 'full' || text === 'square') return { kind: text };
  const percent = text.startsWith('pct:');
  const numbers = (percent ? text.slice(4) : text).split(',');
  const parse = percent ? parseDecimal : parseInteger;
  const values = numbers.map(parse);
  const [x, y, width, height] = values;
  if (values.length !== 4 || x === undefined || y === undefined || width === undefined || height === undefined) {
    const what = percent ? 'four non-negative decimals after pct:' : REGION_FORMS;
    throw new IiifRequestError('IIIF_INVALID_REGION', expected(what, 'region', text));
  }
  if (width === 0 || height === 0) {
    throw new IiifRequestError('IIIF_INVALID_REGION', expected('a width and height greater than 0', 'region', text));
  }
  return { kind: percent ? 'percent' : 'pixels', x, y, width, height };
}

/**
 * The region in source pixels, cropped to the image.
 * @throws IiifRequestError IIIF_REGION_OUT_OF_BOUNDS when it lies wholly outside the image or
 *   rounds to less than one pixel.
 */
export function resolveRegion(region: RegionRequest, source: Size): Rect {
  switch (region.kind) {
    case 'full':
      return { x: 0, y: 0, width: source.width, height: source.height };
    case 'square': {
      const side = Math.min(source.width, source.height);
      // The largest centred square (3.0 §4.1 leaves the position to the server).
      return {
        x: Math.floor((source.width - side) / 2),
        y: Math.floor((source.height - side) / 2),
        width: side,
        height: side,
      };
    }
    case 'pixels':
      return crop(region, source, region);
    case 'percent':
      return crop(
        {
          x: Math.round((region.x * source.width) / 100),
          y: Math.round((region.y * source.height) / 100),
          width: Math.round((region.width * source.width) / 100),
          height: Math.round((region.height * source.height) / 100),
        },
        source,
        region,
      );
  }
}

function crop(rect: Rect, source: Size, asWritten: RegionRequest): Rect {
  if (rect.width < 1 || rect.height < 1) {
    throw new IiifRequestError(
      'IIIF_REGION_OUT_OF_BOUNDS',
      expected(`a region of at least one pixel of the ${source.width}x${source.height} image`, 'region', formatRegionRequest(asWritten)),
    );
  }
  if (rect.x >= source.width || rect.y >= source.height) {
    throw new IiifRequestError(
      'IIIF_REGION_OUT_OF_BOUNDS',
      expected(`a region inside the ${source.width}x${source.height} image`, 'region', formatRegionRequest(asWritten)),
    );
  }
  return {
    x: rect.x,
    y: rect.y,
    width: Math.min(rect.width, source.width - rect.x),
    height: Math.min(rect.height, source.height - rect.y),
  };
}

function formatRegionRequest(region: RegionRequest): string {
  switch (region.kind) {
    case 'full':
    case 'square':
      return region.kind;
    case 'pixels':
      return [region.x, region.y, region.width, region.height].map(formatNumber).join(',');
    case 'percent':
      return `pct:${[region.x, region.y, region.width, region.height].map((n) => String(n)).join(',')}`;
  }
}

/** Canonical region, both versions (2.1 §4.7, 3.0 §4.7): `full`, or `x,y,w,h` in pixels. */
export function formatRegion(region: Rect, source: Size): string {
  if (region.x === 0 && region.y === 0 && region.width === source.width && region.height === source.height) {
    return 'full';
  }
  return [region.x, region.y, region.width, region.height].map(formatNumber).join(',');
}
