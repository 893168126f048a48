/**
 * The JPEG 2000 header: every field of the fixtures' descriptions, bounded reads (a far box costs
 * a few small reads, not the bytes before it), and the refusals: corrupt input is
 * SOURCE_UNREADABLE, what Recto does not decode SOURCE_FORMAT_NOT_SUPPORTED.
 */
import { describe, expect, it } from 'vitest';
import { type Jp2Info, readJp2Header } from '../../../lib/render/jp2/header.js';
import { bufferRange } from '../../../lib/render/jp2/reader.js';
import { FIXTURES } from './pattern.js';
import { SIZ_AT, box, boxes, editBoxes, editJp2h, expectCode, fixture, recordingRange } from './support.js';

const small = { width: 61, height: 47 };
const smallSizes = [small, { width: 31, height: 24 }, { width: 16, height: 12 }, { width: 8, height: 6 }];
const rgb8: Jp2Info = {
  format: 'jp2',
  ...small,
  components: 3,
  bits: 8,
  signed: false,
  colourSpace: 'srgb',
  hasAlpha: false,
  subsampled: false,
  tile: small,
  tiles: { across: 1, down: 1 },
  levels: 4,
  sizes: smallSizes,
  progression: 'LRCP',
  layers: 1,
  codeBlock: { width: 64, height: 64 },
  reversible: true,
  highThroughput: false,
};
const sycc = { width: 64, height: 48 };
const syccSizes = [sycc, { width: 32, height: 24 }, { width: 16, height: 12 }, { width: 8, height: 6 }];

const header = (bytes: Buffer) => readJp2Header(bufferRange(bytes));

describe('readJp2Header: the fixtures', () => {
  it.each([
    ['rgb8.jp2', rgb8],
    ['rgb8.j2k', { ...rgb8, format: 'j2k' }],
    ['grey8.jp2', { ...rgb8, components: 1, colourSpace: 'grey' }],
    ['grey12.jp2', { ...rgb8, components: 1, bits: 12, colourSpace: 'grey' }],
    ['rgb16.jp2', { ...rgb8, bits: 16 }],
    ['rgba8.jp2', { ...rgb8, components: 4, hasAlpha: true }],
    ['icc.jp2', { ...rgb8, colourSpace: 'icc', density: { x: 300, y: 300 } }],
    ['lossy.jp2', { ...rgb8, reversible: false }],
    ['sycc444.jp2', { ...rgb8, ...sycc, colourSpace: 'sycc', tile: sycc, sizes: syccSizes }],
    ['sycc420.jp2', { ...rgb8, ...sycc, colourSpace: 'sycc', subsampled: true, tile: sycc, sizes: syccSizes }],
    [
      'tiled.jp2',
      {
        ...rgb8,
        width: FIXTURES.tiled.width,
        height: FIXTURES.tiled.height,
        tile: { width: 32, height: 32 },
        tiles: { across: 4, down: 3 },
        levels: 6,
        sizes: [{ width: 120, height: 90 }, { width: 60, height: 45 }, { width: 30, height: 23 }, { width: 15, height: 12 }, { width: 8, height: 6 }, { width: 4, height: 3 }],
        progression: 'RPCL',
      },
    ],
  ] as const)('%s', async (name, info) => {
    const parsed = await header(fixture(name));
    expect(parsed.info).toEqual(info);
    expect(JSON.parse(JSON.stringify(parsed.info))).toEqual(parsed.info);
  });

  it('hands back the ICC profile of a colr box of method 2', async () => {
    const parsed = await header(fixture('icc.jp2'));
    expect(parsed.icc?.length).toBe(480);
    expect(parsed.icc?.toString('latin1', 36, 40)).toBe('acsp');
    expect((await header(fixture('rgb8.jp2'))).icc).toBeUndefined();
  });

  it('locates the codestream and its main header', async () => {
    const file = fixture('tiled.jp2');
    const { codestream } = await header(file);
    const jp2c = boxes(file).find((b) => b.type === 'jp2c');
    expect(codestream.offset).toBe((jp2c?.offset ?? 0) + 8);
    expect(codestream.end).toBe(file.length);
    expect(file.readUInt16BE(codestream.offset + codestream.main.length)).toBe(0xff90);
    expect(codestream.main.siz).toMatchObject({ x0: 0, y0: 0, x1: 120, y1: 90, tileWidth: 32, tileHeight: 32 });
  });
});

