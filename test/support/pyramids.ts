/**
 * Large tiled pyramidal TIFFs made in seconds, for the tests and the bench that prove a render
 * reads only what it needs: a 675-megapixel or gigapixel master whose JPEG tiles come from a
 * small palette of real, noisy 256-pixel JPEGs (encoded by sharp), each tile a palette entry
 * chosen by its position, so what any region must look like is known without decoding the
 * master. Every tile is stored as its own copy (the file is as large as a real scan's), unless
 * `shareTiles` keeps one copy per palette entry (a small file with the same structure).
 */
import sharp from 'sharp';
import type { Size } from '../../lib/iiif/types.js';
import { writeTiff, type WriterImage } from '../render/tiff/writer.js';
import type { Rgb } from './fixtures.js';

export interface PyramidOptions {
  readonly width: number;
  readonly height: number;
  /** Square tile edge (default 256). */
  readonly tile?: number;
  /** Distinct tile contents (default 32). */
  readonly palette?: number;
  /** One stored copy per palette entry instead of one per tile (default false). */
  readonly shareTiles?: boolean;
  /** JPEG quality of the palette's tiles (default 85). */
  readonly quality?: number;
  /** Levels stop once both sides are at most this (default the tile edge). */
  readonly smallest?: number;
  /** BigTIFF (needed past 4 GB; default: only when the file would not fit a classic TIFF). */
  readonly bigTiff?: boolean;
}

export interface SyntheticPyramid {
  readonly file: Buffer;
  /** Largest first, each half the one before (rounded up). */
  readonly levels: readonly Size[];
  readonly tile: number;
  /** The mean colour of each palette entry, as sharp decodes it. */
  readonly means: readonly Rgb[];
  /** Each palette entry's JPEG, as stored for every tile that shows it. */
  readonly jpegs: readonly Buffer[];
  /** The palette entry stored at tile (column, row) of a level. */
  entryAt(level: number, column: number, row: number): number;
}

/** The palette entry of a tile: spread so that neighbours differ. */
function entry(palette: number, level: number, column: number, row: number): number {
  return (column * 7 + row * 13 + level * 5) % palette;
}

/** A 256-pixel JPEG of noise around a base colour, distinct per index. */
async function paletteTile(index: number, edge: number, quality: number): Promise<{ bytes: Buffer; mean: Rgb }> {
  const base = { r: (index * 67) % 200 + 28, g: (index * 131) % 200 + 28, b: (index * 29) % 200 + 28 };
  const noise = Buffer.alloc(edge * edge * 3);
  let seed = index * 2654435761 + 1;
  for (let i = 0; i < noise.length; i += 3) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const wobble = (seed >>> 24) % 41 - 20;
    noise[i] = clamp(base.r + wobble);
    noise[i + 1] = clamp(base.g + wobble);
    noise[i + 2] = clamp(base.b + wobble);
  }
  const bytes = await sharp(noise, { raw: { width: edge, height: edge, channels: 3 } }).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  const stats = await sharp(bytes).stats();
  const [r, g, b] = stats.channels;
  return { bytes, mean: { r: r?.mean ?? 0, g: g?.mean ?? 0, b: b?.mean ?? 0 } };
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, value));
}

/** Make the pyramid (pages: full image first, then each level). */
export async function syntheticPyramid(options: PyramidOptions): Promise<SyntheticPyramid> {
  const edge = options.tile ?? 256;
  const palette = options.palette ?? 32;
  const quality = options.quality ?? 85;
  const smallest = options.smallest ?? edge;
  const tiles = await Promise.all(Array.from({ length: palette }, (_, index) => paletteTile(index, edge, quality)));
  const levels: Size[] = [{ width: options.width, height: options.height }];
  for (;;) {
    const last = levels[levels.length - 1] ?? { width: 1, height: 1 };
    if (last.width <= smallest && last.height <= smallest) break;
    levels.push({ width: Math.ceil(last.width / 2), height: Math.ceil(last.height / 2) });
  }
  let bytes = 0;
  const images: WriterImage[] = levels.map((size, level) => {
    const across = Math.ceil(size.width / edge);
    const down = Math.ceil(size.height / edge);
    const stored: Buffer[] = [];
    for (let row = 0; row < down; row++) {
      for (let column = 0; column < across; column++) {
        const chosen = tiles[entry(palette, level, column, row)]?.bytes ?? Buffer.alloc(0);
        stored.push(options.shareTiles === true ? chosen : Buffer.from(chosen));
        bytes += chosen.length;
      }
    }
    return {
      width: size.width,
      height: size.height,
      tileWidth: edge,
      tileHeight: edge,
      samplesPerPixel: 3,
      bitsPerSample: 8,
      photometric: 6,
      compression: 7,
      extraTags: [{ tag: 530, type: 3, values: [2, 2] }],
      ...(level > 0 ? { newSubfileType: 1 } : {}),
      tiles: stored,
    };
  });
  const bigTiff = options.bigTiff ?? bytes > 3.5 * 1024 ** 3;
  return {
    file: writeTiff({ bigTiff, pages: images }),
    levels,
    tile: edge,
    means: tiles.map((tile) => tile.mean),
    jpegs: tiles.map((tile) => tile.bytes),
    entryAt: (level, column, row) => entry(palette, level, column, row),
  };
}
