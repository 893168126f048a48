/**
 * Reading less of a JPEG 2000: the tile-part index from TLM markers, the packets of each
 * resolution counted as PLT lists them, and reduced decodes that read only the packets of the
 * resolutions they keep yet give exactly the pixels of a whole-codestream decode.
 */
import { describe, expect, it } from 'vitest';
import { decodeCodestream } from '../../../lib/render/jp2/codec.js';
import { MARKER, readTileParts } from '../../../lib/render/jp2/codestream.js';
import { decodeJp2 } from '../../../lib/render/jp2/decode.js';
import { readJp2Header } from '../../../lib/render/jp2/header.js';
import { canSkipResolutions, packetsPerResolution, parseTilePartHead, reducedTilePart, tilePartsFromTlm } from '../../../lib/render/jp2/packets.js';
import { WindowedReader, bufferRange } from '../../../lib/render/jp2/reader.js';
import { codestreamOf, fixture, recordingRange } from './support.js';

async function parsed(name: 'tiled.jp2' | 'tiled-sop-eph.jp2' | 'rgb8.jp2') {
  const file = fixture(name);
  const header = await readJp2Header(bufferRange(file));
  const codestream = codestreamOf(file);
  const { main } = header.codestream;
  const walked = await readTileParts(new WindowedReader(bufferRange(codestream), 1024), 0, codestream.length, main);
  return { file, header, codestream, main, walked, mainBytes: codestream.subarray(0, main.length) };
}

describe('tilePartsFromTlm', () => {
  it('gives the index walking the SOT markers gives, without reading a tile-part', async () => {
    // Prepare
    const { main, walked, mainBytes, codestream } = await parsed('tiled.jp2');

    // Act
    const listed = tilePartsFromTlm(mainBytes, main, codestream.length);

    // Assess
    expect(walked).toHaveLength(12);
    expect(listed).toEqual(walked);
  });

  it('gives nothing without TLM, or with a TLM that does not add up to the codestream', async () => {
    // Prepare
    const plain = await parsed('rgb8.jp2');
    const tiled = await parsed('tiled.jp2');
    const tlm = tiled.main.segments.find((segment) => segment.marker === MARKER.TLM);
    const broken = Buffer.from(tiled.mainBytes);
    // Ztlm, Stlm, then (Ttlm, Ptlm) pairs: lengthen the first tile-part by one byte.
    const first = (tlm?.offset ?? 0) + 6;
    const stlm = broken.readUInt8(first - 1);
    const at = first + ((stlm >> 4) & 3);
    if ((stlm >> 6) & 1) broken.writeUInt32BE(broken.readUInt32BE(at) + 1, at);
    else broken.writeUInt16BE(broken.readUInt16BE(at) + 1, at);

    // Act / Assess
    expect(tilePartsFromTlm(plain.mainBytes, plain.main, plain.codestream.length)).toBeUndefined();
    expect(tilePartsFromTlm(broken, tiled.main, tiled.codestream.length)).toBeUndefined();
  });
});

describe('packets of a tile', () => {
  it('counts, for each resolution, the packets its PLT lists (full and edge tiles)', async () => {
    // Prepare
    const { main, walked, codestream } = await parsed('tiled.jp2');

    for (const part of walked) {
      // Act
      const counts = packetsPerResolution(main, part.tile);
      const head = parseTilePartHead(codestream.subarray(part.offset, part.offset + part.length), part.tile, part.length);

      // Assess: one precinct per resolution and component, one layer, 6 resolutions.
      expect(counts).toEqual([3, 3, 3, 3, 3, 3]);
      expect('packetLengths' in head ? head.packetLengths.length : undefined).toBe(18);
    }
    expect(canSkipResolutions(main)).toBe(true);
  });

  it('asks for more bytes when the header is cut, and refuses a tile-part of another tile', async () => {
    // Prepare
    const { walked, codestream } = await parsed('tiled.jp2');
    const part = walked[3];
    if (part === undefined) throw new Error('Expected a fourth tile-part');
    const bytes = codestream.subarray(part.offset, part.offset + part.length);

    // Act / Assess
    expect(parseTilePartHead(bytes.subarray(0, 20), part.tile, part.length)).toEqual({ need: expect.any(Number) as unknown });
    expect(() => parseTilePartHead(bytes, part.tile + 1, part.length)).toThrow(`Expected a tile-part of tile ${part.tile + 1} where the index puts one`);
  });

  it('writes empty packets with the SOP and EPH markers the coding style asks for', async () => {
    // Prepare
    const { main } = await parsed('tiled-sop-eph.jp2');
    const head = { dataStart: 0, kept: [], restyles: false };

    // Act
    const rebuilt = reducedTilePart(7, head, [Buffer.from([0xab])], 1, 2, main);

    // Assess: SOT (tile 7, its length, part 0 of 1), SOD, the packet kept, two empty ones.
    expect(main.cod.sop && main.cod.eph).toBe(true);
    expect(rebuilt.toString('hex')).toBe([
      'ff90000a0007', rebuilt.length.toString(16).padStart(8, '0'), '0001',
      'ff93', 'ab',
      'ff9100040001', '00', 'ff92',
      'ff9100040002', '00', 'ff92',
    ].join(''));
  });
});

describe('a reduced decode', () => {
  it.each(['tiled.jp2', 'tiled-sop-eph.jp2'] as const)('%s: reads fewer bytes at each smaller resolution, for the pixels of a whole-codestream decode', async (name) => {
    // Prepare
    const { file, codestream } = await parsed(name);
    const { read, reads } = recordingRange(file);
    const header = await readJp2Header(read);
    const bytesRead: number[] = [];

    for (let reduce = 0; reduce < header.info.levels; reduce++) {
      reads.length = 0;
      // Act
      const image = await decodeJp2(read, header, { reduce, maxBytes: 1 << 24 });
      bytesRead.push(reads.reduce((sum, r) => sum + Math.min(r.length, file.length - r.offset), 0));

      // Assess
      const size = header.info.sizes[reduce] ?? { width: 0, height: 0 };
      expect(image.data.equals((await decodeCodestream(codestream, reduce, size)).data)).toBe(true);
    }
    for (let reduce = 1; reduce < bytesRead.length; reduce++) expect(bytesRead[reduce]).toBeLessThan(bytesRead[reduce - 1] ?? 0);
    // At 1/32, a few percent of the file: main header, tile-part headers, the lowest packets.
    expect(bytesRead.at(-1)).toBeLessThan(file.length / 5);
  });
});
