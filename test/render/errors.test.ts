/**
 * Sources that cannot be rendered fail cleanly, with a Recto error of a stable code and status,
 * never a raw sharp error, a crash or a hang: empty, truncated, corrupt, not an image, a
 * decompression bomb, a format Recto does not decode, a render that runs out of time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RectoError } from '../../lib/errors.js';
import { toRenderError } from '../../lib/render/failure.js';
import { probe, render } from '../../lib/render/index.js';
import {
  NOT_AN_IMAGE, ZERO_BYTES, baselineJpeg, corrupted, gridImage, jp2Header, photoLike, pngBomb, tiff, truncated,
} from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { OPTIONS, makePlan } from './support.js';

let dir: string;
let grid: Grid;
let jpeg: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recto-render-errors-'));
  grid = await gridImage({ width: 400, height: 400 });
  jpeg = await baselineJpeg(grid.png);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Probe, then render a thumbnail: whichever step notices the problem. */
async function probeAndRender(input: Buffer | string, options = OPTIONS): Promise<unknown> {
  try {
    const source = await probe(input, options);
    await render(input, makePlan(source, { size: { w: 100 } }), source, options);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('a source that cannot be read', () => {
  it.each([
    ['zero bytes', () => ZERO_BYTES, 'Expected an image for the source but received "an empty file"'],
    ['a web page', () => NOT_AN_IMAGE, 'Expected a readable image for the source but received "bytes in no known image format"'],
    ['a text that starts like a bitmap', () => Buffer.from('BMW service report, 2024.\n'.repeat(4)), 'Expected a readable image for the source but received "bytes in no known image format"'],
    ['a truncated JPEG', () => truncated(jpeg, 0.6), 'Expected a readable image for the source but received "VipsJpeg: premature end of JPEG image"'],
    ['a JPEG cut after its header', () => jpeg.subarray(0, 700), 'Expected a readable image for the source but received "VipsJpeg: premature end of JPEG image"'],
    ['a corrupt JPEG', () => corrupted(jpeg), 'Expected a readable image for the source but received "VipsJpeg: Corrupt JPEG data: premature end of data segment"'],
    ['a truncated PNG', () => truncated(grid.png), 'Expected a readable image for the source but received "vipspng: libpng read error"'],
    ['a corrupt PNG', () => corrupted(grid.png), 'Expected a readable image for the source but received "vipspng: libpng read error"'],
  ])('fails with SOURCE_UNREADABLE (422) for %s', async (_name, make, message) => {
    // Act
    const error = await probeAndRender(make());
    // Assess
    expect(error).toBeInstanceOf(RectoError);
    expect(error).toMatchObject({ name: 'SourceError', code: 'SOURCE_UNREADABLE', status: 422, message });
  });

  it('fails with SOURCE_UNREADABLE (422) for a corrupt tiled TIFF', async () => {
    // Act
    const error = await probeAndRender(corrupted(await tiff(grid.png, { tile: 128 })));
    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_UNREADABLE', status: 422 });
    expect((error as Error).message).toMatch(/^Expected a readable image for the source but received "tiff2vips: /);
  });

  it('fails with SOURCE_UNREADABLE (422) for an empty file and a missing file, without naming the path', async () => {
    // Prepare
    const empty = join(dir, 'empty.jpg');
    await writeFile(empty, ZERO_BYTES);
    // Act
    const errors = await Promise.all([probeAndRender(empty), probeAndRender(join(dir, 'missing.jpg'))]);
    // Assess
    expect(errors).toMatchObject([
      { code: 'SOURCE_UNREADABLE', status: 422, message: 'Expected an image for the source but received "an empty file"' },
      { code: 'SOURCE_UNREADABLE', status: 422, message: 'Expected a readable image for the source but received "no file at the source path"' },
    ]);
  });

  it.each([
    ['alone', 'Warning treated as error due to failOn setting', 'a damaged or truncated image (decoding stopped at a warning)'],
    ['before the warning itself', 'Warning treated as error due to failOn setting\nVipsJpeg: premature end of JPEG image', 'VipsJpeg: premature end of JPEG image'],
  ])("says what stopped the decode when sharp's failOn note comes %s", (_when, raw, received) => {
    // Act
    const error = toRenderError(new Error(raw), { maxInputPixels: 1 });
    // Assess
    expect([error.code, error.message]).toEqual(['SOURCE_UNREADABLE', `Expected a readable image for the source but received "${received}"`]);
  });

  it('keeps the sharp error as the cause', async () => {
    // Act
    const error = await probeAndRender(truncated(jpeg));
    // Assess
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).message).toMatch(/premature end of JPEG/);
  });
});

describe('a source that is too large', () => {
  it.each([
    [100_000, 100_000],
    [50_000, 50_000],
  ])('refuses a %ix%i PNG bomb from its header with SOURCE_TOO_LARGE (422)', async (width, height) => {
    // Prepare
    const bomb = pngBomb(width, height);
    // Act
    const started = Date.now();
    const error = await probeAndRender(bomb);
    // Assess
    expect(bomb.length).toBeLessThan(1000);
    expect(error).toMatchObject({ name: 'SourceError', code: 'SOURCE_TOO_LARGE', status: 422, message: `Expected at most 268402689 pixels for the source but received "${width}x${height}"` });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a source over the configured limit in probe and in render', async () => {
    // Prepare
    const small = { ...OPTIONS, maxInputPixels: 100_000 };
    const source = await probe(grid.png, OPTIONS);
    // Act
    const [fromProbe, fromRender] = await Promise.all([
      probe(grid.png, small).catch((error: unknown) => error),
      render(grid.png, makePlan(grid, { size: { w: 50 } }), source, small).catch((error: unknown) => error),
    ]);
    // Assess
    const expected = { code: 'SOURCE_TOO_LARGE', status: 422, message: 'Expected at most 100000 pixels for the source but received "400x400"' };
    expect([fromProbe, fromRender]).toMatchObject([expected, expected]);
  });
});

describe('a JPEG 2000 cut short (lib/render/jp2 reads JPEG 2000)', () => {
  it.each([
    ['a JP2 file whose header has no colour box', jp2Header(), "Expected a 'colr' box in 'jp2h'"],
    ['a J2K codestream cut inside SIZ', Buffer.from([0xff, 0x4f, 0xff, 0x51, 0, 0x2f, 0, 0]), 'Expected a complete codestream main header'],
  ])('answers SOURCE_UNREADABLE (422) for %s', async (_name, bytes, text) => {
    // Act
    const error = await probeAndRender(bytes);
    // Assess
    expect(error).toMatchObject({ name: 'SourceError', code: 'SOURCE_UNREADABLE', status: 422 });
    expect((error as Error).message).toContain(text);
  });
});

describe('a source in a format Recto does not decode', () => {
  it.each([
    ['a PDF', Buffer.from('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n'), 'pdf'],
    ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'svg'],
    ['a HEIC', Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic')]), 'heic'],
    ['a BMP', Buffer.concat([Buffer.from('BM'), Buffer.from([70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0]), Buffer.alloc(52)]), 'bmp'],
  ])('names %s', async (_name, bytes, format) => {
    // Act
    const error = await probeAndRender(bytes);
    // Assess
    expect(error).toMatchObject({ code: 'SOURCE_FORMAT_NOT_SUPPORTED', status: 501 });
    expect((error as Error).message).toBe(`Expected a source in one of jpeg, png, tiff, webp, gif, jp2 for the source format but received "${format}"`);
  });
});

describe('an output the format cannot hold', () => {
  it('answers FORMAT_NOT_SUPPORTED (501) for a WebP wider than 16383 pixels, before any work', async () => {
    // Prepare
    const source = await probe(grid.png, OPTIONS);
    const plan = makePlan(grid, { size: { w: 20_000 }, format: 'webp' });
    // Act
    const error = await render(grid.png, plan, source, OPTIONS).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: 'FORMAT_NOT_SUPPORTED', status: 501, message: 'Expected at most 16383 pixels a side for webp output for the size but received "20000x20000"' });
  });
});

