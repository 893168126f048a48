/**
 * Name a source's format from its first bytes, for the formats libvips (as sharp ships it) does
 * not decode: without this a JPEG 2000 source would surface as "unsupported image format" and be
 * reported as corrupt, when the honest answer is a 501 that names the format.
 */
import { open } from 'node:fs/promises';

/** How many leading bytes `sniffFormat` needs. */
export const SNIFF_BYTES = 32;

interface Signature {
  readonly format: string;
  readonly matches: (head: Buffer) => boolean;
}

const startsWith = (head: Buffer, bytes: readonly number[], at = 0): boolean =>
  head.length >= at + bytes.length && bytes.every((byte, i) => head[at + i] === byte);
const ascii = (text: string): number[] => Array.from(Buffer.from(text, 'latin1'));

/** ISO base media file brands (bytes 8..11 after "ftyp" at 4..7). */
function brand(head: Buffer): string | undefined {
  return startsWith(head, ascii('ftyp'), 4) && head.length >= 12 ? head.toString('latin1', 8, 12) : undefined;
}

// Signatures long enough to trust before any decoder sees the bytes (SVG is refused here so
// that librsvg never parses a source). Most specific first: JPEG XL's box form shares its layout
// with JPEG 2000's.
const SIGNATURES: readonly Signature[] = [
  { format: 'jp2', matches: (h) => startsWith(h, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]) },
  { format: 'j2k', matches: (h) => startsWith(h, [0xff, 0x4f, 0xff, 0x51]) },
  { format: 'jxl', matches: (h) => startsWith(h, [0xff, 0x0a]) || startsWith(h, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]) },
  { format: 'avif', matches: (h) => ['avif', 'avis'].includes(brand(h) ?? '') },
  { format: 'heic', matches: (h) => ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand(h) ?? '') },
  { format: 'pdf', matches: (h) => startsWith(h, ascii('%PDF-')) },
  { format: 'psd', matches: (h) => startsWith(h, ascii('8BPS')) },
  { format: 'svg', matches: (h) => /^\s*(<\?xml|<svg)/i.test(h.toString('latin1')) },
];

// Two or three bytes: only worth naming once no decoder recognised the file, or a text file
// that happens to start with "BM" would be called a bitmap.
const WEAK_SIGNATURES: readonly Signature[] = [
  // "BM", file size, four reserved zero bytes, pixel offset, then a known DIB header size.
  { format: 'bmp', matches: (h) => startsWith(h, ascii('BM')) && h.length >= 18 && h.readUInt32LE(6) === 0 && [12, 40, 52, 56, 64, 108, 124].includes(h.readUInt32LE(14)) },
  { format: 'ico', matches: (h) => startsWith(h, [0x00, 0x00, 0x01, 0x00]) },
  { format: 'jxr', matches: (h) => startsWith(h, [0x49, 0x49, 0xbc]) },
];

/**
 * The format the bytes announce, if it is one Recto knows by name but does not decode. With
 * `weak`, short signatures count too: for bytes no decoder recognised.
 */
export function sniffFormat(head: Buffer, options: { readonly weak?: boolean } = {}): string | undefined {
  const signatures = options.weak === true ? [...SIGNATURES, ...WEAK_SIGNATURES] : SIGNATURES;
  return signatures.find((signature) => signature.matches(head))?.format;
}

/** The first `SNIFF_BYTES` bytes of a source (fewer for a shorter one; none for an empty one). */
export async function readHead(input: Buffer | string): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input.subarray(0, SNIFF_BYTES);
  const handle = await open(input, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Whether the bytes start a TIFF (classic or BigTIFF, either byte order). A TIFF keeps its
 * directories anywhere in the file, so its first bytes alone cannot describe it.
 */
export function isTiffHead(head: Buffer): boolean {
  const magic = head.subarray(0, 4).toString('latin1');
  return magic === 'II*\u0000' || magic === 'MM\u0000*' || magic === 'II+\u0000' || magic === 'MM\u0000+';
}

/** Whether a source's Content-Type or key says TIFF, before any byte of it is read. */
export function isTiffName(key: string, contentType: string | undefined): boolean {
  return contentType === 'image/tiff' || /\.tiff?$/i.test(key);
}

/** Whether a source's Content-Type or key says JPEG 2000, before any byte of it is read. */
export function isJp2Name(key: string, contentType: string | undefined): boolean {
  return contentType === 'image/jp2' || contentType === 'image/jpx' || /\.(jp2|j2k|j2c|jpx|jpf)$/i.test(key);
}

/** Whether the bytes start a JPEG 2000 file (JP2 boxes) or a bare codestream. */
export function isJp2Head(head: Buffer): boolean {
  const named = sniffFormat(head);
  return named === 'jp2' || named === 'j2k';
}
