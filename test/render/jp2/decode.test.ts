/**
 * JPEG 2000 decoding: the fixtures decode to their known pixels (exactly when lossless), reduced
 * decodes have the sizes the header predicts and the pixels OpenJPEG gives for the whole
 * codestream, an area is the same area of the full decode and reads only its tiles, and what
 * cannot or should not be decoded is refused with the right code.
 */
import { describe, expect, it } from 'vitest';
import { decodeCodestream } from '../../../lib/render/jp2/codec.js';
import { type Area, type DecodedImage, decodeJp2 } from '../../../lib/render/jp2/decode.js';
import { readTileParts } from '../../../lib/render/jp2/codestream.js';
import { readJp2Header } from '../../../lib/render/jp2/header.js';
import { WindowedReader, bufferRange } from '../../../lib/render/jp2/reader.js';
import { FIXTURES, pattern, yccPlanes, yccToRgb } from './pattern.js';
import { type FixtureName, SIZ_AT, codestreamOf, expectCode, fixture, recordingRange } from './support.js';

const BUDGET = 16 * 1024 * 1024;

async function decode(bytes: Buffer, options: { reduce?: number; area?: Area; maxBytes?: number } = {}): Promise<DecodedImage> {
  const read = bufferRange(bytes);
  return decodeJp2(read, await readJp2Header(read), { maxBytes: BUDGET, ...options });
}

/** The samples of a decode, as numbers. */
const samples = (image: { data: Buffer; bits: 8 | 16 }): ArrayLike<number> =>
  image.bits === 16 ? new Uint16Array(image.data.buffer, image.data.byteOffset, image.data.length / 2) : image.data;

/** A rectangle of an interleaved image. */
function crop(image: DecodedImage, area: Area): Buffer {
  const pixel = image.channels * (image.bits / 8);
  const rows = Array.from({ length: area.height }, (_, y) => {
    const from = ((area.y + y) * image.width + area.x) * pixel;
    return image.data.subarray(from, from + area.width * pixel);
  });
  return Buffer.concat(rows);
}

describe('decodeJp2: pixels', () => {
  it.each([
    ['rgb8.jp2', 3, 8],
    ['rgb8.j2k', 3, 8],
    ['grey8.jp2', 1, 8],
    ['rgb16.jp2', 3, 16],
    ['icc.jp2', 3, 8],
    ['tiled.jp2', 3, 8],
  ] as const)('%s decodes to its source pixels exactly', async (name: FixtureName, channels, bits) => {
    const image = await decode(fixture(name));
    const { width, height } = name === 'tiled.jp2' ? FIXTURES.tiled : FIXTURES.rgb8;
    expect(image).toMatchObject({ width, height, channels, bits, reduce: 0, region: { x: 0, y: 0, width, height } });
    expect(image.data.equals(pattern(width, height, channels, bits))).toBe(true);
  });

  it('widens 12-bit samples to the 16-bit range', async () => {
    const image = await decode(fixture('grey12.jp2'));
    expect(image.bits).toBe(16);
    const { width, height } = FIXTURES.grey12;
    const source = pattern(width, height, 1, 12);
    const twelve = new Uint16Array(source.buffer, source.byteOffset, source.length / 2);
    expect(Array.from(samples(image))).toEqual(Array.from(twelve, (v) => Math.round((v * 65535) / 4095)));
  });

  it('hands back the ICC profile with the pixels', async () => {
    expect((await decode(fixture('icc.jp2'))).icc?.length).toBe(480);
    expect((await decode(fixture('rgb8.jp2'))).icc).toBeUndefined();
  });

  it('decodes a lossy file within 16 levels of its source, 3 on average', async () => {
    const image = await decode(fixture('lossy.jp2'));
    const source = pattern(FIXTURES.lossy.width, FIXTURES.lossy.height, 3, 8);
    const errors = Array.from(image.data, (v, i) => Math.abs(v - (source[i] ?? 0)));
    expect(Math.max(...errors)).toBeLessThanOrEqual(16);
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThanOrEqual(3);
  });

  it.each(['sycc444.jp2', 'sycc420.jp2'] as const)('%s becomes RGB as OpenJPEG converts sYCC', async (name) => {
    const image = await decode(fixture(name));
    const { width, height } = FIXTURES.sycc;
    const { y, cb, cr } = yccPlanes(width, height);
    const expected = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) expected.set(yccToRgb(y[i] ?? 0, cb[i] ?? 0, cr[i] ?? 0), i * 3);
    expect(image.channels).toBe(3);
    expect(image.data.equals(expected)).toBe(true);
  });
});

describe('decodeJp2: reduced resolutions', () => {
  it.each(['tiled.jp2', 'rgb8.jp2', 'sycc420.jp2', 'rgb16.jp2'] as const)('%s: every level has the size the header predicts and the pixels of a whole-codestream decode', async (name) => {
    const file = fixture(name);
    const { info } = await readJp2Header(bufferRange(file));
    for (let reduce = 0; reduce < info.levels; reduce++) {
      const size = info.sizes[reduce];
      const image = await decode(file, { reduce });
      expect({ width: image.width, height: image.height }).toEqual(size);
      if (size === undefined) continue;
      const whole = await decodeCodestream(codestreamOf(file), reduce, size);
      expect(image.data.equals(whole.data)).toBe(true);
    }
  });

  it('refuses a reduction past the last level', async () => {
    await expect(decode(fixture('rgb8.jp2'), { reduce: 4 })).rejects.toThrow(RangeError);
  });
});