describe('readJp2Header: bounded reads', () => {
  it('reads the first 4 KB once for a small file', async () => {
    const { read, reads } = recordingRange(fixture('rgb8.jp2'));
    const parsed = await readJp2Header(read);
    expect(reads).toEqual([{ offset: 0, length: 4096 }]);
    expect(parsed.bytesRead).toBe(4096);
  });

  it('reaches a codestream past a large box with a few small reads', async () => {
    const far = editBoxes(fixture('rgb8.jp2'), (type, content) => (type === 'jp2c' ? [box('xml ', Buffer.alloc(1_000_000, 0x20)), box(type, content)] : box(type, content)));
    const { read, reads } = recordingRange(far);
    const parsed = await readJp2Header(read);
    expect(parsed.info).toEqual(rgb8);
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(parsed.bytesRead).toBeLessThan(3 * 4096);
  });

  it('reads a codestream box with an extended length (XLBox) or one that runs to the end', async () => {
    const file = fixture('rgb8.jp2');
    const extended = editBoxes(file, (type, content) => {
      if (type !== 'jp2c') return box(type, content);
      const head = Buffer.alloc(16);
      head.writeUInt32BE(1, 0);
      head.write('jp2c', 4, 'latin1');
      head.writeBigUInt64BE(BigInt(16 + content.length), 8);
      return Buffer.concat([head, content]);
    });
    expect((await header(extended)).info).toEqual(rgb8);
    const open = editBoxes(file, (type, content) => (type === 'jp2c' ? Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('jp2c'), content]) : box(type, content)));
    const parsed = await header(open);
    expect(parsed.info).toEqual(rgb8);
    expect(parsed.codestream.end).toBeUndefined();
  });
});

describe('readJp2Header: channel definitions', () => {
  const cdef = (...entries: [number, number, number][]): Buffer => {
    const body = Buffer.alloc(2 + 6 * entries.length);
    body.writeUInt16BE(entries.length, 0);
    entries.forEach(([channel, type, association], i) => {
      body.writeUInt16BE(channel, 2 + 6 * i);
      body.writeUInt16BE(type, 4 + 6 * i);
      body.writeUInt16BE(association, 6 + 6 * i);
    });
    return box('cdef', body);
  };
  const withCdef = (entries: [number, number, number][]): Buffer =>
    editJp2h(fixture('rgba8.jp2'), (type, content) => (type === 'colr' ? [box(type, content), cdef(...entries)] : box(type, content)));

  it('says alpha when cdef marks a channel as opacity, and not when every channel is colour', async () => {
    expect((await header(withCdef([[0, 0, 1], [1, 0, 2], [2, 0, 3], [3, 1, 0]]))).info.hasAlpha).toBe(true);
    expect((await header(withCdef([[0, 0, 1], [1, 0, 2], [2, 0, 3], [3, 65535, 0]]))).info.hasAlpha).toBe(false);
  });

  it('refuses a cdef that reorders colour channels', async () => {
    await expectCode(header(withCdef([[0, 0, 3], [1, 0, 2], [2, 0, 1], [3, 1, 0]])), 'SOURCE_FORMAT_NOT_SUPPORTED', 'channels in codestream order');
  });
});

