/**
 * fast-check generators for the lib/iiif properties: sources, limits, identifiers, and requests
 * written in every form of either version. Requests are built from seeds and the region they
 * land on, so most of them are valid and the properties are not vacuous.
 */
import fc from 'fast-check';
import {
  QUALITIES,
  RENDERABLE_FORMATS,
  decodeIdentifier,
  encodeIdentifier,
  type ApiVersion,
  type Limits,
  type Quality,
  type Rect,
  type RenderableFormat,
  type Size,
} from '../../../lib/iiif/index.js';

export const sourceArb: fc.Arbitrary<Size> = fc.record({
  width: fc.integer({ min: 1, max: 20_000 }),
  height: fc.integer({ min: 1, max: 20_000 }),
});

export const limitsArb: fc.Arbitrary<Limits> = fc.oneof(
  fc.constant({}),
  fc.record({ maxWidth: fc.integer({ min: 1, max: 30_000 }) }),
  fc.record({ maxWidth: fc.integer({ min: 1, max: 30_000 }), maxHeight: fc.integer({ min: 1, max: 30_000 }) }),
  fc.record({ maxArea: fc.integer({ min: 1, max: 400_000_000 }) }),
  fc.record({
    maxWidth: fc.integer({ min: 64, max: 30_000 }),
    maxHeight: fc.integer({ min: 64, max: 30_000 }),
    maxArea: fc.integer({ min: 4096, max: 400_000_000 }),
  }),
);

function isValidIdentifier(identifier: string): boolean {
  try {
    return decodeIdentifier(encodeIdentifier(identifier)) === identifier;
  } catch {
    return false;
  }
}

/** Identifiers as decoded: ASCII, any Unicode, and the awkward ones from the specs' §9 tables. */
export const identifierArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 24 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
    fc.constantFrom('ark:/12025/654xz321', 'urn:foo:a123,456', 'urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4', 'http://example.com/?54#a', 'a%2Fb', '..a', 'é/ü'),
  )
  .filter(isValidIdentifier);

/** How a client writes the identifier segment: our encoding, or the looser encodeURIComponent. */
export const identifierSegmentArb = (identifier: string): fc.Arbitrary<string> =>
  fc.constantFrom(encodeIdentifier(identifier), encodeURIComponent(identifier));

export const prefixArb: fc.Arbitrary<string> = fc.constantFrom('', 'iiif/', 'tenant-a/derivatives/');

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const decimals = fc.integer({ min: 0, max: 4 });

export type RegionSeed =
  | { readonly kind: 'full' | 'square' }
  | { readonly kind: 'pixels' | 'percent'; readonly x: number; readonly y: number; readonly w: number; readonly h: number; readonly decimals: number };

export const regionSeedArb: fc.Arbitrary<RegionSeed> = fc.oneof(
  fc.record({ kind: fc.constantFrom('full' as const, 'square' as const) }),
  fc.record({ kind: fc.constantFrom('pixels' as const, 'percent' as const), x: unit, y: unit, w: unit, h: unit, decimals }),
);

/** Format a float with up to `places` decimals as a client might: `12`, `12.5`, `0.25`. */
function decimal(value: number, places: number): string {
  return value.toFixed(places);
}

/** The region as written, from a seed and the source it is cut from. */
export function regionText(seed: RegionSeed, source: Size): string {
  switch (seed.kind) {
    case 'full':
    case 'square':
      return seed.kind;
    case 'pixels': {
      const x = Math.floor(seed.x * source.width);
      const y = Math.floor(seed.y * source.height);
      // Up to 120% of the image, so some regions run off the edge and are cropped.
      const w = 1 + Math.floor(seed.w * source.width * 1.2);
      const h = 1 + Math.floor(seed.h * source.height * 1.2);
      return `${x},${y},${w},${h}`;
    }
    case 'percent': {
      const places = seed.decimals;
      const w = Math.max(10 ** -places, seed.w * 120);
      const h = Math.max(10 ** -places, seed.h * 120);
      return `pct:${decimal(seed.x * 100, places)},${decimal(seed.y * 100, places)},${decimal(w, places)},${decimal(h, places)}`;
    }
  }
}