describe('an output over the configured limits', () => {
  it.each([
    [{ maxArea: 10_000 }, 'Expected at most 10000 pixels (maxArea) for the size but received "200x200"'],
    [{ maxWidth: 150 }, 'Expected a width of at most 150 (maxWidth) for the size but received "200x200"'],
    [{ maxHeight: 199 }, 'Expected a height of at most 199 (maxHeight) for the size but received "200x200"'],
  ])('answers IIIF_LIMIT_EXCEEDED (400) for limits %o', async (limits, message) => {
    // Prepare
    const source = await probe(grid.png, OPTIONS);
    const plan = { ...makePlan(grid, { size: { w: 200 } }), limits };
    // Act
    const error = await render(grid.png, plan, source, OPTIONS).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ name: 'IiifRequestError', code: 'IIIF_LIMIT_EXCEEDED', status: 400, message });
  });
});

describe('a plan that does not fit the source', () => {
  it('is a TypeError: the caller resolved it against another image', async () => {
    // Prepare
    const source = await probe(grid.png, OPTIONS);
    const plan = { ...makePlan(grid), region: { x: 300, y: 0, width: 200, height: 100 } };
    // Act
    const error = await render(grid.png, plan, source, OPTIONS).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Expected a region of whole pixels inside 400x400 for the plan but received "{\\"x\\":300,\\"y\\":0,\\"width\\":200,\\"height\\":100}"');
  });
});

describe('a render that runs out of time', () => {
  it('stops at the time limit with RENDER_TIMEOUT (503) and a Retry-After', async () => {
    // Prepare: a 9 MP WebP at the slowest effort takes several seconds.
    const photo = await photoLike({ width: 3000, height: 3000 });
    const source = await probe(photo, OPTIONS);
    const slow = { ...OPTIONS, encode: { ...OPTIONS.encode, webpEffort: 6 }, timeoutSeconds: 1 };
    // Act
    const started = Date.now();
    const error = await render(photo, makePlan(source, { format: 'webp' }), source, slow).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ name: 'UnavailableError', code: 'RENDER_TIMEOUT', status: 503, headers: { 'retry-after': '30' } });
    expect((error as Error).message).toMatch(/^Expected a render within 1 s for the image but received "timeout: \d+% complete"$/);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
