/**
 * The two TIFF layouts at the byte level: the header, image file directories (IFDs) and the
 * values their entries point to. Classic TIFF (magic 42: 2-byte entry counts, 12-byte entries,
 * 4-byte offsets) and BigTIFF (magic 43: 8-byte counts, 20-byte entries, 8-byte offsets), either
 * byte order. Every offset and count is checked against the file before it is used.
 */
import type { BatchedReader } from './batch.js';
import { corrupt } from './failure.js';
import { FIELD_TYPES, isFieldType } from './tags.js';
import type { FieldType } from './tags.js';

/** A directory with more entries than this is not a real one (the same bound as probing). */
export const MAX_IFD_ENTRIES = 4096;

export interface TiffHeader {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly firstIfd: number;
}

/** How one file lays out its numbers and directories. */
export interface Layout {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly fileBytes: number;
}

export interface Entry {
  readonly tag: number;
  readonly type: FieldType;
  readonly count: number;
  /** Where the values are in the file: the entry's own value field when they fit in it. */
  readonly valueOffset: number;
  readonly byteLength: number;
}

export interface Ifd {
  readonly offset: number;
  /** By tag; the first of duplicated tags wins, as in libtiff. */
  readonly entries: ReadonlyMap<number, Entry>;
  /** The next directory in the chain, 0 at its end. */
  readonly next: number;
}

/**
 * Parse the 8-byte (classic) or 16-byte (BigTIFF) header.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for anything but "II" or "MM" then 42 or 43 (with
 *   BigTIFF's offset size 8), or a first IFD offset outside the file.
 */
export function parseHeader(head: Buffer, fileBytes: number): TiffHeader {
  const order = head.toString('latin1', 0, 2);
  if (head.length < 8 || (order !== 'II' && order !== 'MM')) {
    throw corrupt('a TIFF header ("II" or "MM")', 'the source', head.subarray(0, 8).toString('hex'));
  }
  const littleEndian = order === 'II';
  const magic = littleEndian ? head.readUInt16LE(2) : head.readUInt16BE(2);
  if (magic !== 42 && magic !== 43) throw corrupt('TIFF magic 42 or BigTIFF magic 43', 'the TIFF header', magic);
  const bigTiff = magic === 43;
  const layout: Layout = { littleEndian, bigTiff, fileBytes };
  if (bigTiff) {
    if (head.length < 16) throw corrupt('a 16-byte BigTIFF header', 'the source', `${head.length} bytes`);
    const offsetSize = readUint(head, 4, 2, layout);
    if (offsetSize !== 8 || readUint(head, 6, 2, layout) !== 0) throw corrupt('offset size 8', 'the BigTIFF header', offsetSize);
  }
  const firstIfd = bigTiff ? readUint(head, 8, 8, layout) : readUint(head, 4, 4, layout);
  return { littleEndian, bigTiff, firstIfd };
}

/**
 * Read the directory at `offset`: its entries and the next link. `window` bytes are asked for
 * from the offset on, so the entries and the small values that follow them usually come in the
 * same read.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for an offset outside the file, an entry count of 0
 *   or over MAX_IFD_ENTRIES, or entries running past the end of the file.
 */
export async function readIfd(reader: BatchedReader, layout: Layout, offset: number, part: string, window: number): Promise<Ifd> {
  const countSize = layout.bigTiff ? 8 : 2;
  const entrySize = layout.bigTiff ? 20 : 12;
  const linkSize = layout.bigTiff ? 8 : 4;
  const headerSize = layout.bigTiff ? 16 : 8;
  if (!Number.isSafeInteger(offset) || offset < headerSize || offset + countSize > layout.fileBytes) {
    throw corrupt(`an IFD offset inside the ${layout.fileBytes}-byte file`, part, offset);
  }
  const count = readUint(await reader.get(offset, countSize, window), 0, countSize, layout);
  if (count < 1 || count > MAX_IFD_ENTRIES) throw corrupt(`1 to ${MAX_IFD_ENTRIES} IFD entries`, part, count);
  const size = count * entrySize + linkSize;
  if (offset + countSize + size > layout.fileBytes) {
    throw corrupt(`${count} IFD entries inside the ${layout.fileBytes}-byte file`, part, `an IFD at byte ${offset}`);
  }
  const bytes = await reader.get(offset + countSize, size);
  const entries = new Map<number, Entry>();
  for (let i = 0; i < count; i++) {
    const entry = parseEntry(bytes, i * entrySize, offset + countSize + i * entrySize, layout);
    if (entry !== undefined && !entries.has(entry.tag)) entries.set(entry.tag, entry);
  }
  return { offset, entries, next: readUint(bytes, count * entrySize, linkSize, layout) };
}