export type SizeForm = 'full' | 'max' | 'width' | 'height' | 'percent' | 'exact' | 'fit';

export interface SizeSeed {
  readonly form: SizeForm;
  /** Fractions of the region's width and height, up to 2 (so half of them upscale). */
  readonly a: number;
  readonly b: number;
  /** 3.0: write `^` even when the size does not need it. */
  readonly caret: boolean;
  readonly decimals: number;
}

export const sizeSeedArb: fc.Arbitrary<SizeSeed> = fc.record({
  form: fc.constantFrom<SizeForm>('full', 'max', 'width', 'height', 'percent', 'exact', 'fit'),
  a: fc.double({ min: 0, max: 2, noNaN: true }),
  b: fc.double({ min: 0, max: 2, noNaN: true }),
  caret: fc.boolean(),
  decimals,
});

/** The size as written for this version, from a seed and the region it scales. */
export function sizeText(version: ApiVersion, seed: SizeSeed, region: Rect): string {
  const w = Math.max(1, Math.round(seed.a * region.width));
  const h = Math.max(1, Math.round(seed.b * region.height));
  // 3.0 needs ^ to upscale; 2.1 has no ^ at all.
  const caret = (upscales: boolean): string => (version === '3' && (upscales || seed.caret) ? '^' : '');
  switch (seed.form) {
    case 'full':
      return version === '2' ? 'full' : `${caret(false)}max`;
    case 'max':
      return `${caret(false)}max`;
    case 'width':
      return `${caret(w > region.width)}${w},`;
    case 'height':
      return `${caret(h > region.height)},${h}`;
    case 'percent': {
      const percent = Math.max(10 ** -seed.decimals, seed.a * 100);
      const text = percent.toFixed(seed.decimals);
      return `${caret(Number(text) > 100)}pct:${text}`;
    }
    case 'exact':
      return `${caret(w > region.width || h > region.height)}${w},${h}`;
    case 'fit':
      return `${caret(false)}!${w},${h}`;
  }
}

export interface RotationSeed {
  readonly mirror: boolean;
  /** Millionths of a degree, 0 to 360. */
  readonly micro: number;
  readonly decimals: number;
  readonly trailingZeros: number;
}

export const rotationSeedArb: fc.Arbitrary<RotationSeed> = fc.record({
  mirror: fc.boolean(),
  micro: fc.oneof(fc.integer({ min: 0, max: 360_000_000 }), fc.constantFrom(0, 90_000_000, 180_000_000, 270_000_000, 360_000_000)),
  decimals: fc.integer({ min: 0, max: 6 }),
  trailingZeros: fc.integer({ min: 0, max: 2 }),
});

/** The rotation as written: `n` or `!n`, with up to six decimals and maybe trailing zeros. */
export function rotationText(seed: RotationSeed): string {
  let text = (seed.micro / 1e6).toFixed(seed.decimals);
  if (seed.trailingZeros > 0) text = `${text}${text.includes('.') ? '' : '.'}${'0'.repeat(seed.trailingZeros)}`;
  return `${seed.mirror ? '!' : ''}${text}`;
}

export const qualityArb: fc.Arbitrary<Quality> = fc.constantFrom(...QUALITIES);
export const formatArb: fc.Arbitrary<RenderableFormat> = fc.constantFrom(...RENDERABLE_FORMATS);

/** Percent-encode the characters the mask picks (`!` as `%21`, `,` as `%2C`, …), in either case. */
export function percentEncodeSome(text: string, mask: readonly boolean[], lower: boolean): string {
  return Array.from(text)
    .map((char, index) => {
      if (mask[index % Math.max(1, mask.length)] !== true) return char;
      const hex = Buffer.from(char, 'utf8').toString('hex').toUpperCase();
      const encoded = hex.replace(/(..)/g, '%$1');
      return lower ? encoded.toLowerCase() : encoded;
    })
    .join('');
}
