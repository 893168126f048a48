/**
 * Which tiled TIFF images the tile decoder reads, and the shape their pixels decode to. No sharp
 * here: deciding whether a master is read by ranges (describe.ts) must not load the renderer.
 */
import { unsupported } from './failure.js';
import type { TiffImage } from './structure.js';
import { COMPRESSION, PHOTOMETRIC } from './tags.js';

/** Tiles larger than this (4096 x 4096) are refused before anything is allocated for them. */
export const MAX_TILE_PIXELS = 4096 * 4096;

/** What a decodable image's pixels are: the shape every tile decodes to. */
export interface PixelFormat {
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitsPerSample: 8 | 16;
  /** The alpha channel is premultiplied (ExtraSamples 1, associated alpha). */
  readonly premultiplied: boolean;
}

const DECODABLE_COMPRESSIONS: readonly number[] = [COMPRESSION.NONE, COMPRESSION.LZW, COMPRESSION.JPEG, COMPRESSION.DEFLATE, COMPRESSION.ADOBE_DEFLATE];

/**
 * The pixel format of `image`, when this module can decode it: tiled, planar contiguous (or one
 * sample), unsigned 8- or 16-bit samples, grey or RGB (or YCbCr JPEG) with at most one alpha,
 * compression none, LZW, JPEG (8-bit) or Deflate, predictor none or horizontal.
 *
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` naming the first thing that is not.
 */
export function pixelFormat(image: TiffImage): PixelFormat {
  const part = image.subifd === undefined ? `page ${image.page}` : `SubIFD ${image.subifd}`;
  if (image.layout.kind !== 'tiled') throw unsupported('a tiled image', part, 'strips');
  const { tileWidth, tileHeight } = image.layout;
  if (tileWidth * tileHeight > MAX_TILE_PIXELS) throw unsupported(`tiles of at most ${MAX_TILE_PIXELS} pixels`, part, `${tileWidth}x${tileHeight}`);
  if (!DECODABLE_COMPRESSIONS.includes(image.compression)) throw unsupported('compression none, LZW, JPEG or Deflate', part, image.compressionName);
  if (image.planarConfiguration !== 1 && image.samplesPerPixel > 1) throw unsupported('planar configuration 1 (contiguous)', part, image.planarConfiguration);
  if (image.sampleFormat.some((format) => format !== 1)) throw unsupported('unsigned integer samples (sample format 1)', part, image.sampleFormat.join(','));
  const bits = image.bitsPerSample[0];
  if ((bits !== 8 && bits !== 16) || image.bitsPerSample.some((b) => b !== bits)) throw unsupported('8 or 16 bits in every sample', part, image.bitsPerSample.join(','));
  if (image.predictor !== 1 && image.predictor !== 2) throw unsupported('predictor 1 (none) or 2 (horizontal)', part, image.predictor);
  const channels = image.samplesPerPixel;
  const colour = channels - image.extraSamples.length;
  const alpha = image.extraSamples.length;
  if (alpha > 1 || (colour !== 1 && colour !== 3) || (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4)) {
    throw unsupported('grey or RGB with at most one alpha', part, `${colour} colour and ${alpha} extra samples`);
  }
  assertPhotometric(image, colour, part);
  // libvips cannot read min-is-white JPEG either: refusing it keeps both paths alike.
  if (image.compression === COMPRESSION.JPEG && (bits !== 8 || alpha > 0 || image.predictor !== 1 || image.photometric === PHOTOMETRIC.MIN_IS_WHITE)) {
    throw unsupported('8-bit min-is-black grey or colour JPEG without alpha', part, `${bits}-bit, ${channels} samples, photometric ${image.photometric}`);
  }
  return { channels, bitsPerSample: bits, premultiplied: image.extraSamples[0] === 1 };
}

function assertPhotometric(image: TiffImage, colour: number, part: string): void {
  const { photometric } = image;
  const grey = photometric === PHOTOMETRIC.MIN_IS_BLACK || photometric === PHOTOMETRIC.MIN_IS_WHITE;
  const rgb = photometric === PHOTOMETRIC.RGB || (photometric === PHOTOMETRIC.YCBCR && image.compression === COMPRESSION.JPEG);
  if ((colour === 1 && !grey) || (colour === 3 && !rgb)) {
    throw unsupported(colour === 1 ? 'photometric 0 or 1 (grey)' : 'photometric 2 (RGB), or 6 (YCbCr) in JPEG', part, photometric);
  }
}

/** Whether `pixelFormat` accepts `image`. */
export function isDecodable(image: TiffImage): boolean {
  try {
    pixelFormat(image);
    return true;
  } catch {
    return false;
  }
}