/** One 12- or 20-byte entry; undefined for a field type this reader does not know (skipped). */
function parseEntry(bytes: Buffer, at: number, fileOffset: number, layout: Layout): Entry | undefined {
  const tag = readUint(bytes, at, 2, layout);
  const type = readUint(bytes, at + 2, 2, layout);
  if (!isFieldType(type)) return undefined;
  const count = layout.bigTiff ? readUint(bytes, at + 4, 8, layout) : readUint(bytes, at + 4, 4, layout);
  const valueField = layout.bigTiff ? 12 : 8;
  const inlineSize = layout.bigTiff ? 8 : 4;
  const byteLength = count * FIELD_TYPES[type].size;
  const inline = byteLength <= inlineSize;
  const valueOffset = inline ? fileOffset + valueField : readUint(bytes, at + valueField, inlineSize, layout);
  return { tag, type, count, valueOffset, byteLength };
}

/**
 * Check that an entry's values lie inside the file.
 *
 * @throws SourceError `SOURCE_UNREADABLE` when they do not.
 */
export function assertInside(entry: Entry, layout: Layout, part: string): void {
  if (!Number.isSafeInteger(entry.byteLength) || entry.valueOffset + entry.byteLength > layout.fileBytes) {
    throw corrupt(`values inside the ${layout.fileBytes}-byte file`, `tag ${entry.tag} of ${part}`, `${entry.count} values at byte ${entry.valueOffset}`);
  }
}

/** Integer field types, and how to read one element of each. */
const INTEGER_READERS: Partial<Record<FieldType, (b: Buffer, at: number, little: boolean) => number>> = {
  1: (b, at) => b.readUInt8(at),
  3: (b, at, little) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at)),
  4: (b, at, little) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at)),
  6: (b, at) => b.readInt8(at),
  8: (b, at, little) => (little ? b.readInt16LE(at) : b.readInt16BE(at)),
  9: (b, at, little) => (little ? b.readInt32LE(at) : b.readInt32BE(at)),
  13: (b, at, little) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at)),
  16: (b, at, little) => safe(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)),
  17: (b, at, little) => safe(little ? b.readBigInt64LE(at) : b.readBigInt64BE(at)),
  18: (b, at, little) => safe(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)),
};

/**
 * The integer values of an entry (read from the file when they are not inline).
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a non-integer type, more than `maxCount` values,
 *   values outside the file, or a 64-bit value past 2^53.
 */
export async function readIntegers(reader: BatchedReader, layout: Layout, entry: Entry, part: string, maxCount: number): Promise<number[]> {
  const element = INTEGER_READERS[entry.type];
  if (element === undefined) throw corrupt('an integer field type', `tag ${entry.tag} of ${part}`, FIELD_TYPES[entry.type].name);
  if (entry.count > maxCount) throw corrupt(`at most ${maxCount} values`, `tag ${entry.tag} of ${part}`, entry.count);
  assertInside(entry, layout, part);
  const bytes = await reader.get(entry.valueOffset, entry.byteLength);
  const size = FIELD_TYPES[entry.type].size;
  return Array.from({ length: entry.count }, (_, i) => element(bytes, i * size, layout.littleEndian));
}

/**
 * The raw bytes of an entry (JPEGTables, an ICC profile).
 *
 * @throws SourceError `SOURCE_UNREADABLE` for more than `maxBytes` bytes or bytes outside the file.
 */
export async function readBytes(reader: BatchedReader, layout: Layout, entry: Entry, part: string, maxBytes: number): Promise<Buffer> {
  if (entry.byteLength > maxBytes) throw corrupt(`at most ${maxBytes} bytes`, `tag ${entry.tag} of ${part}`, entry.byteLength);
  assertInside(entry, layout, part);
  return Buffer.from(await reader.get(entry.valueOffset, entry.byteLength));
}

/** An unsigned integer of 1, 2, 4 or 8 bytes in the file's byte order. */
export function readUint(bytes: Buffer, at: number, size: number, layout: { readonly littleEndian: boolean }): number {
  const little = layout.littleEndian;
  switch (size) {
    case 1: return bytes.readUInt8(at);
    case 2: return little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at);
    case 4: return little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
    default: return safe(little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at));
  }
}

function safe(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw corrupt('a 64-bit value below 2^53', 'the TIFF', value.toString());
  }
  return Number(value);
}
