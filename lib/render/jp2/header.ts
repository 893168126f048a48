/**
 * A JPEG 2000 source described from its header, without decoding: the JP2 boxes (ISO/IEC 15444-1
 * Annex I: signature, file type, the jp2h header with ihdr, colr, cdef, res) and the main header
 * of its codestream, or a bare codestream (.j2k). The description is small and JSON-serialisable,
 * so it can be kept as a source record and info.json built from it without touching the file.
 */
import { SourceError, UnsupportedError, expected } from '../../errors.js';
import type { Size } from '../../iiif/types.js';
import { MARKER, type MainHeader, type Progression, readMainHeader, reducedSize, tileGrid } from './codestream.js';
import { type ReadRange, WindowedReader, truncated } from './reader.js';

/** What the first read asks for: the boxes before the codestream and its main header usually fit. */
export const HEAD_BYTES = 4096;
/** More boxes than this before the codestream is no JP2 file. */
const MAX_BOXES = 1024;
/** A jp2h larger than this (its ICC profile, mostly) is refused rather than read. */
const MAX_JP2H_BYTES = 16 * 1024 * 1024;
const MAX_BITS = 16;

export const COLOUR_SPACES = ['srgb', 'grey', 'sycc', 'icc', 'unknown'] as const;
export type ColourSpace = (typeof COLOUR_SPACES)[number];

/** The description of a JPEG 2000 source: plain data, JSON-serialisable. */
export interface Jp2Info {
  /** A JP2 file (boxes) or a bare codestream. */
  readonly format: 'jp2' | 'j2k';
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** Sample precision of every component, 1..16. */
  readonly bits: number;
  readonly signed: boolean;
  readonly colourSpace: ColourSpace;
  /** A component is opacity: cdef says so, or (without cdef) there are 2 or 4 components. */
  readonly hasAlpha: boolean;
  /** Chroma components at a lower resolution than the first (YCbCr 4:2:2 or 4:2:0). */
  readonly subsampled: boolean;
  /** The nominal tile size, clipped to the image: the whole image when it is not tiled. */
  readonly tile: Size;
  readonly tiles: { readonly across: number; readonly down: number };
  /** Resolution levels every component has: decomposition levels + 1. */
  readonly levels: number;
  /** The image at each reduction r = 0..levels-1 (1/2^r), largest first. */
  readonly sizes: readonly Size[];
  readonly progression: Progression;
  readonly layers: number;
  readonly codeBlock: Size;
  /** 5-3 wavelet (reversible, lossless when every layer is kept) or 9-7. */
  readonly reversible: boolean;
  /** Part 15 (HTJ2K) block coder. */
  readonly highThroughput: boolean;
  /** Capture (or else display) resolution from the res box, in pixels per inch. */
  readonly density?: { readonly x: number; readonly y: number };
}

/** Where the codestream lies in the file, and its main header as parsed. */
export interface CodestreamLocation {
  readonly offset: number;
  /** Absent when the codestream runs to the end of the file. */
  readonly end?: number;
  readonly main: MainHeader;
}

export interface Jp2Header {
  readonly info: Jp2Info;
  /** The ICC profile of a colr box of method 2 (restricted) or 3. */
  readonly icc?: Buffer;
  /** Where that profile lies in the file, so a later reader can fetch it again. */
  readonly iccLocation?: { readonly offset: number; readonly length: number };
  readonly codestream: CodestreamLocation;
  /** Bytes fetched from the source to learn all this. */
  readonly bytesRead: number;
}

/** What the jp2h box says; the codestream says the rest. */
interface BoxHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly colourSpace: ColourSpace;
  readonly icc?: Buffer;
  /** Where the ICC profile starts inside the jp2h box's content. */
  readonly iccAt?: number;
  /** From cdef: is some channel opacity? Undefined without cdef. */
  readonly alpha?: boolean;
  readonly density?: { readonly x: number; readonly y: number };
}

/**
 * Describe a JPEG 2000 source from its first bytes, reading further ranges only for boxes (or
 * a main header) that lie beyond them.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for bytes that are no JP2 or J2K, a truncated file, a
 *   box or marker segment that is malformed, or a jp2h that disagrees with its codestream.
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for what Recto does not decode: samples
 *   of more than 16 bits or signed, components of unequal depth, a palette (pclr), a JPX or
 *   other brand without JP2 compatibility, channels that cdef reorders.
 */
