/**
 * A JPEG 2000 master as a SourceProbe, from its header alone: the fields the rest of Recto plans
 * from (sizes, reduced resolutions, tiles, colour as libvips would name the decoded pixels), a
 * JSON-serialisable description for ranged reads, the same answer from probe() of the file, no
 * sharp loaded on the way, and refusals that name what is unsupported or broken.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../../lib/render/index.js';
import { describeJp2 } from '../../../lib/render/jp2/describe.js';
import { readJp2Header } from '../../../lib/render/jp2/header.js';
import { bufferRange } from '../../../lib/render/jp2/reader.js';
import { FIXTURES } from './pattern.js';
import { type FixtureName, SIZ_AT, box, codestreamOf, editJp2h, expectCode, fixture, recordingRange } from './support.js';

const describeFixture = (bytes: Buffer) => describeJp2(bufferRange(bytes), bytes.length);

const small = { width: 61, height: 47 };
const smallLevels = [small, { width: 31, height: 24 }, { width: 16, height: 12 }, { width: 8, height: 6 }];
const tiledLevels = [{ width: 120, height: 90 }, { width: 60, height: 45 }, { width: 30, height: 23 }, { width: 15, height: 12 }, { width: 8, height: 6 }, { width: 4, height: 3 }];
const common = { format: 'jp2', orientation: 1, hasAlpha: false, pages: 1 } as const;

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'recto-jp2-describe-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('describeJp2', () => {
  it.each([
    ['rgb8.jp2', { ...small, levels: smallLevels, space: 'srgb', channels: 3, depth: 'uchar', hasProfile: false }],
    ['rgb8.j2k', { ...small, levels: smallLevels, space: 'srgb', channels: 3, depth: 'uchar', hasProfile: false }],
    ['grey8.jp2', { ...small, levels: smallLevels, space: 'b-w', channels: 1, depth: 'uchar', hasProfile: false }],
    ['grey12.jp2', { ...small, levels: smallLevels, space: 'grey16', channels: 1, depth: 'ushort', hasProfile: false }],
    ['rgb16.jp2', { ...small, levels: smallLevels, space: 'rgb16', channels: 3, depth: 'ushort', hasProfile: false }],
    ['icc.jp2', { ...small, levels: smallLevels, space: 'srgb', channels: 3, depth: 'uchar', hasProfile: true }],
    ['sycc420.jp2', { width: 64, height: 48, levels: [{ width: 64, height: 48 }, { width: 32, height: 24 }, { width: 16, height: 12 }, { width: 8, height: 6 }], space: 'srgb', channels: 3, depth: 'uchar', hasProfile: false }],
    ['tiled.jp2', { width: FIXTURES.tiled.width, height: FIXTURES.tiled.height, levels: tiledLevels, tile: { width: 32, height: 32 }, space: 'srgb', channels: 3, depth: 'uchar', hasProfile: false }],
  ] as const)('%s: the fields a render plans from', async (name: FixtureName, fields) => {
    // Act
    const described = await describeFixture(fixture(name));

    // Assess
    const { jp2, ...rest } = described;
    expect(rest).toEqual({ ...common, ...fields });
    expect(jp2?.fileBytes).toBe(fixture(name).length);
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
  });

  it('says where the ICC profile lies, and whether the tiles list their packets (PLT)', async () => {
    // Prepare
    const file = fixture('icc.jp2');

    // Act
    const described = await describeFixture(file);
    const { icc } = await readJp2Header(bufferRange(file));

    // Assess
    const at = described.jp2?.icc ?? { offset: 0, length: 0 };
    expect(file.subarray(at.offset, at.offset + at.length).equals(icc ?? Buffer.alloc(1))).toBe(true);
    expect(described.jp2?.plt).toBe(false);
    expect((await describeFixture(fixture('tiled.jp2'))).jp2?.plt).toBe(true);
  });

  it('reads the header, not the tiles', async () => {
    // Prepare
    const file = fixture('tiled.jp2');
    const { read, reads } = recordingRange(file);

    // Act
    await describeJp2(read, file.length);

    // Assess: the boxes and main header, then the first tile-part's header.
    const bytes = reads.reduce((sum, r) => sum + Math.min(r.length, file.length - r.offset), 0);
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(bytes).toBeLessThan(file.length / 2);
  });

  it('offers only the reductions the tile grid is aligned with', async () => {
    // Prepare: the image starts at x = 1; tiles still start at 0, 32, 64, 96.
    const shifted = Buffer.from(codestreamOf(fixture('tiled.jp2')));
    shifted.writeUInt32BE(1, SIZ_AT.xosiz);

    // Act
    const described = await describeFixture(shifted);

    // Assess
    expect(described.levels).toEqual([{ width: 119, height: 90 }]);
  });
});

describe('probe() of a JPEG 2000', () => {
  it.each(['rgb8.jp2', 'rgb8.j2k', 'grey12.jp2', 'icc.jp2', 'tiled.jp2'] as const)('%s: the same as describeJp2, from a file or its bytes', async (name) => {
    // Prepare
    const bytes = fixture(name);
    const path = join(directory, name);
    await writeFile(path, bytes);

    // Act
    const [fromFile, fromBytes, described] = await Promise.all([probe(path, { maxInputPixels: 1000 }), probe(bytes, { maxInputPixels: 1000 }), describeFixture(bytes)]);

    // Assess
    expect(fromFile).toEqual(described);
    expect(fromBytes).toEqual(described);
  });

  it('says a missing file is unreadable', async () => {
    await expectCode(probe(join(directory, 'missing.jp2'), { maxInputPixels: 1000 }), 'SOURCE_UNREADABLE');
  });
});

describe('refusals', () => {
  const j2k = fixture('rgb8.j2k');
  const withSsiz = (...ssiz: number[]): Buffer => {
    const copy = Buffer.from(j2k);
    ssiz.forEach((value, c) => copy.writeUInt8(value, SIZ_AT.ssiz0 + 3 * c));
    return copy;
  };
  const withPpm = (): Buffer => {
    // A PPM segment (no packed headers in it) right after SIZ: the codestream says they are packed.
    const afterSiz = 2 + 2 + j2k.readUInt16BE(SIZ_AT.lsiz);
    return Buffer.concat([j2k.subarray(0, afterSiz), Buffer.from('ff6000030000', 'hex').subarray(0, 5), j2k.subarray(afterSiz)]);
  };

  it.each([
    ['alpha', fixture('rgba8.jp2'), '4 components (alpha)'],
    ['a palette', editJp2h(fixture('rgb8.jp2'), (type, content) => (type === 'colr' ? [box(type, content), box('pclr', Buffer.alloc(8))] : box(type, content))), 'palette'],
    ['20-bit samples', withSsiz(19, 19, 19), 'at most 16 bits'],
    ['signed samples', withSsiz(0x87, 0x87, 0x87), 'unsigned samples'],
    ['packed packet headers', withPpm(), 'packed packet headers (PPM)'],
  ])('refuses %s as SOURCE_FORMAT_NOT_SUPPORTED (501), naming it', async (_name, bytes, text) => {
    await expectCode(describeFixture(bytes), 'SOURCE_FORMAT_NOT_SUPPORTED', text);
    await expectCode(probe(bytes, { maxInputPixels: 1000 }), 'SOURCE_FORMAT_NOT_SUPPORTED', text);
  });

  it.each([
    ['a file cut inside its header', fixture('rgb8.jp2').subarray(0, 60), 'ends at byte 60'],
    ['a codestream cut inside SIZ', j2k.subarray(0, 20), 'a complete'],
  ])('refuses %s as SOURCE_UNREADABLE (422)', async (_name, bytes, text) => {
    await expectCode(describeFixture(bytes), 'SOURCE_UNREADABLE', text);
    await expectCode(probe(bytes, { maxInputPixels: 1000 }), 'SOURCE_UNREADABLE', text);
  });
});

describe('the module', () => {
  it('loads no sharp, so info.json never loads the renderer', async () => {
    // Act: bundle it as the service's bundle would, and list what it pulls in.
    const result = await build({ entryPoints: [new URL('../../../lib/render/jp2/describe.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });

    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('lib/render/jp2/header.ts'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/sharp|lib\/render\/(render|probe|batch|access-copy)\.ts/.test(path))).toEqual([]);
  });
});
