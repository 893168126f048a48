/**
 * Tiled TIFFs read by byte ranges: the structure once, then only the tiles under a region, or a
 * stored JPEG tile passed through. Knows nothing of S3 or HTTP: every read goes through the
 * ReadRange function the caller gives.
 */
export { readTiffStructure, TIFF_STRUCTURE_VERSION } from './structure.js';
export type { TiffStructure, TiffImage, TiledLayout, StripedLayout, NumberArrayRef, StructureOptions, StructureRead } from './structure.js';
export { choosePyramid, isPagePyramid, isDecreasing, MAX_PYRAMID_LEVELS } from './pyramid.js';
export { coalesceSpans, fetchSpans, readExactly, emptyStats } from './ranges.js';
export type { ReadRange, ReadStats, ByteSpan, CoalesceOptions, CoalescedRange, FetchOptions } from './ranges.js';
export { tilesCovering, tileArea, tiledLayout, readTileLocations, planTileRanges, MAX_TILE_BYTES } from './tiles.js';
export type { TileLocation, TileRange, LocationOptions } from './tiles.js';
export { decodeTile, jpegColour } from './decode.js';
export type { DecodedTile } from './decode.js';
export { pixelFormat, isDecodable, MAX_TILE_PIXELS } from './format.js';
export type { PixelFormat } from './format.js';
export { describeTiff } from './describe.js';
export { regionTiff } from './wrap.js';
export { decodeLzw } from './lzw.js';
export { standaloneJpeg, parseJpegHeader, jpegFrame } from './jpeg.js';
export type { JpegColour, JpegFrame } from './jpeg.js';
export { readRegion, levelImage, sharpRawInput } from './region.js';
export type { RegionOptions, RegionPixels, RegionRead, RegionStats } from './region.js';
export { isPassthroughImage, passthroughTile, passthroughJpeg, readPassthroughJpeg } from './passthrough.js';
