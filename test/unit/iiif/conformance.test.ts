/**
 * One conformance table for both API versions (Hono's router suite shape): every example in the
 * region, size, rotation, quality and format sections of the 2.1 and 3.0 specs, and every
 * canonical-form rule of the IIIF Image API that Recto is held to, each a row with what 2.1 and
 * what 3.0 must answer.
 *
 * The examples are drawn on a 300 x 200 image (3.0 §4.1 ex. 5: `125,15,200,200` "returns
 * 175,185 px"), so that is the source unless a row says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../../lib/errors.js';
import {
  API_VERSIONS,
  canonicalPath,
  canonicalUrl,
  storageKey,
  type ApiVersion,
  type Limits,
  type Quality,
  type RenderableFormat,
  type Size,
} from '../../../lib/iiif/index.js';
import { SPEC_IMAGE, pixelsOf, planOf, rectoErrorOf } from './helpers.js';

/** 3.0 §9 / 2.1 §9: `ark:/12025/654xz321` travels as `ark:%2F12025%2F654xz321`. */
const IDENTIFIER_SEGMENT = 'ark:%2F12025%2F654xz321';
const IDENTIFIER = 'ark:/12025/654xz321';
/** In keys and canonical URLs everything but unreserved characters is encoded. */
const ENCODED_IDENTIFIER = 'ark%3A%2F12025%2F654xz321';
const PREFIX = 'derivatives/';
const SERVICE_BASE: Record<ApiVersion, string> = {
  '2': 'https://images.example.org/iiif/2',
  '3': 'https://images.example.org/iiif/3',
};
const LABEL: Record<ApiVersion, string> = { '2': '2.1', '3': '3.0' };

interface Pixels {
  /** `x,y,w,h` in source pixels. */
  readonly region: string;
  /** `WxH` of the scaled region. */
  readonly size: string;
  readonly mirror?: boolean;
  readonly rotation?: number;
  readonly quality?: Quality;
  readonly format?: RenderableFormat;
}

type Outcome =
  | { readonly kind: 'plan'; readonly pixels: Pixels; readonly canonical: Readonly<Record<ApiVersion, string>> }
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly part: string };

interface ConformanceCase {
  /** `{region}/{size}/{rotation}/{quality}.{format}` as the client writes it. */
  readonly path: string;
  /** The rest of the test's name, with the spec section the row comes from. */
  readonly says: string;
  readonly source?: Size;
  readonly limits?: Limits;
  readonly answers: Readonly<Record<ApiVersion, Outcome>>;
}

/** A Plan with the given pixels, and its canonical path in 2.1 and in 3.0. */
function plan(region: string, size: string, canonical2: string, canonical3: string, more: Omit<Pixels, 'region' | 'size'> = {}): Outcome {
  return { kind: 'plan', pixels: { region, size, ...more }, canonical: { '2': canonical2, '3': canonical3 } };
}

function fails(code: ErrorCode, part: string): Outcome {
  return { kind: 'error', code, part };
}

function both(outcome: Outcome): Readonly<Record<ApiVersion, Outcome>> {
  return { '2': outcome, '3': outcome };
}

const FULL_IMAGE = plan('0,0,300,200', '300x200', 'full/full/0/default.jpg', 'full/max/0/default.jpg');
const UPSCALED_360 = plan('0,0,300,200', '360x240', 'full/360,/0/default.jpg', 'full/^360,240/0/default.jpg');
const HALF = plan('0,0,300,200', '150x100', 'full/150,/0/default.jpg', 'full/150,100/0/default.jpg');

