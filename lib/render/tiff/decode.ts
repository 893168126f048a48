/**
 * One tile's stored bytes to pixels: JPEG through sharp (its tables spliced in), Deflate through
 * node:zlib, LZW and uncompressed here; then the horizontal predictor, the file's byte order for
 * 16-bit samples, and min-is-white inverted to min-is-black. Edge tiles decode at the full stored
 * tile size: the caller crops.
 */
import { promisify } from 'node:util';
import { createInflate, inflate } from 'node:zlib';
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { corrupt, unsupported } from './failure.js';
import { pixelFormat, type PixelFormat } from './format.js';
import { standaloneJpeg } from './jpeg.js';
import type { JpegColour } from './jpeg.js';
import { decodeLzw } from './lzw.js';
import type { TiffImage, TiffStructure } from './structure.js';
import { COMPRESSION, PHOTOMETRIC, compressionName } from './tags.js';
import { tiledLayout } from './tiles.js';

const inflateAsync = promisify(inflate);

export interface DecodedTile {
  /** Interleaved samples; 16-bit ones in this machine's byte order (as a Uint16Array sees them). */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitsPerSample: 8 | 16;
}

/**
 * Decode one tile of `image` (a TIFF of `structure`) from its stored bytes.
 *
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for an image `pixelFormat` refuses.
 * @throws SourceError `SOURCE_UNREADABLE` for corrupt or short data, or a JPEG tile whose size or
 *   components differ from the TIFF's.
 */
export async function decodeTile(structure: Pick<TiffStructure, 'byteOrder'>, image: TiffImage, bytes: Buffer): Promise<DecodedTile> {
  const format = pixelFormat(image);
  const { tileWidth: width, tileHeight: height } = tiledLayout(image);
  const samples = image.compression === COMPRESSION.JPEG
    ? await decodeJpegTile(image, bytes, width, height, format.channels)
    : await decodeSamples(structure, image, bytes, width, height, format);
  if (image.photometric === PHOTOMETRIC.MIN_IS_WHITE) invertColour(samples, format.channels - image.extraSamples.length, format.channels, format.bitsPerSample);
  return { data: samples, width, height, channels: format.channels, bitsPerSample: format.bitsPerSample };
}

/** Samples of a tile stored without JPEG: decompressed, in this machine's byte order, predictor undone. */
async function decodeSamples(structure: Pick<TiffStructure, 'byteOrder'>, image: TiffImage, bytes: Buffer, width: number, height: number, format: PixelFormat): Promise<Buffer> {
  const expectedBytes = width * height * format.channels * (format.bitsPerSample / 8);
  const raw = await decompress(image.compression, bytes, expectedBytes);
  // Uncompressed samples are a view of the bytes read (shared with other tiles): copy before changing them.
  const samples = format.bitsPerSample === 16 ? toHost16(raw, structure.byteOrder === 'II') : image.compression === COMPRESSION.NONE ? Buffer.from(raw) : raw;
  if (image.predictor === 2) undoHorizontalPredictor(samples, width, height, format.channels, format.bitsPerSample);
  return samples;
}

/** The decompressed bytes, at least `expectedBytes` of them (the rest is dropped). */
async function decompress(compression: number, bytes: Buffer, expectedBytes: number): Promise<Buffer> {
  let raw: Buffer;
  switch (compression) {
    case COMPRESSION.NONE:
      raw = bytes;
      break;
    case COMPRESSION.LZW:
      return decodeLzw(bytes, expectedBytes);
    case COMPRESSION.DEFLATE:
    case COMPRESSION.ADOBE_DEFLATE:
      try {
        // One output chunk the size of the tile: one pass on the thread pool instead of one per 16 KiB.
        raw = await inflateAsync(bytes, { maxOutputLength: expectedBytes, chunkSize: Math.max(64, expectedBytes) });
      } catch (error) {
        // A stream longer than the tile is cut at the tile, as libtiff cuts it.
        if (isOutputLimit(error)) return inflateCut(bytes, expectedBytes);
        throw corrupt('a zlib stream', 'a Deflate tile', error instanceof Error ? error.message : 'unreadable data', error);
      }
      break;
    default:
      throw unsupported('compression none, LZW, JPEG or Deflate', 'a tile', compressionName(compression));
  }
  if (raw.length < expectedBytes) throw corrupt(`${expectedBytes} bytes`, `a ${compressionName(compression)} tile`, `${raw.length} bytes`);
  return raw.subarray(0, expectedBytes);
}

