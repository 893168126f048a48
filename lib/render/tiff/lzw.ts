/**
 * TIFF's LZW: codes MSB-first, 9 to 12 bits wide, 256 clears the table, 257 ends the data, and
 * the width grows one code early (at 511, 1023 and 2047 entries) as libtiff's encoder does. The
 * pre-1992 "old-style" variant (LSB-first) is not read.
 */
import { corrupt, unsupported } from './failure.js';

const CLEAR = 256;
const END = 257;
const FIRST_FREE = 258;
const TABLE_SIZE = 4096;
const MAX_WIDTH = 12;

/**
 * Decompress `input` into exactly `expectedBytes` bytes (extra output is dropped, as libtiff
 * drops what runs past a tile).
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a code that is not in the table yet, a table that
 *   overflows without a clear, or data that ends before `expectedBytes`.
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for old-style LZW.
 */
export function decodeLzw(input: Uint8Array, expectedBytes: number): Buffer {
  if (input.length >= 2 && input[0] === 0 && ((input[1] ?? 0) & 1) === 1) {
    throw unsupported('TIFF LZW (MSB-first)', 'an LZW tile', 'old-style LZW');
  }
  // The longest string is 4096 bytes: slack past the end lets a string be written whole.
  const out = Buffer.alloc(expectedBytes + TABLE_SIZE);
  const prefix = new Uint16Array(TABLE_SIZE);
  const suffix = new Uint8Array(TABLE_SIZE);
  const length = new Uint16Array(TABLE_SIZE);
  const first = new Uint8Array(TABLE_SIZE);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let next = FIRST_FREE;
  let width = 9;
  let previous = -1;
  let written = 0;
  let bits = 0;
  let bitCount = 0;
  let at = 0;
  while (written < expectedBytes) {
    while (bitCount < width && at < input.length) {
      bits = ((bits << 8) | (input[at++] ?? 0)) & 0xffffff;
      bitCount += 8;
    }
    if (bitCount < width) break;
    bitCount -= width;
    const code = (bits >>> bitCount) & ((1 << width) - 1);
    if (code === END) break;
    if (code === CLEAR) {
      next = FIRST_FREE;
      width = 9;
      previous = -1;
      continue;
    }
    if (previous === -1) {
      if (code > 255) throw corrupt('a literal after an LZW clear code', 'an LZW tile', code);
      out[written++] = code;
      previous = code;
      continue;
    }
    if (code > next) throw corrupt(`an LZW code up to ${next}`, 'an LZW tile', code);
    // A code not yet in the table (KwKwK) is the previous string plus its own first byte.
    const source = code === next ? previous : code;
    const firstByte = first[source] ?? 0;
    written = writeString(out, written, source, prefix, suffix, length);
    if (code === next) out[written++] = first[previous] ?? 0;
    if (next >= TABLE_SIZE) throw corrupt('an LZW clear code before the table overflows', 'an LZW tile', `code ${next}`);
    prefix[next] = previous;
    suffix[next] = code === next ? (first[previous] ?? 0) : firstByte;
    length[next] = (length[previous] ?? 0) + 1;
    first[next] = first[previous] ?? 0;
    next++;
    if (next >= (1 << width) - 1 && width < MAX_WIDTH) width++;
    previous = code;
  }
  if (written < expectedBytes) throw corrupt(`${expectedBytes} bytes of LZW data`, 'an LZW tile', `${written} bytes`);
  return out.subarray(0, expectedBytes);
}

/** Write the string of `code` at `at`, back to front along its prefix chain; the new end. */
function writeString(out: Buffer, at: number, code: number, prefix: Uint16Array, suffix: Uint8Array, length: Uint16Array): number {
  const size = length[code] ?? 0;
  let position = at + size - 1;
  let current = code;
  for (let i = 0; i < size; i++) {
    out[position--] = suffix[current] ?? 0;
    current = prefix[current] ?? 0;
  }
  return at + size;
}
