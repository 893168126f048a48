/**
 * Access copies: a master that is not a tiled pyramid (a large JPEG, PNG, WebP or GIF, a striped
 * TIFF, any JPEG 2000) made once, in a background worker, into a tiled pyramidal TIFF that the
 * ranged TIFF reader reads tile by tile (lib/render/tiff): every later render reads a few tiles
 * instead of the master.
 *
 * The copy is upright (EXIF orientation applied, orientation 1) and already in sRGB, or grey for
 * grey masters: CMYK and ICC-tagged masters are converted through their profiles here, as
 * render() would convert them at load, and the copy carries no profile. Renders from it then
 * need no colour management at all, and a copy is the same whatever the master's tagging. Its
 * tiles are JPEG (at the caller's quality, chroma as full as the master's) for 8-bit opaque
 * masters, colour or grey; Deflate with the horizontal predictor where JPEG would lose what the
 * master has: alpha, 16 bits, bitonal or palette images (whose hard edges and few colours JPEG
 * smears).
 *
 * libvips writes the pyramid (its levels are 2x2 averages, pages of the file) while it streams
 * the master through. A JPEG 2000 master is first decoded by lib/render/jp2, a band of tile rows
 * at a time, into an uncompressed libvips image file (`.v`) beside the output, which libvips maps
 * rather than holds: memory stays bounded by a band, not the master, and the disk beside the
 * output holds the uncompressed image meanwhile. An untiled JPEG 2000 is one tile and is decoded
 * whole: at most JP2_UNTILED_MAX_PIXELS (the codec's heap is the bound).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { SourceError, UnsupportedError, expected } from '../errors.js';
import { toRenderError } from './failure.js';
import { CODEC_HEAP_LIMIT } from './jp2/codec.js';
import { decodeJp2 } from './jp2/decode.js';
import { headerOf } from './jp2/describe.js';
import { openFileRange } from './jp2/reader.js';
import type { SourceProbe } from './probe.js';
import { configureSharp } from './setup.js';
import { regionTiff } from './tiff/wrap.js';

export interface AccessCopyOptions {
  /** Tile edge of the copy (and of its every level). */
  readonly tile: 256 | 512;
  /**
   * JPEG quality of the tiles of 8-bit opaque masters; at most FULL_CHROMA_QUALITY - 1 for a JPEG
   * master whose chroma is subsampled.
   */
  readonly quality: number;
  /** Masters with more pixels than this are refused (SOURCE_TOO_LARGE). */
  readonly maxInputPixels: number;
  /**
   * Memory the conversion may use, in bytes: bounds the bands a JPEG 2000 is decoded in, and
   * refuses (RENDER_TOO_LARGE) a master that must be decoded whole beyond it. Unset: bands of
   * 64 MB at most, no refusal.
   */
  readonly memoryBudgetBytes?: number;
}

export interface AccessCopy {
  readonly width: number;
  readonly height: number;
  /** The copy's size on disk. */
  readonly bytes: number;
  readonly compression: 'jpeg' | 'deflate';
}

/**
 * An untiled JPEG 2000 is decoded in one piece: its samples as 32-bit integers, the output
 * beside them and the codestream must fit the codec's 2 GiB heap. 100 MP of 8-bit RGB need
 * about 1.5 GiB plus the file.
 */
export const JP2_UNTILED_MAX_PIXELS = 100_000_000;
/** A band of a JPEG 2000 (decoded samples, then as written) is at most this, memory budget permitting. */
const JP2_BAND_BYTES = 64 * 1024 * 1024;

/**
 * Build the access copy of the master at `input` (a local file), described by `probe`, at
 * `output`. Written to a temporary name in the same directory, then renamed: a build that is
 * killed leaves nothing at `output` (a stale temporary file at most, named `.<output>.*.tmp`).
 *
 * @throws SourceError `SOURCE_TOO_LARGE` (422) for a master over `maxInputPixels`, or an untiled
 *   JPEG 2000 over JP2_UNTILED_MAX_PIXELS; `SOURCE_UNREADABLE` (422) for a corrupt master.
 * @throws UnsupportedError `RENDER_TOO_LARGE` (501) for a master that must be decoded whole
 *   beyond `memoryBudgetBytes`; `SOURCE_FORMAT_NOT_SUPPORTED` for what the decoders refuse.
 */
