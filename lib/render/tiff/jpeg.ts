/**
 * JPEG-in-TIFF streams made standalone. A TIFF's JPEG tiles are "abbreviated" streams: the
 * quantisation and Huffman tables they use live once in the JPEGTables tag, and nothing in the
 * tile says which colour space its three components are in (the TIFF's photometric tag does).
 * A standalone file puts the tables back and states the colour space with the marker decoders
 * (libjpeg, browsers) read it from.
 */
import { corrupt } from './failure.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
/** Markers that stand alone, without a length: SOI, EOI, RST0..RST7, TEM. */
const STANDALONE = new Set([SOI, EOI, 0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]);
/** Start-of-frame markers (baseline, extended, progressive, lossless, arithmetic...): not DHT, JPG or DAC. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** How a standalone stream says what its components are. */
export type JpegColour = 'grey' | 'ycbcr' | 'rgb';

export interface Segment {
  readonly marker: number;
  /** The segment's bytes, from its 0xFF to the end of its payload. */
  readonly bytes: Buffer;
}

export interface JpegHeader {
  /** Marker segments after SOI, up to (not including) SOS or EOI. */
  readonly segments: readonly Segment[];
  /** Where SOS starts (the rest of the stream), or undefined for a tables-only stream. */
  readonly scanStart?: number;
}

export interface JpegFrame {
  readonly width: number;
  readonly height: number;
  readonly componentIds: readonly number[];
}

/**
 * The marker segments of a JPEG stream up to its first scan.
 *
 * @throws SourceError `SOURCE_UNREADABLE` for a stream that does not start with SOI or whose
 *   segments run past its end.
 */
export function parseJpegHeader(stream: Buffer, part: string): JpegHeader {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== SOI) throw corrupt('a JPEG stream (starting FF D8)', part, stream.subarray(0, 4).toString('hex'));
  const segments: Segment[] = [];
  let at = 2;
  for (;;) {
    if (stream[at] !== 0xff) throw corrupt('a JPEG marker', `byte ${at} of ${part}`, stream.subarray(at, at + 2).toString('hex'));
    while (stream[at + 1] === 0xff) at++;
    const marker = stream[at + 1];
    if (marker === undefined) throw corrupt('a JPEG marker', `byte ${at} of ${part}`, 'the end of the stream');
    if (marker === SOS) return { segments, scanStart: at };
    if (marker === EOI) return { segments };
    if (STANDALONE.has(marker)) {
      at += 2;
      continue;
    }
    if (at + 4 > stream.length) throw corrupt('a JPEG segment length', `byte ${at} of ${part}`, 'the end of the stream');
    const end = at + 2 + stream.readUInt16BE(at + 2);
    if (end > stream.length || end < at + 4) throw corrupt('a JPEG segment inside the stream', `byte ${at} of ${part}`, `a segment ending at ${end}`);
    segments.push({ marker, bytes: stream.subarray(at, end) });
    at = end;
  }
}

/** The frame header (size and component ids) among `segments`, if any. */
export function jpegFrame(segments: readonly Segment[]): JpegFrame | undefined {
  const frame = segments.find((segment) => SOF.has(segment.marker));
  if (frame === undefined || frame.bytes.length < 10) return undefined;
  const components = frame.bytes[9] ?? 0;
  const ids = Array.from({ length: components }, (_, i) => frame.bytes[10 + 3 * i] ?? -1);
  return { height: frame.bytes.readUInt16BE(5), width: frame.bytes.readUInt16BE(7), componentIds: ids };
}

/**
 * A standalone JPEG from a TIFF tile: SOI, the colour marker, the TIFF's shared tables, the
 * tile's own segments, then its scan. Any JFIF or Adobe marker already present is replaced, so
 * the colour space is the photometric tag's:
 * - `ycbcr`: a JFIF APP0 (JFIF means YCbCr to every decoder), even for component ids 'R','G','B'
 *   that libjpeg would otherwise take for RGB;
 * - `rgb`: an Adobe APP14 with transform 0, without which libjpeg converts three components from
 *   YCbCr (libtiff writes RGB-photometric tiles with neither marker);
 * - `grey`: no marker (one component is always greyscale).
 *
 * @throws SourceError `SOURCE_UNREADABLE` when the tile or the tables are not JPEG streams, the
 *   tile has no scan, or its component count is not the one `colour` needs.
 */
export function standaloneJpeg(tables: Buffer | undefined, tile: Buffer, colour: JpegColour): Buffer {
  const header = parseJpegHeader(tile, 'a JPEG tile');
  if (header.scanStart === undefined) throw corrupt('a JPEG scan', 'a JPEG tile', 'no SOS marker');
  const frame = jpegFrame(header.segments);
  const components = colour === 'grey' ? 1 : 3;
  if (frame !== undefined && frame.componentIds.length !== components) throw corrupt(`${components} JPEG components`, 'a JPEG tile', frame.componentIds.length);
  const shared = tables === undefined ? [] : parseJpegHeader(tables, 'JPEGTables').segments;
  const kept = [...shared, ...header.segments].filter((segment) => !isColourMarker(segment));
  return Buffer.concat([Buffer.from([0xff, SOI]), ...colourMarker(colour), ...kept.map((segment) => segment.bytes), tile.subarray(header.scanStart)]);
}

function isColourMarker(segment: Segment): boolean {
  const name = segment.bytes.toString('latin1', 4, 9);
  return (segment.marker === APP0 && name.startsWith('JFIF')) || (segment.marker === APP14 && name === 'Adobe');
}

function colourMarker(colour: JpegColour): Buffer[] {
  switch (colour) {
    case 'grey': return [];
    // JFIF 1.01, no units, 1:1 density, no thumbnail.
    case 'ycbcr': return [Buffer.from([0xff, APP0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])];
    // "Adobe", version 100, no flags, transform 0: the components are stored as they are.
    case 'rgb': return [Buffer.from([0xff, APP14, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00])];
  }
}
