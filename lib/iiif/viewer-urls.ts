/**
 * The image URLs viewers build from an info.json, string for string: what pre-warming must
 * cover so that a visitor's viewer never asks for a derivative that is not there. Pure: the
 * input is the info.json document as Recto serves it, the output is URLs.
 *
 * Each generator follows the viewer's own code (read from its sources, cited per function), not
 * the spec's canonical forms: viewers round edge tiles their own way (`ceil` of the scaled
 * region, or the `sizes` list taken as level sizes), and ask 2.1 servers for `w,` or `w,h`
 * depending on their version. Distinct strings that name the same pixels resolve to the same
 * Plan, hence the same storage key: the caller dedupes by key, never by URL.
 *
 * - OpenSeadragon 5.0.1 and later (`openseadragon`), and 2.3 to 5.0 (`openseadragon-legacy`,
 *   which Mirador 3 and 4 bundle): src/iiiftilesource.js, `getTileUrl` over every level and
 *   tile that `getNumTiles` gives.
 * - Leaflet-IIIF 3.x (`leaflet-iiif`): `getTileUrl` over every zoom and tile of `_tierSizes`,
 *   plus the whole-image tile of the negative zooms it adds for maps smaller than a tile.
 * - Mirador's thumbnails (`mirador`): a `sizes` entry as `full/w,h/0/default.jpg` in either
 *   version (src/lib/ThumbnailFactory.js, selectBestImageSize).
 * - OpenSeadragon's sizes-only pyramid (`constructLevels`): `full/w,` (2.1) or `full/w,h`
 *   (3.0) per `sizes` entry, counted under `openseadragon`.
 */
import { expected } from '../errors.js';
import type { ApiVersion, Size } from './types.js';

export const VIEWERS = ['openseadragon', 'openseadragon-legacy', 'leaflet-iiif', 'mirador'] as const;
export type Viewer = (typeof VIEWERS)[number];

export type UrlKind = 'tile' | 'size';

export interface ViewerUrl {
  readonly viewer: Viewer;
  readonly kind: UrlKind;
  readonly url: string;
}

/** One `tiles` entry of info.json. */
export interface InfoTiles {
  readonly width: number;
  readonly height?: number;
  readonly scaleFactors: readonly number[];
}

/** What viewers read from info.json, either version. */
export interface InfoSummary {
  readonly version: ApiVersion;
  /** `id` (3.0) or `@id` (2.1): the base every URL is built on. */
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly tiles: readonly InfoTiles[];
  readonly sizes: readonly Size[];
  readonly preferredFormats: readonly string[];
  /** `type` (3.0 `ImageService3`); Leaflet-IIIF tells the versions apart by it. */
  readonly type?: string;
  /** A level-0 profile: OpenSeadragon then asks 2.1 servers for `w,` only. */
  readonly level0: boolean;
}

const CONTEXTS: Readonly<Record<string, ApiVersion>> = {
  'http://iiif.io/api/image/2/context.json': '2',
  'http://iiif.io/api/image/3/context.json': '3',
};

const LEVEL0_PROFILES = new Set([
  'http://iiif.io/api/image/2/level0.json',
  'level0',
  'https://iiif.io/api/image/3/level0.json',
]);

/** Formats every browser decodes: the first of `preferredFormats` among them is the tile format. */
const BROWSER_FORMATS = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp']);

/** Mirador's default `thumbnails.preferredFormats`. */
const MIRADOR_FORMATS = new Set(['jpg', 'png', 'webp', 'tif']);

/** Leaflet-IIIF adds up to this many negative zooms for maps smaller than its smallest image. */
const LEAFLET_NEGATIVE_ZOOMS = 5;

/**
 * Read the fields viewers use from an info.json document (2.1 or 3.0).
 * @throws TypeError when the document lacks them: it is Recto's own, so that is a bug.
 */
