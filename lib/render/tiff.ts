/**
 * Just enough TIFF to learn a tiled source's native tile size, which libvips does not report:
 * the header and the first image directory, read at their offsets (a directory is often written
 * after the pixel data, at the end of a large file), never the pixels.
 */
import { open } from 'node:fs/promises';
import type { Size } from '../iiif/types.js';

const TAG_TILE_WIDTH = 322;
const TAG_TILE_LENGTH = 323;
const TYPE_SHORT = 3;
const TYPE_LONG = 4;
const TYPE_LONG8 = 16;
/** A directory with more entries than this is not a real one: stop rather than read megabytes. */
const MAX_ENTRIES = 4096;

type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/** The tile size of the first image of a TIFF, or undefined when it is striped or unreadable. */
export async function readTiffTileSize(input: Buffer | string): Promise<Size | undefined> {
  if (Buffer.isBuffer(input)) {
    return tileSize((offset, length) => Promise.resolve(input.subarray(offset, offset + length)));
  }
  const handle = await open(input, 'r');
  try {
    return await tileSize(async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    });
  } finally {
    await handle.close();
  }
}

async function tileSize(readAt: ReadAt): Promise<Size | undefined> {
  const header = await readAt(0, 16);
  if (header.length < 8) return undefined;
  const order = header.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const u16 = (b: Buffer, at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number): number => Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const magic = u16(header, 2);
  const big = magic === 43;
  if (magic !== 42 && !big) return undefined;
  if (big && header.length < 16) return undefined;
  const ifdOffset = big ? u64(header, 8) : u32(header, 4);

  const countBytes = big ? 8 : 2;
  const entryBytes = big ? 20 : 12;
  const countBuffer = await readAt(ifdOffset, countBytes);
  if (countBuffer.length < countBytes) return undefined;
  const count = big ? u64(countBuffer, 0) : u16(countBuffer, 0);
  if (count === 0 || count > MAX_ENTRIES) return undefined;
  const entries = await readAt(ifdOffset + countBytes, count * entryBytes);

  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i + entryBytes <= entries.length; i += entryBytes) {
    const tag = u16(entries, i);
    if (tag !== TAG_TILE_WIDTH && tag !== TAG_TILE_LENGTH) continue;
    const type = u16(entries, i + 2);
    const at = i + (big ? 12 : 8);
    // A single SHORT or LONG is stored inline, left-justified in the value field.
    const value = type === TYPE_SHORT ? u16(entries, at) : type === TYPE_LONG ? u32(entries, at) : type === TYPE_LONG8 && big ? u64(entries, at) : undefined;
    if (tag === TAG_TILE_WIDTH) width = value;
    else height = value;
  }
  return width !== undefined && height !== undefined && width > 0 && height > 0 ? { width, height } : undefined;
}
