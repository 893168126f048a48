/**
 * Generated source images with known pixels, shared by the render, integration and bench code.
 * Everything is made in memory from a seed, so tests need no binary fixtures and every run sees
 * the same bytes.
 *
 * - `gridImage`: a grid of coloured squares (like the IIIF validator's 1000x1000, 10x10), with
 *   `colourAt(x, y)` telling the colour at any pixel;
 * - `photoLike`: noise and gradients at several scales, which compress and decode like a photo;
 * - colour-managed sources: CMYK JPEG, Adobe RGB (1998) and Display P3 tagged images;
 * - variants: 16-bit PNG/TIFF, palette PNG, alpha, progressive JPEG, EXIF orientations,
 *   tiled and pyramidal TIFF (pages or SubIFDs), WebP, GIF;
 * - bad sources: truncated, corrupt, zero-byte, not an image, decompression bombs, JPEG 2000.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Sharp, TiffOptions } from 'sharp';

export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

/** Raw interleaved 8-bit pixels. */
export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

// ---- the grid ---------------------------------------------------------------------------

export interface GridOptions {
  readonly width?: number;
  readonly height?: number;
  readonly cols?: number;
  readonly rows?: number;
  /** The colour of square (col, row); `gridColour` by default. */
  readonly palette?: (col: number, row: number, cols: number, rows: number) => Rgb;
}

export interface Grid {
  /** Lossless PNG of the grid. */
  readonly png: Buffer;
  readonly raw: RawImage;
  readonly width: number;
  readonly height: number;
  readonly cols: number;
  readonly rows: number;
  /** The colour of the square that holds pixel (x, y). */
  colourAt(x: number, y: number): Rgb;
  /** The colour of square (col, row). */
  cellColour(col: number, row: number): Rgb;
  /** The pixel rectangle of square (col, row): [x0, x1) x [y0, y1). */
  cellBounds(col: number, row: number): { readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number };
}

/**
 * Red grows with the column and green with the row, so every square has its own colour and a
 * square in the wrong place (a turn the wrong way, a missed mirror) shows up as a wrong colour.
 * Blue varies too, so the grid also tests colour conversion on more than two axes.
 */
export function gridColour(col: number, row: number, cols: number, rows: number): Rgb {
  const step = (i: number, n: number): number => (n <= 1 ? 128 : Math.round(24 + (207 * i) / (n - 1)));
  return { r: step(col, cols), g: step(row, rows), b: [40, 200, 120, 240, 80][(col + 2 * row) % 5] ?? 40 };
}

export async function gridImage(options: GridOptions = {}): Promise<Grid> {
  const width = options.width ?? 1000;
  const height = options.height ?? 1000;
  const cols = options.cols ?? 10;
  const rows = options.rows ?? 10;
  const colOf = (x: number): number => Math.min(cols - 1, Math.floor((x * cols) / width));
  const rowOf = (y: number): number => Math.min(rows - 1, Math.floor((y * rows) / height));
  const palette = options.palette ?? gridColour;
  const cellColour = (col: number, row: number): Rgb => palette(col, row, cols, rows);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = rowOf(y);
    for (let x = 0; x < width; x++) {
      const { r, g, b } = cellColour(colOf(x), row);
      const i = (y * width + x) * 3;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  }
  const raw: RawImage = { data, width, height, channels: 3 };
  return {
    png: await fromRaw(raw).png({ compressionLevel: 1 }).toBuffer(),
    raw,
    width,
    height,
    cols,
    rows,
    colourAt: (x, y) => cellColour(colOf(x), rowOf(y)),
    cellColour,
    cellBounds: (col, row) => ({
      x0: Math.ceil((col * width) / cols),
      x1: Math.ceil(((col + 1) * width) / cols),
      y0: Math.ceil((row * height) / rows),
      y1: Math.ceil(((row + 1) * height) / rows),
    }),
  };
}