function isOutputLimit(error: unknown): boolean {
  return error instanceof RangeError || (error instanceof Error && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE');
}

/** Inflate only as far as the tile goes: a stream that would expand further is never expanded. */
function inflateCut(bytes: Buffer, expectedBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const stream = createInflate();
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= expectedBytes && !settled) {
        settled = true;
        stream.destroy();
        resolve(Buffer.concat(chunks, expectedBytes));
      }
    });
    stream.on('error', (error) => {
      if (!settled) reject(corrupt('a zlib stream', 'a Deflate tile', error.message, error));
      settled = true;
    });
    stream.on('end', () => {
      if (!settled) reject(corrupt(`${expectedBytes} bytes`, 'a Deflate tile', `${total} bytes`));
      settled = true;
    });
    stream.end(bytes);
  });
}

/** 16-bit samples from the file's byte order into this machine's. */
function toHost16(raw: Buffer, littleEndian: boolean): Buffer {
  const samples = new Uint16Array(raw.length / 2);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getUint16(2 * i, littleEndian);
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Predictor 2: each sample was stored as the difference from the same sample one pixel left. */
function undoHorizontalPredictor(data: Buffer, width: number, height: number, channels: number, bits: 8 | 16): void {
  const row = width * channels;
  if (bits === 8) {
    for (let y = 0; y < height; y++) {
      const start = y * row;
      for (let i = start + channels; i < start + row; i++) data[i] = ((data[i] ?? 0) + (data[i - channels] ?? 0)) & 0xff;
    }
    return;
  }
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  for (let y = 0; y < height; y++) {
    const start = y * row;
    for (let i = start + channels; i < start + row; i++) samples[i] = ((samples[i] ?? 0) + (samples[i - channels] ?? 0)) & 0xffff;
  }
}

/** Min-is-white grey becomes min-is-black, alpha untouched. */
function invertColour(data: Buffer, colour: number, channels: number, bits: 8 | 16): void {
  const samples = bits === 8 ? data : new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const max = bits === 8 ? 0xff : 0xffff;
  for (let i = 0; i < samples.length; i += channels) {
    for (let c = 0; c < colour; c++) samples[i + c] = max - (samples[i + c] ?? 0);
  }
}

/** The colour space a JPEG tile of `image` is in. */
export function jpegColour(image: TiffImage): JpegColour {
  if (image.samplesPerPixel === 1) return 'grey';
  return image.photometric === PHOTOMETRIC.YCBCR ? 'ycbcr' : 'rgb';
}

/** The TIFF's JPEGTables as bytes. */
export function jpegTables(image: TiffImage): Buffer | undefined {
  return image.jpegTables === undefined ? undefined : Buffer.from(image.jpegTables, 'base64');
}

async function decodeJpegTile(image: TiffImage, bytes: Buffer, width: number, height: number, channels: number): Promise<Buffer> {
  const jpeg = standaloneJpeg(jpegTables(image), bytes, jpegColour(image));
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // failOn 'warning': a damaged entropy segment is an error, not a tile of grey. sharp writes
    // raw output as sRGB unless told otherwise: one-component tiles stay one channel.
    const pipeline = sharp(jpeg, { failOn: 'warning' });
    decoded = await (channels === 1 ? pipeline.toColourspace('b-w') : pipeline).raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw corrupt('a decodable JPEG tile', 'a JPEG tile', error instanceof Error ? error.message.split('\n', 1)[0] ?? '' : 'unreadable data', error);
  }
  const { info } = decoded;
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw corrupt(`a ${width}x${height} JPEG tile of ${channels} channels`, 'a JPEG tile', `${info.width}x${info.height}x${info.channels}`);
  }
  return decoded.data;
}
