/**
 * Damaged files are refused with SOURCE_UNREADABLE (422) and a message that says what was
 * expected where, never a crash, a hang on a looping chain, or a read outside the file.
 */
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../lib/errors.js';
import { readRegion, readTiffStructure, readTileLocations } from '../../../lib/render/tiff/index.js';
import type { ReadRange, TiffImage } from '../../../lib/render/tiff/index.js';
import { corrupted, gridImage, truncated } from '../../support/fixtures.js';
import { memoryReader, photo, sharpTiff } from './support.js';
import { writeTiff } from './writer.js';
import type { WriterImage } from './writer.js';

const page = (size: number): WriterImage => ({
  width: size, height: size, tileWidth: 16, tileHeight: 16, samplesPerPixel: 1, bitsPerSample: 8, photometric: 1, compression: 1,
  tiles: Array.from({ length: Math.ceil(size / 16) ** 2 }, () => Buffer.alloc(256, 99)),
});

function unreadable(message: RegExp): Error {
  return expect.objectContaining({ code: 'SOURCE_UNREADABLE', status: 422, message: expect.stringMatching(message) as string }) as Error;
}

/** A reader that fails the test if it is ever asked for bytes outside the file. */
function strictReader(file: Buffer): ReadRange {
  return (offset, length) => {
    if (offset < 0 || length < 0 || offset + length > file.length) throw new Error(`read outside the file: ${offset}+${length}`);
    return Promise.resolve(file.subarray(offset, offset + length));
  };
}

async function structureError(file: Buffer, totalBytes = file.length): Promise<unknown> {
  return readTiffStructure(strictReader(file), totalBytes).then(() => undefined, (error: unknown) => error);
}

/** The byte offset of entry `tag` in the classic little-endian IFD at `ifd`. */
function entry(file: Buffer, ifd: number, tag: number): number {
  const count = file.readUInt16LE(ifd);
  for (let i = 0; i < count; i++) if (file.readUInt16LE(ifd + 2 + i * 12) === tag) return ifd + 2 + i * 12;
  throw new Error(`Expected tag ${tag} in the IFD at ${ifd} but received none`);
}

/** The "next IFD" link of the classic little-endian IFD at `ifd`. */
function link(file: Buffer, ifd: number): number {
  return ifd + 2 + file.readUInt16LE(ifd) * 12;
}

