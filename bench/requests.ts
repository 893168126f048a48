/**
 * The requests a viewer makes of one source, as Plans (built by hand: the IIIF parser is not
 * needed to measure rendering), with the naive sharp pipeline and the libvips command line that
 * do the same work.
 */
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { DEFAULTS } from '../lib/config.js';
import type { Plan, Quality, Rect, RenderableFormat, Size } from '../lib/iiif/types.js';

export interface BenchSource {
  readonly id: string;
  readonly label: string;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly format: 'jpeg' | 'tiff' | 'png';
  /** For the vips CLI: how to open the level of a scale-factor-8 tile. */
  readonly sf8Load?: string;
  readonly hasAlpha: boolean;
  /** 75 MP sources: their full/max has the larger memory allowance. */
  readonly large: boolean;
}

export const REQUEST_IDS = ['info', 'tile', 'tile-sf8', 'thumbnail', 'square', 'width-1024', 'gray-pct', 'rotate-webp', 'full-max'] as const;
export type RequestId = (typeof REQUEST_IDS)[number];

export interface BenchRequest {
  readonly id: RequestId;
  /** The IIIF path it stands for. */
  readonly path: string;
  /** Undefined for `info` (a probe, not a render). */
  readonly plan?: Plan;
}

const TILE = 512;

function plan(source: BenchSource, region: Rect, size: Size, rotation: number, quality: Quality, format: RenderableFormat): Plan {
  return { identifier: source.id, source: { width: source.width, height: source.height }, limits: {}, region, size, mirror: false, rotation, quality, format };
}

function fit(region: Size, box: Size): Size {
  const scale = Math.min(box.width / region.width, box.height / region.height);
  return { width: Math.round(region.width * scale), height: Math.round(region.height * scale) };
}

/** The viewer's requests, cheapest first (the full image last: its memory stays with the process). */
export function requestsFor(source: BenchSource): BenchRequest[] {
  const { width, height } = source;
  const full: Rect = { x: 0, y: 0, width, height };
  const byWidth = (w: number): Size => ({ width: w, height: Math.round((w * height) / width) });
  // The full-resolution tile at the image centre, and the scale-factor-8 tile holding the centre.
  const tx = Math.floor(width / 2 / TILE) * TILE;
  const ty = Math.floor(height / 2 / TILE) * TILE;
  const tile: Rect = { x: tx, y: ty, width: Math.min(TILE, width - tx), height: Math.min(TILE, height - ty) };
  const span = TILE * 8;
  const sx = Math.floor(width / 2 / span) * span;
  const sy = Math.floor(height / 2 / span) * span;
  const sf8: Rect = { x: sx, y: sy, width: Math.min(span, width - sx), height: Math.min(span, height - sy) };
  const side = Math.min(width, height);
  const square: Rect = { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), width: side, height: side };
  const pct: Rect = { x: Math.round(width / 4), y: Math.round(height / 4), width: Math.round((3 * width) / 4) - Math.round(width / 4), height: Math.round((3 * height) / 4) - Math.round(height / 4) };
  const thumbnail = fit(full, { width: 400, height: 400 });
  const sf8Size = { width: Math.ceil(sf8.width / 8), height: Math.ceil(sf8.height / 8) };
  return [
    { id: 'info', path: 'info.json (probe)' },
    { id: 'tile', path: `${tile.x},${tile.y},${tile.width},${tile.height}/${tile.width},/0/default.jpg`, plan: plan(source, tile, tile, 0, 'default', 'jpg') },
    { id: 'tile-sf8', path: `${sf8.x},${sf8.y},${sf8.width},${sf8.height}/${sf8Size.width},/0/default.jpg`, plan: plan(source, sf8, sf8Size, 0, 'default', 'jpg') },
    { id: 'thumbnail', path: 'full/!400,400/0/default.jpg', plan: plan(source, full, thumbnail, 0, 'default', 'jpg') },
    { id: 'square', path: 'square/300,300/0/default.jpg', plan: plan(source, square, { width: 300, height: 300 }, 0, 'default', 'jpg') },
    { id: 'width-1024', path: 'full/1024,/0/default.jpg', plan: plan(source, full, byWidth(1024), 0, 'default', 'jpg') },
    { id: 'gray-pct', path: 'pct:25,25,50,50/1024,/0/gray.png', plan: plan(source, pct, { width: 1024, height: Math.round((1024 * pct.height) / pct.width) }, 0, 'gray', 'png') },
    { id: 'rotate-webp', path: 'full/1024,/90/default.webp', plan: plan(source, full, byWidth(1024), 90, 'default', 'webp') },
    { id: 'full-max', path: 'full/max/0/default.jpg', plan: plan(source, full, { width, height }, 0, 'default', 'jpg') },
  ];
}

/**
 * The same work as one straightforward sharp pipeline: cut, then resize, then turn, sharp's
 * encoder defaults (same quality numbers): no level choice, no shrink-on-load after a cut.
 */
export function naivePipeline(input: string, plan: Plan, hasAlpha: boolean): Sharp {
  let image = sharp(input);
  const { region, size } = plan;
  if (region.x !== 0 || region.y !== 0 || region.width !== plan.source.width || region.height !== plan.source.height) {
    image = image.extract({ left: region.x, top: region.y, width: region.width, height: region.height });
  }
  if (size.width !== region.width || size.height !== region.height) image = image.resize(size.width, size.height, { fit: 'fill' });
  if (plan.rotation !== 0) image = image.rotate(plan.rotation);
  if (hasAlpha && plan.format === 'jpg') image = image.flatten({ background: '#ffffff' });
  if (plan.quality === 'gray') image = image.grayscale();
  switch (plan.format) {
    case 'jpg': return image.jpeg({ quality: DEFAULTS.JPEG_QUALITY });
    case 'webp': return image.webp({ quality: DEFAULTS.WEBP_QUALITY });
    case 'png': return image.png();
    case 'gif': return image.gif();
    case 'tif': return image.tiff();
  }
}

/** The libvips CLI doing the same work in one command, where one command can. */
export function vipsCommand(source: BenchSource, request: BenchRequest, out: string): [string, string[]] | undefined {
  const plan = request.plan;
  const jpg = `${out}.jpg[Q=85,strip]`;
  switch (request.id) {
    case 'info':
      return ['vipsheader', [source.path]];
    case 'full-max':
      return source.hasAlpha ? ['vips', ['flatten', source.path, jpg, '--background', '255 255 255']] : ['vips', ['copy', source.path, jpg]];
    case 'thumbnail':
      return ['vipsthumbnail', [source.path, '-s', '400x400', '-o', jpg]];
    case 'width-1024':
      return ['vipsthumbnail', [source.path, '-s', '1024x', '-o', jpg]];
    case 'square':
      return ['vipsthumbnail', [source.path, '-s', '300x300', '-m', 'centre', '-o', jpg]];
    case 'tile':
      return plan === undefined ? undefined : ['vips', ['crop', source.path, jpg, ...rect(plan.region, 1)]];
    case 'tile-sf8':
      return plan === undefined || source.sf8Load === undefined ? undefined : ['vips', ['crop', `${source.path}[${source.sf8Load}]`, jpg, ...rect(plan.region, 8)]];
    default:
      return undefined;
  }
}

function rect(region: Rect, shrink: number): string[] {
  return [region.x / shrink, region.y / shrink, Math.floor(region.width / shrink), Math.floor(region.height / shrink)].map((n) => String(Math.floor(n)));
}
