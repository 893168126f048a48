/**
 * The TIFF LZW decoder against libtiff's encoder (files sharp wrote, with noise that fills and
 * clears the code table many times) and against a small encoder written here after libtiff's,
 * over random data.
 */
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeLzw, readTiffStructure, readTileLocations } from '../../../lib/render/tiff/index.js';
import { random } from '../../support/fixtures.js';
import { memoryReader } from './support.js';

/** libtiff's encoder: MSB-first codes, a clear first, the width growing when the next code would not fit, a clear at 4094 entries. */
function encodeLzw(data: Uint8Array): Buffer {
  const out: number[] = [];
  let bits = 0;
  let count = 0;
  let width = 9;
  const put = (code: number): void => {
    bits = (bits << width) | code;
    count += width;
    while (count >= 8) {
      out.push((bits >>> (count - 8)) & 0xff);
      count -= 8;
    }
    bits &= (1 << count) - 1;
  };
  let table = new Map<number, number>();
  let next = 258;
  put(256);
  let current = data[0] ?? -1;
  for (let i = 1; i < data.length; i++) {
    const byte = data[i] ?? 0;
    const known = table.get(current * 256 + byte);
    if (known !== undefined) {
      current = known;
      continue;
    }
    put(current);
    table.set(current * 256 + byte, next++);
    if (next === 4094) {
      put(256);
      table = new Map();
      next = 258;
      width = 9;
    } else if (next > (1 << width) - 1) {
      width++;
    }
    current = byte;
  }
  if (current >= 0) put(current);
  put(257);
  if (count > 0) out.push((bits << (8 - count)) & 0xff);
  return Buffer.from(out);
}

describe('decodeLzw', () => {
  it('decodes what libtiff encoded: every tile of a noisy image sharp wrote', async () => {
    // Prepare: noise fills the 4096-entry table (and clears it) many times per tile.
    const next = random(11);
    const raw = Buffer.from(Array.from({ length: 256 * 192 * 3 }, () => Math.floor(next() * 256) & 0xf0));
    const file = await sharp(raw, { raw: { width: 256, height: 192, channels: 3 } }).tiff({ tile: true, tileWidth: 64, tileHeight: 64, compression: 'lzw', predictor: 'none' }).toBuffer();
    const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
    const image = structure.images[0]!;
    const locations = await readTileLocations(memoryReader(file).read, structure, image, Array.from({ length: 12 }, (_, i) => i));
    for (const location of locations) {
      // Act
      const decoded = decodeLzw(file.subarray(location.offset, location.offset + location.byteCount), 64 * 64 * 3);
      // Assess
      const x = (location.index % 4) * 64;
      const y = Math.floor(location.index / 4) * 64;
      const expected = await sharp(raw, { raw: { width: 256, height: 192, channels: 3 } }).extract({ left: x, top: y, width: 64, height: 64 }).raw().toBuffer();
      expect(decoded.equals(expected)).toBe(true);
    }
  });

  it('decodes random data encoded the way libtiff encodes it, through every code width and table reset', () => {
    // Prepare
    const data = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 20_000 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 400 })), { maxLength: 200 }).map((runs) => Uint8Array.from(runs.flatMap(([value, length]) => new Array<number>(length).fill(value)))).filter((a) => a.length > 0),
    );
    // Act, Assess
    fc.assert(fc.property(data, (bytes) => decodeLzw(encodeLzw(bytes), bytes.length).equals(bytes)), { numRuns: 150, seed: 42 });
  });

  it('stops at the expected length when the data goes on', () => {
    // Prepare
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 256);
    // Act
    const decoded = decodeLzw(encodeLzw(bytes), 1000);
    // Assess
    expect(decoded.equals(bytes.subarray(0, 1000))).toBe(true);
  });

  it.each([
    ['data that ends early', () => encodeLzw(new Uint8Array(100).fill(3)), 'SOURCE_UNREADABLE', /Expected 200 bytes of LZW data/],
    ['a code not yet in the table', () => Buffer.from([0x80, 0x01, 0xff, 0xff, 0xf0]), 'SOURCE_UNREADABLE', /Expected an LZW code up to/],
    ['a first code that is no literal', () => Buffer.from([0x80, 0x4b, 0x00]), 'SOURCE_UNREADABLE', /Expected a literal after an LZW clear code/],
    ['old-style LZW', () => Buffer.from([0x00, 0x01, 0x02, 0x03]), 'SOURCE_FORMAT_NOT_SUPPORTED', /old-style LZW/],
  ])('refuses %s', (_name, make, code, message) => {
    // Act, Assess
    expect(() => decodeLzw(make(), 200)).toThrow(expect.objectContaining({ code }) as Error);
    expect(() => decodeLzw(make(), 200)).toThrow(message);
  });
});
