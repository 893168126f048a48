/**
 * A JPEG 2000 master as the SourceProbe the rest of Recto plans from, from its header alone (no
 * pixel decoded, no sharp loaded: info.json can be answered without the renderer). The
 * description it carries (SourceProbe.jp2) says "a JPEG 2000 master read by ranges": with it a
 * render decodes only the area and resolution a request needs, and the access-copy builder
 * decodes the master by rows of tiles.
 */
import { UnsupportedError, expected } from '../../errors.js';
import type { Size } from '../../iiif/types.js';
import type { SourceProbe } from '../probe.js';
import { MARKER, type MainHeader } from './codestream.js';
import { assertDecodable } from './decode.js';
import { type Jp2Header, type Jp2Info, readJp2Header } from './header.js';
import { type ReadRange, WindowedReader } from './reader.js';

/** Bumped whenever the shape below changes, so a cached description is never misread. */
export const JP2_DESCRIPTION_VERSION = 1;

/** What a render needs to decode a JPEG 2000 by ranges: plain data, JSON-serialisable. */
export interface Jp2Description {
  readonly version: typeof JP2_DESCRIPTION_VERSION;
  readonly fileBytes: number;
  readonly info: Jp2Info;
  /** Where the codestream lies, and its main header as parsed. */
  readonly codestream: { readonly offset: number; readonly end?: number; readonly main: MainHeader };
  /** Where the ICC profile lies in the file (a colr box of method 2 or 3). */
  readonly icc?: { readonly offset: number; readonly length: number };
  /**
   * The first tile-part lists its packets' lengths (PLT): a reduced decode can then read only
   * the packets of the resolutions it keeps (packets.ts), not whole tiles.
   */
  readonly plt: boolean;
}

/**
 * Describe a JPEG 2000 (JP2 file or bare J2K codestream) of `bytes` bytes from its header.
 *
 * @throws SourceError `SOURCE_UNREADABLE` (422) for a corrupt or truncated header.
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` (501), naming what is unsupported:
 *   alpha, a palette, more than 16 bits or signed samples, other than 1 or 3 components, an
 *   unknown colour space, packed packet headers (PPM).
 */
export async function describeJp2(read: ReadRange, bytes: number): Promise<SourceProbe> {
  const header = await readJp2Header(read);
  return probeOf(header, bytes, await firstTilePartHasPlt(read, header));
}

/** Whether the first tile-part's header has a PLT marker: its marker segments are walked, never its packets. */
async function firstTilePartHasPlt(read: ReadRange, header: Jp2Header): Promise<boolean> {
  const { offset, main } = header.codestream;
  const reader = new WindowedReader(read, 4096);
  const start = offset + main.length;
  const sot = await reader.exactly(start, 12, 'first tile-part header');
  if (sot.readUInt16BE(0) !== MARKER.SOT) return false;
  const end = start + (sot.readUInt32BE(6) || Number.MAX_SAFE_INTEGER);
  for (let at = start + 12; at + 4 <= end;) {
    const segment = await reader.exactly(at, 4, 'first tile-part header');
    const marker = segment.readUInt16BE(0);
    if (marker === MARKER.PLT) return true;
    if (marker === MARKER.SOD || marker >>> 8 !== 0xff) return false;
    at += 2 + segment.readUInt16BE(2);
  }
  return false;
}

/** The probe of a header already read (describeJp2 without the reads). */
export function probeOf(header: Jp2Header, bytes: number, plt: boolean): SourceProbe {
  const { info, codestream } = header;
  assertDecodable(info, codestream.main);
  if (codestream.main.packedHeaders) {
    throw new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected('packet headers in each tile (no PPM marker)', 'the JPEG 2000 source', 'packed packet headers (PPM) in the main header'));
  }
  const sixteen = info.bits > 8;
  const grey = info.components === 1;
  const description: Jp2Description = {
    version: JP2_DESCRIPTION_VERSION,
    fileBytes: bytes,
    info,
    codestream: { offset: codestream.offset, ...(codestream.end === undefined ? {} : { end: codestream.end }), main: codestream.main },
    ...(header.iccLocation === undefined ? {} : { icc: header.iccLocation }),
    plt,
  };
  const tiled = info.tiles.across * info.tiles.down > 1;
  return {
    format: 'jp2',
    width: info.width,
    height: info.height,
    levels: decodableLevels(info, codestream.main),
    ...(tiled ? { tile: info.tile } : {}),
    orientation: 1,
    // What the decoder hands on, in libvips' names: sYCC is made RGB, 12 bits widened to 16.
    space: grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb',
    channels: info.components,
    depth: sixteen ? 'ushort' : 'uchar',
    hasAlpha: false,
    hasProfile: header.icc !== undefined,
    pages: 1,
    jp2: description,
  };
}

/**
 * The reduced resolutions a decode can be asked for, largest first: every one the codestream
 * has, up to the first whose grid the tiles (or the image's origin) do not start on, which the
 * decoder refuses.
 */
function decodableLevels(info: Jp2Info, main: MainHeader): Size[] {
  const { siz } = main;
  const tiled = info.tiles.across > 1 || info.tiles.down > 1;
  const sizes: Size[] = [];
  for (const [r, size] of info.sizes.entries()) {
    const f = 2 ** r;
    const aligned = siz.x0 % f === 0 && siz.y0 % f === 0 &&
      (!tiled || ((info.tiles.across === 1 || (siz.tileWidth % f === 0 && siz.tileX0 % f === 0)) && (info.tiles.down === 1 || (siz.tileHeight % f === 0 && siz.tileY0 % f === 0))));
    if (!aligned) break;
    sizes.push(size);
  }
  return sizes;
}

/**
 * The header decodeJp2 needs, from a probe's description: `icc` is the profile read back from
 * the file (the description only says where it is).
 */
export function headerOf(description: Jp2Description, icc?: Buffer): Jp2Header {
  return {
    info: description.info,
    ...(icc === undefined ? {} : { icc }),
    ...(description.icc === undefined ? {} : { iccLocation: description.icc }),
    codestream: description.codestream,
    bytesRead: 0,
  };
}