export function readInfo(document: Readonly<Record<string, unknown>>): InfoSummary {
  const context = document['@context'];
  const version = typeof context === 'string' ? CONTEXTS[context] : undefined;
  if (version === undefined) throw new TypeError(expected('a IIIF 2 or 3 context', 'info.json @context', String(context)));
  const id = document[version === '3' ? 'id' : '@id'];
  if (typeof id !== 'string') throw new TypeError(expected('a string', 'info.json id', typeof id));
  const profile = document.profile;
  const profileName = Array.isArray(profile) ? (profile[0] as unknown) : profile;
  const type = document.type;
  return {
    version,
    id,
    width: positive(document.width, 'info.json width'),
    height: positive(document.height, 'info.json height'),
    tiles: list(document.tiles).map((entry, i) => {
      const tile = record(entry, `info.json tiles[${i}]`);
      return {
        width: positive(tile.width, `info.json tiles[${i}].width`),
        ...(tile.height === undefined ? {} : { height: positive(tile.height, `info.json tiles[${i}].height`) }),
        scaleFactors: list(tile.scaleFactors).map((factor) => positive(factor, `info.json tiles[${i}].scaleFactors`)),
      };
    }),
    sizes: list(document.sizes).map((entry, i) => {
      const size = record(entry, `info.json sizes[${i}]`);
      return { width: positive(size.width, `info.json sizes[${i}].width`), height: positive(size.height, `info.json sizes[${i}].height`) };
    }),
    preferredFormats: list(document.preferredFormats).filter((format): format is string => typeof format === 'string'),
    ...(typeof type === 'string' ? { type } : {}),
    level0: typeof profileName === 'string' && LEVEL0_PROFILES.has(profileName),
  };
}

/** Every tile and size URL the given viewers build from `info`, in viewer order. */
export function viewerUrls(info: InfoSummary, what: { readonly tiles: boolean; readonly sizes: boolean }, viewers: readonly Viewer[] = VIEWERS): ViewerUrl[] {
  const urls: ViewerUrl[] = [];
  const add = (viewer: Viewer, kind: UrlKind, list: readonly string[]): void => {
    for (const url of list) urls.push({ viewer, kind, url });
  };
  for (const viewer of viewers) {
    if (what.tiles) add(viewer, 'tile', tileUrls(info, viewer));
    if (what.sizes) add(viewer, 'size', sizeUrls(info, viewer));
  }
  return urls;
}

/** The tile URLs one viewer requests over the whole pyramid (none for `mirador`'s thumbnails). */
export function tileUrls(info: InfoSummary, viewer: Viewer): string[] {
  switch (viewer) {
    case 'openseadragon':
      return openSeadragonTiles(info, 'current');
    case 'openseadragon-legacy':
      return openSeadragonTiles(info, 'legacy');
    case 'leaflet-iiif':
      return leafletTiles(info);
    case 'mirador':
      // Mirador draws the image with its bundled OpenSeadragon: see openseadragon-legacy.
      return [];
  }
}

/** The URLs one viewer builds for the `sizes` entries. */
export function sizeUrls(info: InfoSummary, viewer: Viewer): string[] {
  switch (viewer) {
    case 'openseadragon':
    case 'openseadragon-legacy':
      // constructLevels(): the legacy pyramid OpenSeadragon builds from `sizes` alone.
      return info.sizes.map((size) => `${info.id}/full/${size.width},${info.version === '3' ? size.height : ''}/0/default.${tileFormat(info)}`);
    case 'mirador':
      // ThumbnailFactory: an advertised size is asked for as `w,h`, whatever the version.
      return info.sizes.map((size) => `${info.id}/full/${size.width},${size.height}/0/default.${miradorFormat(info)}`);
    case 'leaflet-iiif':
      return [];
  }
}

// ---- OpenSeadragon ----------------------------------------------------------------------

type Generation = 'current' | 'legacy';

interface OsdSource {
  readonly maxLevel: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Per scale factor, when info.json gives several `tiles` entries. */
  readonly perFactor: ReadonlyMap<number, Size>;
  /** The `sizes` list taken as the exact level sizes, when OpenSeadragon accepts it as one. */
  readonly levelSizes?: readonly Size[];
}