describe('decodeJp2: areas', () => {
  const file = fixture('tiled.jp2');
  const areas: Area[] = [
    { x: 0, y: 0, width: 120, height: 90 },
    { x: 32, y: 32, width: 32, height: 32 },
    { x: 17, y: 9, width: 70, height: 61 },
    { x: 90, y: 60, width: 30, height: 30 },
    { x: 119, y: 89, width: 1, height: 1 },
  ];

  it.each([0, 1, 2, 5])('at 1/2^%i an area is that area of the full decode', async (reduce) => {
    const full = await decode(file, { reduce });
    const f = 2 ** reduce;
    for (const area of areas) {
      const part = await decode(file, { reduce, area });
      const x = Math.floor(area.x / f);
      const y = Math.floor(area.y / f);
      const region = { x, y, width: Math.min(full.width, Math.ceil((area.x + area.width) / f)) - x, height: Math.min(full.height, Math.ceil((area.y + area.height) / f)) - y };
      expect(part.region).toEqual(region);
      expect({ width: part.width, height: part.height }).toEqual({ width: region.width, height: region.height });
      expect(part.data.equals(crop(full, region))).toBe(true);
    }
  });

  it('reads only the tile-parts of the tiles an area needs', async () => {
    const { read, reads } = recordingRange(file);
    const header = await readJp2Header(read);
    const { offset, end, main } = header.codestream;
    const parts = await readTileParts(new WindowedReader(read, 16), offset, end, main);
    reads.length = 0;
    // Inside tile (1, 1) of the 4 x 3 grid: tile 5.
    await decodeJp2(read, header, { area: { x: 40, y: 40, width: 10, height: 10 }, maxBytes: BUDGET });
    const partsRead = parts.filter((part) => reads.some((r) => r.offset === offset + part.offset && r.length === part.length));
    expect(partsRead.map((part) => part.tile)).toEqual([5]);
  });

  it('refuses an area outside the image', async () => {
    await expect(decode(file, { area: { x: 100, y: 0, width: 21, height: 10 } })).rejects.toThrow(RangeError);
    await expect(decode(file, { area: { x: 0, y: 0, width: 10.5, height: 10 } })).rejects.toThrow(RangeError);
  });
});

describe('decodeJp2: refusals', () => {
  it('refuses pixels over the byte budget as RENDER_TOO_LARGE, naming the limit', async () => {
    const bytes = FIXTURES.rgb8.width * FIXTURES.rgb8.height * 3;
    await expectCode(decode(fixture('rgb8.jp2'), { maxBytes: bytes - 1 }), 'RENDER_TOO_LARGE', `at most ${bytes - 1} bytes`);
    expect((await decode(fixture('rgb8.jp2'), { maxBytes: bytes })).data.length).toBe(bytes);
  });

  it('refuses an untiled image too large for the codec heap before reading its pixels', async () => {
    const huge = Buffer.from(fixture('rgb8.j2k'));
    for (const at of [SIZ_AT.xsiz, SIZ_AT.ysiz, SIZ_AT.xtsiz, SIZ_AT.xtsiz + 4]) huge.writeUInt32BE(20000, at);
    const { read, reads } = recordingRange(huge);
    const header = await readJp2Header(read);
    reads.length = 0;
    await expectCode(decodeJp2(read, header, { maxBytes: 2 ** 40 }), 'RENDER_TOO_LARGE', 'GiB heap');
    // The main header, then only the tile-part index was walked (16 KB windows), never a tile-part read for decoding.
    expect(reads[0]).toEqual({ offset: 0, length: header.codestream.main.length });
    expect(reads.slice(1).every((r) => r.length === 16 * 1024)).toBe(true);
  });

  it('refuses alpha as SOURCE_FORMAT_NOT_SUPPORTED', async () => {
    await expectCode(decode(fixture('rgba8.jp2')), 'SOURCE_FORMAT_NOT_SUPPORTED', '4 components (alpha)');
  });

  it('refuses subsampling other than chroma at 4:2:2 or 4:2:0', async () => {
    const file = Buffer.from(fixture('rgb8.j2k'));
    file.writeUInt8(2, SIZ_AT.ssiz0 + 1);
    await expectCode(decode(file), 'SOURCE_FORMAT_NOT_SUPPORTED', 'subsampling 2x1,1x1,1x1');
  });

  it('refuses a reduction the tile grid is not aligned with', async () => {
    const shifted = Buffer.from(codestreamOf(fixture('tiled.jp2')));
    shifted.writeUInt32BE(1, SIZ_AT.xosiz);
    expect((await decode(shifted)).width).toBe(119);
    await expectCode(decode(shifted, { reduce: 1 }), 'SOURCE_FORMAT_NOT_SUPPORTED', 'multiples of 2');
  });

  it('refuses a truncated codestream as SOURCE_UNREADABLE', async () => {
    const file = fixture('tiled.jp2');
    await expectCode(decode(file.subarray(0, Math.floor(file.length / 2))), 'SOURCE_UNREADABLE', 'a complete tile-part');
  });

  it('refuses a tile-part without its SOT as SOURCE_UNREADABLE', async () => {
    const file = Buffer.from(fixture('rgb8.j2k'));
    const sot = file.indexOf(Buffer.from([0xff, 0x90]));
    file.writeUInt16BE(0xff91, sot);
    await expectCode(decode(file), 'SOURCE_UNREADABLE');
  });

  it("keeps OpenJPEG's word when it cannot decode", async () => {
    const file = Buffer.from(fixture('rgb8.j2k'));
    const sot = file.indexOf(Buffer.from([0xff, 0x90]));
    // Psot says the tile-part is 20 bytes: its packets are cut short.
    file.writeUInt32BE(20, sot + 6);
    await expectCode(decode(file), 'SOURCE_UNREADABLE');
  });
});
