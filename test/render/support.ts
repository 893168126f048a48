/**
 * Test helpers for lib/render: Plans built by hand the way the IIIF layer resolves requests
 * (lib/iiif's resolver is tested on its own; these tests only need correct Plans), and pixel
 * reading and colour maths to check what came out.
 */
import sharp from 'sharp';
import { DEFAULTS } from '../../lib/config.js';
import type { EncodeConfig } from '../../lib/config.js';
import type { Plan, Quality, RenderableFormat, Size } from '../../lib/iiif/types.js';
import type { RenderOptions } from '../../lib/render/index.js';
import type { Rgb } from '../support/fixtures.js';

export const ENCODE: EncodeConfig = {
  jpegQuality: DEFAULTS.JPEG_QUALITY,
  webpQuality: DEFAULTS.WEBP_QUALITY,
  webpEffort: DEFAULTS.WEBP_EFFORT,
  pngCompressionLevel: DEFAULTS.PNG_COMPRESSION_LEVEL,
};

export const OPTIONS: RenderOptions = { encode: ENCODE, maxInputPixels: DEFAULTS.RENDER_MAX_INPUT_PIXELS };

// ---- Plans ------------------------------------------------------------------------------

export type RegionForm =
  | 'full'
  | 'square'
  | { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  | { readonly pct: readonly [number, number, number, number] };

export type SizeForm =
  | 'max'
  | { readonly w: number }
  | { readonly h: number }
  | { readonly pct: number }
  | { readonly w: number; readonly h: number }
  | { readonly fit: readonly [number, number] };

export interface PlanForm {
  readonly region?: RegionForm;
  readonly size?: SizeForm;
  readonly rotation?: number;
  readonly mirror?: boolean;
  readonly quality?: Quality;
  readonly format?: RenderableFormat;
}

/** IIIF 3.0 §4.1-4.2 resolution, enough for these tests. */
export function makePlan(source: Size, form: PlanForm = {}): Plan {
  const region = resolveRegion(source, form.region ?? 'full');
  const size = resolveSize(region, form.size ?? 'max');
  return {
    identifier: 'fixture',
    source,
    limits: {},
    region,
    size,
    mirror: form.mirror ?? false,
    rotation: form.rotation ?? 0,
    quality: form.quality ?? 'default',
    format: form.format ?? 'png',
  };
}

function resolveRegion(source: Size, form: RegionForm): Plan['region'] {
  if (form === 'full') return { x: 0, y: 0, width: source.width, height: source.height };
  if (form === 'square') {
    const side = Math.min(source.width, source.height);
    return { x: Math.floor((source.width - side) / 2), y: Math.floor((source.height - side) / 2), width: side, height: side };
  }
  const [x, y, w, h] = 'pct' in form
    ? [
        Math.round((form.pct[0] * source.width) / 100),
        Math.round((form.pct[1] * source.height) / 100),
        Math.round(((form.pct[0] + form.pct[2]) * source.width) / 100) - Math.round((form.pct[0] * source.width) / 100),
        Math.round(((form.pct[1] + form.pct[3]) * source.height) / 100) - Math.round((form.pct[1] * source.height) / 100),
      ]
    : [form.x, form.y, form.w, form.h];
  const right = Math.min(source.width, x + w);
  const bottom = Math.min(source.height, y + h);
  return { x, y, width: right - x, height: bottom - y };
}

function resolveSize(region: Size, form: SizeForm): Size {
  if (form === 'max') return { width: region.width, height: region.height };
  if ('fit' in form) {
    const scale = Math.min(form.fit[0] / region.width, form.fit[1] / region.height);
    return { width: Math.max(1, Math.round(region.width * scale)), height: Math.max(1, Math.round(region.height * scale)) };
  }
  if ('pct' in form) {
    return { width: Math.max(1, Math.round((region.width * form.pct) / 100)), height: Math.max(1, Math.round((region.height * form.pct) / 100)) };
  }
  if ('w' in form && 'h' in form) return { width: form.w, height: form.h };
  if ('w' in form) return { width: form.w, height: Math.max(1, Math.round((form.w * region.height) / region.width)) };
  return { width: Math.max(1, Math.round((form.h * region.width) / region.height)), height: form.h };
}

// ---- pixels ---------------------------------------------------------------------------

export interface Pixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

export interface Rgba extends Rgb {
  readonly a: number;
}

/** Decode any image to raw 8-bit sRGB pixels (3 channels, 4 with alpha; gray becomes r = g = b). */
export async function decode(image: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The pixel at (x, y); gray images answer r = g = b, images without alpha a = 255. */
export function pixelAt(pixels: Pixels, x: number, y: number): Rgba {
  const i = (y * pixels.width + x) * pixels.channels;
  const v = (k: number): number => pixels.data[i + k] ?? 0;
  switch (pixels.channels) {
    case 1: return { r: v(0), g: v(0), b: v(0), a: 255 };
    case 2: return { r: v(0), g: v(0), b: v(0), a: v(1) };
    case 3: return { r: v(0), g: v(1), b: v(2), a: 255 };
    default: return { r: v(0), g: v(1), b: v(2), a: v(3) };
  }
}

/** The mean over a (2r+1)² window centred on (x, y), clipped to the image. */
export function meanAt(pixels: Pixels, x: number, y: number, radius = 1): Rgba {
  let r = 0, g = 0, b = 0, a = 0, n = 0;
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const px = Math.min(pixels.width - 1, Math.max(0, Math.round(x) + dx));
      const py = Math.min(pixels.height - 1, Math.max(0, Math.round(y) + dy));
      const p = pixelAt(pixels, px, py);
      r += p.r; g += p.g; b += p.b; a += p.a; n++;
    }
  }
  return { r: r / n, g: g / n, b: b / n, a: a / n };
}

