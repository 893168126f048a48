/**
 * Access copies: each kind of master that is not a tiled pyramid becomes a tiled pyramidal TIFF
 * that the ranged reader reads, upright and in sRGB (or grey), JPEG where that loses nothing
 * visible and Deflate where the master has alpha, 16 bits, or few colours; and a render of the
 * copy, by ranges, matches the same render of the master (from its whole file, or for a JPEG
 * 2000 from a full-resolution decode cut and resized by sharp) within a mean of 2 levels.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config.js';
import { RectoError } from '../../lib/errors.js';
import type { Plan } from '../../lib/iiif/types.js';
import { buildAccessCopy, JP2_UNTILED_MAX_PIXELS, type AccessCopy } from '../../lib/render/access-copy.js';
import { probe, render, type SourceProbe } from '../../lib/render/index.js';
import { decodeJp2 } from '../../lib/render/jp2/decode.js';
import { readJp2Header } from '../../lib/render/jp2/header.js';
import { bufferRange } from '../../lib/render/jp2/reader.js';
import { describeTiff } from '../../lib/render/tiff/describe.js';
import { readTiffStructure, type TiffStructure } from '../../lib/render/tiff/structure.js';
import { regionTiff } from '../../lib/render/tiff/wrap.js';
import { cmykJpeg, corrupted, gridImage, iccTagged, orientedJpeg, palettePng, photoLike, photoLikeRaw, sixteenBit, tiff, webp } from '../support/fixtures.js';
import { SIZ_AT, fixture, type FixtureName } from './jp2/support.js';
import { makePlan, OPTIONS } from './support.js';

const COPY = { tile: 256, quality: 95, maxInputPixels: OPTIONS.maxInputPixels } as const;

interface Kind {
  readonly compression: AccessCopy['compression'];
  readonly channels: number;
  readonly depth: 'uchar' | 'ushort';
}

interface Master {
  readonly name: string;
  /** The master's bytes and its file extension. */
  readonly make: () => Promise<Buffer>;
  readonly jp2?: FixtureName;
  readonly kind: Kind;
}

const rgb = { compression: 'jpeg', channels: 3, depth: 'uchar' } as const;
const SAMPLE = new URL('../../samples/photo.jpg', import.meta.url).pathname;
const photoPng = (): Promise<Buffer> => sharp(SAMPLE).extract({ left: 700, top: 500, width: 600, height: 450 }).png().toBuffer();
const photo = async (): Promise<Buffer> => sharp(await photoPng()).jpeg({ quality: 90 }).toBuffer();