/** The IIIFTileSource constructor's reading of `tiles` and `sizes`. */
function openSeadragonSource(info: InfoSummary, generation: Generation): OsdSource | undefined {
  const first = info.tiles[0];
  if (first === undefined) return undefined;
  const perFactor = new Map<number, Size>();
  let scaleFactors: number[];
  if (info.tiles.length === 1) {
    scaleFactors = [...first.scaleFactors];
  } else {
    scaleFactors = [];
    for (const tile of info.tiles) {
      for (const factor of tile.scaleFactors) {
        scaleFactors.push(factor);
        perFactor.set(factor, { width: tile.width, height: tile.height ?? tile.width });
      }
    }
  }
  if (scaleFactors.length === 0) return undefined;
  const maxLevel = Math.round(Math.log(Math.max(...scaleFactors)) * Math.LOG2E);
  const levelSizes = generation === 'current' ? currentLevelSizes(info, maxLevel, scaleFactors) : legacyLevelSizes(info, maxLevel);
  return {
    maxLevel,
    tileWidth: first.width,
    tileHeight: first.height ?? first.width,
    perFactor,
    ...(levelSizes === undefined ? {} : { levelSizes }),
  };
}

/** 5.0.1+: the sorted sizes (plus the full size when missing) if there is one per level and each matches its scale factor. */
function currentLevelSizes(info: InfoSummary, maxLevel: number, scaleFactors: readonly number[]): Size[] | undefined {
  if (info.sizes.length === 0) return undefined;
  const sorted = [...info.sizes].sort((a, b) => a.width - b.width);
  const last = sorted[sorted.length - 1];
  if (last !== undefined && last.width < info.width && last.height < info.height) sorted.push({ width: info.width, height: info.height });
  if (sorted.length !== maxLevel + 1) return undefined;
  if (scaleFactors.length === sorted.length) {
    for (let i = 0; i < sorted.length; i++) {
      const factor = scaleFactors[sorted.length - i - 1];
      const size = sorted[i];
      if (size === undefined || Math.round(info.width / size.width) !== factor || Math.round(info.height / size.height) !== factor) return undefined;
    }
  }
  return sorted;
}

/** 2.3 to 5.0: the sorted sizes when there are as many as levels, or one fewer (the full size then added). */
function legacyLevelSizes(info: InfoSummary, maxLevel: number): Size[] | undefined {
  const count = info.sizes.length;
  if (count === 0 || (count !== maxLevel && count !== maxLevel + 1)) return undefined;
  const sorted = [...info.sizes].sort((a, b) => a.width - b.width);
  if (count === maxLevel) sorted.push({ width: info.width, height: info.height });
  return sorted;
}

/** What getTileUrl derives from the level alone, the same for each of its tiles. */
interface OsdLevel {
  /** The level's size in pixels. */
  readonly width: number;
  readonly height: number;
  readonly tile: Size;
  /** A tile's extent in full-image pixels. */
  readonly regionTileWidth: number;
  readonly regionTileHeight: number;
}

function openSeadragonTiles(info: InfoSummary, generation: Generation): string[] {
  const source = openSeadragonSource(info, generation);
  if (source === undefined) return [];
  const urls: string[] = [];
  for (let level = 0; level <= source.maxLevel; level++) {
    const scale = 0.5 ** (source.maxLevel - level);
    const factor = 2 ** (source.maxLevel - level);
    const tile = source.perFactor.get(factor) ?? { width: source.tileWidth, height: source.tileHeight };
    const levelSize = source.levelSizes?.[level];
    // getNumTiles(): from the level size when sizes are levels, else from the scaled image.
    const columns = levelSize === undefined ? Math.ceil((scale * info.width) / tile.width) : Math.ceil(levelSize.width / tile.width);
    const rows = levelSize === undefined ? Math.ceil((scale * info.height) / tile.height) : Math.ceil(levelSize.height / tile.height);
    const perLevel: OsdLevel = {
      width: levelSize?.width ?? Math.ceil(info.width * scale),
      height: levelSize?.height ?? Math.ceil(info.height * scale),
      tile,
      regionTileWidth: Math.round(tile.width / scale),
      regionTileHeight: Math.round(tile.height / scale),
    };
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) urls.push(openSeadragonTileUrl(info, generation, perLevel, x, y));
    }
  }
  return urls;
}

