/**
 * Decompression bombs that are valid images: a PNG of `width` x `height` pixels that are all
 * zero, compressed to a few hundred kilobytes, which a decoder must really decode (unlike the
 * header-only lie of fixtures.ts's pngBomb, which fails as soon as the data runs out).
 */
import { createDeflate, crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG colour types by channel count: grey, grey + alpha, RGB, RGBA. */
const COLOUR_TYPES = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

function chunk(type: string, body: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  return Buffer.concat([u32(body.length), typed, u32(crc32(typed))]);
}

/** A valid 8-bit PNG of zeros (black, transparent with alpha), deflated at level 9. */
export async function zeroPng(width: number, height: number, channels: 1 | 2 | 3 | 4 = 1): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise<void>((resolve, reject) => {
    deflate.once('end', resolve);
    deflate.once('error', reject);
  });
  // Each row: filter type 0, then the samples.
  const row = Buffer.alloc(width * channels + 1);
  for (let y = 0; y < height; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  const header = Buffer.concat([u32(width), u32(height), Buffer.from([8, COLOUR_TYPES[channels], 0, 0, 0])]);
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', Buffer.alloc(0))]);
}