describe('readJp2Header: corrupt input is SOURCE_UNREADABLE', () => {
  const jp2 = fixture('rgb8.jp2');
  const j2k = fixture('rgb8.j2k');
  const codestreamAt = boxes(jp2).find((b) => b.type === 'jp2c')?.offset ?? 0;
  const patched = (bytes: Buffer, at: number, write: (b: Buffer, at: number) => void): Buffer => {
    const copy = Buffer.from(bytes);
    write(copy, at);
    return copy;
  };

  it.each([
    ['an empty file', Buffer.alloc(0), 'a JPEG 2000 file'],
    ['a PNG', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), 'a JPEG 2000 file'],
    ['a file cut inside jp2h', jp2.subarray(0, 60), 'ends at byte 60'],
    ['a file cut inside the main header', jp2.subarray(0, codestreamAt + 8 + 30), 'a complete codestream main header'],
    ['a codestream cut inside SIZ', j2k.subarray(0, 20), 'a complete'],
    ['a box shorter than its header', patched(jp2, 12, (b, at) => b.writeUInt32BE(4, at)), 'a box length of at least 8 bytes'],
    ['no ftyp after the signature', patched(jp2, 16, (b, at) => b.write('junk', at, 'latin1')), "'ftyp' right after the signature"],
    ['an ihdr that disagrees with SIZ', editJp2h(jp2, (type, content) => box(type, type === 'ihdr' ? patched(content, 4, (b, at) => b.writeUInt32BE(62, at)) : content)), 'an ihdr that matches'],
    ['no colr box', editJp2h(jp2, (type, content) => (type === 'colr' ? [] : box(type, content))), "a 'colr' box"],
    ['a SIZ whose length disagrees with Csiz', patched(j2k, SIZ_AT.csiz, (b, at) => b.writeUInt16BE(4, at)), 'matches its component count'],
    ['an empty image', patched(j2k, SIZ_AT.xsiz, (b, at) => b.writeUInt32BE(0, at)), 'at least one pixel'],
    ['a tile grid that misses the origin', patched(j2k, SIZ_AT.xtosiz, (b, at) => b.writeUInt32BE(10, at)), 'first tile holds the image origin'],
    ['no COD', patched(j2k, 2 + 2 + j2k.readUInt16BE(SIZ_AT.lsiz), (b, at) => b.writeUInt16BE(0xff64, at)), 'a COD marker'],
    ['a marker that is no marker', patched(j2k, 2 + 2 + j2k.readUInt16BE(SIZ_AT.lsiz), (b, at) => b.writeUInt16BE(0x1234, at)), 'a marker segment or SOT'],
  ])('%s', async (_name, bytes, text) => {
    await expectCode(header(bytes), 'SOURCE_UNREADABLE', text);
  });
});

describe('readJp2Header: what Recto does not decode is SOURCE_FORMAT_NOT_SUPPORTED', () => {
  const j2k = fixture('rgb8.j2k');
  const withSsiz = (...ssiz: number[]): Buffer => {
    const copy = Buffer.from(j2k);
    ssiz.forEach((value, c) => copy.writeUInt8(value, SIZ_AT.ssiz0 + 3 * c));
    return copy;
  };

  it.each([
    ['signed samples', withSsiz(0x87, 0x87, 0x87), 'unsigned samples'],
    ['20-bit samples', withSsiz(19, 19, 19), 'at most 16 bits'],
    ['components of unequal depth', withSsiz(7, 15, 7), 'one sample format'],
    ['a palette', editJp2h(fixture('rgb8.jp2'), (type, content) => (type === 'colr' ? [box(type, content), box('pclr', Buffer.alloc(8))] : box(type, content))), 'palette'],
    ['a JPX brand without JP2 compatibility', editBoxes(fixture('rgb8.jp2'), (type, content) => box(type, type === 'ftyp' ? Buffer.from('jpx \0\0\0\0jpx ', 'latin1') : content)), "brand 'jpx'"],
  ])('%s', async (_name, bytes, text) => {
    await expectCode(header(bytes), 'SOURCE_FORMAT_NOT_SUPPORTED', text);
  });

  it('accepts another brand that lists JP2 as compatible', async () => {
    const jpx = editBoxes(fixture('rgb8.jp2'), (type, content) => box(type, type === 'ftyp' ? Buffer.from('jpx \0\0\0\0jpx jp2 ', 'latin1') : content));
    expect((await header(jpx)).info).toEqual(rgb8);
  });
});
