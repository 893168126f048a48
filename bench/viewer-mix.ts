/**
 * The requests a viewer makes of one image (info.json, full-resolution tiles, a coarse tile, a
 * thumbnail, a larger view), each made distinct per run: a run's request is never one an earlier
 * run stored, so every image request is a cache miss that renders. Tiles move across the image;
 * sizes move by a pixel or two (the same work, another derivative).
 */
import type { Size } from '../lib/iiif/types.js';

export type MixKind = 'info' | 'tile' | 'sf4' | 'thumbnail' | 'width';

export const MIX: readonly { readonly kind: MixKind; readonly label: string }[] = [
  { kind: 'info', label: 'info.json' },
  { kind: 'tile', label: 'full-resolution 512 tile' },
  { kind: 'sf4', label: 'scale-factor-4 tile (a 2048 region at 512)' },
  { kind: 'thumbnail', label: 'full/!400,400 (!401,401… in later runs)' },
  { kind: 'width', label: 'full/1024, (1026,… in later runs)' },
];

const TILE = 512;
const SF4_REGION = 2048;

/**
 * The full-resolution 512 tile of run `run` of `runs` in the column at `column` (0 to 1 of the
 * width): runs go down the image, since a baseline JPEG's cost grows with the depth of the row
 * it must decode to, and the same rows in two columns cost alike.
 */
export function tilePath(size: Size, column: number, run: number, runs: number): string {
  const x = Math.min(Math.floor((size.width * column) / TILE) * TILE, size.width - TILE);
  const y = Math.min(Math.floor((size.height * (run + 0.5)) / runs / TILE) * TILE, size.height - TILE);
  return `${x},${y},${TILE},${TILE}/${TILE},${TILE}/0/default.jpg`;
}

/** A 2048 region at 512 (scale factor 4), a different cell of the 2048 grid each run. */
function sf4Path(size: Size, run: number): string {
  const columns = Math.floor(size.width / SF4_REGION);
  const rows = Math.floor(size.height / SF4_REGION);
  const cell = run % (columns * rows);
  const x = (cell % columns) * SF4_REGION;
  const y = Math.floor(cell / columns) * SF4_REGION;
  return `${x},${y},${SF4_REGION},${SF4_REGION}/${TILE},${TILE}/0/default.jpg`;
}

/** The path (after the identifier) of a request of the mix in run `run` of `runs`. */
export function mixPath(kind: MixKind, size: Size, column: number, run: number, runs: number): string {
  switch (kind) {
    case 'info': return 'info.json';
    case 'tile': return tilePath(size, column, run, runs);
    case 'sf4': return sf4Path(size, run);
    case 'thumbnail': return `full/!${400 + run},${400 + run}/0/default.jpg`;
    case 'width': return `full/${1024 + 2 * run},/0/default.jpg`;
  }
}