describe('readTiffStructure refuses', () => {
  it.each([
    ['bytes that are no TIFF', async () => (await gridImage({ width: 32, height: 32 })).png, /^Expected a TIFF header \("II" or "MM"\) for the source but received/],
    ['a wrong magic number', () => Promise.resolve(Buffer.from('II\x29\x00\x08\x00\x00\x00', 'latin1')), /^Expected TIFF magic 42 or BigTIFF magic 43 for the TIFF header but received "41"/],
    ['a BigTIFF with 4-byte offsets', () => Promise.resolve(Buffer.from('II\x2b\x00\x04\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00', 'latin1')), /^Expected offset size 8/],
    ['a BigTIFF offset past 2^53', () => Promise.resolve(Buffer.from('II\x2b\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10', 'latin1')), /^Expected a 64-bit value below 2\^53/],
    ['a first IFD inside the header', () => Promise.resolve(Buffer.from('II\x2a\x00\x04\x00\x00\x00', 'latin1')), /^Expected an IFD offset inside the 8-byte file for page 0 but received "4"/],
  ])('%s', async (_name, make, message) => {
    // Act
    const error = await structureError(await make());
    // Assess
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toEqual(unreadable(message));
  });

  it('a file too short to be a TIFF', async () => {
    // Act, Assess
    expect(await structureError(Buffer.from('II*\0'))).toEqual(unreadable(/^Expected a TIFF of at least 8 bytes for the source but received "4 bytes"/));
  });

  it('a truncated file whose directory was cut off', async () => {
    // Prepare: libvips writes the directory after the pixels.
    const file = truncated(await sharpTiff(await photo('rgb', 300, 200), { compression: 'deflate', tileWidth: 64 }), 0.6);
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected an IFD offset inside the \d+-byte file for page 0/));
  });

  it('a chain that loops back to an earlier page', async () => {
    // Prepare
    const file = writeTiff({ pages: [page(64), page(32), page(16)] });
    const first = file.readUInt32LE(4);
    const second = file.readUInt32LE(link(file, first));
    file.writeUInt32LE(first, link(file, second));
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected an IFD chain without loops for page 2 but received "a link back to byte \d+"/));
  });

  it('a page that links to itself', async () => {
    // Prepare
    const file = writeTiff({ pages: [page(64), page(32)] });
    const first = file.readUInt32LE(4);
    file.writeUInt32LE(first, link(file, first));
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected an IFD chain without loops for page 1/));
  });

  it('a SubIFD that is the page it hangs from', async () => {
    // Prepare: one SubIFD, its offset stored in the entry itself.
    const file = writeTiff({ pages: [page(64)], subifds: [page(32)] });
    const first = file.readUInt32LE(4);
    file.writeUInt32LE(first, entry(file, first, 330) + 8);
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected an IFD chain without loops for SubIFD 0 of page 0/));
  });

  it.each([[0], [5000]])('an IFD of %i entries', async (count) => {
    // Prepare
    const file = writeTiff({ pages: [page(64)] });
    file.writeUInt16LE(count, file.readUInt32LE(4));
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(new RegExp(`^Expected 1 to 4096 IFD entries for page 0 but received "${count}"`)));
  });

  it('IFD entries running past the end of the file', async () => {
    // Prepare
    const file = writeTiff({ pages: [page(64)] });
    file.writeUInt16LE(4000, file.readUInt32LE(4));
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected 4000 IFD entries inside the \d+-byte file for page 0/));
  });

  it('a tile offset array outside the file', async () => {
    // Prepare
    const file = writeTiff({ pages: [page(64)] });
    file.writeUInt32LE(file.length - 8, entry(file, file.readUInt32LE(4), 324) + 8);
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected values inside the \d+-byte file for tag 324 of page 0 but received "16 values at byte \d+"/));
  });

  it('a directory without an image width, or a width of 0', async () => {
    // Prepare
    const missing = writeTiff({ pages: [page(64)] });
    missing.writeUInt16LE(65000, entry(missing, missing.readUInt32LE(4), 256));
    const zero = writeTiff({ pages: [page(64)] });
    zero.writeUInt32LE(0, entry(zero, zero.readUInt32LE(4), 256) + 8);
    // Act, Assess
    expect(await structureError(missing)).toEqual(unreadable(/^Expected a positive ImageWidth for page 0 but received "no such tag"/));
    expect(await structureError(zero)).toEqual(unreadable(/^Expected a positive ImageWidth for page 0 but received "0"/));
  });

  it('fewer tile offsets than the image has tiles', async () => {
    // Prepare
    const file = writeTiff({ pages: [{ ...page(64), tiles: page(64).tiles.slice(0, 15) }] });
    // Act, Assess
    expect(await structureError(file)).toEqual(unreadable(/^Expected 16 tile offsets for page 0 but received "15"/));
  });

  it('a reader that answers with fewer bytes than asked', async () => {
    // Prepare
    const file = writeTiff({ pages: [page(64)] });
    const short: ReadRange = (offset, length) => Promise.resolve(file.subarray(offset, offset + length - 1));
    // Act, Assess
    await expect(readTiffStructure(short, file.length)).rejects.toThrow(unreadable(/^Expected \d+ bytes for the range at byte 0 of the source but received "\d+ bytes"/));
  });

  it('a file that is shorter than the size it was said to be', async () => {
    // Prepare: the object changed (or was cut) after its size was read.
    const file = writeTiff({ pages: [page(64)] });
    const reader = memoryReader(file);
    // Act, Assess
    await expect(readTiffStructure(reader.read, file.length + 10)).rejects.toThrow(unreadable(/^Expected \d+ bytes for the range at byte 0/));
  });
});

describe('tile reads refuse', () => {
  async function image(): Promise<{ file: Buffer; structure: Awaited<ReturnType<typeof readTiffStructure>>['structure']; image: TiffImage }> {
    const file = writeTiff({ pages: [page(64)] });
    const { structure } = await readTiffStructure(memoryReader(file).read, file.length);
    return { file, structure, image: structure.images[0]! };
  }

  it('a tile stored past the end of the file', async () => {
    // Prepare
    const { file, structure, image: original } = await image();
    const values = [file.length - 10, ...(original.offsets.values ?? []).slice(1)];
    const broken: TiffImage = { ...original, offsets: { ...original.offsets, values } };
    // Act, Assess
    await expect(readTileLocations(strictReader(file), structure, broken, [0])).rejects.toThrow(unreadable(/^Expected bytes inside the \d+-byte file for tile 0 of page 0 but received "256 bytes at \d+"/));
  });

  it('a tile with bytes at an offset but a byte count of 0', async () => {
    // Prepare
    const { file, structure, image: original } = await image();
    const broken: TiffImage = { ...original, byteCounts: { ...original.byteCounts, values: new Array<number>(16).fill(0) } };
    // Act, Assess
    await expect(readTileLocations(strictReader(file), structure, broken, [3])).rejects.toThrow(unreadable(/^Expected a byte count above 0 for tile 3 of page 0/));
  });

  it.each([['JPEG', 'jpeg'], ['Deflate', 'deflate'], ['LZW', 'lzw']] as const)('%s tiles overwritten with noise', async (_name, compression) => {
    // Prepare: the middle third of the file is noise; the directory, at the end, is intact.
    const file = corrupted(await sharpTiff(await photo('rgb', 512, 512), { compression, tileWidth: 128 }));
    const { structure } = await readTiffStructure(strictReader(file), file.length);
    // Act, Assess
    await expect(readRegion(strictReader(file), structure, 0, { x: 0, y: 0, width: 512, height: 512 })).rejects.toThrow(unreadable(/^Expected /));
  });
});
