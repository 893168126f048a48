/**
 * Decoding answers and comparing their pixels with what the grid's layout says they must be.
 * The comparisons port the validator's (`compare_rectangle`, `compare_images`, `is_grayscale`,
 * `is_bitonal`), with one change of method: the validator compares with a copy of its PNG
 * that pyvips transformed (`thumbnail_image`, `rot90`, `flip`, `rotate`); here each output
 * pixel is traced back to the source point it shows and given that square's colour, and pixels
 * within a few pixels of a square's edge are left out, where resampling legitimately blends.
 */
import sharp from 'sharp';
import { CELL_SIZE, GRID_CELLS, GRID_SIZE, cellColour, type Rgb } from './grid.js';

/** Formats by their first bytes, independent of what sharp reports. */
const MAGIC: readonly { readonly format: string; readonly test: (bytes: Buffer) => boolean }[] = [
  { format: 'jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'png', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { format: 'gif', test: (b) => ['GIF87a', 'GIF89a'].includes(b.subarray(0, 6).toString('latin1')) },
  { format: 'webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { format: 'tiff', test: (b) => ['II*\u0000', 'MM\u0000*'].includes(b.subarray(0, 4).toString('latin1')) },
];

/** The format named by an image's signature bytes, or undefined. */
export function sniffFormat(bytes: Buffer): string | undefined {
  return MAGIC.find((magic) => magic.test(bytes))?.format;
}

/** Decoding larger answers at this many pixels at most keeps a 10000 x 10000 `^max` cheap. */
const MAX_DECODED_PIXELS = 4_200_000;
const DECODE_FIT = 2000;

export interface DecodedImage {
  /** sharp's (libvips') loader name: jpeg, png, gif, webp, tiff — what pyvips' loader gives. */
  readonly format: string;
  /** Dimensions of the image as served. */
  readonly width: number;
  readonly height: number;
  /** libvips interpretation (srgb, b-w, …), as the validator's `img.interpretation`. */
  readonly space: string;
  /** Channels as served (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
  readonly channels: number;
  readonly hasAlpha: boolean;
  /** Decoded 8-bit pixels, possibly reduced (see `scale`). */
  readonly pixels: PixelGrid;
}

/** Raw interleaved 8-bit pixels. */
export class PixelGrid {
  constructor(
    readonly data: Buffer,
    readonly width: number,
    readonly height: number,
    readonly channels: number,
  ) {}

  /** RGB and alpha of pixel (x, y): grey is spread to three channels, no alpha reads 255. */
  at(x: number, y: number): { readonly r: number; readonly g: number; readonly b: number; readonly a: number } {
    const i = (y * this.width + x) * this.channels;
    const d = this.data;
    switch (this.channels) {
      case 1:
        return { r: d[i] ?? 0, g: d[i] ?? 0, b: d[i] ?? 0, a: 255 };
      case 2:
        return { r: d[i] ?? 0, g: d[i] ?? 0, b: d[i] ?? 0, a: d[i + 1] ?? 0 };
      case 3:
        return { r: d[i] ?? 0, g: d[i + 1] ?? 0, b: d[i + 2] ?? 0, a: 255 };
      default:
        return { r: d[i] ?? 0, g: d[i + 1] ?? 0, b: d[i + 2] ?? 0, a: d[i + 3] ?? 0 };
    }
  }
}

/**
 * Decode an answer body as the validator's `Image.new_from_buffer` would.
 * @throws Error when sharp cannot read the bytes as an image
 */
export async function decodeImage(body: Buffer): Promise<DecodedImage> {
  const meta = await sharp(body).metadata();
  const { width, height } = meta;
  let pipeline = sharp(body);
  if (width * height > MAX_DECODED_PIXELS) pipeline = pipeline.resize(DECODE_FIT, DECODE_FIT, { fit: 'inside' });
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return {
    format: meta.format,
    width,
    height,
    space: meta.space,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    pixels: new PixelGrid(data, info.width, info.height, info.channels),
  };
}

// ---- what a view of the grid must look like ---------------------------------------------

/** A request as pixels: region of the source, its size after scaling, mirror, rotation. */
export interface View {
  readonly region: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  /** Size of the scaled region, before rotation. */
  readonly width: number;
  readonly height: number;
  readonly mirror: boolean;
  /** Degrees clockwise. */
  readonly rotation: number;
}

/** The whole image at `width` x `height`. */
export function fullView(width = GRID_SIZE, height = GRID_SIZE, extra: Partial<Pick<View, 'mirror' | 'rotation'>> = {}): View {
  return { region: { x: 0, y: 0, w: GRID_SIZE, h: GRID_SIZE }, width, height, mirror: extra.mirror ?? false, rotation: extra.rotation ?? 0 };
}

/** Width and height of a view's output: the rotated bounding box (exact for multiples of 90). */
export function outputSize(view: View): { readonly width: number; readonly height: number } {
  if (view.rotation % 180 === 0) return { width: view.width, height: view.height };
  if (view.rotation % 90 === 0) return { width: view.height, height: view.width };
  const theta = (view.rotation * Math.PI) / 180;
  const cos = Math.abs(Math.cos(theta));
  const sin = Math.abs(Math.sin(theta));
  return { width: view.width * cos + view.height * sin, height: view.width * sin + view.height * cos };
}

type Expectation =
  | { readonly kind: 'colour'; readonly rgb: Rgb; readonly margin: number }
  | { readonly kind: 'background'; readonly margin: number };

/** The colour table flattened (column-major, as the table is), for the per-pixel loop. */
const CELL_RGB: Uint8Array = (() => {
  const table = new Uint8Array(GRID_CELLS * GRID_CELLS * 3);
  for (let column = 0; column < GRID_CELLS; column++) {
    for (let row = 0; row < GRID_CELLS; row++) {
      const { r, g, b } = cellColour(column, row);
      table.set([r, g, b], (column * GRID_CELLS + row) * 3);
    }
  }
  return table;
})();

/** Where an output pixel comes from; reused across pixels so the loop allocates nothing. */
interface Trace {
  /** Index into CELL_RGB, or -1 for background. */
  cell: number;
  /** Distance in output pixels to the nearest edge that resampling may blur. */
  margin: number;
}

/** The pieces of a view the per-pixel trace needs, computed once per image. */
interface Tracer {
  readonly view: View;
  readonly cos: number;
  readonly sin: number;
  readonly scaleX: number;
  readonly scaleY: number;
  readonly outWidth: number;
  readonly outHeight: number;
}

function tracer(view: View, outWidth: number, outHeight: number): Tracer {
  const theta = (view.rotation * Math.PI) / 180;
  return { view, cos: Math.cos(theta), sin: Math.sin(theta), scaleX: view.region.w / view.width, scaleY: view.region.h / view.height, outWidth, outHeight };
}

/**
 * Trace output pixel (u, v) back through rotation (clockwise, about the centre), mirroring
 * (applied before rotation, IIIF 3.0 §4.3) and scaling to a source point, and say which square
 * it shows and how far it is from an edge that resampling may blur: a square's edge, or the
 * scaled region's edge where the rotated canvas shows background.
 */
function trace(t: Tracer, u: number, v: number, out: Trace): void {
  const { view } = t;
  const dx = u + 0.5 - t.outWidth / 2;
  const dy = v + 0.5 - t.outHeight / 2;
  // Undo a clockwise turn (y points down): rotate by -theta.
  let sx = dx * t.cos + dy * t.sin + view.width / 2;
  const sy = -dx * t.sin + dy * t.cos + view.height / 2;
  if (view.mirror) sx = view.width - sx;
  const toRegionEdge = Math.min(sx, view.width - sx, sy, view.height - sy);
  if (toRegionEdge <= 0) {
    out.cell = -1;
    out.margin = -toRegionEdge;
    return;
  }
  const x = view.region.x + sx * t.scaleX;
  const y = view.region.y + sy * t.scaleY;
  if (x < 0 || y < 0 || x >= GRID_SIZE || y >= GRID_SIZE) {
    out.cell = -1;
    out.margin = 0;
    return;
  }
  const column = Math.floor(x / CELL_SIZE);
  const row = Math.floor(y / CELL_SIZE);
  const fx = x - column * CELL_SIZE;
  const fy = y - row * CELL_SIZE;
  const toSquareEdge = Math.min(fx, CELL_SIZE - fx, fy, CELL_SIZE - fy);
  out.cell = (column * GRID_CELLS + row) * 3;
  // Upscaling interpolates over a few source pixels: keep 3 of them clear as well.
  out.margin = toSquareEdge < 3 ? 0 : Math.min(toRegionEdge, toSquareEdge / Math.max(t.scaleX, t.scaleY));
}

/** What output pixel (u, v) of an `outWidth` x `outHeight` answer must show (see `trace`). */
export function expectationAt(view: View, outWidth: number, outHeight: number, u: number, v: number): Expectation {
  const out: Trace = { cell: -1, margin: 0 };
  trace(tracer(view, outWidth, outHeight), u, v, out);
  if (out.cell < 0) return { kind: 'background', margin: out.margin };
  return { kind: 'colour', rgb: { r: CELL_RGB[out.cell] ?? 0, g: CELL_RGB[out.cell + 1] ?? 0, b: CELL_RGB[out.cell + 2] ?? 0 }, margin: out.margin };
}

export interface Comparison {
  readonly ok: boolean;
  /** Pixels compared (the rest were too close to an edge). */
  readonly compared: number;
  /** Mean absolute difference per channel, the validator's `compare_images` measure. */
  readonly meanDifference: number;
  /** Share of compared pixels within `tolerance` on every channel. */
  readonly withinTolerance: number;
  readonly summary: string;
}

export interface CompareOptions {
  /** Pixels closer than this to an edge (in output pixels) are not compared. Default 3. */
  readonly margin?: number;
  /** The validator's threshold on the mean difference. Default 6. */
  readonly meanLimit?: number;
  /** Per-pixel tolerance (JPEG ringing, chroma subsampling). Default 24. */
  readonly tolerance?: number;
  /** Share of pixels that must be within `tolerance`. Default 0.995. */
  readonly minWithin?: number;
}

/**
 * Compare an image with the view of the grid it must show. Background (outside the rotated
 * region) must be transparent where the image has alpha, else white.
 */
export function compareWithView(image: DecodedImage, view: View, options: CompareOptions = {}): Comparison {
  const margin = options.margin ?? 3;
  const meanLimit = options.meanLimit ?? 6;
  const tolerance = options.tolerance ?? 24;
  const minWithin = options.minWithin ?? 0.995;
  const { data, width, height, channels } = image.pixels;
  // A reduced decode shows the same picture at a smaller scale.
  const reduce = image.width / width;
  const reducedMargin = margin * Math.max(1, reduce);
  const t = tracer(view, image.width, image.height);
  const out: Trace = { cell: -1, margin: 0 };
  const grey = channels < 3;
  const alphaAt = channels === 2 || channels === 4 ? channels - 1 : -1;
  let compared = 0;
  let within = 0;
  let totalDiff = 0;
  let worstDiff = -1;
  let worst = '';
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      trace(t, (u + 0.5) * reduce - 0.5, (v + 0.5) * reduce - 0.5, out);
      if (out.margin < reducedMargin) continue;
      const i = (v * width + u) * channels;
      const r = data[i] ?? 0;
      const g = grey ? r : (data[i + 1] ?? 0);
      const b = grey ? r : (data[i + 2] ?? 0);
      const a = alphaAt < 0 ? 255 : (data[i + alphaAt] ?? 0);
      let diff: number;
      if (out.cell >= 0) {
        const dr = Math.abs(r - (CELL_RGB[out.cell] ?? 0));
        const dg = Math.abs(g - (CELL_RGB[out.cell + 1] ?? 0));
        const db = Math.abs(b - (CELL_RGB[out.cell + 2] ?? 0));
        totalDiff += (dr + dg + db) / 3;
        diff = Math.max(dr, dg, db, 255 - a);
      } else if (alphaAt >= 0) {
        totalDiff += a / 3;
        diff = a;
      } else {
        totalDiff += (765 - r - g - b) / 3;
        diff = 255 - Math.min(r, g, b);
      }
      compared++;
      if (diff <= tolerance) within++;
      if (diff > worstDiff) {
        worstDiff = diff;
        const expected = out.cell >= 0 ? `rgb(${CELL_RGB[out.cell] ?? 0}, ${CELL_RGB[out.cell + 1] ?? 0}, ${CELL_RGB[out.cell + 2] ?? 0})` : alphaAt >= 0 ? 'transparent' : 'white background';
        worst = `; worst at (${u}, ${v}): rgba(${r}, ${g}, ${b}, ${a}), expected ${expected}`;
      }
    }
  }
  const meanDifference = compared === 0 ? Infinity : totalDiff / compared;
  const withinTolerance = compared === 0 ? 0 : within / compared;
  const ok = compared > 0 && meanDifference < meanLimit && withinTolerance >= minWithin;
  const summary = `${compared} pixels compared, mean difference ${meanDifference.toFixed(2)} (limit ${meanLimit}), ${(withinTolerance * 100).toFixed(2)}% within ${tolerance}${worst}`;
  return { ok, compared, meanDifference, withinTolerance, summary };
}

