/**
 * The JPEG 2000 codestream (ISO/IEC 15444-1 Annex A): its main header (SIZ, COD, COC and the
 * markers a decoder must see), the index of its tile-parts, and the one operation the decoders
 * on npm lack: decoding a rectangle of tiles without the rest. Tiles are coded independently on
 * one reference grid, so a codestream whose SIZ shrinks the image to the tiles' union, with the
 * same grid origin, and that carries only those tiles' tile-parts (renumbered) decodes to exactly
 * the pixels those tiles have in the whole image.
 */
import { SourceError, UnsupportedError, expected } from '../../errors.js';
import type { Size } from '../../iiif/types.js';
import { type WindowedReader, truncated } from './reader.js';

export const MARKER = {
  SOC: 0xff4f,
  SIZ: 0xff51,
  COD: 0xff52,
  COC: 0xff53,
  TLM: 0xff55,
  PLM: 0xff57,
  PLT: 0xff58,
  POC: 0xff5f,
  PPM: 0xff60,
  PPT: 0xff61,
  COM: 0xff64,
  CAP: 0xff50,
  SOT: 0xff90,
  SOP: 0xff91,
  EPH: 0xff92,
  SOD: 0xff93,
  EOC: 0xffd9,
} as const;

export const PROGRESSIONS = ['LRCP', 'RLCP', 'RPCL', 'PCRL', 'CPRL'] as const;
export type Progression = (typeof PROGRESSIONS)[number];

/** A main header longer than this (a huge PPM or COM) is refused rather than read. */
const MAX_MAIN_HEADER_BYTES = 32 * 1024 * 1024;
/** The SIZ limits of the standard (A.5.1): Csiz is at most 16384. */
const MAX_COMPONENTS = 16384;
/** COD/COC: at most 32 decomposition levels (A.6.1). */
const MAX_DECOMPOSITIONS = 32;
/** Markers 0xFF30..0xFF3F stand alone (A.1.3); everything else in a header has a length. */
const isStandalone = (marker: number): boolean => marker >= 0xff30 && marker <= 0xff3f;

export interface Component {
  /** Sample precision, 1..38 in the standard. */
  readonly bits: number;
  readonly signed: boolean;
  /** Subsampling on the reference grid (XRsiz, YRsiz). */
  readonly dx: number;
  readonly dy: number;
}

/** The SIZ marker: the image and tile grid on the reference grid, in its own terms. */
export interface Siz {
  /** Rsiz: capabilities (Part 2 or Part 15 features, profiles). */
  readonly capabilities: number;
  /** Xsiz, Ysiz: where the image ends on the reference grid. */
  readonly x1: number;
  readonly y1: number;
  /** XOsiz, YOsiz: where the image starts. */
  readonly x0: number;
  readonly y0: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** XTOsiz, YTOsiz: where the tile grid starts. */
  readonly tileX0: number;
  readonly tileY0: number;
  readonly components: readonly Component[];
}

export interface CodingStyle {
  readonly levels: number;
  readonly progression: Progression;
  readonly layers: number;
  readonly codeBlock: Size;
  /** The 5-3 wavelet (which can be lossless) rather than the 9-7. */
  readonly reversible: boolean;
  /** RGB components go through the component transform (RCT or ICT). */
  readonly mct: boolean;
  /**
   * Precinct sizes per resolution, lowest first, as exponents (a precinct is 2^x by 2^y);
   * absent when COD gives none (every precinct is 2^15 a side).
   */
  readonly precincts?: readonly { readonly x: number; readonly y: number }[];
  /** Every packet starts with an SOP marker segment. */
  readonly sop: boolean;
  /** Every packet header ends with an EPH marker. */
  readonly eph: boolean;
}

/** A marker segment of the main header: where it is, relative to the codestream's start. */
export interface Segment {
  readonly marker: number;
  readonly offset: number;
  /** Marker included. */
  readonly length: number;
}

export interface MainHeader {
  readonly siz: Siz;
  readonly cod: CodingStyle;
  /** Decomposition levels every component has (COD, lowered by any COC). */
  readonly decompositions: number;
  readonly segments: readonly Segment[];
  /** Bytes from SOC to the first SOT. */
  readonly length: number;
  /** Packed packet headers in the main header: its tiles cannot be taken apart. */
  readonly packedHeaders: boolean;
  /** A Part 15 (HTJ2K) codestream. */
  readonly highThroughput: boolean;
}

