/**
 * The generated benchmark sources, made once into the git-ignored cache directory and reused:
 * a ~2700x2200 photo-like JPEG, a 10000x7500 one, the same as a tiled pyramidal TIFF (256-pixel
 * JPEG tiles), and a PNG with alpha. Names carry a version so a change of generator remakes them.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { fromRaw, photoLikeRaw } from '../test/support/fixtures.js';
import type { BenchSource } from './requests.js';

const VERSION = 'v1';

interface Spec {
  readonly id: string;
  readonly label: string;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly format: BenchSource['format'];
  readonly sf8Load?: string;
  readonly hasAlpha: boolean;
  readonly make: (path: string, cacheDir: string) => Promise<void>;
}

const SPECS: readonly Spec[] = [
  {
    id: 'photo-6mp', label: '2700x2200 JPEG', file: `photo-2700x2200-${VERSION}.jpg`, width: 2700, height: 2200, format: 'jpeg', sf8Load: 'shrink=8', hasAlpha: false,
    make: async (path) => { await fromRaw(await photoLikeRaw({ width: 2700, height: 2200, seed: 11 })).jpeg({ quality: 85 }).toFile(path); },
  },
  {
    id: 'photo-75mp', label: '10000x7500 JPEG', file: `photo-10000x7500-${VERSION}.jpg`, width: 10_000, height: 7_500, format: 'jpeg', sf8Load: 'shrink=8', hasAlpha: false,
    make: async (path) => { await fromRaw(await photoLikeRaw({ width: 10_000, height: 7_500, seed: 12 })).jpeg({ quality: 85 }).toFile(path); },
  },
  {
    id: 'pyramid-75mp', label: '10000x7500 pyramidal TIFF', file: `photo-10000x7500-${VERSION}.tif`, width: 10_000, height: 7_500, format: 'tiff', sf8Load: 'page=3', hasAlpha: false,
    make: async (path, cacheDir) => {
      const jpeg = await ensure(SPECS[1]!, cacheDir);
      await sharp(jpeg).tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 85 }).toFile(path);
    },
  },
  {
    id: 'alpha-4mp', label: '2000x2000 PNG with alpha', file: `alpha-2000x2000-${VERSION}.png`, width: 2000, height: 2000, format: 'png', hasAlpha: true,
    make: async (path) => { await fromRaw(await photoLikeRaw({ width: 2000, height: 2000, seed: 13, channels: 4 })).png({ compressionLevel: 6 }).toFile(path); },
  },
];

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

/**
 * A generated file in the cache directory: made by `make` (into a partial file, renamed when
 * done) unless it is there already.
 */
export async function cachedFile(cacheDir: string, file: string, label: string, make: (path: string) => Promise<void>, log?: (line: string) => void): Promise<string> {
  const path = join(cacheDir, file);
  if (await exists(path)) return path;
  await mkdir(cacheDir, { recursive: true });
  log?.(`generating ${label} → ${path}`);
  const partial = `${path}.partial-${process.pid}`;
  await make(partial);
  await rename(partial, path);
  return path;
}

function ensure(spec: Spec, cacheDir: string, log?: (line: string) => void): Promise<string> {
  return cachedFile(cacheDir, spec.file, spec.label, (path) => spec.make(path, cacheDir), log);
}

/** The file of one bench source by its id (`photo-75mp`, …), generated on first use. */
export function benchSourceFile(cacheDir: string, id: string, log: (line: string) => void): Promise<string> {
  const spec = SPECS.find((candidate) => candidate.id === id);
  if (spec === undefined) throw new TypeError(`no bench source ${JSON.stringify(id)}; known: ${SPECS.map((candidate) => candidate.id).join(', ')}`);
  return ensure(spec, cacheDir, log);
}

/** Every bench source, generated on first use. */
export async function benchSources(cacheDir: string, log: (line: string) => void): Promise<(BenchSource & { bytes: number })[]> {
  await mkdir(cacheDir, { recursive: true });
  const sources: (BenchSource & { bytes: number })[] = [];
  for (const spec of SPECS) {
    const path = await ensure(spec, cacheDir, log);
    sources.push({
      id: spec.id,
      label: spec.label,
      path,
      width: spec.width,
      height: spec.height,
      format: spec.format,
      ...(spec.sf8Load === undefined ? {} : { sf8Load: spec.sf8Load }),
      hasAlpha: spec.hasAlpha,
      large: spec.width * spec.height > 50_000_000,
      bytes: (await stat(path)).size,
    });
  }
  return sources;
}