export async function readJp2Header(read: ReadRange): Promise<Jp2Header> {
  const reader = new WindowedReader(read, HEAD_BYTES);
  const head = await reader.bytes(0, 12);
  if (head.length >= 4 && head.readUInt16BE(0) === MARKER.SOC && head.readUInt16BE(2) === MARKER.SIZ) {
    const main = await readMainHeader(reader, 0, undefined);
    return { info: describe('j2k', main, undefined), codestream: { offset: 0, main }, bytesRead: reader.bytesRead };
  }
  if (!isJp2Signature(head)) {
    throw new SourceError('SOURCE_UNREADABLE', expected('a JPEG 2000 file (JP2 boxes or a J2K codestream)', 'the source', head.subarray(0, 12).toString('hex')));
  }
  const { boxes, codestream, jp2hContent } = await readBoxes(reader);
  const main = await readMainHeader(reader, codestream.offset, codestream.end);
  checkAgreement(boxes, main);
  return {
    info: describe('jp2', main, boxes),
    ...(boxes.icc === undefined ? {} : { icc: boxes.icc }),
    ...(boxes.icc === undefined || boxes.iccAt === undefined ? {} : { iccLocation: { offset: jp2hContent + boxes.iccAt, length: boxes.icc.length } }),
    codestream: { ...codestream, main },
    bytesRead: reader.bytesRead,
  };
}

const JP2_SIGNATURE = Buffer.from('0000000c6a5020200d0a870a', 'hex');
const isJp2Signature = (head: Buffer): boolean => head.length >= 12 && head.subarray(0, 12).equals(JP2_SIGNATURE);

function unreadableBox(what: string, received: string): SourceError {
  return new SourceError('SOURCE_UNREADABLE', expected(what, 'the JP2 boxes', received));
}

function unsupported(what: string, received: string): UnsupportedError {
  return new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(what, 'the JPEG 2000 source', received));
}

// ---- boxes --------------------------------------------------------------------------------

interface Box {
  readonly type: string;
  readonly offset: number;
  /** Header included; undefined when the box runs to the end of the file. */
  readonly length?: number;
  readonly headerLength: number;
}

/** The box at `offset` (I.4): LBox, TBox, and XLBox when LBox is 1. */
async function readBox(reader: WindowedReader, offset: number): Promise<Box | undefined> {
  const head = await reader.bytes(offset, 16);
  if (head.length === 0) return undefined;
  if (head.length < 8) throw truncated('box header', offset + head.length);
  const lbox = head.readUInt32BE(0);
  const type = head.toString('latin1', 4, 8);
  if (lbox === 0) return { type, offset, headerLength: 8 };
  if (lbox === 1) {
    if (head.length < 16) throw truncated('box header', offset + head.length);
    const length = Number(head.readBigUInt64BE(8));
    if (!Number.isSafeInteger(length) || length < 16) throw unreadableBox('a box length of at least 16 bytes', `${head.readBigUInt64BE(8)} for '${type}'`);
    return { type, offset, length, headerLength: 16 };
  }
  if (lbox < 8) throw unreadableBox('a box length of at least 8 bytes', `${lbox} for '${type}'`);
  return { type, offset, length: lbox, headerLength: 8 };
}

/** Walk the top-level boxes up to the codestream: signature, ftyp, jp2h, then jp2c. */
async function readBoxes(reader: WindowedReader): Promise<{ boxes: BoxHeader; codestream: { offset: number; end?: number }; jp2hContent: number }> {
  let boxes: BoxHeader | undefined;
  let jp2hContent = 0;
  let offset = JP2_SIGNATURE.length;
  for (let count = 1; count < MAX_BOXES; count++) {
    const box = await readBox(reader, offset);
    if (box === undefined) break;
    if (count === 1 && box.type !== 'ftyp') throw unreadableBox("'ftyp' right after the signature", `'${box.type}'`);
    if (box.type === 'ftyp') await checkBrand(reader, box);
    if (box.type === 'jp2h') {
      boxes = parseJp2h(await boxContent(reader, box, MAX_JP2H_BYTES));
      jp2hContent = box.offset + box.headerLength;
    }
    if (box.type === 'jp2c') {
      if (boxes === undefined) throw unreadableBox("a 'jp2h' header box before the codestream", 'none');
      const start = box.offset + box.headerLength;
      return { boxes, codestream: box.length === undefined ? { offset: start } : { offset: start, end: box.offset + box.length }, jp2hContent };
    }
    if (box.length === undefined) break;
    offset += box.length;
  }
  throw unreadableBox("a contiguous codestream box ('jp2c')", 'none');
}

async function boxContent(reader: WindowedReader, box: Box, limit: number): Promise<Buffer> {
  if (box.length === undefined) throw unreadableBox(`a length for '${box.type}'`, 'a box that runs to the end of the file');
  const length = box.length - box.headerLength;
  if (length > limit) throw unreadableBox(`a '${box.type}' box of at most ${limit} bytes`, `${length} bytes`);
  return reader.exactly(box.offset + box.headerLength, length, `'${box.type}' box`);
}