/** One tile-part of the codestream, offsets relative to the codestream's start. */
export interface TilePart {
  readonly tile: number;
  readonly offset: number;
  /** SOT included. */
  readonly length: number;
}

export interface TileRange {
  /** Tile columns [i0, i1) and rows [j0, j1) of the tile grid. */
  readonly i0: number;
  readonly i1: number;
  readonly j0: number;
  readonly j1: number;
}

/** A rectangle [x0, x1) x [y0, y1). */
export interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

// ---- reading ------------------------------------------------------------------------------

export function unreadable(what: string, received: string): SourceError {
  return new SourceError('SOURCE_UNREADABLE', expected(what, 'the JPEG 2000 codestream', received));
}

const hex = (marker: number): string => `0x${marker.toString(16).toUpperCase()}`;

/**
 * Read the main header of the codestream that starts at `start` (SOC) and, when known, ends at
 * `end`, from SOC up to the first tile-part.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a missing SOC or SIZ, a marker out of place, a
 *   segment that runs past the codestream, or values the standard forbids.
 */
export async function readMainHeader(reader: WindowedReader, start: number, end: number | undefined): Promise<MainHeader> {
  const soc = await reader.exactly(start, 2, 'codestream');
  if (soc.readUInt16BE(0) !== MARKER.SOC) throw unreadable('a codestream that starts with SOC (0xFF4F)', hex(soc.readUInt16BE(0)));
  const segments: Segment[] = [];
  const bodies = new Map<number, Buffer[]>();
  let at = 2;
  for (;;) {
    if (at > MAX_MAIN_HEADER_BYTES) throw unreadable(`a main header of at most ${MAX_MAIN_HEADER_BYTES} bytes`, `more than ${at} bytes`);
    const head = await reader.exactly(start + at, 4, 'codestream main header');
    const marker = head.readUInt16BE(0);
    if (marker === MARKER.SOT) break;
    if (marker >>> 8 !== 0xff || marker === MARKER.EOC || isStandalone(marker)) {
      throw unreadable('a marker segment or SOT in the main header', `${hex(marker)} at byte ${at}`);
    }
    const length = 2 + head.readUInt16BE(2);
    if (length < 4 || (end !== undefined && start + at + length > end)) throw unreadable('a marker segment inside the codestream', `${hex(marker)} of ${length} bytes`);
    segments.push({ marker, offset: at, length });
    if (marker === MARKER.SIZ || marker === MARKER.COD || marker === MARKER.COC) {
      const body = await reader.exactly(start + at + 4, length - 4, 'codestream main header');
      bodies.set(marker, [...(bodies.get(marker) ?? []), Buffer.from(body)]);
    }
    at += length;
  }
  return describeMainHeader(segments, bodies, at);
}

function describeMainHeader(segments: readonly Segment[], bodies: ReadonlyMap<number, readonly Buffer[]>, length: number): MainHeader {
  const sizBody = bodies.get(MARKER.SIZ)?.[0];
  if (segments[0]?.marker !== MARKER.SIZ || sizBody === undefined) throw unreadable('SIZ (0xFF51) right after SOC', segments[0] === undefined ? 'none' : hex(segments[0].marker));
  const siz = parseSiz(sizBody);
  const codBody = bodies.get(MARKER.COD)?.[0];
  if (codBody === undefined) throw unreadable('a COD marker (0xFF52) in the main header', 'none');
  const cod = parseCod(codBody);
  const cocLevels = (bodies.get(MARKER.COC) ?? []).map((body) => parseCocLevels(body, siz.components.length));
  return {
    siz,
    cod,
    decompositions: Math.min(cod.levels, ...cocLevels),
    segments,
    length,
    packedHeaders: segments.some((s) => s.marker === MARKER.PPM),
    highThroughput: segments.some((s) => s.marker === MARKER.CAP),
  };
}

