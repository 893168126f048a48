/**
 * Regenerate the sample sources the local stack serves out of the box (`npx tsx
 * infra/local/make-samples.ts`). Deterministic: the same bytes on every run, so the committed
 * files only change when a generator does. Each stays well under 1 MB.
 *
 * - grid.png: 1000x1000, a 10x10 grid of known colours (like the IIIF validator's test image);
 * - photo.jpg: 2000x1500 photo-like JPEG, sRGB, no EXIF, quality 85;
 * - pyramid.tif: 2048x1536 tiled pyramidal TIFF, 256-pixel JPEG tiles, levels as pages.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { fromRaw, gridImage, photoLikeRaw } from '../../test/support/fixtures.js';

const samples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');

async function main(): Promise<void> {
  await mkdir(samples, { recursive: true });
  const grid = await gridImage({ width: 1000, height: 1000, cols: 10, rows: 10 });
  const files: [string, Buffer][] = [
    ['grid.png', await fromRaw(grid.raw).png({ compressionLevel: 9 }).toBuffer()],
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