const MASTERS: readonly Master[] = [
  { name: 'JPEG turned by EXIF (orientation 6)', make: async () => orientedJpeg(await photoPng(), 6), kind: rgb },
  { name: 'PNG', make: photoPng, kind: rgb },
  { name: 'striped TIFF', make: async () => tiff(await photoPng(), { compression: 'lzw' }), kind: rgb },
  { name: 'WebP', make: async () => webp(await photoPng()), kind: rgb },
  { name: 'CMYK JPEG', make: async () => cmykJpeg(await photo()), kind: rgb },
  { name: 'Display P3 JPEG', make: async () => iccTagged(await photoPng(), 'p3', 'jpeg'), kind: rgb },
  { name: 'grey JPEG', make: async () => sharp(await photo()).toColourspace('b-w').jpeg({ quality: 90 }).toBuffer(), kind: { compression: 'jpeg', channels: 1, depth: 'uchar' } },
  { name: '16-bit Display P3 PNG', make: async () => sixteenBit(await iccTagged(await photoPng(), 'p3'), 'png', { keepProfile: true }), kind: { compression: 'deflate', channels: 3, depth: 'ushort' } },
  { name: 'RGBA PNG', make: () => photoLike({ width: 600, height: 450, seed: 5, channels: 4, format: 'png' }), kind: { compression: 'deflate', channels: 4, depth: 'uchar' } },
  { name: 'palette PNG', make: async () => palettePng((await gridImage({ width: 600, height: 450 })).png), kind: { compression: 'deflate', channels: 3, depth: 'uchar' } },
  { name: 'bitonal TIFF', make: async () => sharp((await gridImage({ width: 600, height: 450 })).png).toColourspace('b-w').threshold(128).tiff({ bitdepth: 1, compression: 'ccittfax4' }).toBuffer(), kind: { compression: 'deflate', channels: 1, depth: 'uchar' } },
  { name: 'JPEG 2000, tiled, lossy', make: () => Promise.resolve(fixture('photo-tiled.jp2')), jp2: 'photo-tiled.jp2', kind: rgb },
  { name: 'JPEG 2000 with an ICC profile', make: () => Promise.resolve(fixture('icc.jp2')), jp2: 'icc.jp2', kind: rgb },
  { name: 'JPEG 2000, sYCC 4:2:0', make: () => Promise.resolve(fixture('sycc420.jp2')), jp2: 'sycc420.jp2', kind: rgb },
  { name: 'JPEG 2000, grey', make: () => Promise.resolve(fixture('grey8.jp2')), jp2: 'grey8.jp2', kind: { compression: 'jpeg', channels: 1, depth: 'uchar' } },
  { name: 'JPEG 2000, 16-bit', make: () => Promise.resolve(fixture('rgb16.jp2')), jp2: 'rgb16.jp2', kind: { compression: 'deflate', channels: 3, depth: 'ushort' } },
  { name: 'JPEG 2000, 12-bit grey', make: () => Promise.resolve(fixture('grey12.jp2')), jp2: 'grey12.jp2', kind: { compression: 'deflate', channels: 1, depth: 'ushort' } },
];

interface Built {
  readonly master: Master;
  readonly path: string;
  readonly source: SourceProbe;
  readonly copy: AccessCopy;
  readonly file: Buffer;
  readonly structure: TiffStructure;
  readonly described: SourceProbe | undefined;
}

let directory: string;
const built = new Map<string, Built>();

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'recto-access-copy-'));
  // Prepare: every master written to disk and copied (tiles of 256, JPEG quality 95).
  await Promise.all(MASTERS.map(async (master, index) => {
    const path = join(directory, `master-${index}`);
    await writeFile(path, await master.make());
    const source = await probe(path, { maxInputPixels: COPY.maxInputPixels });
    const output = join(directory, `copy-${index}.tif`);
    const copy = await buildAccessCopy(path, source, output, COPY);
    const file = await readFile(output);
    const { structure } = await readTiffStructure(bufferRange(file), file.length);
    built.set(master.name, { master, path, source, copy, file, structure, described: describeTiff(structure) });
  }));
}, 60_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function builtOf(name: string): Built {
  const found = built.get(name);
  if (found === undefined) throw new Error(`Expected a copy of ${name}`);
  return found;
}

/** The render's pixels as sharp decodes the encoded output. */
async function pixelsOf(encoded: Buffer): Promise<Buffer> {
  return sharp(encoded).raw().toBuffer();
}