/** SIZ (A.5.1), after its length field. */
export function parseSiz(body: Buffer): Siz {
  if (body.length < 36) throw unreadable('a SIZ segment of at least 38 bytes', `${body.length + 2} bytes`);
  const count = body.readUInt16BE(34);
  if (count < 1 || count > MAX_COMPONENTS || body.length !== 36 + 3 * count) {
    throw unreadable('a SIZ segment whose length matches its component count', `${count} components in ${body.length + 2} bytes`);
  }
  const components = Array.from({ length: count }, (_, c): Component => {
    const ssiz = body.readUInt8(36 + 3 * c);
    return { bits: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0, dx: body.readUInt8(37 + 3 * c), dy: body.readUInt8(38 + 3 * c) };
  });
  const u32 = (at: number): number => body.readUInt32BE(at);
  const siz: Siz = {
    capabilities: body.readUInt16BE(0),
    x1: u32(2), y1: u32(6), x0: u32(10), y0: u32(14),
    tileWidth: u32(18), tileHeight: u32(22), tileX0: u32(26), tileY0: u32(30),
    components,
  };
  checkSiz(siz);
  return siz;
}

function checkSiz(siz: Siz): void {
  const { x0, y0, x1, y1, tileX0, tileY0, tileWidth, tileHeight } = siz;
  if (x1 <= x0 || y1 <= y0) throw unreadable('an image that is at least one pixel wide and high', `${x1 - x0}x${y1 - y0}`);
  if (tileWidth === 0 || tileHeight === 0) throw unreadable('tiles at least one pixel wide and high', `${tileWidth}x${tileHeight}`);
  // A.5.1: the first tile must hold the image origin.
  if (tileX0 > x0 || tileY0 > y0 || tileX0 + tileWidth <= x0 || tileY0 + tileHeight <= y0) {
    throw unreadable('a tile grid whose first tile holds the image origin', `tile origin ${tileX0},${tileY0} for image origin ${x0},${y0}`);
  }
  const bad = siz.components.find((c) => c.dx === 0 || c.dy === 0 || c.bits > 38);
  if (bad !== undefined) throw unreadable('components with subsampling of at least 1 and at most 38 bits', `${bad.bits} bits, subsampling ${bad.dx}x${bad.dy}`);
}

/** COD (A.6.1), after its length field. */
export function parseCod(body: Buffer): CodingStyle {
  if (body.length < 10) throw unreadable('a COD segment of at least 12 bytes', `${body.length + 2} bytes`);
  const progression = PROGRESSIONS[body.readUInt8(1)];
  if (progression === undefined) throw unreadable('a progression order 0..4', String(body.readUInt8(1)));
  const layers = body.readUInt16BE(2);
  if (layers === 0) throw unreadable('at least one quality layer', '0');
  const scod = body.readUInt8(0);
  const style = parseCodingParameters(body.subarray(5), (scod & 1) !== 0);
  return { ...style, progression, layers, mct: body.readUInt8(4) !== 0, sop: (scod & 2) !== 0, eph: (scod & 4) !== 0 };
}

/** The decomposition levels a COC (A.6.2) sets for its component. */
function parseCocLevels(body: Buffer, components: number): number {
  const indexBytes = components < 257 ? 1 : 2;
  if (body.length < indexBytes + 1) throw unreadable('a COC segment with its component and style', `${body.length + 2} bytes`);
  const index = indexBytes === 1 ? body.readUInt8(0) : body.readUInt16BE(0);
  if (index >= components) throw unreadable(`a COC for one of ${components} components`, `component ${index}`);
  const precincts = (body.readUInt8(indexBytes) & 1) !== 0;
  return parseCodingParameters(body.subarray(indexBytes + 1), precincts).levels;
}

/** SPcod / SPcoc: levels, code-block size and style, wavelet, precinct sizes. */
function parseCodingParameters(body: Buffer, precincts: boolean): Pick<CodingStyle, 'levels' | 'codeBlock' | 'reversible' | 'precincts'> {
  if (body.length < 5) throw unreadable('coding parameters of at least 5 bytes', `${body.length} bytes`);
  const levels = body.readUInt8(0);
  if (levels > MAX_DECOMPOSITIONS) throw unreadable(`at most ${MAX_DECOMPOSITIONS} decomposition levels`, String(levels));
  const xcb = body.readUInt8(1) + 2;
  const ycb = body.readUInt8(2) + 2;
  if (xcb > 10 || ycb > 10 || xcb + ycb > 12) throw unreadable('code-blocks of at most 4096 samples, 1024 a side', `${2 ** xcb}x${2 ** ycb}`);
  const transform = body.readUInt8(4);
  if (transform > 1) throw unreadable('the 9-7 (0) or 5-3 (1) wavelet', String(transform));
  if (precincts && body.length < 5 + levels + 1) throw unreadable(`${levels + 1} precinct sizes`, `${body.length - 5}`);
  const sizes = precincts ? Array.from({ length: levels + 1 }, (_, r) => ({ x: body.readUInt8(5 + r) & 0xf, y: body.readUInt8(5 + r) >> 4 })) : undefined;
  return { levels, codeBlock: { width: 2 ** xcb, height: 2 ** ycb }, reversible: transform === 1, ...(sizes === undefined ? {} : { precincts: sizes }) };
}