const CASES: readonly ConformanceCase[] = [
  // ---- region: 3.0 §4.1 and 2.1 §4.1 examples (2.1 writes size full, 3.0 max; 2.1's max is full)
  { path: 'full/max/0/default.jpg', says: 'is the whole image at full size (3.0 §4.1 ex. 1)', answers: both(FULL_IMAGE) },
  {
    path: 'full/full/0/default.jpg',
    says: 'is the whole image in 2.1 and a size error in 3.0, where full became max (2.1 §4.1 ex. 1)',
    answers: { '2': FULL_IMAGE, '3': fails('IIIF_INVALID_SIZE', 'size') },
  },
  {
    path: 'square/max/0/default.jpg',
    says: 'is the largest centred square (3.0 §4.1 ex. 2)',
    answers: both(plan('50,0,200,200', '200x200', '50,0,200,200/full/0/default.jpg', '50,0,200,200/max/0/default.jpg')),
  },
  {
    path: 'square/full/0/default.jpg',
    says: 'is the largest centred square in 2.1 (2.1 §4.1 ex. 2)',
    answers: {
      '2': plan('50,0,200,200', '200x200', '50,0,200,200/full/0/default.jpg', '50,0,200,200/max/0/default.jpg'),
      '3': fails('IIIF_INVALID_SIZE', 'size'),
    },
  },
  {
    path: '125,15,120,140/max/0/default.jpg',
    says: 'is the region in pixels (3.0 §4.1 ex. 3, 2.1 §4.1 ex. 3)',
    answers: both(plan('125,15,120,140', '120x140', '125,15,120,140/full/0/default.jpg', '125,15,120,140/max/0/default.jpg')),
  },
  {
    path: 'pct:41.6,7.5,40,70/max/0/default.jpg',
    says: 'is the same region in percent, canonically in pixels (3.0 §4.1 ex. 4, 2.1 §4.1 ex. 4)',
    answers: both(plan('125,15,120,140', '120x140', '125,15,120,140/full/0/default.jpg', '125,15,120,140/max/0/default.jpg')),
  },
  {
    path: '125,15,200,200/max/0/default.jpg',
    says: 'is cropped at the edge to 175,185 px (3.0 §4.1 ex. 5, 2.1 §4.1 ex. 5)',
    answers: both(plan('125,15,175,185', '175x185', '125,15,175,185/full/0/default.jpg', '125,15,175,185/max/0/default.jpg')),
  },
  {
    path: 'pct:41.6,7.5,66.6,100/max/0/default.jpg',
    says: 'is cropped at the edge to 175,185 px (3.0 §4.1 ex. 6, 2.1 §4.1 ex. 6)',
    answers: both(plan('125,15,175,185', '175x185', '125,15,175,185/full/0/default.jpg', '125,15,175,185/max/0/default.jpg')),
  },
  // ---- region: canonical rules (3.0 §4.8, 2.1 §4.7)
  {
    path: 'square/max/0/default.jpg',
    source: { width: 200, height: 200 },
    says: 'of a square image is canonically full (2.1 §4.7)',
    answers: both(plan('0,0,200,200', '200x200', 'full/full/0/default.jpg', 'full/max/0/default.jpg')),
  },
  { path: '0,0,300,200/max/0/default.jpg', says: 'covers the whole image and is canonically full (3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'pct:0,0,100,100/max/0/default.jpg', says: 'covers the whole image and is canonically full (3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: '0,0,1000,1000/max/0/default.jpg', says: 'is cropped to the whole image and is canonically full (3.0 §4.1)', answers: both(FULL_IMAGE) },
  {
    path: '250,150,100,100/max/0/default.jpg',
    says: 'is cropped to the 50 x 50 pixels inside the image (3.0 §4.1)',
    answers: both(plan('250,150,50,50', '50x50', '250,150,50,50/full/0/default.jpg', '250,150,50,50/max/0/default.jpg')),
  },
  { path: '300,0,10,10/max/0/default.jpg', says: 'lies wholly outside the image: 400 (3.0 §4.1)', answers: both(fails('IIIF_REGION_OUT_OF_BOUNDS', 'region')) },
  { path: '0,0,0,10/max/0/default.jpg', says: 'has zero width: 400 (3.0 §4.1)', answers: both(fails('IIIF_INVALID_REGION', 'region')) },
  {
    path: 'pct:0,0,0.1,0.1/max/0/default.jpg',
    says: 'is under one pixel of this image: 400 (3.0 §4.1)',
    answers: both(fails('IIIF_REGION_OUT_OF_BOUNDS', 'region')),
  },

  // ---- size: 3.0 §4.2 and 2.1 §4.2 examples
  {
    path: 'full/max/0/default.jpg',
    limits: { maxWidth: 200 },
    says: 'is the largest size within maxWidth 200, canonically w, in 2.1 (3.0 §4.2 ex. 1, 2.1 §4.2 ex. 1)',
    answers: both(plan('0,0,300,200', '200x133', 'full/200,/0/default.jpg', 'full/max/0/default.jpg')),
  },
  {
    path: 'full/^max/0/default.jpg',
    limits: { maxWidth: 360 },
    says: 'is upscaled to maxWidth 360 in 3.0 and has no ^ in 2.1 (3.0 §4.2 ex. 1)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': plan('0,0,300,200', '360x240', 'full/360,/0/default.jpg', 'full/^max/0/default.jpg') },
  },
  { path: 'full/max/0/default.jpg', limits: { maxWidth: 360 }, says: 'never upscales, even below the limits (3.0 §4.2)', answers: both(FULL_IMAGE) },
  { path: 'full/150,/0/default.jpg', says: 'keeps the aspect ratio (3.0 §4.2 ex. 2, 2.1 §4.2 ex. 2)', answers: both(HALF) },
  {
    path: 'full/^360,/0/default.jpg',
    says: 'is upscaled in 3.0 (3.0 §4.2 ex. 2)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': UPSCALED_360 },
  },
  {
    path: 'full/360,/0/default.jpg',
    says: 'is upscaled in 2.1 (sizeAboveFull) and needs ^ in 3.0 (3.0 §4.2)',
    answers: { '2': UPSCALED_360, '3': fails('IIIF_UPSCALE_NOT_ALLOWED', 'size') },
  },
  {
    path: 'full/,150/0/default.jpg',
    says: 'keeps the aspect ratio (3.0 §4.2 ex. 3, 2.1 §4.2 ex. 3)',
    answers: both(plan('0,0,300,200', '225x150', 'full/225,/0/default.jpg', 'full/225,150/0/default.jpg')),
  },
  {
    path: 'full/^,240/0/default.jpg',
    says: 'is upscaled in 3.0 (3.0 §4.2 ex. 3, printed there as ",^240")',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': UPSCALED_360 },
  },
  { path: 'full/,^240/0/default.jpg', says: 'is the spec\'s typo, not a form (3.0 §4.2)', answers: both(fails('IIIF_INVALID_SIZE', 'size')) },
  {
    path: 'full/,240/0/default.jpg',
    says: 'is upscaled in 2.1 and needs ^ in 3.0 (3.0 §4.2)',
    answers: { '2': UPSCALED_360, '3': fails('IIIF_UPSCALE_NOT_ALLOWED', 'size') },
  },
  { path: 'full/pct:50/0/default.jpg', says: 'halves the region (3.0 §4.2 ex. 4, 2.1 §4.2 ex. 4)', answers: both(HALF) },
  {
    path: 'full/pct:120/0/default.jpg',
    says: 'is upscaled in 2.1 and needs ^ in 3.0 (3.0 §4.2 ex. 4 prints it without ^)',
    answers: { '2': UPSCALED_360, '3': fails('IIIF_UPSCALE_NOT_ALLOWED', 'size') },
  },
  {
    path: 'full/^pct:120/0/default.jpg',
    says: 'is upscaled in 3.0 (3.0 §4.2)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': UPSCALED_360 },
  },
  {
    path: 'full/225,100/0/default.jpg',
    says: 'distorts the image and stays w,h in both versions (3.0 §4.2 ex. 5, 2.1 §4.2 ex. 5)',
    answers: both(plan('0,0,300,200', '225x100', 'full/225,100/0/default.jpg', 'full/225,100/0/default.jpg')),
  },
  {
    path: 'full/^360,360/0/default.jpg',
    says: 'is upscaled and distorted in 3.0 (3.0 §4.2 ex. 5)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': plan('0,0,300,200', '360x360', 'full/360,360/0/default.jpg', 'full/^360,360/0/default.jpg') },
  },
  {
    path: 'full/360,360/0/default.jpg',
    says: 'is upscaled and distorted in 2.1 and needs ^ in 3.0 (3.0 §4.2)',
    answers: { '2': plan('0,0,300,200', '360x360', 'full/360,360/0/default.jpg', 'full/^360,360/0/default.jpg'), '3': fails('IIIF_UPSCALE_NOT_ALLOWED', 'size') },
  },
  { path: 'full/!225,100/0/default.jpg', says: 'fits the box: 150,100 px (3.0 §4.2 ex. 6, 2.1 §4.2 ex. 6)', answers: both(HALF) },
  {
    path: 'full/^!360,360/0/default.jpg',
    says: 'fits the box upscaled: 360,240 px in 3.0 (3.0 §4.2 ex. 6)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': UPSCALED_360 },
  },
  {
    path: 'full/!360,360/0/default.jpg',
    says: 'fits the box in 2.1 (sizeAboveFull) and stops at the region in 3.0 (3.0 §4.2)',
    answers: { '2': UPSCALED_360, '3': FULL_IMAGE },
  },
  // ---- size: canonical rules (3.0 §4.8, 2.1 §4.7 and its deprecation note on full)
  {
    path: 'full/^150,/0/default.jpg',
    says: 'takes no ^ in its canonical form when it does not upscale (3.0 §4.8)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': HALF },
  },
  { path: 'full/^pct:100/0/default.jpg', says: 'is canonically max (3.0 §4.8)', answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': FULL_IMAGE } },
  { path: 'full/300,200/0/default.jpg', says: 'is the full size: full in 2.1, max in 3.0 (2.1 §4.7, 3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'full/300,/0/default.jpg', says: 'is the full size: full in 2.1, max in 3.0 (2.1 §4.7, 3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'full/,200/0/default.jpg', says: 'is the full size: full in 2.1, max in 3.0 (2.1 §4.7, 3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'full/pct:100/0/default.jpg', says: 'is the full size: full in 2.1, max in 3.0 (2.1 §4.7, 3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'full/!300,300/0/default.jpg', says: 'is the full size: full in 2.1, max in 3.0 (2.1 §4.7, 3.0 §4.8)', answers: both(FULL_IMAGE) },
  { path: 'full/150,100/0/default.jpg', says: 'keeps the aspect ratio and is canonically w, in 2.1 (2.1 §4.7)', answers: both(HALF) },
  {
    path: 'full/^400,100/0/default.jpg',
    says: 'upscales one side and takes ^ in 3.0 (3.0 §4.8)',
    answers: { '2': fails('IIIF_INVALID_SIZE', 'size'), '3': plan('0,0,300,200', '400x100', 'full/400,100/0/default.jpg', 'full/^400,100/0/default.jpg') },
  },
  {
    path: 'full/400,100/0/default.jpg',
    says: 'upscales one side: allowed in 2.1, needs ^ in 3.0 (3.0 §4.2)',
    answers: { '2': plan('0,0,300,200', '400x100', 'full/400,100/0/default.jpg', 'full/^400,100/0/default.jpg'), '3': fails('IIIF_UPSCALE_NOT_ALLOWED', 'size') },
  },
  {
    path: 'full/max/0/default.jpg',
    source: { width: 200, height: 300 },
    limits: { maxWidth: 200 },
    says: 'takes maxHeight from maxWidth when only maxWidth is set (3.0 §5.2, 2.1 §5.3)',
    answers: both(plan('0,0,200,300', '133x200', 'full/133,/0/default.jpg', 'full/max/0/default.jpg')),
  },
  {
    path: '125,15,120,140/90,/!345/gray.jpg',
    says: 'is region, then size, then mirror and rotation, then quality (3.0 §4.6, 2.1 §4.6)',
    answers: both(
      plan('125,15,120,140', '90x105', '125,15,120,140/90,/!345/gray.jpg', '125,15,120,140/90,105/!345/gray.jpg', {
        mirror: true,
        rotation: 345,
        quality: 'gray',
      }),
    ),
  },
  {
    path: '0,10,100,200/pct:50/90/default.png',
    says: 'is cropped, halved and turned (3.0 §9 table, 2.1 §9 table)',
    answers: both(plan('0,10,100,190', '50x95', '0,10,100,190/50,/90/default.png', '0,10,100,190/50,95/90/default.png', { rotation: 90, format: 'png' })),
  },
  {
    path: 'pct:10,10,80,80/50,/22.5/color.jpg',
    says: 'is a percent region at a width, turned 22.5° (3.0 §9 table, 2.1 §9 table)',
    answers: both(
      plan('30,20,240,160', '50x33', '30,20,240,160/50,/22.5/color.jpg', '30,20,240,160/50,33/22.5/color.jpg', { rotation: 22.5, quality: 'color' }),
    ),
  },
  {
    path: 'full/max/270/gray.jpg',
    says: 'is turned 270° in gray (3.0 §9 table, 2.1 §9 table)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/270/gray.jpg', 'full/max/270/gray.jpg', { rotation: 270, quality: 'gray' })),
  },

  // ---- rotation: 3.0 §4.3 and 2.1 §4.3 examples, then the canonical number (3.0 §4.7–4.8, 2.1 §4.7)
  { path: 'full/max/180/default.jpg', says: 'is turned 180° (3.0 §4.3 ex. 2)', answers: both(plan('0,0,300,200', '300x200', 'full/full/180/default.jpg', 'full/max/180/default.jpg', { rotation: 180 })) },
  { path: 'full/max/90/default.jpg', says: 'is turned 90° (3.0 §4.3 ex. 3)', answers: both(plan('0,0,300,200', '300x200', 'full/full/90/default.jpg', 'full/max/90/default.jpg', { rotation: 90 })) },
  {
    path: 'full/max/22.5/default.png',
    says: 'is turned 22.5° (3.0 §4.3 ex. 4)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/22.5/default.png', 'full/max/22.5/default.png', { rotation: 22.5, format: 'png' })),
  },
  { path: 'full/max/!0/default.jpg', says: 'is mirrored (3.0 §4.3 ex. 5)', answers: both(plan('0,0,300,200', '300x200', 'full/full/!0/default.jpg', 'full/max/!0/default.jpg', { mirror: true })) },
  {
    path: 'full/max/!180/default.jpg',
    says: 'is mirrored, then turned 180° (3.0 §4.3 ex. 6)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/!180/default.jpg', 'full/max/!180/default.jpg', { mirror: true, rotation: 180 })),
  },
  { path: 'full/max/22.50/default.jpg', says: 'drops trailing zeros (3.0 §4.7)', answers: both(plan('0,0,300,200', '300x200', 'full/full/22.5/default.jpg', 'full/max/22.5/default.jpg', { rotation: 22.5 })) },
  { path: 'full/max/90.000/default.jpg', says: 'is the integer 90 (3.0 §4.8)', answers: both(plan('0,0,300,200', '300x200', 'full/full/90/default.jpg', 'full/max/90/default.jpg', { rotation: 90 })) },
  { path: 'full/max/090/default.jpg', says: 'drops leading zeros (3.0 §4.8)', answers: both(plan('0,0,300,200', '300x200', 'full/full/90/default.jpg', 'full/max/90/default.jpg', { rotation: 90 })) },
  { path: 'full/max/0.50/default.jpg', says: 'keeps the leading 0 (3.0 §4.7)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0.5/default.jpg', 'full/max/0.5/default.jpg', { rotation: 0.5 })) },
  {
    path: 'full/max/.5/default.jpg',
    says: 'lacks the recommended leading 0 and is still valid (3.0 §4.7: only digits and "." are a MUST)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/0.5/default.jpg', 'full/max/0.5/default.jpg', { rotation: 0.5 })),
  },
  { path: 'full/max/360/default.jpg', says: 'is the same pixels as 0 (3.0 §4.3: 0 to 360)', answers: both(FULL_IMAGE) },
  { path: 'full/max/!360/default.jpg', says: 'is the same pixels as !0', answers: both(plan('0,0,300,200', '300x200', 'full/full/!0/default.jpg', 'full/max/!0/default.jpg', { mirror: true })) },
  { path: 'full/max/359.9999999/default.jpg', says: 'rounds to six decimals, which is 360, which is 0', answers: both(FULL_IMAGE) },
  {
    path: 'full/max/0.000001/default.jpg',
    says: 'keeps six decimals without an exponent (3.0 §4.7)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/0.000001/default.jpg', 'full/max/0.000001/default.jpg', { rotation: 0.000001 })),
  },
  {
    path: 'full/max/%21180/default.jpg',
    says: 'is !180 percent-encoded (3.0 §9: encoding other characters is harmless)',
    answers: both(plan('0,0,300,200', '300x200', 'full/full/!180/default.jpg', 'full/max/!180/default.jpg', { mirror: true, rotation: 180 })),
  },
  { path: 'full/max/360.5/default.jpg', says: 'is out of range: 400 (3.0 §4.3)', answers: both(fails('IIIF_INVALID_ROTATION', 'rotation')) },

  // ---- quality: 3.0 §4.4 and 2.1 §4.4 examples; the canonical quality is the literal (3.0 §4.8)
  { path: 'full/max/0/default.jpg', says: 'is the default quality (3.0 §4.4 ex. 1)', answers: both(FULL_IMAGE) },
  { path: 'full/max/0/color.jpg', says: 'stays color, not default (3.0 §4.4 ex. 2)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/color.jpg', 'full/max/0/color.jpg', { quality: 'color' })) },
  { path: 'full/max/0/gray.jpg', says: 'is gray (3.0 §4.4 ex. 3)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/gray.jpg', 'full/max/0/gray.jpg', { quality: 'gray' })) },
  { path: 'full/max/0/bitonal.jpg', says: 'is bitonal (3.0 §4.4 ex. 4)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/bitonal.jpg', 'full/max/0/bitonal.jpg', { quality: 'bitonal' })) },
  { path: 'full/max/0/grey.jpg', says: 'is the 1.x spelling: 400 (3.0 §4.4)', answers: both(fails('IIIF_INVALID_QUALITY', 'quality')) },

  // ---- format: 3.0 §4.5 and 2.1 §4.5 examples, plus the other formats Recto writes
  { path: 'full/max/0/default.png', says: 'is a PNG (3.0 §4.5 ex. 2)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/default.png', 'full/max/0/default.png', { format: 'png' })) },
  { path: 'full/max/0/default.tif', says: 'is a TIFF (3.0 §4.5 ex. 3)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/default.tif', 'full/max/0/default.tif', { format: 'tif' })) },
  { path: 'full/max/0/default.webp', says: 'is a WebP (3.0 §4.5)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/default.webp', 'full/max/0/default.webp', { format: 'webp' })) },
  { path: 'full/max/0/default.gif', says: 'is a GIF (3.0 §4.5)', answers: both(plan('0,0,300,200', '300x200', 'full/full/0/default.gif', 'full/max/0/default.gif', { format: 'gif' })) },
  { path: 'full/max/0/default.jp2', says: 'is a valid format Recto does not write: 501 (3.0 §7.3)', answers: both(fails('FORMAT_NOT_SUPPORTED', 'format')) },
  { path: 'full/max/0/default.pdf', says: 'is a valid format Recto does not write: 501 (3.0 §7.3)', answers: both(fails('FORMAT_NOT_SUPPORTED', 'format')) },
  { path: 'full/max/0/default.jpeg', says: 'is not a format: 400 (3.0 §4.5)', answers: both(fails('IIIF_INVALID_FORMAT', 'format')) },
];

