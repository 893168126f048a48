/**
 * TIFF's LZW: codes MSB-first, 9 to 12 bits wide, 256 clears the table, 257 ends the data, and
 * the width grows one code early (at 511, 1023 and 2047 entries) as libtiff's encoder does. The
 * pre-1992 "old-style" variant (LSB-first) is not read.
 *
 * Every table entry is the previous code's string plus one byte, and both were written to the
 * output one after the other: so an entry is kept as a (start, length) slice of the output and
 * decoding a code is a forward copy, without per-entry prefix chains.
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
  // A string is at most 4096 bytes: slack past the end lets the last one be written whole.
  const out = Buffer.alloc(expectedBytes + TABLE_SIZE);
  const start = new Int32Array(TABLE_SIZE);
  const length = new Uint16Array(TABLE_SIZE);
  let next = FIRST_FREE;
  let width = 9;
  let mask = (1 << width) - 1;
  // Where the previous code's string was written, and its length; -1 right after a clear.
  let previousStart = -1;
  let previousLength = 0;
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
    const code = (bits >>> bitCount) & mask;
    if (code === END) break;
    if (code === CLEAR) {
      next = FIRST_FREE;
      width = 9;
      mask = (1 << width) - 1;
      previousStart = -1;
      continue;
    }
    const here = written;
    if (code < 256) {
      out[written++] = code;
    } else if (previousStart < 0) {
      throw corrupt('a literal after an LZW clear code', 'an LZW tile', code);
    } else if (code < next) {
      written = copy(out, start[code] ?? 0, length[code] ?? 0, written);
    } else if (code === next) {
      // Not in the table yet (KwKwK): the previous string plus its own first byte.
      written = copy(out, previousStart, previousLength, written);
      out[written] = out[here] ?? 0;
      written++;
    } else {
      throw corrupt(`an LZW code up to ${next}`, 'an LZW tile', code);
    }
    if (previousStart >= 0) {
      if (next >= TABLE_SIZE) throw corrupt('an LZW clear code before the table overflows', 'an LZW tile', `code ${next}`);
      start[next] = previousStart;
      length[next] = previousLength + 1;
      next++;
      if (next >= mask && width < MAX_WIDTH) mask = (1 << ++width) - 1;
    }
    previousStart = here;
    previousLength = written - here;
  }
  if (written < expectedBytes) throw corrupt(`${expectedBytes} bytes of LZW data`, 'an LZW tile', `${written} bytes`);
  return out.subarray(0, expectedBytes);
}

/** Copy `size` bytes from `from` to `to` (an earlier part of the output to its end); the new end. */
function copy(out: Buffer, from: number, size: number, to: number): number {
  for (let i = 0; i < size; i++) out[to + i] = out[from + i] ?? 0;
  return to + size;
}
