/**
 * sYCC (IEC 61966-2-1 Amendment 1) to sRGB, in place, for interleaved 3-channel samples: the
 * conversion OpenJPEG's own tools apply, with the same coefficients and truncation, so a file
 * decodes here as it does there. Chroma is centred on 2^(bits-1).
 */

/**
 * Convert interleaved Y, Cb, Cr samples of `bits` precision (stored 1 or 2 bytes each, host
 * order) to R, G, B in place.
 */
export function syccToRgb(data: Buffer, bytesPerSample: 1 | 2, bits: number): void {
  const samples = bytesPerSample === 1 ? data : new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const offset = 2 ** (bits - 1);
  const max = 2 ** bits - 1;
  const clamp = (v: number): number => (v < 0 ? 0 : v > max ? max : v);
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const y = samples[i] ?? 0;
    const cb = (samples[i + 1] ?? 0) - offset;
    const cr = (samples[i + 2] ?? 0) - offset;
    samples[i] = clamp(y + Math.trunc(1.402 * cr));
    samples[i + 1] = clamp(y - Math.trunc(0.344 * cb + 0.714 * cr));
    samples[i + 2] = clamp(y + Math.trunc(1.772 * cb));
  }
}