/**
 * The 24 patches of the X-Rite ColorChecker in sRGB (BabelColor averages, D65), row by row:
 * real-world colours (skin, sky, foliage, primaries, a grey ramp) that fit inside print gamuts,
 * so CMYK round trips can be held to a small colour difference.
 */
export const COLOR_CHECKER: readonly Rgb[] = [
  [115, 82, 68], [194, 150, 130], [98, 122, 157], [87, 108, 67], [133, 128, 177], [103, 189, 170],
  [214, 126, 44], [80, 91, 166], [193, 90, 99], [94, 60, 108], [157, 188, 64], [224, 163, 46],
  [56, 61, 150], [70, 148, 73], [175, 54, 60], [231, 199, 31], [187, 86, 149], [8, 133, 161],
  [243, 243, 242], [200, 200, 200], [160, 160, 160], [122, 122, 121], [85, 85, 85], [52, 52, 52],
].map(([r = 0, g = 0, b = 0]) => ({ r, g, b }));

/** A 6 x 4 grid of the ColorChecker patches. */
export function colorChecker(options: Omit<GridOptions, 'cols' | 'rows' | 'palette'> = {}): Promise<Grid> {
  return gridImage({
    width: options.width ?? 600,
    height: options.height ?? 400,
    cols: 6,
    rows: 4,
    palette: (col, row) => COLOR_CHECKER[row * 6 + col] ?? { r: 0, g: 0, b: 0 },
  });
}

/** A sharp pipeline over raw pixels. */
export function fromRaw(raw: RawImage): Sharp {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
}

/** The grid with an alpha channel: opaque squares on a checkerboard of half-transparent ones. */
export async function alphaGrid(grid: Grid, alphaFor: (col: number, row: number) => number = (c, r) => ((c + r) % 2 === 0 ? 255 : 128)): Promise<{ png: Buffer; alphaAt: (x: number, y: number) => number }> {
  const { width, height, cols, rows } = grid;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / height));
    for (let x = 0; x < width; x++) {
      const col = Math.min(cols - 1, Math.floor((x * cols) / width));
      const { r, g, b } = grid.cellColour(col, row);
      const i = (y * width + x) * 4;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = alphaFor(col, row);
    }
  }
  return {
    png: await fromRaw({ data, width, height, channels: 4 }).png({ compressionLevel: 1 }).toBuffer(),
    alphaAt: (x, y) => alphaFor(Math.min(cols - 1, Math.floor((x * cols) / width)), Math.min(rows - 1, Math.floor((y * rows) / height))),
  };
}

// ---- photo-like content -----------------------------------------------------------------

export interface PhotoOptions {
  readonly width: number;
  readonly height: number;
  readonly seed?: number;
  /** 4 adds an alpha channel: an opaque centre fading out towards the edges. */
  readonly channels?: 3 | 4;
  /** Standard deviation of the per-pixel grain, 0..255 (default 5). */
  readonly grain?: number;
}

/** A small, fast, seedable PRNG (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Raw pixels that look and compress like a photograph: smooth gradients and blobs at several
 * scales (value noise, each octave half the size and amplitude of the last) upscaled 4x with a
 * Lanczos kernel, plus per-pixel grain. JPEG quality 85 gives ~1 bit per pixel, like a camera.
 */
