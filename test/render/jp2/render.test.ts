/**
 * Rendering a JPEG 2000 master by ranges, before its access copy exists: a Plan is decoded at
 * the smallest reduction that covers its output, only the area it needs, then handed to the
 * same pipeline as a TIFF region (resize, flip and turn, quality, encoder, ICC profile applied).
 * The result matches a full-resolution decode cut and resized by sharp; a thumbnail reads a
 * fraction of the file; what needs more decoding than a request may do is refused with
 * SOURCE_NEEDS_ACCESS_COPY (503) and a Retry-After, before any pixel is read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../lib/errors.js';
import type { Plan } from '../../../lib/iiif/types.js';
import { jp2RenderableNow, probe, render, type SourceProbe } from '../../../lib/render/index.js';
import { decodeJp2 } from '../../../lib/render/jp2/decode.js';
import { describeJp2 } from '../../../lib/render/jp2/describe.js';
import { readJp2Header } from '../../../lib/render/jp2/header.js';
import { bufferRange } from '../../../lib/render/jp2/reader.js';
import { regionTiff } from '../../../lib/render/tiff/wrap.js';
import { makePlan, OPTIONS } from '../support.js';
import { type FixtureName, SIZ_AT, fixture, recordingRange } from './support.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'recto-jp2-render-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const describeBytes = (bytes: Buffer): Promise<SourceProbe> => describeJp2(bufferRange(bytes), bytes.length);

/** The render's pixels, as raw samples (channels as the format gives them). */
async function pixelsOf(encoded: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * What the Plan should give, made another way: the whole image decoded at full resolution (an
 * uncompressed TIFF carrying its ICC profile, for libvips to convert from), then cut, resized,
 * flipped and turned by sharp.
 */
async function reference(bytes: Buffer, plan: Plan): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const read = bufferRange(bytes);
  const header = await readJp2Header(read);
  const full = await decodeJp2(read, header, { maxBytes: 1 << 26 });
  const { x, y, width, height } = plan.region;
  const whole = regionTiff({ data: full.data, width: full.width, height: full.height, channels: full.channels, bitsPerSample: full.bits, premultiplied: false }, header.icc);
  let pipeline = sharp(whole).extract({ left: x, top: y, width, height }).resize({ width: plan.size.width, height: plan.size.height, fit: 'fill' });
  if (plan.mirror) pipeline = pipeline.flop();
  if (plan.rotation !== 0) pipeline = pipeline.rotate(plan.rotation);
  pipeline = pipeline.toColourspace(plan.quality === 'gray' ? 'b-w' : 'srgb');
  return pixelsOf(await pipeline.png().toBuffer());
}

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