/** ftyp (I.5.2): JP2 itself, or a brand that lists JP2 among its compatible ones. */
async function checkBrand(reader: WindowedReader, box: Box): Promise<void> {
  const content = await boxContent(reader, box, 4096);
  if (content.length < 8 || (content.length - 8) % 4 !== 0) throw unreadableBox("an 'ftyp' box of brand, version and compatibility list", `${content.length} bytes`);
  const brand = content.toString('latin1', 0, 4);
  const compatible = Array.from({ length: (content.length - 8) / 4 }, (_, i) => content.toString('latin1', 8 + 4 * i, 12 + 4 * i));
  if (brand !== 'jp2 ' && !compatible.includes('jp2 ')) throw unsupported("a JP2 file (brand 'jp2 ')", `brand '${brand.trim()}'`);
}

/** The boxes inside a superbox's content. */
function* children(content: Buffer, parent: string): Generator<{ type: string; body: Buffer; at: number }> {
  let at = 0;
  while (at < content.length) {
    if (at + 8 > content.length) throw unreadableBox(`whole boxes inside '${parent}'`, `${content.length - at} stray bytes`);
    const lbox = content.readUInt32BE(at);
    const length = lbox === 0 ? content.length - at : lbox;
    if (length < 8 || at + length > content.length) throw unreadableBox(`boxes that fit inside '${parent}'`, `a box of ${lbox} bytes`);
    yield { type: content.toString('latin1', at + 4, at + 8), body: content.subarray(at + 8, at + length), at: at + 8 };
    at += length;
  }
}

// ---- the jp2h header box ------------------------------------------------------------------

/** jp2h (I.5.3): ihdr first, then colr, cdef, res; a palette (pclr) is refused. */
function parseJp2h(content: Buffer): BoxHeader {
  let ihdr: { width: number; height: number; components: number } | undefined;
  let colour: { colourSpace: ColourSpace; icc?: Buffer; iccAt?: number } | undefined;
  let alpha: boolean | undefined;
  let density: { x: number; y: number } | undefined;
  for (const { type, body, at } of children(content, 'jp2h')) {
    if (ihdr === undefined && type !== 'ihdr') throw unreadableBox("'ihdr' first in 'jp2h'", `'${type}'`);
    if (type === 'ihdr') ihdr = parseIhdr(body);
    else if (type === 'colr') colour ??= withAt(parseColr(body), at);
    else if (type === 'pclr') throw unsupported('a JPEG 2000 without a palette', "a palette box ('pclr')");
    else if (type === 'cdef') alpha = parseCdef(body);
    else if (type === 'res ') density = parseRes(body) ?? density;
  }
  if (ihdr === undefined) throw unreadableBox("an 'ihdr' box in 'jp2h'", 'none');
  if (colour === undefined) throw unreadableBox("a 'colr' box in 'jp2h'", 'none');
  return {
    ...ihdr,
    ...colour,
    ...(alpha === undefined ? {} : { alpha }),
    ...(density === undefined ? {} : { density }),
  };
}

/** A profile's place in the jp2h content: after the colr box's method, precedence and approximation. */
function withAt(colour: { colourSpace: ColourSpace; icc?: Buffer }, colrAt: number): { colourSpace: ColourSpace; icc?: Buffer; iccAt?: number } {
  return colour.icc === undefined ? colour : { ...colour, iccAt: colrAt + 3 };
}

/** ihdr (I.5.3.1): HEIGHT, WIDTH, NC, BPC, C, UnkC, IPR. */
function parseIhdr(body: Buffer): { width: number; height: number; components: number } {
  if (body.length !== 14) throw unreadableBox("an 'ihdr' box of 14 bytes", `${body.length} bytes`);
  if (body.readUInt8(11) !== 7) throw unreadableBox('compression type 7 (JPEG 2000) in ihdr', String(body.readUInt8(11)));
  return { height: body.readUInt32BE(0), width: body.readUInt32BE(4), components: body.readUInt16BE(8) };
}

const ENUMERATED: Readonly<Record<number, ColourSpace>> = { 16: 'srgb', 17: 'grey', 18: 'sycc' };

/** colr (I.5.3.3): method 1 names a space, method 2 (3 in JPX) carries an ICC profile. */
function parseColr(body: Buffer): { colourSpace: ColourSpace; icc?: Buffer } {
  if (body.length < 3) throw unreadableBox("a 'colr' box of at least 3 bytes", `${body.length} bytes`);
  const method = body.readUInt8(0);
  if (method === 1) {
    if (body.length < 7) throw unreadableBox('an enumerated colour space of 4 bytes', `${body.length - 3} bytes`);
    return { colourSpace: ENUMERATED[body.readUInt32BE(3)] ?? 'unknown' };
  }
  if (method === 2 || method === 3) {
    const icc = Buffer.from(body.subarray(3));
    // An ICC profile starts with its own size (ICC.1 7.2.2).
    if (icc.length < 128 || icc.readUInt32BE(0) !== icc.length) throw unreadableBox('an ICC profile whose header gives its size', `${icc.length} bytes`);
    return { colourSpace: 'icc', icc };
  }
  return { colourSpace: 'unknown' };
}

