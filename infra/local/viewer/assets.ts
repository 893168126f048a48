/**
 * The page's static assets: its script (client/app.ts and OpenSeadragon from node_modules,
 * bundled by esbuild in memory on first request, so there is no build step before `npm start`
 * and no CDN), its stylesheet, and OpenSeadragon's button images.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** URL paths of the assets, as the page links them. */
export const VIEWER_ASSET_PATHS = {
  script: '/viewer/app.js',
  style: '/viewer/app.css',
  /** OpenSeadragon's `prefixUrl`: its button images are served from here. */
  images: '/viewer/images/',
} as const;

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

let script: Promise<Asset> | undefined;

/**
 * The bundled client script, built once per process. A failed build is not remembered, so a
 * fixed file is picked up by the next request.
 */
export function viewerScript(): Promise<Asset> {
  script ??= bundleClient().catch((error: unknown) => {
    script = undefined;
    throw error;
  });
  return script;
}

async function bundleClient(): Promise<Asset> {
  const result = await build({
    entryPoints: [path.join(HERE, 'client', 'app.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Browsers of the last few years; OpenSeadragon 6 needs no more.
    target: ['es2020'],
    minify: true,
    // OpenSeadragon's BSD licence travels with the bundle.
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error('Expected one bundle from esbuild for the viewer but received none');
  return { body: Buffer.from(file.contents), contentType: 'text/javascript; charset=utf-8' };
}

export async function viewerStyle(): Promise<Asset> {
  return { body: await readFile(path.join(HERE, 'app.css')), contentType: 'text/css; charset=utf-8' };
}

/** OpenSeadragon's image names are lowercase words and underscores: nothing else is served. */
const IMAGE_NAME = /^[a-z_]+\.png$/;

/** One of OpenSeadragon's button images, or undefined for any other name. */
export async function viewerImage(name: string): Promise<Asset | undefined> {
  if (!IMAGE_NAME.test(name)) return undefined;
  const require = createRequire(import.meta.url);
  const directory = path.join(path.dirname(require.resolve('openseadragon/package.json')), 'build', 'openseadragon', 'images');
  try {
    return { body: await readFile(path.join(directory, name)), contentType: 'image/png' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
