/**
 * The real OpenSeadragon (node_modules/openseadragon, 6.x) in a Node vm sandbox with just enough
 * of a browser stubbed for it to load, so tests can ask its own IIIFTileSource which tile URLs it
 * builds from an info.json: the reference lib/prewarm/viewers.ts is held to.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';

interface OsdPoint {
  readonly x: number;
  readonly y: number;
}

interface OsdTileSource {
  readonly maxLevel: number;
  readonly minLevel: number;
  getNumTiles(level: number): OsdPoint;
  getTileUrl(level: number, x: number, y: number): string;
}

interface OsdNamespace {
  readonly version: { readonly versionStr: string };
  readonly IIIFTileSource: {
    new (options: Record<string, unknown>): OsdTileSource;
    readonly prototype: { configure(data: Record<string, unknown>, url: string, postData: null): Record<string, unknown> };
  };
}

let loaded: OsdNamespace | undefined;

/** OpenSeadragon, loaded once per test file. */
export function openSeadragon(): OsdNamespace {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('openseadragon');
  const noop = (): void => undefined;
  const element = (): Record<string, unknown> => ({ style: {}, getContext: () => null, appendChild: noop, setAttribute: noop, addEventListener: noop, removeEventListener: noop, canPlayType: () => '' });
  const sandbox: Record<string, unknown> = {
    navigator: { userAgent: 'node', appVersion: '5.0', appName: 'Netscape', vendor: '' },
    document: {
      documentElement: { style: {}, addEventListener: noop, removeEventListener: noop },
      addEventListener: noop,
      removeEventListener: noop,
      createElement: element,
      body: element(),
      getElementsByTagName: () => [],
      readyState: 'complete',
    },
    location: { protocol: 'http:', href: 'http://localhost/', search: '' },
    addEventListener: noop,
    removeEventListener: noop,
    setTimeout,
    clearTimeout,
    console,
  };
  sandbox.window = sandbox;
  sandbox.self = sandbox;
  const module = { exports: {} };
  sandbox.module = module;
  sandbox.exports = module.exports;
  vm.runInNewContext(readFileSync(file, 'utf8'), sandbox, { filename: file });
  loaded = module.exports as OsdNamespace;
  return loaded;
}

/**
 * Every tile URL OpenSeadragon requests for an info.json fetched from `infoUrl`: each level from
 * 0 to maxLevel, each tile of getNumTiles, through its own getTileUrl.
 */
export function openSeadragonTileUrls(info: Record<string, unknown>, infoUrl: string): string[] {
  const osd = openSeadragon();
  // A deep copy: OpenSeadragon writes into the object it is given.
  const data = osd.IIIFTileSource.prototype.configure(structuredClone(info), infoUrl, null);
  const source = new osd.IIIFTileSource(data);
  const urls: string[] = [];
  for (let level = source.minLevel; level <= source.maxLevel; level++) {
    const tiles = source.getNumTiles(level);
    for (let y = 0; y < tiles.y; y++) {
      for (let x = 0; x < tiles.x; x++) urls.push(source.getTileUrl(level, x, y));
    }
  }
  return urls;
}
