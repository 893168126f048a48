/**
 * Serving a stored JPEG tile as the derivative itself, with no decode and no re-encode: for a
 * request that maps exactly onto one tile of a level, the tile's bytes made into a standalone
 * JPEG are the answer.
 */
import type { Rect } from '../../iiif/types.js';
import { jpegColour, jpegTables } from './decode.js';
import { corrupt } from './failure.js';
import { jpegFrame, parseJpegHeader, standaloneJpeg } from './jpeg.js';
import { emptyStats, readExactly } from './ranges.js';
import type { ReadRange, ReadStats } from './ranges.js';
import type { TiffImage, TiffStructure } from './structure.js';
import { COMPRESSION, PHOTOMETRIC } from './tags.js';
import { readTileLocations, tileArea } from './tiles.js';

/**
 * Whether `image`'s tiles are, once standalone, JPEG derivatives as Recto serves them: JPEG
 * compression, tiled, 8-bit grey (min-is-black) or RGB / YCbCr colour, no alpha or other extra
 * samples, orientation 1 (stored is displayed), and no ICC profile (output is untagged sRGB, so
 * only untagged sources pass through unchanged).
 */
export function isPassthroughImage(image: TiffImage): boolean {
  const grey = image.samplesPerPixel === 1 && image.photometric === PHOTOMETRIC.MIN_IS_BLACK;
  const colour = image.samplesPerPixel === 3 && (image.photometric === PHOTOMETRIC.RGB || image.photometric === PHOTOMETRIC.YCBCR);
  return image.compression === COMPRESSION.JPEG && image.layout.kind === 'tiled' && image.bitsPerSample.every((bits) => bits === 8) &&
    (grey || colour) && image.extraSamples.length === 0 && image.orientation === 1 && image.iccProfile === undefined &&
    (image.planarConfiguration === 1 || image.samplesPerPixel === 1);
}

/**
 * The index of the tile that is exactly `rect` (pixels of `image`), when that tile can be passed
 * through; undefined otherwise. A tile is only ever passed through whole: `rect` must start on a
 * tile boundary and be the full stored tile size, so an edge tile (whose stored tile is larger
 * than the image area it holds) never qualifies unless the image ends exactly at its edge.
 *
 * The request must also be one a stored JPEG answers: JPEG output, quality default or color, no
 * mirror or rotation, and an output size equal to `rect`'s (no resize). Checking that is the
 * caller's part.
 */
export function passthroughTile(image: TiffImage, rect: Rect): number | undefined {
  if (!isPassthroughImage(image) || image.layout.kind !== 'tiled') return undefined;
  const { tileWidth, tileHeight, across } = image.layout;
  if (rect.x % tileWidth !== 0 || rect.y % tileHeight !== 0 || rect.width !== tileWidth || rect.height !== tileHeight) return undefined;
  if (rect.x + rect.width > image.width || rect.y + rect.height > image.height) return undefined;
  const index = (rect.y / tileHeight) * across + rect.x / tileWidth;
  const area = tileArea(image, index);
  return area.width === tileWidth && area.height === tileHeight ? index : undefined;
}

/**
 * A stored JPEG tile of `image` as a standalone JPEG file: the shared tables spliced in, a JFIF
 * marker for YCbCr or an Adobe marker (transform 0) for RGB-photometric tiles so every decoder
 * reads the colours as stored. No pixel is decoded.
 *
 * @throws SourceError `SOURCE_UNREADABLE` when the bytes are not a JPEG stream of the tile's size
 *   and component count.
 */
export function passthroughJpeg(image: TiffImage, tileBytes: Buffer): Buffer {
  if (image.layout.kind !== 'tiled') throw corrupt('a tiled image', 'a passthrough tile', 'strips');
  const jpeg = standaloneJpeg(jpegTables(image), tileBytes, jpegColour(image));
  const frame = jpegFrame(parseJpegHeader(jpeg, 'a passthrough tile').segments);
  const { tileWidth, tileHeight } = image.layout;
  if (frame?.width !== tileWidth || frame.height !== tileHeight) {
    throw corrupt(`a ${tileWidth}x${tileHeight} JPEG frame`, 'a passthrough tile', frame === undefined ? 'no frame header' : `${frame.width}x${frame.height}`);
  }
  return jpeg;
}

/**
 * Read tile `index` of `image` and make it a standalone JPEG (see passthroughJpeg): one round
 * for its location unless the description holds it, one for its bytes.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a corrupt tile, its location, or a short read.
 */
export async function readPassthroughJpeg(read: ReadRange, structure: TiffStructure, image: TiffImage, index: number): Promise<{ readonly jpeg: Buffer; readonly stats: ReadStats }> {
  const stats = emptyStats();
  const [location] = await readTileLocations(read, structure, image, [index], {}, stats);
  if (location === undefined || location.byteCount === 0) throw corrupt('a stored tile', `tile ${index}`, 'a sparse tile');
  stats.rounds++;
  const bytes = await readExactly(read, location.offset, location.byteCount, stats);
  return { jpeg: passthroughJpeg(image, bytes), stats };
}