/** IIIFTileSource.getTileUrl(level, x, y), given what it derives from the level. */
function openSeadragonTileUrl(info: InfoSummary, generation: Generation, level: OsdLevel, x: number, y: number): string {
  const { width: levelWidth, height: levelHeight, tile, regionTileWidth, regionTileHeight } = level;
  const v2 = info.version === '2';
  let region: string;
  let size: string;
  if (levelWidth < tile.width && levelHeight < tile.height) {
    if (v2 && levelWidth === info.width) size = 'full';
    else if (!v2 && levelWidth === info.width && levelHeight === info.height) size = 'max';
    else if (!v2) size = `${levelWidth},${levelHeight}`;
    else size = `${levelWidth},`;
    region = 'full';
  } else {
    const regionX = x * regionTileWidth;
    const regionY = y * regionTileHeight;
    const regionW = Math.min(regionTileWidth, info.width - regionX);
    const regionH = Math.min(regionTileHeight, info.height - regionY);
    region = x === 0 && y === 0 && regionW === info.width && regionH === info.height ? 'full' : `${regionX},${regionY},${regionW},${regionH}`;
    const sizeW = Math.min(tile.width, levelWidth - x * tile.width);
    const sizeH = Math.min(tile.height, levelHeight - y * tile.height);
    if (v2 && sizeW === info.width) size = 'full';
    else if (!v2 && sizeW === info.width && sizeH === info.height) size = 'max';
    else if (v2 && (generation === 'legacy' || info.level0)) size = `${sizeW},`;
    else size = `${sizeW},${sizeH}`;
  }
  return `${info.id}/${region}/${size}/0/default.${tileFormat(info)}`;
}

/** configure(): the first preferred format the browser supports, else jpg. */
function tileFormat(info: InfoSummary): string {
  return info.preferredFormats.find((format) => BROWSER_FORMATS.has(format)) ?? 'jpg';
}

/** getFormat(): the service's first preferred format that Mirador's defaults also list, else jpg. */
function miradorFormat(info: InfoSummary): string {
  return info.preferredFormats.find((format) => MIRADOR_FORMATS.has(format)) ?? 'jpg';
}

// ---- Leaflet-IIIF -----------------------------------------------------------------------

function leafletTiles(info: InfoSummary): string[] {
  const tileSize = info.tiles[0]?.width ?? 256;
  const ceilLog2 = (n: number): number => Math.ceil(Math.log(n) / Math.LN2);
  const maxNativeZoom = Math.max(ceilLog2(info.width / tileSize), ceilLog2(info.height / tileSize), 0);
  const v3 = info.type === 'ImageService3';
  const url = (zoom: number, x: number, y: number): string => {
    const scale = 2 ** (maxNativeZoom - zoom);
    const base = tileSize * scale;
    const minX = x * base;
    const minY = y * base;
    const width = Math.min(minX + base, info.width) - minX;
    const height = Math.min(minY + base, info.height) - minY;
    const size = `${Math.ceil(width / scale)},${v3 ? String(Math.ceil(height / scale)) : ''}`;
    return `${info.id}/${minX},${minY},${width},${height}/${size}/0/default.jpg`;
  };
  const urls: string[] = [];
  for (let zoom = 0; zoom <= maxNativeZoom; zoom++) {
    const scale = 2 ** (maxNativeZoom - zoom);
    const columns = Math.ceil(Math.ceil(info.width / scale) / tileSize);
    const rows = Math.ceil(Math.ceil(info.height / scale) / tileSize);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) urls.push(url(zoom, x, y));
    }
  }
  // onAdd(): halve the smallest image while it is larger than the map, up to five times. The
  // map's size is the visitor's, so every such zoom is covered; only tile 0,0 holds the image.
  for (let zoom = -1; zoom >= -LEAFLET_NEGATIVE_ZOOMS; zoom--) urls.push(url(zoom, 0, 0));
  return urls;
}

// ---- reading --------------------------------------------------------------------------

function positive(value: unknown, part: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(expected('a positive whole number', part, value === undefined ? 'nothing' : JSON.stringify(value)));
  }
  return value;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function record(value: unknown, part: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) throw new TypeError(expected('an object', part, value === undefined ? 'nothing' : JSON.stringify(value)));
  return value as Record<string, unknown>;
}
