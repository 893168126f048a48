/**
 * How a tiled TIFF's full-resolution tiles are coded: the compression, for JPEG the colour coding
 * (YCbCr with its chroma subsampling, or RGB with none) and the tiles' mean size. A render that
 * reads many tiles pays for their bytes twice, fetching and entropy-decoding them.
 */
import { readFile } from 'node:fs/promises';
import { readUint } from '../lib/render/tiff/ifd.js';
import { readTiffStructure } from '../lib/render/tiff/structure.js';
import { ARRAY_TYPE_SIZES, PHOTOMETRIC } from '../lib/render/tiff/tags.js';

export interface TileCoding {
  readonly compression: string;
  /** `YCbCr 2x2`, `RGB`, `grey`… */
  readonly colour: string;
  readonly tiles: number;
  readonly meanTileBytes: number;
}

export async function tileCoding(path: string): Promise<TileCoding> {
  const file = await readFile(path);
  const { structure } = await readTiffStructure((offset, length) => Promise.resolve(file.subarray(offset, offset + length)), file.length);
  const image = structure.images[0];
  if (image === undefined) throw new Error(`${path}: no image in the TIFF`);
  const { byteCounts } = image;
  const size = ARRAY_TYPE_SIZES[byteCounts.type];
  const layout = { littleEndian: structure.byteOrder === 'II' };
  let total = 0;
  for (let i = 0; i < byteCounts.count; i++) total += byteCounts.values?.[i] ?? readUint(file, byteCounts.offset + i * size, size, layout);
  const [h, v] = image.ycbcrSubsampling ?? [2, 2];
  const colour = image.photometric === PHOTOMETRIC.YCBCR ? `YCbCr ${h}x${v}` : image.photometric === PHOTOMETRIC.RGB ? 'RGB' : image.samplesPerPixel === 1 ? 'grey' : `photometric ${image.photometric}`;
  return { compression: image.compressionName, colour, tiles: byteCounts.count, meanTileBytes: total / Math.max(1, byteCounts.count) };
}
