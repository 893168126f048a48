/**
 * Regenerate the sample sources the local stack serves out of the box (`npx tsx
 * infra/local/make-samples.ts`). Deterministic: the same bytes on every run, so the committed
 * files only change when a generator does (or, for the map's text, the machine's fonts). Each
 * stays under 1 MB.
 *
 * - grid.png: the IIIF validator's test image (1000x1000, a 10x10 grid of its known colours), so
 *   `npm run conformance -- --base http://127.0.0.1:3000/iiif/3 --id grid` runs against `npm start`;
 * - map.png: 6000x4000, an invented map with structure at every scale (sample-map.ts): the one
 *   to try deep zoom on; the page opens it first. A 32-colour palette PNG: line art and text
 *   keep their edges and the file stays small;
 * - photo.jpg: 2000x1500 photo-like JPEG, sRGB, no EXIF, quality 85;
 * - pyramid.tif: 2048x1536 tiled pyramidal TIFF, 256-pixel JPEG tiles, levels as pages.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { validationPng } from '../cli/conformance/grid.js';
import { mapSvg } from './sample-map.js';
import { fromRaw, photoLikeRaw } from '../../test/support/fixtures.js';

const samples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');

async function main(): Promise<void> {
  await mkdir(samples, { recursive: true });
  const files: [string, Buffer][] = [
    ['grid.png', await validationPng()],
    [
      'map.png',
      await sharp(Buffer.from(mapSvg({ width: 6000, height: 4000, seed: 7 })))
        .flatten({ background: '#f3ead6' })
        .png({ palette: true, colours: 32, compressionLevel: 9 })
        .toBuffer(),
    ],
    ['photo.jpg', await fromRaw(await photoLikeRaw({ width: 2000, height: 1500, seed: 2024 })).jpeg({ quality: 85 }).toBuffer()],
    [
      'pyramid.tif',
      await sharp(await fromRaw(await photoLikeRaw({ width: 2048, height: 1536, seed: 2025 })).png().toBuffer())
        .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 75 })
        .toBuffer(),
    ],
  ];
  for (const [name, data] of files) {
    await writeFile(join(samples, name), data);
    process.stdout.write(`${name}: ${data.length} bytes\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
