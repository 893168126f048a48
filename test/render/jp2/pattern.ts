/**
 * The known pixels behind the JPEG 2000 fixtures: test/fixtures/jp2/make-fixtures.ts encodes
 * them, the tests recompute them and compare what the decoder gives back. Ramps in every
 * direction cover the whole range of each depth; a small ripple keeps neighbours different.
 */

/** Sizes are odd on purpose: partial code-blocks, tiles and reduced sizes that round. */
export const FIXTURES = {
  rgb8: { width: 61, height: 47 },
  grey8: { width: 61, height: 47 },
  grey12: { width: 61, height: 47 },
  rgb16: { width: 61, height: 47 },
  rgba8: { width: 61, height: 47 },
  tiled: { width: 120, height: 90, tile: 32 },
  /** Not the pattern: samples/photo.jpg, resized (make-fixtures.ts). */
  photo: { width: 320, height: 240, tile: 64 },
  lossy: { width: 61, height: 47 },
  sycc: { width: 64, height: 48 },
} as const;

/** The sample of channel `c` at (x, y), for `bits` of precision (at most 16). */
export function sample(x: number, y: number, c: number, bits: number): number {
  const max = 2 ** bits - 1;
  const ramp = (x * (3 + c) + y * (5 - c) + 40 * c) % 256;
  const ripple = (x * 7 + y * 11 + c * 13) % 256;
  const eight = (ramp + (ripple % 9)) % 256;
  if (bits <= 8) return Math.round((eight * max) / 255);
  return Math.round(((eight * 256 + ripple) * max) / 65535);
}

/** Interleaved samples of a width x height image, 1 byte each up to 8 bits, else 2 in host order. */
export function pattern(width: number, height: number, channels: number, bits: number): Buffer {
  const bytes = bits > 8 ? 2 : 1;
  const data = Buffer.alloc(width * height * channels * bytes);
  const samples = bytes === 2 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) samples[(y * width + x) * channels + c] = sample(x, y, c, bits);
    }
  }
  return data;
}

/**
 * The Y, Cb, Cr planes of the sYCC fixtures: luma per pixel, chroma per 2x2 block (so 4:2:0
 * loses nothing), all 8-bit.
 */
export function yccPlanes(width: number, height: number): { y: Buffer; cb: Buffer; cr: Buffer } {
  const y = Buffer.alloc(width * height);
  const cb = Buffer.alloc(width * height);
  const cr = Buffer.alloc(width * height);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      y[j * width + i] = 40 + ((i * 3 + j * 2) % 176);
      cb[j * width + i] = 128 + ((Math.floor(i / 2) * 5) % 80) - 40;
      cr[j * width + i] = 128 + ((Math.floor(j / 2) * 7) % 80) - 40;
    }
  }
  return { y, cb, cr };
}

/** What OpenJPEG's sYCC to RGB conversion gives for one pixel (8-bit). */
export function yccToRgb(y: number, cb: number, cr: number): [number, number, number] {
  const clamp = (v: number): number => Math.min(255, Math.max(0, v));
  const [u, v] = [cb - 128, cr - 128];
  return [clamp(y + Math.trunc(1.402 * v)), clamp(y - Math.trunc(0.344 * u + 0.714 * v)), clamp(y + Math.trunc(1.772 * u))];
}