/**
 * cdef (I.5.3.6): which channel is colour, which opacity. Decoding keeps codestream order, so a
 * cdef that moves colour channels elsewhere is refused.
 */
function parseCdef(body: Buffer): boolean {
  if (body.length < 2 || body.length !== 2 + 6 * body.readUInt16BE(0)) throw unreadableBox("a 'cdef' box of N and 6-byte entries", `${body.length} bytes`);
  let alpha = false;
  for (let at = 2; at < body.length; at += 6) {
    const [channel, type, association] = [body.readUInt16BE(at), body.readUInt16BE(at + 2), body.readUInt16BE(at + 4)];
    if (type === 1 || type === 2) alpha = true;
    else if (type === 0 && association !== channel + 1) throw unsupported('channels in codestream order', `cdef mapping channel ${channel} to colour ${association}`);
  }
  return alpha;
}

/** res (I.5.3.7): resc (capture) wins over resd (display); grid points per metre become per inch. */
function parseRes(content: Buffer): { x: number; y: number } | undefined {
  const found = new Map<string, { x: number; y: number }>();
  for (const { type, body } of children(content, 'res ')) {
    if ((type !== 'resc' && type !== 'resd') || body.length !== 10) continue;
    const per = (n: number, d: number, e: number): number => (d === 0 ? 0 : (n / d) * 10 ** e * 0.0254);
    const y = per(body.readUInt16BE(0), body.readUInt16BE(2), body.readInt8(8));
    const x = per(body.readUInt16BE(4), body.readUInt16BE(6), body.readInt8(9));
    if (x > 0 && y > 0) found.set(type, { x: Math.round(x * 100) / 100, y: Math.round(y * 100) / 100 });
  }
  return found.get('resc') ?? found.get('resd');
}

// ---- the description ----------------------------------------------------------------------

function checkAgreement(boxes: BoxHeader, main: MainHeader): void {
  const { siz } = main;
  const [width, height, components] = [siz.x1 - siz.x0, siz.y1 - siz.y0, siz.components.length];
  if (boxes.width !== width || boxes.height !== height || boxes.components !== components) {
    throw unreadableBox('an ihdr that matches the codestream', `ihdr ${boxes.width}x${boxes.height}x${boxes.components}, codestream ${width}x${height}x${components}`);
  }
}

function describe(format: 'jp2' | 'j2k', main: MainHeader, boxes: BoxHeader | undefined): Jp2Info {
  const { siz, cod } = main;
  const { bits, signed } = sampleFormat(main);
  const components = siz.components.length;
  const [first] = siz.components;
  const subsampled = siz.components.some((c) => c.dx !== first?.dx || c.dy !== first.dy);
  const levels = main.decompositions + 1;
  const width = siz.x1 - siz.x0;
  const height = siz.y1 - siz.y0;
  return {
    format,
    width,
    height,
    components,
    bits,
    signed,
    colourSpace: boxes?.colourSpace ?? assumedColourSpace(components, subsampled),
    hasAlpha: boxes?.alpha ?? (components === 2 || components === 4),
    subsampled,
    tile: { width: Math.min(siz.tileWidth, width), height: Math.min(siz.tileHeight, height) },
    tiles: tileGrid(siz),
    levels,
    sizes: Array.from({ length: levels }, (_, r) => reducedSize(siz, r)),
    progression: cod.progression,
    layers: cod.layers,
    codeBlock: cod.codeBlock,
    reversible: cod.reversible,
    highThroughput: main.highThroughput,
    ...(boxes?.density === undefined ? {} : { density: boxes.density }),
  };
}

/** A bare codestream names no colour space: what decoders assume from its components. */
function assumedColourSpace(components: number, subsampled: boolean): ColourSpace {
  if (components <= 2) return 'grey';
  return subsampled ? 'sycc' : 'srgb';
}

function sampleFormat(main: MainHeader): { bits: number; signed: boolean } {
  const [first, ...rest] = main.siz.components;
  if (first === undefined) throw unreadableBox('at least one component', 'none');
  if (rest.some((c) => c.bits !== first.bits || c.signed !== first.signed)) {
    throw unsupported('components of one sample format', main.siz.components.map((c) => `${c.signed ? 's' : 'u'}${c.bits}`).join(','));
  }
  if (first.bits > MAX_BITS) throw unsupported(`samples of at most ${MAX_BITS} bits`, `${first.bits} bits`);
  if (first.signed) throw unsupported('unsigned samples', `signed ${first.bits}-bit samples`);
  return { bits: first.bits, signed: first.signed };
}