/** A JPEG 2000 master's Plan made another way: a full-resolution decode, cut and resized by sharp. */
async function jp2Reference(bytes: Buffer, plan: Plan): Promise<Buffer> {
  const read = bufferRange(bytes);
  const header = await readJp2Header(read);
  const full = await decodeJp2(read, header, { maxBytes: 1 << 26 });
  const whole = regionTiff({ data: full.data, width: full.width, height: full.height, channels: full.channels, bitsPerSample: full.bits, premultiplied: false }, header.icc);
  const { x, y, width, height } = plan.region;
  let pipeline = sharp(whole).extract({ left: x, top: y, width, height });
  if (full.bits === 16) pipeline = pipeline.pipelineColourspace('srgb');
  pipeline = pipeline.resize({ width: plan.size.width, height: plan.size.height, fit: 'fill' }).toColourspace(plan.quality === 'gray' ? 'b-w' : 'srgb');
  return pixelsOf(await pipeline.png().toBuffer());
}

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** Plans a viewer and a thumbnailer ask for, scaled to the master (200 and 100 wide for the photographs). */
function plansFor(source: SourceProbe): [string, Plan][] {
  const { width, height } = source;
  const edge = Math.min(256, Math.floor(width / 2), Math.floor(height / 2));
  const third = Math.ceil(width / 3);
  const sixth = Math.ceil(width / 6);
  return [
    ['a full-resolution tile', makePlan(source, { region: { x: width - edge, y: 0, w: edge, h: edge }, format: 'png' })],
    ['a thumbnail', makePlan(source, { size: { fit: [third, third] }, format: 'png' })],
    ['a smaller thumbnail', makePlan(source, { size: { fit: [sixth, sixth] }, format: 'png' })],
    ['a gray crop', makePlan(source, { region: { x: Math.floor(width / 6), y: Math.floor(height / 6), w: Math.floor(width / 2), h: Math.floor(height / 2) }, size: { w: Math.floor(width / 4) }, quality: 'gray', format: 'png' })],
    ['full/max', makePlan(source, { format: 'png' })],
  ];
}

describe('buildAccessCopy', () => {
  it.each(MASTERS.map((master) => [master.name, master] as const))('%s: a tiled pyramidal TIFF the ranged reader reads, upright, without a profile', (name, master) => {
    // Assess
    const { source, copy, structure, described } = builtOf(name);
    expect(described).toBeDefined();
    expect(copy).toMatchObject({ width: source.width, height: source.height, compression: master.kind.compression });
    expect(copy.bytes).toBe(builtOf(name).file.length);
    expect(described).toMatchObject({ width: source.width, height: source.height, orientation: 1, hasProfile: false, channels: master.kind.channels, depth: master.kind.depth, tile: { width: 256, height: 256 } });
    expect(described?.hasAlpha).toBe(master.kind.channels === 2 || master.kind.channels === 4);
    expect(structure.images[0]?.compression).toBe(master.kind.compression === 'jpeg' ? 7 : 8);
    if (master.kind.compression === 'deflate') expect(structure.images[0]?.predictor).toBe(2);
    // Levels down to one tile: 600x450, 300x225 for the photographs.
    if (source.width > 256) expect(structure.pyramid).toBe('pages');
  });

  it.each(MASTERS.map((master) => [master.name] as const))('%s: renders from the copy by ranges match renders of the master within a mean of 2 levels', async (name) => {
    // Prepare
    const { master, path, source, described } = builtOf(name);
    const copySource = described;
    if (copySource === undefined) throw new Error('Expected a copy readable by ranges');
    const file = builtOf(name).file;

    for (const [planName, plan] of plansFor(source)) {
      // Act
      const fromCopy = await pixelsOf((await render({ read: bufferRange(file) }, plan, copySource, OPTIONS)).data);
      const fromMaster = master.jp2 === undefined ? await pixelsOf((await render(path, plan, source, OPTIONS)).data) : await jp2Reference(fixture(master.jp2), plan);

      // Assess
      expect({ plan: planName, withinTwoLevels: meanAbsoluteDifference(fromCopy, fromMaster) <= 2 }).toEqual({ plan: planName, withinTwoLevels: true });
    }
  });

  it('keeps 16 bits: the copy of a 16-bit master holds more than 256 levels', async () => {
    // Prepare
    const { file } = builtOf('JPEG 2000, 16-bit');

    // Act
    const { data, info } = await sharp(file).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });

    // Assess
    const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    expect(data.length).toBe(info.width * info.height * info.channels * 2);
    expect(samples.some((v) => v % 257 !== 0)).toBe(true);
  });
});

