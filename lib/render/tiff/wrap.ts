/**
 * Decoded region pixels as a small uncompressed TIFF in memory, carrying what the master said of
 * them (grey or RGB, 8 or 16 bits, associated or unassociated alpha, the ICC profile), so that
 * libvips opens the region exactly as it would have opened the master: the same colour
 * interpretation and the same ICC conversion to sRGB, for one memcpy of the region.
 */
import type { RegionPixels } from './region.js';

const TYPE = { short: 3, long: 4, undefined: 7 } as const;
const TAG = {
  imageWidth: 256,
  imageLength: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfiguration: 284,
  extraSamples: 338,
  iccProfile: 34675,
} as const;

interface Entry {
  readonly tag: number;
  readonly type: number;
  /** SHORTs or LONGs, or the bytes of an UNDEFINED value. */
  readonly values: readonly number[] | Buffer;
}

/** The pixels as a single-strip little-endian TIFF; 16-bit samples must be in this machine's (little-endian) order. */
export function regionTiff(pixels: RegionPixels, icc?: Buffer): Buffer {
  const alpha = pixels.channels === 2 || pixels.channels === 4;
  const colour = alpha ? pixels.channels - 1 : pixels.channels;
  const entries: Entry[] = [
    { tag: TAG.imageWidth, type: TYPE.long, values: [pixels.width] },
    { tag: TAG.imageLength, type: TYPE.long, values: [pixels.height] },
    { tag: TAG.bitsPerSample, type: TYPE.short, values: Array.from({ length: pixels.channels }, () => pixels.bitsPerSample) },
    { tag: TAG.compression, type: TYPE.short, values: [1] },
    // Decoded samples are min-is-black grey or RGB whatever the master stored (YCbCr, min-is-white).
    { tag: TAG.photometric, type: TYPE.short, values: [colour === 1 ? 1 : 2] },
    { tag: TAG.stripOffsets, type: TYPE.long, values: [0] },
    { tag: TAG.samplesPerPixel, type: TYPE.short, values: [pixels.channels] },
    { tag: TAG.rowsPerStrip, type: TYPE.long, values: [pixels.height] },
    { tag: TAG.stripByteCounts, type: TYPE.long, values: [pixels.data.length] },
    { tag: TAG.planarConfiguration, type: TYPE.short, values: [1] },
    ...(alpha ? [{ tag: TAG.extraSamples, type: TYPE.short, values: [pixels.premultiplied ? 1 : 2] }] : []),
    ...(icc === undefined ? [] : [{ tag: TAG.iccProfile, type: TYPE.undefined, values: icc }]),
  ];
  return encode(entries, pixels.data);
}

function byteLength(entry: Entry): number {
  return Buffer.isBuffer(entry.values) ? entry.values.length : entry.values.length * (entry.type === TYPE.short ? 2 : 4);
}

/** Header, one IFD, the values too long for their entries, then the strip. */
function encode(entries: readonly Entry[], strip: Buffer): Buffer {
  const ifdBytes = 2 + entries.length * 12 + 4;
  const outOfLine = entries.filter((entry) => byteLength(entry) > 4);
  let valuesBytes = 0;
  for (const entry of outOfLine) valuesBytes += byteLength(entry) + (byteLength(entry) % 2);
  const stripOffset = 8 + ifdBytes + valuesBytes;
  const out = Buffer.alloc(stripOffset + strip.length);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  let next = 8 + ifdBytes;
  entries.forEach((entry, i) => {
    const at = 10 + i * 12;
    const values = entry.tag === TAG.stripOffsets ? [stripOffset] : entry.values;
    out.writeUInt16LE(entry.tag, at);
    out.writeUInt16LE(entry.type, at + 2);
    out.writeUInt32LE(Buffer.isBuffer(values) ? values.length : values.length, at + 4);
    const size = byteLength(entry);
    const where = size > 4 ? next : at + 8;
    if (size > 4) {
      out.writeUInt32LE(next, at + 8);
      next += size + (size % 2);
    }
    writeValues(out, where, entry.type, values);
  });
  strip.copy(out, stripOffset);
  return out;
}

function writeValues(out: Buffer, at: number, type: number, values: readonly number[] | Buffer): void {
  if (Buffer.isBuffer(values)) {
    values.copy(out, at);
    return;
  }
  values.forEach((value, i) => {
    if (type === TYPE.short) out.writeUInt16LE(value, at + i * 2);
    else out.writeUInt32LE(value, at + i * 4);
  });
}