// ---- geometry -----------------------------------------------------------------------------

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** The image's area at reduction `r` (1/2^r), on that resolution's own grid (B.5). */
export function reducedRect(siz: Siz, r: number): Rect {
  const f = 2 ** r;
  return { x0: ceilDiv(siz.x0, f), y0: ceilDiv(siz.y0, f), x1: ceilDiv(siz.x1, f), y1: ceilDiv(siz.y1, f) };
}

/** The image's size at reduction `r`. */
export function reducedSize(siz: Siz, r: number): Size {
  const rect = reducedRect(siz, r);
  return { width: rect.x1 - rect.x0, height: rect.y1 - rect.y0 };
}

/** Tiles across and down. */
export function tileGrid(siz: Siz): { readonly across: number; readonly down: number } {
  return { across: ceilDiv(siz.x1 - siz.tileX0, siz.tileWidth), down: ceilDiv(siz.y1 - siz.tileY0, siz.tileHeight) };
}

/** The part of the reference grid that tiles [i0, i1) x [j0, j1) cover, clipped to the image (B.3). */
export function tileRangeRect(siz: Siz, range: TileRange): Rect {
  return {
    x0: Math.max(siz.x0, siz.tileX0 + range.i0 * siz.tileWidth),
    y0: Math.max(siz.y0, siz.tileY0 + range.j0 * siz.tileHeight),
    x1: Math.min(siz.x1, siz.tileX0 + range.i1 * siz.tileWidth),
    y1: Math.min(siz.y1, siz.tileY0 + range.j1 * siz.tileHeight),
  };
}

/** The tiles that cover a rectangle of the reference grid. */
export function tilesCovering(siz: Siz, rect: Rect): TileRange {
  const grid = tileGrid(siz);
  const clamp = (v: number, max: number): number => Math.min(max, Math.max(0, v));
  return {
    i0: clamp(Math.floor((rect.x0 - siz.tileX0) / siz.tileWidth), grid.across),
    i1: clamp(ceilDiv(rect.x1 - siz.tileX0, siz.tileWidth), grid.across),
    j0: clamp(Math.floor((rect.y0 - siz.tileY0) / siz.tileHeight), grid.down),
    j1: clamp(ceilDiv(rect.y1 - siz.tileY0, siz.tileHeight), grid.down),
  };
}

// ---- tile-parts ---------------------------------------------------------------------------

/**
 * Walk the SOT markers after the main header: 12 bytes read per tile-part, never the data.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a tile-part that is malformed, names a tile the
 *   grid does not have, or runs past the end of the codestream.
 */
export async function readTileParts(reader: WindowedReader, start: number, end: number | undefined, main: MainHeader): Promise<TilePart[]> {
  const { across, down } = tileGrid(main.siz);
  const parts: TilePart[] = [];
  let at = main.length;
  for (;;) {
    const head = await reader.bytes(start + at, 12);
    // Without a known end, the file's end is the codestream's; with one, ending early is truncation.
    if (head.length < 2 && end === undefined) break;
    if (head.length < 2) throw truncated('tile-part header', start + at + head.length);
    if (head.readUInt16BE(0) === MARKER.EOC) break;
    if (head.length < 12) throw truncated('tile-part header', start + at + head.length);
    const marker = head.readUInt16BE(0);
    if (marker !== MARKER.SOT || head.readUInt16BE(2) !== 10) throw unreadable('SOT (0xFF90) with a 10-byte segment', `${hex(marker)} at byte ${at}`);
    const tile = head.readUInt16BE(4);
    if (tile >= across * down) throw unreadable(`a tile index below ${across * down}`, String(tile));
    const length = head.readUInt32BE(6) || (await lastPartLength(reader, start, end, at));
    if (length < 14 || (end !== undefined && start + at + length > end)) throw unreadable('a tile-part inside the codestream', `${length} bytes at byte ${at}`);
    parts.push({ tile, offset: at, length });
    at += length;
    if (end !== undefined && start + at >= end) break;
  }
  return parts;
}

