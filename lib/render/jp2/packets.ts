/**
 * Reading less of a JPEG 2000 for a reduced decode. Two things the codestream may carry make it
 * possible without parsing packet headers:
 *
 * - TLM markers (A.7.1) in the main header list every tile-part's length, so the tile-parts are
 *   located without walking the SOT markers one read at a time;
 * - PLT markers (A.7.3) in a tile-part's header list its packets' lengths. In a progression whose
 *   outermost loop is the resolution (RPCL, RLCP, or LRCP with one layer), the packets a decode at
 *   1/2^r needs are the first ones of each tile: the tile is rebuilt from them, with every later
 *   packet replaced by an empty one (a single zero byte: "no code-block contributes"), which
 *   decodes to exactly the pixels the whole tile gives at that reduction, for a fraction of its
 *   bytes.
 *
 * Anything else (no PLT, a tile-part header that changes the coding style or progression, COC or
 * POC in the main header) falls back to reading whole tile-parts.
 */
import { MARKER, type MainHeader, type TilePart, tileGrid, unreadable } from './codestream.js';

/**
 * The tile-parts as the main header's TLM markers list them, or undefined when it has none or
 * they do not add up to the codestream. Offsets are relative to the codestream's start, as
 * readTileParts gives them; each is checked against its SOT when read.
 *
 * @param mainBytes the main header, SOC to the first SOT (`main.length` bytes)
 * @param codestreamLength the codestream's length when known (EOC included)
 */
export function tilePartsFromTlm(mainBytes: Buffer, main: MainHeader, codestreamLength?: number): TilePart[] | undefined {
  const segments = main.segments
    .filter((segment) => segment.marker === MARKER.TLM)
    .map((segment) => mainBytes.subarray(segment.offset + 4, segment.offset + segment.length))
    .filter((body) => body.length >= 2)
    // Ztlm orders the segments.
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  if (segments.length === 0) return undefined;
  const { across, down } = tileGrid(main.siz);
  const parts: TilePart[] = [];
  let offset = main.length;
  for (const body of segments) {
    const stlm = body.readUInt8(1);
    const tileBytes = (stlm >> 4) & 3;
    const lengthBytes = (stlm >> 6) & 1 ? 4 : 2;
    if (tileBytes === 3) return undefined;
    const entry = tileBytes + lengthBytes;
    if ((body.length - 2) % entry !== 0) return undefined;
    for (let at = 2; at < body.length; at += entry) {
      // ST = 0: no tile index; the tile-parts are the tiles, in order, one each.
      const tile = tileBytes === 0 ? parts.length : tileBytes === 1 ? body.readUInt8(at) : body.readUInt16BE(at);
      const length = lengthBytes === 2 ? body.readUInt16BE(at + tileBytes) : body.readUInt32BE(at + tileBytes);
      if (tile >= across * down || length < 14) return undefined;
      parts.push({ tile, offset, length });
      offset += length;
    }
  }
  if (codestreamLength !== undefined && offset !== codestreamLength - 2 && offset !== codestreamLength) return undefined;
  return parts;
}

/** Whether a reduced decode of this codestream can be made from the first packets of each tile. */
export function canSkipResolutions(main: MainHeader): boolean {
  const { progression, layers } = main.cod;
  const resolutionFirst = progression === 'RPCL' || progression === 'RLCP' || (progression === 'LRCP' && layers === 1);
  // COC may give components other decomposition levels or precincts; POC changes the order.
  const uniform = !main.segments.some((segment) => segment.marker === MARKER.COC || segment.marker === MARKER.POC);
  return resolutionFirst && uniform && !main.packedHeaders && main.decompositions === main.cod.levels;
}

/**
 * The packets of each resolution level of a tile, lowest first: for every component, its
 * precincts at that level (B.6) times the layers. Empty resolutions have none.
 */
