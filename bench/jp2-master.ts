/**
 * A JPEG 2000 master for the bench: the 10000x7500 photo-like JPEG saved as JPEG 2000 with
 * 1024-pixel tiles at Q 45, made once into the cache directory. By sharp when its libvips has
 * OpenJPEG (the prebuilt sharp does not), else by the libvips command line (`vips jp2ksave`, from
 * libvips-tools); neither there: no master, and the reason why.
 */
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import type { BenchContext } from './section.js';
import { benchSourceFile, cachedFile } from './sources.js';

const VERSION = 'v1';
const TILE = 1024;
const Q = 45;

export type Jp2Master = { readonly path: string; readonly writer: string } | { readonly skipped: string };

/** What can write JPEG 2000 here: sharp, the vips command line, or undefined. */
function jp2Writer(): 'sharp' | 'vips' | undefined {
  if (sharp.format.jp2.output.file) return 'sharp';
  const probe = spawnSync('vips', ['jp2ksave'], { encoding: 'utf8' });
  // `vips OPERATION` with no arguments prints the operation's usage: the saver exists.
  return probe.error === undefined && `${probe.stdout}${probe.stderr}`.includes('jp2ksave') ? 'vips' : undefined;
}

export async function jp2Master(context: BenchContext): Promise<Jp2Master> {
  const writer = jp2Writer();
  if (writer === undefined) return { skipped: 'no JPEG 2000 writer: this sharp has no OpenJPEG and `vips` (libvips-tools) is not installed' };
  const jpeg = await benchSourceFile(context.cacheDir, 'photo-75mp', context.log);
  const path = await cachedFile(context.cacheDir, `photo-10000x7500-${VERSION}.jp2`, `10000x7500 JPEG 2000 (${writer})`, async (into) => {
    if (writer === 'sharp') {
      await sharp(jpeg).jp2({ tileWidth: TILE, tileHeight: TILE, quality: Q }).toFile(into);
      return;
    }
    const made = spawnSync('vips', ['jp2ksave', jpeg, into, '--tile-width', String(TILE), '--tile-height', String(TILE), '--Q', String(Q)], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`vips jp2ksave exited ${String(made.status)}: ${made.stderr}`);
  }, context.log);
  return { path, writer: writer === 'sharp' ? `sharp ${sharp.versions.sharp}` : 'vips jp2ksave' };
}