describe.each(API_VERSIONS.map((version) => [LABEL[version], version] as const))('the IIIF Image API %s conformance table', (_label, version) => {
  it.each(CASES.map((row) => [`${row.path} ${row.says}`, row] as const))('%s', (_name, row) => {
    // Prepare
    const outcome = row.answers[version];
    const path = `${IDENTIFIER_SEGMENT}/${row.path}`;
    const source = row.source ?? SPEC_IMAGE;
    const limits = row.limits ?? {};

    if (outcome.kind === 'error') {
      // Act
      const error = rectoErrorOf(() => planOf(version, path, source, limits));

      // Assess
      expect({ code: error.code, status: error.status }).toEqual({ code: outcome.code, status: ERROR_CODES[outcome.code] });
      expect(error.message).toMatch(new RegExp(`^Expected .+ for ${outcome.part} but received "`));
      return;
    }

    // Act
    const result = planOf(version, path, source, limits);

    // Assess
    expect(pixelsOf(result)).toEqual({ mirror: false, rotation: 0, quality: 'default', format: 'jpg', ...outcome.pixels });
    expect(result.identifier).toBe(IDENTIFIER);
    expect(result.source).toEqual({ width: source.width, height: source.height });
    expect(canonicalPath('2', result)).toBe(outcome.canonical['2']);
    expect(canonicalPath('3', result)).toBe(outcome.canonical['3']);
    // The key is the 3.0 canonical path with the size always written out as w,h.
    const [region, , rotation, qualityFormat] = outcome.canonical['3'].split('/');
    expect(storageKey(result, PREFIX)).toBe(`${PREFIX}${ENCODED_IDENTIFIER}/${region}/${result.size.width},${result.size.height}/${rotation}/${qualityFormat}`);
    expect(canonicalUrl(SERVICE_BASE[version], version, result)).toBe(`${SERVICE_BASE[version]}/${ENCODED_IDENTIFIER}/${outcome.canonical[version]}`);
  });

  it(`gives every spelling of the same pixels one storage key in ${LABEL[version]}`, () => {
    // Prepare
    const spellings = ['full/max/0/default.jpg', '0,0,300,200/300,200/0/default.jpg', 'pct:0,0,100,100/pct:100/360/default.jpg', 'full/!300,300/0/default.jpg', 'full/300,/0/default.jpg', 'full/,200/0/default.jpg'];

    // Act
    const keys = spellings.map((spelling) => storageKey(planOf(version, `${IDENTIFIER_SEGMENT}/${spelling}`), PREFIX));

    // Assess
    expect(new Set(keys)).toEqual(new Set([`${PREFIX}${ENCODED_IDENTIFIER}/full/300,200/0/default.jpg`]));
  });
});

