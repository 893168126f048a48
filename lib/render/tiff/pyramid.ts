/**
 * Which images of a TIFF are the levels of one pyramid. The rules are probing's, so a source
 * read by ranges gets the same levels (and info.json the same sizes) as one opened with sharp:
 * pages form a pyramid when every page is a power-of-two reduction of the first, both axes
 * alike; otherwise the first page's SubIFDs do when each is smaller than the one before.
 */
import type { Size } from '../../iiif/types.js';
import type { PyramidKind } from '../probe.js';
import { levelScale } from '../geometry.js';

/** More levels than this is no pyramid (2^32 reductions): such a file is read as a document. */
export const MAX_PYRAMID_LEVELS = 32;

/** Whether each size is smaller than the one before on both axes. */
export function isDecreasing(sizes: readonly Size[]): boolean {
  return sizes.every((size, i) => {
    const previous = sizes[i - 1];
    return previous === undefined || (size.width < previous.width && size.height < previous.height);
  });
}

/** Whether every size is a power-of-two reduction of the first, the same on both axes. */
export function isPagePyramid(sizes: readonly Size[]): boolean {
  const full = sizes[0];
  if (full === undefined || !isDecreasing(sizes)) return false;
  return sizes.slice(1).every((size) => {
    const x = levelScale(full.width, size.width);
    const y = levelScale(full.height, size.height);
    return x === y && Number.isInteger(Math.log2(1 / x));
  });
}

/**
 * Where the pyramid is: `pages` when the whole chain (read to its end, 2 to MAX_PYRAMID_LEVELS
 * pages) is one, else `subifds` when the first page has fewer than MAX_PYRAMID_LEVELS SubIFDs
 * that decrease from it, else none.
 */
export function choosePyramid(pages: readonly Size[], subifds: readonly Size[], chainComplete: boolean): PyramidKind | undefined {
  if (chainComplete && pages.length > 1 && pages.length <= MAX_PYRAMID_LEVELS && isPagePyramid(pages)) return 'pages';
  const first = pages[0];
  if (first !== undefined && subifds.length > 0 && subifds.length < MAX_PYRAMID_LEVELS && isDecreasing([first, ...subifds])) return 'subifds';
  return undefined;
}