/** Largest per-channel difference. */
export function channelDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a.r - b.r), Math.abs(a.g - b.g), Math.abs(a.b - b.b));
}

const linear = (v: number): number => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const encodeSrgb = (c: number): number => 255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);

/** libvips' `b-w`: Rec. 709 luminance in linear light, re-encoded with the sRGB curve. */
export function grayOf(colour: Rgb): number {
  return encodeSrgb(0.2126 * linear(colour.r) + 0.7152 * linear(colour.g) + 0.0722 * linear(colour.b));
}

/** What `quality` makes of an sRGB colour. */
export function expectedColour(colour: Rgb, quality: Quality, threshold: number): Rgb {
  if (quality === 'gray') {
    const y = grayOf(colour);
    return { r: y, g: y, b: y };
  }
  if (quality === 'bitonal') {
    const y = grayOf(colour) >= threshold ? 255 : 0;
    return { r: y, g: y, b: y };
  }
  return colour;
}

/** CIE L*a*b* (D65) of an sRGB colour. */
export function lab(colour: Rgb): { L: number; a: number; b: number } {
  const [r, g, b] = [linear(colour.r), linear(colour.g), linear(colour.b)];
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return { L: 116 * f(y) - 16, a: 500 * (f(x) - f(y)), b: 200 * (f(y) - f(z)) };
}

/** CIE76 colour difference: about 2.3 is a just-noticeable difference. */
export function deltaE(a: Rgb, b: Rgb): number {
  const p = lab(a);
  const q = lab(b);
  return Math.hypot(p.L - q.L, p.a - q.a, p.b - q.b);
}

/**
 * Where a point of the source (displayed orientation, continuous pixel coordinates) lands in the
 * output of `plan`, for rotations by multiples of 90 degrees.
 */
export function mapPoint(plan: Plan, x: number, y: number): { x: number; y: number } {
  const { region, size } = plan;
  let u = ((x - region.x) * size.width) / region.width;
  let v = ((y - region.y) * size.height) / region.height;
  let w = size.width;
  let h = size.height;
  if (plan.mirror) u = w - u;
  const quarters = Math.round(plan.rotation / 90) % 4;
  for (let i = 0; i < quarters; i++) {
    [u, v] = [h - v, u];
    [w, h] = [h, w];
  }
  return { x: u, y: v };
}