export async function buildAccessCopy(input: string, probe: SourceProbe, output: string, options: AccessCopyOptions): Promise<AccessCopy> {
  configureSharp();
  const pixels = probe.width * probe.height;
  if (pixels > options.maxInputPixels) {
    throw new SourceError('SOURCE_TOO_LARGE', expected(`at most ${options.maxInputPixels} pixels`, 'an access copy of the master', `${probe.width}x${probe.height}`));
  }
  const kind = await copyKind(input, probe);
  const compression = kind.sixteen || kind.alpha || kind.lossless ? 'deflate' : 'jpeg';
  const temporary = join(dirname(output), `.${basename(output)}.${randomBytes(6).toString('hex')}.tmp`);
  const scratch = `${temporary}.v`;
  try {
    let pipeline: Sharp;
    if (probe.jp2 === undefined) {
      pipeline = standard(sharp(input, { limitInputPixels: options.maxInputPixels, failOn: 'warning' }).autoOrient(), probe.hasProfile, kind);
    } else {
      await decodeJp2Master(input, probe, scratch, kind, options);
      // Our own file, of the size checked above.
      pipeline = sharp(scratch, { limitInputPixels: false }).toColourspace(space(kind));
    }
    await pipeline
      .tiff({
        compression,
        ...(compression === 'jpeg' ? { quality: jpegQuality(options.quality, kind) } : { predictor: 'horizontal' }),
        tile: true,
        tileWidth: options.tile,
        tileHeight: options.tile,
        pyramid: true,
        // Past 4 GB a classic TIFF's offsets overflow: a conservative bound on the copy.
        bigtiff: pixels * kind.bands * (kind.sixteen ? 2 : 1) * (4 / 3) > 3.5 * 1024 ** 3,
      })
      .toFile(temporary);
    await rename(temporary, output);
  } catch (error) {
    throw toRenderError(error, { maxInputPixels: options.maxInputPixels, input });
  } finally {
    await rm(temporary, { force: true });
    await rm(scratch, { force: true });
  }
  const { size } = await stat(output);
  return { width: probe.width, height: probe.height, bytes: size, compression };
}

function space(kind: CopyKind): 'b-w' | 'grey16' | 'srgb' | 'rgb16' {
  return kind.grey ? (kind.sixteen ? 'grey16' : 'b-w') : kind.sixteen ? 'rgb16' : 'srgb';
}

/**
 * libvips writes a TIFF's JPEG tiles with full chroma (RGB, no subsampling) from this quality up,
 * and YCbCr 4:2:0 below it. A master that has full chroma keeps it; a JPEG master that does not
 * is copied just below, since full chroma would triple its copy for detail it never had.
 */
export const FULL_CHROMA_QUALITY = 90;

/** What the copy holds: colour or grey, 8 or 16 bits, alpha, and whether JPEG would betray it. */
interface CopyKind {
  readonly grey: boolean;
  readonly sixteen: boolean;
  readonly alpha: boolean;
  /** Bitonal, palette or fewer than 8 bits: written losslessly. */
  readonly lossless: boolean;
  /** Bands of the copy. */
  readonly bands: number;
  /** A JPEG master whose chroma is subsampled (4:2:0, 4:2:2, …), as most cameras and scanners write. */
  readonly subsampledChroma: boolean;
}

async function copyKind(input: string, probe: SourceProbe): Promise<CopyKind> {
  const grey = probe.channels - (probe.hasAlpha ? 1 : 0) === 1 && probe.space !== 'cmyk';
  const sixteen = probe.depth === 'ushort';
  const alpha = probe.hasAlpha;
  let lossless: boolean;
  let subsampledChroma = false;
  if (probe.jp2 !== undefined) {
    lossless = probe.jp2.info.bits < 8;
  } else {
    const metadata = await sharp(input, { limitInputPixels: false }).metadata().catch((error: unknown) => {
      throw toRenderError(error, { maxInputPixels: 0, input });
    });
    lossless = metadata.isPalette || (metadata.bitsPerSample !== undefined && metadata.bitsPerSample < 8) || metadata.format === 'gif';
    subsampledChroma = metadata.format === 'jpeg' && metadata.chromaSubsampling !== undefined && !metadata.chromaSubsampling.startsWith('4:4:4');
  }
  return { grey, sixteen, alpha, lossless, bands: (grey ? 1 : 3) + (alpha ? 1 : 0), subsampledChroma };
}

/** The tiles' quality: the caller's, below FULL_CHROMA_QUALITY for a master without full chroma. */
function jpegQuality(quality: number, kind: CopyKind): number {
  return kind.subsampledChroma ? Math.min(quality, FULL_CHROMA_QUALITY - 1) : quality;
}

/**
 * sRGB or grey, at the master's depth, alpha kept. A profile is converted through into sRGB
 * (for 8-bit masters sharp does it at load; for 16-bit ones it would stop in Display P3 without
 * this), and none is attached to the copy.
 */
function standard(pipeline: Sharp, hasProfile: boolean, kind: CopyKind): Sharp {
  const converted = hasProfile ? pipeline.withIccProfile('srgb', { attach: false }) : pipeline;
  return converted.toColourspace(space(kind));
}

// ---- JPEG 2000 masters -----------------------------------------------------------------