describe('a JPEG 2000 rendered by ranges', () => {
  const size = { width: 320, height: 240 };
  const plans: [string, Plan][] = [
    ['a thumbnail at 1/2', makePlan(size, { size: { w: 150 } })],
    ['a thumbnail at 1/4', makePlan(size, { size: { fit: [64, 64] } })],
    ['a region, smaller', makePlan(size, { region: { x: 70, y: 50, w: 160, h: 120 }, size: { w: 48 } })],
    ['a full-resolution tile', makePlan(size, { region: { x: 64, y: 128, w: 64, h: 64 } })],
    ['a tile across four, at 1/2', makePlan(size, { region: { x: 32, y: 32, w: 128, h: 128 }, size: { w: 64 }, format: 'jpg' })],
    ['a gray crop, mirrored and turned', makePlan(size, { region: { x: 10, y: 5, w: 250, h: 200 }, size: { w: 100 }, quality: 'gray', mirror: true, rotation: 90 })],
  ];

  it.each(plans)('%s matches a full decode cut and resized by sharp', async (_name, plan) => {
    // Prepare
    const bytes = fixture('photo-tiled.jp2');
    const source = await describeBytes(bytes);

    // Act
    const rendered = await pixelsOf((await render({ read: bufferRange(bytes) }, plan, source, OPTIONS)).data);

    // Assess
    const expected = await reference(bytes, plan);
    expect({ rendered: [rendered.width, rendered.height, rendered.channels] }).toEqual({ rendered: [expected.width, expected.height, expected.channels] });
    expect(meanAbsoluteDifference(rendered.data, expected.data)).toBeLessThanOrEqual(6);
  });

  it('reads a fraction of the file for a thumbnail', async () => {
    // Prepare
    const bytes = fixture('photo-tiled.jp2');
    const source = await describeBytes(bytes);
    const { read, reads } = recordingRange(bytes);

    // Act
    const thumbnail = await render({ read }, makePlan(source, { size: { fit: [40, 40] } }), source, OPTIONS);

    // Assess: the main header, then the start of each of the 20 tiles (a second read at most for each).
    const bytesRead = reads.reduce((sum, r) => sum + Math.min(r.length, bytes.length - r.offset), 0);
    expect([thumbnail.width, thumbnail.height]).toEqual([40, 30]);
    expect(bytesRead).toBeLessThan(bytes.length / 2);
    expect(reads.length).toBeLessThanOrEqual(1 + 20 * 2);
  });

  it.each(['icc.jp2', 'rgb16.jp2', 'grey12.jp2', 'sycc420.jp2'] as const)('%s: colour as libvips would load the decoded pixels (profile, depth, sYCC made RGB)', async (name: FixtureName) => {
    // Prepare
    const bytes = fixture(name);
    const source = await describeBytes(bytes);
    const plan = makePlan(source, {});

    // Act
    const rendered = await pixelsOf((await render({ read: bufferRange(bytes) }, plan, source, OPTIONS)).data);

    // Assess
    const expected = await reference(bytes, plan);
    expect(meanAbsoluteDifference(rendered.data, expected.data)).toBeLessThanOrEqual(2);
  });

  it('applies the ICC profile: a Display P3 master renders unlike the same pixels untagged', async () => {
    // Prepare: icc.jp2 is rgb8.jp2 tagged Display P3.
    const plan = makePlan({ width: 61, height: 47 }, {});
    const [tagged, plain] = await Promise.all(['icc.jp2', 'rgb8.jp2'].map(async (name) => {
      const bytes = fixture(name as FixtureName);
      return pixelsOf((await render({ read: bufferRange(bytes) }, plan, await describeBytes(bytes), OPTIONS)).data);
    }));

    // Assess
    expect(meanAbsoluteDifference(tagged?.data ?? Buffer.alloc(0), plain?.data ?? Buffer.alloc(0))).toBeGreaterThan(3);
  });

  it('gives the same bytes from the file, its bytes or its ranges', async () => {
    // Prepare
    const bytes = fixture('tiled.jp2');
    const path = join(directory, 'tiled.jp2');
    await writeFile(path, bytes);
    const source = await probe(path, { maxInputPixels: OPTIONS.maxInputPixels });
    const plan = makePlan(source, { region: { x: 17, y: 9, w: 70, h: 61 }, size: { w: 35 }, format: 'jpg' });

    // Act
    const [fromPath, fromBytes, fromRanges] = await Promise.all([render(path, plan, source, OPTIONS), render(bytes, plan, source, OPTIONS), render({ read: bufferRange(bytes) }, plan, source, OPTIONS)]);

    // Assess
    expect(fromPath.data.equals(fromRanges.data)).toBe(true);
    expect(fromBytes.data.equals(fromRanges.data)).toBe(true);
  });
});

describe('a JPEG 2000 render that needs the access copy', () => {
  /** rgb8.j2k claiming 20000 x 20000 pixels in one tile: the header of a 400-megapixel master. */
  function hugeMaster(): Buffer {
    const huge = Buffer.from(fixture('rgb8.j2k'));
    for (const at of [SIZ_AT.xsiz, SIZ_AT.ysiz, SIZ_AT.xtsiz, SIZ_AT.xtsiz + 4]) huge.writeUInt32BE(20000, at);
    return huge;
  }

  it('is refused with SOURCE_NEEDS_ACCESS_COPY, 503 and a Retry-After, before any pixel is read', async () => {
    // Prepare
    const bytes = hugeMaster();
    const source = await describeBytes(bytes);
    const { read, reads } = recordingRange(bytes);
    const tile = makePlan(source, { region: { x: 8192, y: 8192, w: 512, h: 512 }, format: 'jpg' });

    // Act
    const error: unknown = await render({ read }, tile, source, OPTIONS).then(() => undefined, (e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    const refusal = error as UnavailableError;
    expect([refusal.code, refusal.status]).toEqual(['SOURCE_NEEDS_ACCESS_COPY', 503]);
    expect(refusal.message).toMatch(/^Expected a decode of at most \d+ s from a JPEG 2000 master for the image but received "about \d+ s: 400000000 pixels at full resolution"/);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(30);
    expect(refusal.headers['retry-after']).toBe(String(refusal.retryAfterSeconds));
    expect(reads).toEqual([]);
    // A thumbnail of the same master decodes 1/32 of it: that one fits a request.
    expect(jp2RenderableNow(makePlan(source, { size: { fit: [400, 400] } }), source)).toBe(true);
    expect(jp2RenderableNow(tile, source)).toBe(false);
  });
});
