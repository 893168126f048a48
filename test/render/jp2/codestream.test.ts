/**
 * The codestream surgery behind area decodes: reference-grid geometry, the tile-part index, and
 * a codestream cut down to a range of tiles that still describes the same grid.
 */
import { describe, expect, it } from 'vitest';
import { type MainHeader, type Siz, readMainHeader, readTileParts, reducedSize, tileRangeCodestream, tileRangeRect, tilesCovering } from '../../../lib/render/jp2/codestream.js';
import { WindowedReader, bufferRange } from '../../../lib/render/jp2/reader.js';
import { codestreamOf, expectCode, fixture } from './support.js';

const siz = (over: Partial<Siz>): Siz => ({
  capabilities: 0, x0: 0, y0: 0, x1: 100, y1: 80, tileWidth: 100, tileHeight: 80, tileX0: 0, tileY0: 0,
  components: [{ bits: 8, signed: false, dx: 1, dy: 1 }],
  ...over,
});

async function parse(codestream: Buffer): Promise<{ main: MainHeader; parts: Awaited<ReturnType<typeof readTileParts>> }> {
  const reader = new WindowedReader(bufferRange(codestream), 1024);
  const main = await readMainHeader(reader, 0, codestream.length);
  return { main, parts: await readTileParts(reader, 0, codestream.length, main) };
}

describe('geometry on the reference grid', () => {
  it('sizes a reduction from where the image starts and ends, not from its width alone', () => {
    expect(reducedSize(siz({}), 3)).toEqual({ width: 13, height: 10 });
    // 1..12 (11 wide) at 1/2 is ceil(1/2)..ceil(12/2) = 1..6: 5 wide, where ceil(11/2) would say 6.
    expect(reducedSize(siz({ x0: 1, x1: 12, tileX0: 0, tileWidth: 12 }), 1)).toEqual({ width: 5, height: 40 });
  });

  it('finds the tiles that cover a rectangle, clipped to the grid', () => {
    const tiled = siz({ x1: 200, y1: 150, tileWidth: 64, tileHeight: 64 });
    expect(tilesCovering(tiled, { x0: 0, y0: 0, x1: 200, y1: 150 })).toEqual({ i0: 0, i1: 4, j0: 0, j1: 3 });
    expect(tilesCovering(tiled, { x0: 64, y0: 63, x1: 65, y1: 64 })).toEqual({ i0: 1, i1: 2, j0: 0, j1: 1 });
    expect(tilesCovering(tiled, { x0: -10, y0: -10, x1: 999, y1: 999 })).toEqual({ i0: 0, i1: 4, j0: 0, j1: 3 });
    expect(tileRangeRect(tiled, { i0: 3, i1: 4, j0: 2, j1: 3 })).toEqual({ x0: 192, y0: 128, x1: 200, y1: 150 });
  });
});

describe('tileRangeCodestream', () => {
  it('keeps the grid and renumbers the tiles of the range', async () => {
    const whole = codestreamOf(fixture('tiled.jp2'));
    const { main, parts } = await parse(whole);
    const range = { i0: 1, i1: 3, j0: 1, j1: 3 };
    const chosen = parts.filter((p) => [5, 6, 9, 10].includes(p.tile)).map((part) => ({ part, bytes: whole.subarray(part.offset, part.offset + part.length) }));
    const cut = await parse(tileRangeCodestream(whole.subarray(0, main.length), main, range, chosen));
    expect(cut.main.siz).toEqual({ ...main.siz, x0: 32, y0: 32, x1: 96, y1: 90, tileX0: 32, tileY0: 32 });
    expect(cut.parts.map((p) => p.tile)).toEqual([0, 1, 2, 3]);
    expect(cut.parts.map((p) => p.length)).toEqual(chosen.map((c) => c.part.length));
    // TLM and COM describe the whole codestream: they are dropped, everything else is kept.
    expect(main.segments.map((s) => s.marker)).toContain(0xff55);
    expect(cut.main.segments.map((s) => s.marker)).toEqual(main.segments.map((s) => s.marker).filter((m) => m !== 0xff55 && m !== 0xff64));
  });

  it('refuses a codestream whose packet headers are packed in the main header (PPM)', async () => {
    const whole = codestreamOf(fixture('tiled.jp2'));
    const { main } = await parse(whole);
    await expectCode(Promise.resolve().then(() => tileRangeCodestream(whole, { ...main, packedHeaders: true }, { i0: 0, i1: 1, j0: 0, j1: 1 }, [])), 'SOURCE_FORMAT_NOT_SUPPORTED', 'PPM');
  });
});
