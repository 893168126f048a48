/**
 * Size resolution shared by both versions: from a parsed size and the region's pixel size to the
 * output width and height, within the server's limits. The grammars differ (v2.ts, v3.ts); the
 * arithmetic is one.
 */
import { IiifRequestError, expected } from '../errors.js';
import type { ApiVersion, Limits, Size, SizeRequest } from './types.js';

/** Limits with maxHeight defaulted to maxWidth, as 3.0 §5.3 tells clients to infer. */
export function effectiveLimits(limits: Limits): Limits {
  if (limits.maxWidth !== undefined && limits.maxHeight === undefined) {
    return { ...limits, maxHeight: limits.maxWidth };
  }
  return limits;
}

/** The height that keeps the region's aspect ratio at this width (the `w,` form). */
export function heightForWidth(width: number, region: Size): number {
  return Math.round((width * region.height) / region.width);
}

/** The width that keeps the region's aspect ratio at this height (the `,h` form). */
export function widthForHeight(height: number, region: Size): number {
  return Math.round((height * region.width) / region.height);
}

/**
 * The largest size with the region's aspect ratio inside the limits (and inside the region
 * unless upscaling). `max` is `maxSize(region, limits, false)`; 3.0 `^max` allows upscaling.
 */
export function maxSize(region: Size, limits: Limits, upscale: boolean): Size {
  const { maxWidth, maxHeight, maxArea } = effectiveLimits(limits);
  let scale = upscale ? Number.POSITIVE_INFINITY : 1;
  if (maxWidth !== undefined) scale = Math.min(scale, maxWidth / region.width);
  if (maxHeight !== undefined) scale = Math.min(scale, maxHeight / region.height);
  if (maxArea !== undefined) scale = Math.min(scale, Math.sqrt(maxArea / (region.width * region.height)));
  if (!Number.isFinite(scale)) return sizeOf(region); // ^max with no limits at all: nothing to grow to
  return shrinkInto(scaled(region, scale), limits);
}

/** A fitted size (`!w,h`): as large as possible inside the box, keeping the aspect ratio. */
function fitSize(region: Size, box: Size, upscale: boolean, limits: Limits): Size {
  const byWidth = box.width / region.width;
  const byHeight = box.height / region.height;
  const scale = upscale ? Math.min(byWidth, byHeight) : Math.min(byWidth, byHeight, 1);
  let size: Size;
  if (scale === 1) size = sizeOf(region);
  else if (byWidth <= byHeight) size = { width: Math.round(region.width * scale), height: Math.min(box.height, heightForWidth(Math.round(region.width * scale), region)) };
  else size = { width: Math.min(box.width, widthForHeight(Math.round(region.height * scale), region)), height: Math.round(region.height * scale) };
  // 3.0 §4.2: "as large as possible but not larger than ... server-imposed limits".
  return limitExceeded(size, limits) === undefined ? size : maxSize(region, limits, upscale);
}

/** Only the width and height (a Rect is a Size too, and must not leak its x and y). */
function sizeOf(size: Size): Size {
  return { width: size.width, height: size.height };
}

function scaled(region: Size, scale: number): Size {
  return {
    width: Math.max(1, Math.round(region.width * scale)),
    height: Math.max(1, Math.round(region.height * scale)),
  };
}

/** Rounding can overshoot a limit by a pixel: step down until the size is inside. */
function shrinkInto(size: Size, limits: Limits): Size {
  let { width, height } = size;
  while (limitExceeded({ width, height }, limits) !== undefined && (width > 1 || height > 1)) {
    if (width >= height) width -= 1;
    else height -= 1;
  }
  return { width, height };
}

/** The name of the first limit the size breaks, with its value, or undefined. */
export function limitExceeded(size: Size, limits: Limits): string | undefined {
  const { maxWidth, maxHeight, maxArea } = effectiveLimits(limits);
  if (maxWidth !== undefined && size.width > maxWidth) return `maxWidth ${maxWidth}`;
  if (maxHeight !== undefined && size.height > maxHeight) return `maxHeight ${maxHeight}`;
  if (maxArea !== undefined && size.width * size.height > maxArea) return `maxArea ${maxArea}`;
  return undefined;
}

/**
 * Resolve a parsed size against the region.
 * @throws IiifRequestError IIIF_UPSCALE_NOT_ALLOWED (3.0 without `^`), IIIF_SIZE_TOO_SMALL
 *   (under one pixel), IIIF_LIMIT_EXCEEDED (over maxWidth, maxHeight or maxArea).
 */
export function resolveSize(size: SizeRequest, region: Size, limits: Limits, version: ApiVersion, written: string): Size {
  const result = computeSize(size, region, limits);
  if (result.width < 1 || result.height < 1) {
    throw new IiifRequestError(
      'IIIF_SIZE_TOO_SMALL',
      expected(`a size of at least 1x1 pixels (this gives ${result.width}x${result.height})`, 'size', written),
    );
  }
  if (version === '3' && 'upscale' in size && !size.upscale && (result.width > region.width || result.height > region.height)) {
    throw new IiifRequestError(
      'IIIF_UPSCALE_NOT_ALLOWED',
      expected(`at most the region's ${region.width}x${region.height} pixels without "^"`, 'size', written),
    );
  }
  const limit = limitExceeded(result, limits);
  if (limit !== undefined) {
    throw new IiifRequestError(
      'IIIF_LIMIT_EXCEEDED',
      expected(`a size within ${limit} (this gives ${result.width}x${result.height})`, 'size', written),
    );
  }
  return result;
}

function computeSize(size: SizeRequest, region: Size, limits: Limits): Size {
  switch (size.kind) {
    case 'full':
      return sizeOf(region);
    case 'max':
      return maxSize(region, limits, size.upscale);
    case 'width':
      return { width: size.width, height: heightForWidth(size.width, region) };
    case 'height':
      return { width: widthForHeight(size.height, region), height: size.height };
    case 'percent':
      return {
        width: Math.round((region.width * size.percent) / 100),
        height: Math.round((region.height * size.percent) / 100),
      };
    case 'exact':
      return { width: size.width, height: size.height };
    case 'fit':
      return fitSize(region, size, size.upscale, limits);
  }
}
