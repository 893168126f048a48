/**
 * Encoder settings per output format and size. Derivatives are rendered once and served many
 * times, so small and medium outputs get the smaller encodings; the largest outputs get the
 * settings that keep memory and time bounded. Figures are from bench/ and the measurements in
 * the render engine's issue, on this 2-core machine.
 *
 * Every output is 8-bit sRGB (1 channel for gray and bitonal), stripped of metadata, with no ICC
 * profile embedded: untagged images are sRGB by definition on the web, and an embedded sRGB
 * profile would add ~3 KB to every tile. Outputs are deterministic for the same input and Plan.
 */
import type { GifOptions, JpegOptions, PngOptions, TiffOptions, WebpOptions } from 'sharp';
import type { EncodeConfig } from '../config.js';
import type { Quality, RenderableFormat, Size } from '../iiif/types.js';

/**
 * Up to this many output pixels (1024 x 1024), JPEG is baseline with optimised Huffman tables:
 * tiles and thumbnails decode fastest as baseline, and optimising costs ~4 ms per 512 tile for
 * ~6 % fewer bytes.
 */
export const JPEG_PROGRESSIVE_MIN_PIXELS = 1024 * 1024 + 1;
/**
 * Up to this many output pixels (2048 x 2048), a larger JPEG is progressive: screen-sized views
 * draw coarse to fine, ~3 % smaller. Beyond it, progressive encoding costs twice the time of
 * baseline (its scans are written only once every coefficient is in, so encoding no longer
 * overlaps decoding) for downloads nobody watches arrive.
 */
export const JPEG_PROGRESSIVE_MAX_PIXELS = 2048 * 2048;
/**
 * From this many output pixels on, JPEG is baseline with standard Huffman tables. Progressive
 * scans and optimised tables both hold every DCT coefficient of the image for a second pass:
 * 75 MP `full/max` takes 2.3 s and 630 MB that way, 0.44 s and 180 MB without (+2 % bytes).
 */
export const JPEG_STREAMING_MIN_PIXELS = 16 * 1024 * 1024 + 1;
/** 4:2:0 halves chroma resolution: invisible in photographs at quality 85, ~30 % fewer bytes. */
export const JPEG_CHROMA_SUBSAMPLING = '4:2:0';
/**
 * GIF quantisation (libimagequant) is the slowest encoder by far: effort 1 is ~8x faster than
 * sharp's default 7 on photographs (190 ms against 1.7 s for a 512 x 384 tile), same output size.
 */
export const GIF_EFFORT = 1;

export type EncoderSettings =
  | { readonly format: 'jpeg'; readonly options: JpegOptions }
  | { readonly format: 'png'; readonly options: PngOptions }
  | { readonly format: 'webp'; readonly options: WebpOptions }
  | { readonly format: 'gif'; readonly options: GifOptions }
  | { readonly format: 'tiff'; readonly options: TiffOptions };

/**
 * The encoder and its options for an output of `size` pixels (the final canvas) in `format`.
 * `hasAlpha` is whether the encoded image carries an alpha channel.
 */
export function encoderSettings(format: RenderableFormat, quality: Quality, size: Size, config: EncodeConfig, hasAlpha: boolean): EncoderSettings {
  const pixels = size.width * size.height;
  const bitonal = quality === 'bitonal';
  switch (format) {
    case 'jpg': {
      const progressive = pixels >= JPEG_PROGRESSIVE_MIN_PIXELS && pixels <= JPEG_PROGRESSIVE_MAX_PIXELS;
      return {
        format: 'jpeg',
        options: {
          quality: config.jpegQuality,
          chromaSubsampling: JPEG_CHROMA_SUBSAMPLING,
          progressive,
          optimiseCoding: pixels < JPEG_STREAMING_MIN_PIXELS,
          mozjpeg: false,
          trellisQuantisation: false,
          overshootDeringing: false,
          optimiseScans: false,
        },
      };
    }
    case 'png':
      return { format: 'png', options: { compressionLevel: config.pngCompressionLevel, adaptiveFiltering: false, palette: false, progressive: false } };
    case 'webp':
      // Bitonal must stay two-valued: lossy WebP would smear edges into greys.
      return bitonal
        ? { format: 'webp', options: { lossless: true, effort: config.webpEffort } }
        : { format: 'webp', options: { quality: config.webpQuality, effort: config.webpEffort, smartSubsample: false } };
    case 'gif':
      return { format: 'gif', options: { effort: GIF_EFFORT, dither: bitonal ? 0 : 1 } };
    case 'tif':
      // Lossless: TIFF is asked for by archives and print, not by viewers. Bitonal without alpha
      // is 1-bit CCITT Group 4, the fax format TIFF readers have supported for decades.
      return bitonal && !hasAlpha
        ? { format: 'tiff', options: { compression: 'ccittfax4', bitdepth: 1 } }
        : { format: 'tiff', options: { compression: 'deflate', predictor: 'horizontal' } };
  }
}