describe('chroma at the default quality', () => {
  /** The copy of a photo-like JPEG master written with the given chroma subsampling. */
  async function copyOf(chromaSubsampling: '4:2:0' | '4:4:4'): Promise<{ readonly masterBytes: number; readonly copy: AccessCopy; readonly photometric: number | undefined }> {
    const master = join(directory, `chroma-${chromaSubsampling.replace(/:/g, '')}.jpg`);
    const raw = await photoLikeRaw({ width: 2400, height: 1800 });
    await writeFile(master, await sharp(raw.data, { raw: { width: 2400, height: 1800, channels: raw.channels } }).jpeg({ quality: 90, chromaSubsampling }).toBuffer());
    const source = await probe(master, { maxInputPixels: COPY.maxInputPixels });
    const output = join(directory, `chroma-${chromaSubsampling.replace(/:/g, '')}.tif`);
    const copy = await buildAccessCopy(master, source, output, { ...COPY, quality: DEFAULTS.ACCESS_COPY_QUALITY });
    const file = await readFile(output);
    const { structure } = await readTiffStructure(bufferRange(file), file.length);
    return { masterBytes: (await readFile(master)).length, copy, photometric: structure.images[0]?.photometric };
  }

  it("copies a subsampled JPEG master with subsampled tiles (YCbCr), under twice the master's bytes", async () => {
    // Act
    const { masterBytes, copy, photometric } = await copyOf('4:2:0');

    // Assess: the pyramid adds a third; full-chroma tiles would add as much again and more.
    expect(copy.compression).toBe('jpeg');
    expect(photometric).toBe(6);
    expect(copy.bytes / masterBytes).toBeLessThan(2);
  });

  it('keeps full chroma (RGB tiles) for a master that has it', async () => {
    // Act
    const { copy, photometric } = await copyOf('4:4:4');

    // Assess
    expect(copy.compression).toBe('jpeg');
    expect(photometric).toBe(2);
  });
});

describe('buildAccessCopy refusals', () => {
  it('refuses a master over the pixel limit, naming it', async () => {
    const { path, source } = builtOf('PNG');
    const attempt = buildAccessCopy(path, source, join(directory, 'too-large.tif'), { ...COPY, maxInputPixels: 1000 });
    await expect(attempt).rejects.toMatchObject({ code: 'SOURCE_TOO_LARGE', message: 'Expected at most 1000 pixels for an access copy of the master but received "600x450"' });
  });

  it('refuses an untiled JPEG 2000 beyond what the codec decodes whole, before decoding', async () => {
    // Prepare: rgb8.j2k claiming 20000 x 20000 pixels in one tile.
    const huge = Buffer.from(fixture('rgb8.j2k'));
    for (const at of [SIZ_AT.xsiz, SIZ_AT.ysiz, SIZ_AT.xtsiz, SIZ_AT.xtsiz + 4]) huge.writeUInt32BE(20000, at);
    const path = join(directory, 'huge.j2k');
    await writeFile(path, huge);
    const source = await probe(path, { maxInputPixels: COPY.maxInputPixels });

    // Act / Assess
    await expect(buildAccessCopy(path, source, join(directory, 'huge.tif'), { ...COPY, maxInputPixels: 1e9 })).rejects.toMatchObject({
      code: 'SOURCE_TOO_LARGE',
      status: 422,
      message: expect.stringContaining(`Expected at most ${JP2_UNTILED_MAX_PIXELS} pixels for an access copy of an untiled JPEG 2000 master`) as unknown,
    });
  });

  it('leaves neither the copy nor a temporary file behind when the master is corrupt', async () => {
    // Prepare
    const dir = await mkdtemp(join(directory, 'corrupt-'));
    const master = join(dir, 'master.png');
    const good = await photoPng();
    await writeFile(master, good);
    const source = await probe(master, { maxInputPixels: COPY.maxInputPixels });
    await writeFile(master, corrupted(good));
    const output = join(dir, 'copy.tif');

    // Act
    const error: unknown = await buildAccessCopy(master, source, output, COPY).then(() => undefined, (e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RectoError);
    expect((error as RectoError).code).toBe('SOURCE_UNREADABLE');
    expect(await readdir(dir)).toEqual(['master.png']);
  });
});