/** libvips' own uncompressed format: a 64-byte header, then the pixels row by row. */
const VIPS = {
  /** The magic for little-endian data, as libvips writes it on x86 and ARM. */
  magic: [0xb6, 0xa6, 0xf2, 0x08],
  headerBytes: 64,
  format: { uchar: 0, ushort: 2 },
  interpretation: { 'b-w': 1, srgb: 22, rgb16: 25, grey16: 26 },
} as const;

/**
 * Decode a JPEG 2000 master into `scratch` (a `.v` file), a band of tile rows at a time, each
 * band converted to the copy's colour before it is written.
 */
async function decodeJp2Master(input: string, probe: SourceProbe, scratch: string, kind: CopyKind, options: AccessCopyOptions): Promise<void> {
  const description = probe.jp2;
  if (description === undefined) throw new TypeError(expected('a probe with the JPEG 2000 description', 'a JPEG 2000 access copy', 'a probe without one'));
  const { info } = description;
  const { width, height } = info;
  const sampleBytes = kind.sixteen ? 2 : 1;
  const rowBytes = width * info.components * sampleBytes;
  const untiled = info.tiles.across * info.tiles.down === 1;
  if (untiled && width * height > JP2_UNTILED_MAX_PIXELS) {
    throw new SourceError('SOURCE_TOO_LARGE', expected(`at most ${JP2_UNTILED_MAX_PIXELS} pixels for an access copy of an untiled JPEG 2000 master (decoded whole, in the codec's ${CODEC_HEAP_LIMIT / 2 ** 30} GiB heap)`, 'the master', `${width}x${height}`));
  }
  const budget = options.memoryBudgetBytes;
  // Measured: a 75 MP RGB master decoded whole holds 2 GB (the codec's 32-bit samples, its
  // output, ours): about 9 bytes a sample, 12 at 16 bits, and the codestream.
  if (untiled && budget !== undefined && width * height * info.components * (kind.sixteen ? 12 : 9) + description.fileBytes > budget) {
    throw new UnsupportedError('RENDER_TOO_LARGE', expected(`a master decoded whole within ${Math.floor(budget / 2 ** 20)} MB`, 'an access copy of an untiled JPEG 2000', `${width}x${height}`));
  }
  // Bands of whole tile rows; the decode and its colour conversion hold about three copies.
  const bandBytes = Math.min(JP2_BAND_BYTES, budget === undefined ? JP2_BAND_BYTES : budget / 4);
  const tileRows = untiled ? height : info.tile.height;
  const rowsPerBand = Math.max(tileRows, Math.floor(bandBytes / rowBytes / tileRows) * tileRows);

  const source = await openFileRange(input);
  const file = await open(scratch, 'w');
  try {
    const icc = description.icc === undefined ? undefined : await source.read(description.icc.offset, description.icc.length);
    const header = headerOf(description, icc);
    await file.write(vipsHeader(width, height, kind), 0, VIPS.headerBytes, 0);
    for (let top = 0; top < height; top += rowsPerBand) {
      const rows = Math.min(rowsPerBand, height - top);
      const decoded = await decodeJp2(source.read, header, { area: { x: 0, y: top, width, height: rows }, maxBytes: Math.max(rows * rowBytes, bandBytes) });
      const band = await toCopyColour(decoded, icc, kind);
      await file.write(band, 0, band.length, VIPS.headerBytes + top * width * kind.bands * sampleBytes);
    }
  } finally {
    await file.close();
    await source.close();
  }
}

function vipsHeader(width: number, height: number, kind: CopyKind): Buffer {
  const header = Buffer.alloc(VIPS.headerBytes);
  Buffer.from(VIPS.magic).copy(header, 0);
  header.writeInt32LE(width, 4);
  header.writeInt32LE(height, 8);
  header.writeInt32LE(kind.bands, 12);
  header.writeInt32LE(kind.sixteen ? 16 : 8, 16);
  header.writeInt32LE(kind.sixteen ? VIPS.format.ushort : VIPS.format.uchar, 20);
  header.writeInt32LE(0, 24);
  header.writeInt32LE(VIPS.interpretation[space(kind)], 28);
  header.writeFloatLE(1, 32);
  header.writeFloatLE(1, 36);
  return header;
}

/** A decoded band in the copy's colour: through its ICC profile into sRGB when it has one, else as decoded (sYCC is RGB already). */
async function toCopyColour(decoded: Awaited<ReturnType<typeof decodeJp2>>, icc: Buffer | undefined, kind: CopyKind): Promise<Buffer> {
  if (icc === undefined) return decoded.data;
  const pixels = { data: decoded.data, width: decoded.width, height: decoded.height, channels: decoded.channels, bitsPerSample: decoded.bits, premultiplied: false };
  const converted = standard(sharp(regionTiff(pixels, icc), { limitInputPixels: false }), true, kind);
  return converted.raw({ depth: kind.sixteen ? 'ushort' : 'uchar' }).toBuffer();
}