/**
 * The validator's `compare_rectangle`: a 100 x 100 answer for square (column, row) whose central
 * 74 x 74 pixels (a 13-pixel border left out) differ from the square's colour by less than 6 on
 * every channel of every pixel.
 */
export function compareRectangle(image: DecodedImage, column: number, row: number): { readonly ok: boolean; readonly summary: string } {
  if (image.width !== CELL_SIZE || image.height !== CELL_SIZE) {
    return { ok: false, summary: `size ${image.width}x${image.height}, expected ${CELL_SIZE}x${CELL_SIZE}` };
  }
  const truth = cellColour(column, row);
  let max = 0;
  for (let v = 13; v < 87; v++) {
    for (let u = 13; u < 87; u++) {
      const got = image.pixels.at(u, v);
      max = Math.max(max, Math.abs(got.r - truth.r), Math.abs(got.g - truth.g), Math.abs(got.b - truth.b));
    }
  }
  return { ok: max < 6, summary: `largest difference ${max} from rgb(${truth.r}, ${truth.g}, ${truth.b}) (limit: under 6)` };
}

/**
 * The validator's `is_grayscale`: one band, or a b-w/grey16 interpretation, or at least 99% of
 * pixels with R = G = B.
 */
export function isGrayscale(image: DecodedImage, minShare = 0.99): { readonly ok: boolean; readonly summary: string } {
  const colourChannels = image.channels - (image.hasAlpha ? 1 : 0);
  if (colourChannels === 1 || image.space === 'b-w' || image.space === 'grey16') {
    return { ok: true, summary: `${colourChannels} colour channel(s), interpretation ${image.space}` };
  }
  const grid = image.pixels;
  let grey = 0;
  for (let v = 0; v < grid.height; v++) {
    for (let u = 0; u < grid.width; u++) {
      const p = grid.at(u, v);
      if (p.r === p.g && p.g === p.b) grey++;
    }
  }
  const share = grey / (grid.width * grid.height);
  return { ok: share >= minShare, summary: `${(share * 100).toFixed(2)}% of pixels have R = G = B (needed ${minShare * 100}%)` };
}