/**
 * Psot 0: the last tile-part runs to the EOC marker at the codestream's end. Where that end is
 * unknown (a bare codestream, or a last box that runs to the end of the file), find the end.
 */
async function lastPartLength(reader: WindowedReader, start: number, end: number | undefined, at: number): Promise<number> {
  let stop = end;
  if (stop === undefined) {
    const chunk = 1024 * 1024;
    let probe = start + at;
    for (;;) {
      const bytes = await reader.bytes(probe, chunk);
      probe += bytes.length;
      if (bytes.length < chunk) break;
    }
    stop = probe;
  }
  const tail = await reader.bytes(stop - 2, 2);
  const eoc = tail.length === 2 && tail.readUInt16BE(0) === MARKER.EOC ? 2 : 0;
  return stop - eoc - (start + at);
}

// ---- a codestream of some tiles ------------------------------------------------------------

/** The byte offsets of SIZ fields after its marker (A.5.1). */
const SIZ_FIELD = { x1: 6, y1: 10, x0: 14, y0: 18, tileX0: 30, tileY0: 34 } as const;
const SOT_TILE_INDEX = 4;
const SOT_LENGTH = 6;
/** Main-header markers that describe every tile-part of the whole codestream: dropped (both are optional). */
const DROPPED = new Set<number>([MARKER.TLM, MARKER.PLM, MARKER.COM]);

/**
 * A codestream that holds only the tiles of `range`: the main header with SIZ cut to their
 * union (grid origin moved onto their first tile, so every coordinate stays where it was), then
 * their tile-parts, renumbered.
 *
 * @param header the main header's bytes, SOC included (`main.length` bytes)
 * @param parts each tile-part of the range with its bytes, in codestream order
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` when the packet headers are packed in
 *   the main header (PPM), which ties every tile to the others.
 */
export function tileRangeCodestream(header: Buffer, main: MainHeader, range: TileRange, parts: readonly { readonly part: TilePart; readonly bytes: Buffer }[]): Buffer {
  if (main.packedHeaders) {
    throw new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected('a codestream without packed packet headers', 'decoding part of a JPEG 2000', 'PPM markers'));
  }
  const { across } = tileGrid(main.siz);
  const width = range.i1 - range.i0;
  const chunks: Buffer[] = [header.subarray(0, 2), rangeSiz(header, main, range)];
  for (const segment of main.segments) {
    if (segment.marker === MARKER.SIZ || DROPPED.has(segment.marker)) continue;
    chunks.push(header.subarray(segment.offset, segment.offset + segment.length));
  }
  for (const { part, bytes } of parts) {
    const i = part.tile % across;
    const j = Math.floor(part.tile / across);
    const copy = Buffer.from(bytes.subarray(0, part.length));
    copy.writeUInt16BE((j - range.j0) * width + (i - range.i0), SOT_TILE_INDEX);
    copy.writeUInt32BE(part.length, SOT_LENGTH);
    chunks.push(copy);
  }
  chunks.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(chunks);
}

function rangeSiz(header: Buffer, main: MainHeader, range: TileRange): Buffer {
  const segment = main.segments[0];
  if (segment?.marker !== MARKER.SIZ) throw unreadable('SIZ right after SOC', 'another marker');
  const siz = Buffer.from(header.subarray(segment.offset, segment.offset + segment.length));
  const rect = tileRangeRect(main.siz, range);
  siz.writeUInt32BE(rect.x1, SIZ_FIELD.x1);
  siz.writeUInt32BE(rect.y1, SIZ_FIELD.y1);
  siz.writeUInt32BE(rect.x0, SIZ_FIELD.x0);
  siz.writeUInt32BE(rect.y0, SIZ_FIELD.y0);
  siz.writeUInt32BE(main.siz.tileX0 + range.i0 * main.siz.tileWidth, SIZ_FIELD.tileX0);
  siz.writeUInt32BE(main.siz.tileY0 + range.j0 * main.siz.tileHeight, SIZ_FIELD.tileY0);
  return siz;
}
