/**
 * The probe: what info.json and render() need, read from headers, as a small JSON record.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../lib/render/index.js';
import {
  alphaGrid, baselineJpeg, cmykJpeg, gif, gridImage, iccTagged, orientedJpeg, palettePng, progressiveJpeg, sixteenBit, tiff, webp,
} from '../support/fixtures.js';
import type { Grid } from '../support/fixtures.js';
import { OPTIONS } from './support.js';

let dir: string;
let grid: Grid;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recto-render-probe-'));
  grid = await gridImage({ width: 640, height: 480, cols: 8, rows: 6 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const flat = { width: 640, height: 480, levels: [{ width: 640, height: 480 }], orientation: 1, pages: 1 };

describe('probe', () => {
  it.each([
    ['a PNG', () => Promise.resolve(grid.png), { ...flat, format: 'png', space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false }],
    ['a palette PNG', () => palettePng(grid.png), { ...flat, format: 'png', depth: 'uchar' }],
    ['a 16-bit PNG', () => sixteenBit(grid.png, 'png'), { ...flat, format: 'png', space: 'rgb16', depth: 'ushort', channels: 3 }],
    ['a PNG with alpha', async () => (await alphaGrid(grid)).png, { ...flat, format: 'png', channels: 4, hasAlpha: true }],
    ['a baseline JPEG', () => baselineJpeg(grid.png), { ...flat, format: 'jpeg', space: 'srgb', channels: 3, depth: 'uchar' }],
    ['a progressive JPEG', () => progressiveJpeg(grid.png), { ...flat, format: 'jpeg' }],
    ['a CMYK JPEG', () => cmykJpeg(grid.png), { ...flat, format: 'jpeg', space: 'cmyk', channels: 4, hasProfile: true }],
    ['an Adobe RGB PNG', () => iccTagged(grid.png, 'adobe-rgb'), { ...flat, format: 'png', hasProfile: true }],
    ['a striped TIFF', () => tiff(grid.png), { ...flat, format: 'tiff' }],
    ['a 16-bit TIFF', () => sixteenBit(grid.png, 'tiff'), { ...flat, format: 'tiff', depth: 'ushort' }],
    ['a WebP', () => webp(grid.png), { ...flat, format: 'webp' }],
    ['a GIF', () => gif(grid.png), { ...flat, format: 'gif' }],
  ])('describes %s', async (_name, make, expected) => {
    // Act
    const source = await probe(await make(), OPTIONS);
    // Assess
    expect(source).toMatchObject(expected);
    expect(source.tile).toBeUndefined();
    expect(source.pyramid).toBeUndefined();
  });

  it('gives a tiled TIFF its tile size, from a Buffer and from a file', async () => {
    // Prepare
    const bytes = await tiff(grid.png, { tile: 128, compression: 'jpeg' });
    const path = join(dir, 'tiled.tif');
    await writeFile(path, bytes);
    // Act
    const [fromBuffer, fromFile] = await Promise.all([probe(bytes, OPTIONS), probe(path, OPTIONS)]);
    // Assess
    expect(fromBuffer).toMatchObject({ ...flat, format: 'tiff', tile: { width: 128, height: 128 } });
    expect(fromFile).toEqual(fromBuffer);
  });

  it.each([5, 6, 7, 8])('gives the displayed size of a JPEG with EXIF orientation %i', async (orientation) => {
    // Act
    const source = await probe(await orientedJpeg(grid.png, orientation), OPTIONS);
    // Assess
    expect(source).toMatchObject({ width: 640, height: 480, levels: [{ width: 640, height: 480 }], orientation });
  });

  it('treats a multi-page TIFF of unrelated pages as its first page', async () => {
    // Prepare: pages of the same size are a document, not a pyramid.
    const pages = await tiff(grid.png, { pyramid: 'pages', tile: 64 });
    const { default: sharp } = await import('sharp');
    const document = await sharp([grid.png, grid.png], { join: { animated: true } }).tiff().toBuffer();
    // Act
    const [pyramid, doc] = await Promise.all([probe(pages, OPTIONS), probe(document, OPTIONS)]);
    // Assess
    expect(pyramid.pyramid).toBe('pages');
    expect(pyramid.levels.length).toBeGreaterThan(1);
    expect(doc).toMatchObject({ format: 'tiff', levels: [{ width: 640, height: 480 }], pages: 2 });
    expect(doc.pyramid).toBeUndefined();
  });

  it('is plain JSON: it survives a round trip through the derivative store', async () => {
    // Prepare
    const source = await probe(await tiff(grid.png, { pyramid: 'subifds', tile: 128 }), OPTIONS);
    // Act
    const copy: unknown = JSON.parse(JSON.stringify(source));
    // Assess
    expect(copy).toEqual(source);
    expect(source).toMatchObject({ pyramid: 'subifds', levels: [{ width: 640, height: 480 }, { width: 320, height: 240 }, { width: 160, height: 120 }, { width: 80, height: 60 }] });
  });
});