describe('the conformance table itself', () => {
  it('holds every example of both specs\' region, size, rotation, quality and format sections', () => {
    // Prepare
    const examples = [
      'full/max/0/default.jpg',
      'square/max/0/default.jpg',
      '125,15,120,140/max/0/default.jpg',
      'pct:41.6,7.5,40,70/max/0/default.jpg',
      '125,15,200,200/max/0/default.jpg',
      'pct:41.6,7.5,66.6,100/max/0/default.jpg',
      'full/^max/0/default.jpg',
      'full/150,/0/default.jpg',
      'full/^360,/0/default.jpg',
      'full/,150/0/default.jpg',
      'full/,^240/0/default.jpg',
      'full/pct:50/0/default.jpg',
      'full/pct:120/0/default.jpg',
      'full/225,100/0/default.jpg',
      'full/^360,360/0/default.jpg',
      'full/!225,100/0/default.jpg',
      'full/^!360,360/0/default.jpg',
      'full/max/180/default.jpg',
      'full/max/90/default.jpg',
      'full/max/22.5/default.png',
      'full/max/!0/default.jpg',
      'full/max/!180/default.jpg',
      'full/max/0/color.jpg',
      'full/max/0/gray.jpg',
      'full/max/0/bitonal.jpg',
      'full/max/0/default.png',
      'full/max/0/default.tif',
      '125,15,120,140/90,/!345/gray.jpg',
      'full/full/0/default.jpg',
      'square/full/0/default.jpg',
    ];

    // Act
    const paths = new Set(CASES.map((row) => row.path));

    // Assess
    expect(examples.filter((example) => !paths.has(example))).toEqual([]);
  });
});