export function packetsPerResolution(main: MainHeader, tile: number): number[] {
  const { siz, cod } = main;
  const { across } = tileGrid(siz);
  const p = tile % across;
  const q = Math.floor(tile / across);
  const tx0 = Math.max(siz.tileX0 + p * siz.tileWidth, siz.x0);
  const ty0 = Math.max(siz.tileY0 + q * siz.tileHeight, siz.y0);
  const tx1 = Math.min(siz.tileX0 + (p + 1) * siz.tileWidth, siz.x1);
  const ty1 = Math.min(siz.tileY0 + (q + 1) * siz.tileHeight, siz.y1);
  const levels = cod.levels;
  return Array.from({ length: levels + 1 }, (_, r) => {
    const exponent = cod.precincts?.[r] ?? { x: 15, y: 15 };
    let packets = 0;
    for (const component of siz.components) {
      const scale = 2 ** (levels - r);
      const x0 = ceilDiv(ceilDiv(tx0, component.dx), scale);
      const x1 = ceilDiv(ceilDiv(tx1, component.dx), scale);
      const y0 = ceilDiv(ceilDiv(ty0, component.dy), scale);
      const y1 = ceilDiv(ceilDiv(ty1, component.dy), scale);
      const across = x1 > x0 ? ceilDiv(x1, 2 ** exponent.x) - Math.floor(x0 / 2 ** exponent.x) : 0;
      const down = y1 > y0 ? ceilDiv(y1, 2 ** exponent.y) - Math.floor(y0 / 2 ** exponent.y) : 0;
      packets += across * down * cod.layers;
    }
    return packets;
  });
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** A tile-part's header, SOT to SOD, as far as a reduced decode needs it. */
export interface TilePartHead {
  /** Bytes from the SOT marker to the first byte of packet data (SOD included). */
  readonly dataStart: number;
  /** The packets' lengths from its PLT markers; undefined without any. */
  readonly packetLengths?: readonly number[];
  /** Marker segments to keep in a rebuilt header (QCD, QCC, RGN): PLT and COM are dropped. */
  readonly kept: readonly Buffer[];
  /** The header changes the coding style, progression or packet headers (COD, COC, POC, PPT). */
  readonly restyles: boolean;
}

const RESTYLING = new Set<number>([MARKER.COD, MARKER.COC, MARKER.POC, MARKER.PPT]);
const DROPPED = new Set<number>([MARKER.PLT, MARKER.COM]);

/**
 * Parse a tile-part's header from its first bytes. Answers how many bytes it needs when `bytes`
 * stops inside the header.
 *
 * @param tile the tile the index says this tile-part belongs to: its SOT must agree
 * @throws SourceError `SOURCE_UNREADABLE` for a header that is not SOT, markers, SOD, or a PLT
 *   whose last length is cut off.
 */
export function parseTilePartHead(bytes: Buffer, tile: number, partLength: number): TilePartHead | { readonly need: number } {
  if (bytes.length < 12) return { need: 12 };
  if (bytes.readUInt16BE(0) !== MARKER.SOT || bytes.readUInt16BE(4) !== tile) {
    throw unreadable(`a tile-part of tile ${tile} where the index puts one`, `marker 0x${bytes.readUInt16BE(0).toString(16)}, tile ${bytes.readUInt16BE(4)}`);
  }
  const kept: Buffer[] = [];
  const lengths: number[] = [];
  let plt = false;
  let restyles = false;
  let at = 12;
  for (;;) {
    if (at + 2 > partLength) throw unreadable('SOD (0xFF93) inside the tile-part', `a header of more than ${partLength} bytes`);
    if (at + 4 > bytes.length) return { need: at + 4 };
    const marker = bytes.readUInt16BE(at);
    if (marker === MARKER.SOD) break;
    if (marker >>> 8 !== 0xff) throw unreadable('a marker segment or SOD in the tile-part header', `0x${marker.toString(16)}`);
    const length = 2 + bytes.readUInt16BE(at + 2);
    if (at + length > partLength) throw unreadable('a marker segment inside the tile-part', `0x${marker.toString(16)} of ${length} bytes`);
    if (at + length > bytes.length) return { need: at + length };
    if (marker === MARKER.PLT) {
      plt = true;
      lengths.push(...packetLengths(bytes.subarray(at + 5, at + length)));
    } else if (RESTYLING.has(marker)) {
      restyles = true;
    } else if (!DROPPED.has(marker)) {
      kept.push(bytes.subarray(at, at + length));
    }
    at += length;
  }
  return { dataStart: at + 2, kept, restyles, ...(plt ? { packetLengths: lengths } : {}) };
}

/** Iplt: lengths of 7 bits a byte, the high bit set on every byte but a length's last. */
function packetLengths(body: Buffer): number[] {
  const lengths: number[] = [];
  let value = 0;
  let open = false;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    open = (byte & 0x80) !== 0;
    if (!open) {
      lengths.push(value);
      value = 0;
    }
  }
  if (open) throw unreadable('a PLT whose last packet length is complete', 'a length cut off');
  return lengths;
}

/**
 * One tile-part holding a whole tile for a reduced decode: SOT, the first tile-part's kept
 * header segments, SOD, the packets kept, then `empty` empty packets (with the SOP and EPH
 * markers the coding style asks for).
 */
export function reducedTilePart(tile: number, head: TilePartHead, data: readonly Buffer[], kept: number, empty: number, main: MainHeader): Buffer {
  const { sop, eph } = main.cod;
  const emptyBytes = (sop ? 6 : 0) + 1 + (eph ? 2 : 0);
  const filler = Buffer.alloc(empty * emptyBytes);
  for (let i = 0; i < empty; i++) {
    let at = i * emptyBytes;
    if (sop) {
      filler.writeUInt16BE(MARKER.SOP, at);
      filler.writeUInt16BE(4, at + 2);
      filler.writeUInt16BE((kept + i) % 65536, at + 4);
      at += 6;
    }
    // The empty packet header: one 0 bit ("no contribution"), padded to a byte.
    at += 1;
    if (eph) filler.writeUInt16BE(MARKER.EPH, at);
  }
  const sot = Buffer.alloc(12);
  const body = [...head.kept, Buffer.from([0xff, 0x93]), ...data, filler];
  const length = 12 + body.reduce((sum, chunk) => sum + chunk.length, 0);
  sot.writeUInt16BE(MARKER.SOT, 0);
  sot.writeUInt16BE(10, 2);
  sot.writeUInt16BE(tile, 4);
  sot.writeUInt32BE(length, 6);
  // TPsot 0 of TNsot 1: the whole tile in one tile-part.
  sot.writeUInt8(0, 10);
  sot.writeUInt8(1, 11);
  return Buffer.concat([sot, ...body]);
}