/**
 * The validator's `is_bitonal`, as it is meant: at least `minShare` of the pixels black or
 * white on every band. (Upstream returns the share itself, a float that is truthy whenever a
 * single pixel is black or white, so its test cannot fail; we apply its `min_pct` of 0.99.)
 * `slack` allows lossy formats' ringing: values within `slack` of 0 or 255 count.
 */
export function isBitonal(image: DecodedImage, minShare = 0.99, slack = 0): { readonly ok: boolean; readonly share: number; readonly summary: string } {
  const grid = image.pixels;
  let twoTone = 0;
  for (let v = 0; v < grid.height; v++) {
    for (let u = 0; u < grid.width; u++) {
      const p = grid.at(u, v);
      const black = p.r <= slack && p.g <= slack && p.b <= slack;
      const white = p.r >= 255 - slack && p.g >= 255 - slack && p.b >= 255 - slack;
      if (black || white) twoTone++;
    }
  }
  const share = twoTone / (grid.width * grid.height);
  return {
    ok: share >= minShare,
    share,
    summary: `${(share * 100).toFixed(2)}% of pixels black or white${slack > 0 ? ` (within ${slack})` : ''} (needed ${(minShare * 100).toFixed(0)}%)`,
  };
}

/** Mean of a square's central 74 x 74 pixels in an image of the full grid at any size. */
export function cellMean(image: DecodedImage, column: number, row: number): { readonly r: number; readonly g: number; readonly b: number; readonly spread: number } {
  const grid = image.pixels;
  const sx = grid.width / GRID_SIZE;
  const sy = grid.height / GRID_SIZE;
  const x0 = Math.ceil((column * CELL_SIZE + 13) * sx);
  const x1 = Math.floor((column * CELL_SIZE + 87) * sx);
  const y0 = Math.ceil((row * CELL_SIZE + 13) * sy);
  const y1 = Math.floor((row * CELL_SIZE + 87) * sy);
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  let lo = 255;
  let hi = 0;
  for (let v = y0; v < y1; v++) {
    for (let u = x0; u < x1; u++) {
      const p = grid.at(u, v);
      r += p.r;
      g += p.g;
      b += p.b;
      lo = Math.min(lo, p.r, p.g, p.b);
      hi = Math.max(hi, p.r, p.g, p.b);
      n++;
    }
  }
  return { r: r / n, g: g / n, b: b / n, spread: hi - lo };
}