export async function photoLikeRaw(options: PhotoOptions): Promise<RawImage> {
  const { width, height } = options;
  const channels = options.channels ?? 3;
  const next = random(options.seed ?? 1);
  const smallWidth = Math.max(2, Math.ceil(width / 4));
  const smallHeight = Math.max(2, Math.ceil(height / 4));
  const small = new Float32Array(smallWidth * smallHeight * 3);
  const octaves = [256, 64, 16, 4, 1];
  for (let o = 0; o < octaves.length; o++) {
    const cell = octaves[o] ?? 1;
    const gw = Math.ceil(smallWidth / cell) + 2;
    const gh = Math.ceil(smallHeight / cell) + 2;
    const lattice = new Float32Array(gw * gh * 3).map(() => next());
    const amplitude = 150 / 2 ** o;
    for (let y = 0; y < smallHeight; y++) {
      const fy = y / cell;
      const y0 = Math.floor(fy);
      const ty = smoothstep(fy - y0);
      const top = y0 * gw * 3;
      const bottom = top + gw * 3;
      for (let x = 0; x < smallWidth; x++) {
        const fx = x / cell;
        const x0 = Math.floor(fx);
        const tx = smoothstep(fx - x0);
        const left = x0 * 3;
        for (let c = 0; c < 3; c++) {
          const a = lattice[top + left + c] ?? 0;
          const b = lattice[top + left + 3 + c] ?? 0;
          const d = lattice[bottom + left + c] ?? 0;
          const e = lattice[bottom + left + 3 + c] ?? 0;
          const value = (a + (b - a) * tx) * (1 - ty) + (d + (e - d) * tx) * ty;
          const i = (y * smallWidth + x) * 3 + c;
          small[i] = (small[i] ?? 0) + (value - 0.5) * amplitude;
        }
      }
    }
  }
  const smallBytes = Buffer.alloc(small.length);
  for (let i = 0; i < small.length; i++) {
    // A gentle left-to-right, top-to-bottom light gradient under the texture.
    const p = Math.floor(i / 3);
    const gradient = 60 * ((p % smallWidth) / smallWidth + Math.floor(p / smallWidth) / smallHeight);
    smallBytes[i] = clampByte(70 + gradient + (small[i] ?? 0));
  }
  const upscaled = await sharp(smallBytes, { raw: { width: smallWidth, height: smallHeight, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  const grain = options.grain ?? 5;
  const data = Buffer.alloc(width * height * channels);
  let seed = (options.seed ?? 1) * 2654435761;
  for (let p = 0, i = 0, o = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      // xorshift32 for speed: ~100 M samples for a 10000 x 7500 source.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      const noise = (((seed >>> 0) % 1024) / 1024 - 0.5) * 3.46 * grain;
      data[o++] = clampByte((upscaled[i++] ?? 0) + noise);
    }
    if (channels === 4) {
      const x = (p % width) / width - 0.5;
      const y = Math.floor(p / width) / height - 0.5;
      data[o++] = clampByte(255 * Math.min(1, 2.2 - 4 * Math.max(Math.abs(x), Math.abs(y))));
    }
  }
  return { data, width, height, channels };
}

/** `photoLikeRaw` encoded: JPEG (quality 85, baseline, EXIF-free sRGB) unless told otherwise. */
export async function photoLike(options: PhotoOptions & { readonly format?: 'jpeg' | 'png' | 'webp'; readonly quality?: number }): Promise<Buffer> {
  const raw = await photoLikeRaw(options);
  const image = fromRaw(raw);
  switch (options.format ?? 'jpeg') {
    case 'png': return image.png({ compressionLevel: 6 }).toBuffer();
    case 'webp': return image.webp({ quality: options.quality ?? 85 }).toBuffer();
    case 'jpeg': return image.jpeg({ quality: options.quality ?? 85 }).toBuffer();
  }
}

function smoothstep(t: number): number {
  return t * t * (3 - 2 * t);
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

// ---- colour-managed sources --------------------------------------------------------------

/**
 * A CMYK JPEG converted through libvips' built-in CMYK profile (a standard press profile);
 * embedded unless `embedProfile` is false (untagged CMYK is read through the same profile).
 */
export async function cmykJpeg(source: Buffer, options: { readonly embedProfile?: boolean } = {}): Promise<Buffer> {
  return sharp(source).withIccProfile('cmyk', { attach: options.embedProfile ?? true }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** D50-adapted colorants of Adobe RGB (1998), as its reference profile carries them. */
const ADOBE_RGB = {
  red: [0.60974, 0.31111, 0.01947],
  green: [0.20528, 0.62567, 0.06087],
  blue: [0.14919, 0.06322, 0.74457],
  white: [0.9642, 1.0, 0.82491],
  gamma: 563 / 256,
} as const;

/**
 * An ICC v2 display profile for Adobe RGB (1998): matrix and a 2.2 gamma curve, written byte by
 * byte (no such profile ships with libvips, and tests must not depend on system files).
 */
export function adobeRgbProfile(): Buffer {
  const s15f16 = (value: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Math.round(value * 65536));
    return b;
  };
  const xyz = (values: readonly number[]): Buffer => Buffer.concat([Buffer.from('XYZ '), Buffer.alloc(4), ...values.map(s15f16)]);
  const curve = Buffer.concat([Buffer.from('curv'), Buffer.alloc(4), u32(1), u16(Math.round(ADOBE_RGB.gamma * 256)), Buffer.alloc(2)]);
  const name = 'Adobe RGB (1998) compatible, Recto test fixture';
  const desc = Buffer.concat([
    Buffer.from('desc'), Buffer.alloc(4), u32(name.length + 1), Buffer.from(`${name}\0`, 'latin1'),
    u32(0), u32(0), u16(0), Buffer.alloc(1), Buffer.alloc(67),
  ]);
  const cprt = Buffer.concat([Buffer.from('text'), Buffer.alloc(4), Buffer.from('No copyright, use freely\0', 'latin1')]);
  const tags: [string, Buffer][] = [
    ['desc', desc], ['cprt', cprt], ['wtpt', xyz(ADOBE_RGB.white)],
    ['rXYZ', xyz(ADOBE_RGB.red)], ['gXYZ', xyz(ADOBE_RGB.green)], ['bXYZ', xyz(ADOBE_RGB.blue)],
    ['rTRC', curve], ['gTRC', curve], ['bTRC', curve],
  ];
  const tableSize = 4 + tags.length * 12;
  let offset = 128 + tableSize;
  const table: Buffer[] = [u32(tags.length)];
  const bodies: Buffer[] = [];
  for (const [signature, body] of tags) {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    table.push(Buffer.from(signature, 'latin1'), u32(offset), u32(body.length));
    bodies.push(padded);
    offset += padded.length;
  }
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntr', 12, 'latin1');
  header.write('RGB ', 16, 'latin1');
  header.write('XYZ ', 20, 'latin1');
  [2024, 1, 1, 0, 0, 0].forEach((v, i) => header.writeUInt16BE(v, 24 + 2 * i));
  header.write('acsp', 36, 'latin1');
  s15f16(0.9642).copy(header, 68);
  s15f16(1).copy(header, 72);
  s15f16(0.8249).copy(header, 76);
  return Buffer.concat([header, ...table, ...bodies]);
}

/**
 * `source` (sRGB) converted into a wide-gamut space and tagged with its profile: the stored
 * numbers differ from sRGB, so a renderer that drops the profile shows shifted colours.
 */
export async function iccTagged(source: Buffer, space: 'adobe-rgb' | 'p3', format: 'png' | 'jpeg' | 'tiff' = 'png'): Promise<Buffer> {
  return withTempDir(async (dir) => {
    let profile = 'p3';
    if (space === 'adobe-rgb') {
      profile = join(dir, 'adobe-rgb.icc');
      await writeFile(profile, adobeRgbProfile());
    }
    const image = sharp(source).withIccProfile(profile);
    switch (format) {
      case 'png': return image.png().toBuffer();
      case 'jpeg': return image.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
      case 'tiff': return image.tiff({ compression: 'deflate' }).toBuffer();
    }
  });
}

// ---- variants ------------------------------------------------------------------------

/** 16 bits per sample (values scaled from the 8-bit source), optionally with the source's profile. */
export async function sixteenBit(source: Buffer, format: 'png' | 'tiff', options: { readonly keepProfile?: boolean } = {}): Promise<Buffer> {
  let image = sharp(source).toColourspace('rgb16');
  if (options.keepProfile === true) image = image.keepIccProfile();
  return format === 'png' ? image.png().toBuffer() : image.tiff({ compression: 'deflate' }).toBuffer();
}

/** An 8-bit palette PNG; exact for images of 256 colours or fewer (the grid has 100). */
export async function palettePng(source: Buffer): Promise<Buffer> {
  return sharp(source).png({ palette: true, colours: 256, dither: 0, quality: 100, effort: 10 }).toBuffer();
}

export async function progressiveJpeg(source: Buffer, quality = 92): Promise<Buffer> {
  return sharp(source).jpeg({ quality, progressive: true, chromaSubsampling: '4:4:4' }).toBuffer();
}

export async function baselineJpeg(source: Buffer, quality = 92): Promise<Buffer> {
  return sharp(source).jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
}

/**
 * A JPEG whose stored pixels are `display` turned so that a viewer applying EXIF `orientation`
 * shows `display` upright. Orientations as libvips applies them: stored to displayed is
 * "turn clockwise, then mirror" (2 mirror, 3 180, 4 flip, 5 transpose, 6 90, 7 transverse, 8 270).
 */
export async function orientedJpeg(display: Buffer, orientation: number, quality = 95): Promise<Buffer> {
  // Undo the display transform: displayed = mirror?(turn(stored)), so stored = turn⁻¹(mirror?(displayed)).
  const turn = { 1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270 }[orientation] ?? 0;
  const mirror = [2, 4, 5, 7].includes(orientation);
  const stored = await sharp(display).flop(mirror).png().toBuffer();
  const unturned = await sharp(stored).rotate((360 - turn) % 360).png().toBuffer();
  return sharp(unturned).withMetadata({ orientation }).jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
}

export interface TiffFixtureOptions {
  readonly tile?: number;
  readonly compression?: 'jpeg' | 'deflate' | 'lzw' | 'none';
  /** `pages`: each level a page (libvips' default); `subifds`: levels as SubIFDs of page 1. */
  readonly pyramid?: 'pages' | 'subifds';
  readonly quality?: number;
}

/** A TIFF: striped unless `tile` is given, optionally pyramidal. */
export async function tiff(source: Buffer, options: TiffFixtureOptions = {}): Promise<Buffer> {
  const settings: TiffOptions = {
    compression: options.compression ?? 'deflate',
    quality: options.quality ?? 90,
    ...(options.compression === 'deflate' || options.compression === 'lzw' ? { predictor: 'horizontal' } : {}),
    ...(options.tile === undefined ? {} : { tile: true, tileWidth: options.tile, tileHeight: options.tile }),
    ...(options.pyramid === undefined ? {} : { tile: true, pyramid: true }),
  };
  const written = await sharp(source).tiff(settings).toBuffer();
  return options.pyramid === 'subifds' ? pagesToSubifds(written) : written;
}

export async function webp(source: Buffer, options: { readonly lossless?: boolean; readonly quality?: number } = {}): Promise<Buffer> {
  return sharp(source).webp(options.lossless === true ? { lossless: true } : { quality: options.quality ?? 90 }).toBuffer();
}

export async function gif(source: Buffer): Promise<Buffer> {
  return sharp(source).gif({ dither: 0, effort: 10 }).toBuffer();
}

/**
 * Rewrite a little-endian page pyramid (IFD0 -> IFD1 -> ...) as one page whose reduced levels
 * are SubIFDs (tag 330), the layout OME-TIFF and libvips' `subifd` option write. The pixel data
 * stays where it is: only a new first directory is appended and the header pointed at it.
 */
export function pagesToSubifds(file: Buffer): Buffer {
  if (file.toString('latin1', 0, 2) !== 'II' || file.readUInt16LE(2) !== 42) {
    throw new TypeError('Expected a classic little-endian TIFF for pagesToSubifds but received another layout');
  }
  const offsets: number[] = [];
  for (let at = file.readUInt32LE(4); at !== 0; at = file.readUInt32LE(at + 2 + file.readUInt16LE(at) * 12)) offsets.push(at);
  const [first, ...levels] = offsets;
  if (first === undefined || levels.length === 0) throw new TypeError('Expected a TIFF with several pages for pagesToSubifds but received one');
  const out = Buffer.from(file);
  // Each level's "next directory" becomes 0: they are no longer pages.
  for (const at of offsets) out.writeUInt32LE(0, at + 2 + out.readUInt16LE(at) * 12);
  const entries: Buffer[] = [];
  const count = file.readUInt16LE(first);
  for (let i = 0; i < count; i++) entries.push(file.subarray(first + 2 + i * 12, first + 14 + i * 12));
  const align = (n: number): number => n + (n % 2);
  let end = align(out.length);
  const arrayOffset = end;
  const array = Buffer.concat(levels.map((offset) => u32le(offset)));
  end += array.length;
  const subifd = Buffer.alloc(12);
  subifd.writeUInt16LE(330, 0);
  subifd.writeUInt16LE(13, 2); // IFD
  subifd.writeUInt32LE(levels.length, 4);
  subifd.writeUInt32LE(levels.length === 1 ? levels[0] ?? 0 : arrayOffset, 8);
  entries.push(subifd);
  entries.sort((a, b) => a.readUInt16LE(0) - b.readUInt16LE(0));
  const ifdOffset = end;
  const ifd = Buffer.concat([u16le(entries.length), ...entries, u32le(0)]);
  const result = Buffer.concat([out, Buffer.alloc(arrayOffset - out.length), array, ifd]);
  result.writeUInt32LE(ifdOffset, 4);
  return result;
}

// ---- bad sources --------------------------------------------------------------------

/** The first `fraction` of the file: headers intact, pixel data cut off. */
export function truncated(file: Buffer, fraction = 0.5): Buffer {
  return file.subarray(0, Math.max(1, Math.floor(file.length * fraction)));
}

/** The file with its middle third overwritten by noise: a valid header over garbage data. */
export function corrupted(file: Buffer, seed = 7): Buffer {
  const out = Buffer.from(file);
  const next = random(seed);
  for (let i = Math.floor(out.length / 3); i < Math.floor((2 * out.length) / 3); i++) out[i] = Math.floor(next() * 256);
  return out;
}

export const ZERO_BYTES = Buffer.alloc(0);
export const NOT_AN_IMAGE = Buffer.from('<html><body>Not an image, but a web page</body></html>\n'.repeat(20));

/**
 * A PNG of a few hundred bytes whose header claims `width` x `height` pixels of RGB: the
 * classic decompression bomb. Its one IDAT holds a sliver of zeros; a decoder that trusted the
 * header would allocate width x height x 3 bytes before noticing.
 */
export function pngBomb(width = 100_000, height = 100_000): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    return Buffer.concat([u32(body.length), typed, u32(crc32(typed))]);
  };
  const ihdr = Buffer.concat([u32(width), u32(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(4096))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The opening boxes of a JPEG 2000 (JP2) file: signature, file type, a header claiming 64x64. */
export function jp2Header(): Buffer {
  const box = (type: string, body: Buffer): Buffer => Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
  const ihdr = box('ihdr', Buffer.concat([u32(64), u32(64), u16(3), Buffer.from([7, 7, 0, 0])]));
  return Buffer.concat([
    box('jP  ', Buffer.from([0x0d, 0x0a, 0x87, 0x0a])),
    box('ftyp', Buffer.concat([Buffer.from('jp2 ', 'latin1'), u32(0), Buffer.from('jp2 ', 'latin1')])),
    box('jp2h', ihdr),
    Buffer.from([0xff, 0x4f, 0xff, 0x51]),
    Buffer.alloc(256),
  ]);
}

// ---- helpers ----------------------------------------------------------------------------

/** Run `work` with a fresh directory under the OS temp dir, removed afterwards. */
export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'recto-fixture-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u32le(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function u16le(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}
