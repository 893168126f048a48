/**
 * What a request may decode from a JPEG 2000 master before its access copy exists
 * (jp2RenderableNow), on the headers of 75-megapixel masters as archives make them (tiles of
 * 1024 or none, lossless or lossy, with or without TLM and PLT): a thumbnail always, a
 * full-resolution tile of a tiled master, never a full/max. And the estimates that go with it:
 * render seconds, memory, and how long an access copy takes (the Retry-After of the 503).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../lib/config.js';
import type { Size } from '../../../lib/iiif/types.js';
import {
  estimateAccessCopySeconds, estimateJp2Decode, estimateRenderBytes, estimateRenderSeconds, JP2_RENDER_NOW_SECONDS, jp2RenderableNow, type SourceProbe,
} from '../../../lib/render/index.js';
import { MARKER } from '../../../lib/render/jp2/codestream.js';
import { describeJp2 } from '../../../lib/render/jp2/describe.js';
import { bufferRange } from '../../../lib/render/jp2/reader.js';
import { makePlan } from '../support.js';
import { fixture } from './support.js';

interface Master {
  readonly width: number;
  readonly height: number;
  /** Square tiles of this edge; none: one tile. */
  readonly tile?: number;
  readonly lossless: boolean;
  readonly tlm: boolean;
  readonly plt: boolean;
}

/**
 * The probe of a master as described from its header: tiled.jp2's own description (RPCL, 5
 * decompositions), grown to `master`'s size and tiling, with the file size of its kind
 * (measured: 1.2 bytes a pixel lossless, 0.15 lossy at 20:1).
 */
async function masterProbe(master: Master): Promise<SourceProbe> {
  const bytes = fixture('tiled.jp2');
  const base = await describeJp2(bufferRange(bytes), bytes.length);
  const jp2 = base.jp2;
  if (jp2 === undefined) throw new Error('Expected a JPEG 2000 description');
  const { width, height } = master;
  const tile: Size = master.tile === undefined ? { width, height } : { width: master.tile, height: master.tile };
  const sizes = Array.from({ length: 6 }, (_, r) => ({ width: Math.ceil(width / 2 ** r), height: Math.ceil(height / 2 ** r) }));
  const main = jp2.codestream.main;
  const untiled: SourceProbe = { ...base };
  delete (untiled as { tile?: Size }).tile;
  return {
    ...untiled,
    width,
    height,
    levels: sizes,
    ...(master.tile === undefined ? {} : { tile }),
    jp2: {
      ...jp2,
      fileBytes: Math.round(width * height * (master.lossless ? 1.2 : 0.15)),
      plt: master.plt,
      info: { ...jp2.info, width, height, tile, tiles: { across: Math.ceil(width / tile.width), down: Math.ceil(height / tile.height) }, sizes, reversible: master.lossless },
      codestream: {
        ...jp2.codestream,
        main: {
          ...main,
          siz: { ...main.siz, x1: width, y1: height, tileWidth: tile.width, tileHeight: tile.height },
          segments: master.tlm ? main.segments : main.segments.filter((segment) => segment.marker !== MARKER.TLM),
        },
      },
    },
  };
}

const SEVENTY_FIVE = { width: 10_000, height: 7_500 };
const thumbnail = { size: { fit: [400, 400] }, format: 'jpg' } as const;
const tile = { region: { x: 2048, y: 1024, w: 512, h: 512 }, format: 'jpg' } as const;
const fullMax = { format: 'jpg' } as const;

describe('jp2RenderableNow on 75 MP masters', () => {
  it.each([
    ['tiled 1024, lossless, TLM and PLT', { ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true }, [true, true, false]],
    ['tiled 1024, lossy, TLM and PLT', { ...SEVENTY_FIVE, tile: 1024, lossless: false, tlm: true, plt: true }, [true, true, false]],
    ['tiled 1024, lossy, no TLM (the tile-parts are walked)', { ...SEVENTY_FIVE, tile: 1024, lossless: false, tlm: false, plt: true }, [true, true, false]],
    ['untiled, lossless, PLT', { ...SEVENTY_FIVE, lossless: true, tlm: false, plt: true }, [true, false, false]],
    ['untiled, lossy, no PLT (whole file read)', { ...SEVENTY_FIVE, lossless: false, tlm: false, plt: false }, [true, false, false]],
  ] as const)('%s: thumbnail, full-resolution 512 tile, full/max', async (_name, master, expected) => {
    // Prepare
    const source = await masterProbe(master);

    // Act
    const answers = [thumbnail, tile, fullMax].map((form) => jp2RenderableNow(makePlan(source, form), source));

    // Assess
    expect(answers).toEqual(expected);
  });

  it('decodes one 1024 tile for a 512 tile at full resolution, and 1/16 of the image for a 400 thumbnail', async () => {
    // Prepare
    const source = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true });

    // Act
    const [small, one, whole] = [thumbnail, tile, fullMax].map((form) => estimateJp2Decode(makePlan(source, form), source));

    // Assess
    expect(small).toMatchObject({ reduce: 4, pixels: 625 * 469 });
    expect(small?.bytesRead).toBeLessThan(source.jp2!.fileBytes / 50);
    expect(one).toMatchObject({ reduce: 0, pixels: 1024 * 1024 });
    expect(one?.seconds).toBeLessThan(JP2_RENDER_NOW_SECONDS);
    expect(whole).toMatchObject({ reduce: 0, pixels: 75_000_000 });
    expect(whole?.seconds).toBeGreaterThan(30);
  });

  it('lets a caller hold renders to a tighter budget', async () => {
    const source = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true });
    expect(jp2RenderableNow(makePlan(source, tile), source, { maxSeconds: 0.5 })).toBe(false);
    expect(jp2RenderableNow(makePlan(source, tile), source, { maxPixels: 1000 })).toBe(false);
  });

  it('says true of any other source', () => {
    const jpeg: SourceProbe = { format: 'jpeg', ...SEVENTY_FIVE, levels: [SEVENTY_FIVE], orientation: 1, space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1 };
    expect(jp2RenderableNow(makePlan(jpeg, fullMax), jpeg)).toBe(true);
  });
});

describe('estimates for JPEG 2000 masters', () => {
  it('prices the decode into the render estimate: a full/max goes asynchronous, a thumbnail does not', async () => {
    const source = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true });
    expect(estimateRenderSeconds(makePlan(source, fullMax), source)).toBeGreaterThan(DEFAULTS.RENDER_BUDGET_SECONDS);
    expect(estimateRenderSeconds(makePlan(source, thumbnail), source)).toBeLessThan(2);
  });

  it('counts the decoded region and the codec in the memory estimate', async () => {
    const source = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true });
    const jpeg: SourceProbe = { format: 'jpeg', ...SEVENTY_FIVE, levels: [SEVENTY_FIVE], orientation: 1, space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1 };
    const fromTile = estimateRenderBytes(makePlan(source, tile), source);
    expect(fromTile).toBeGreaterThan(estimateRenderBytes(makePlan(jpeg, tile), jpeg) + 1024 * 1024 * 3);
    expect(estimateRenderBytes(makePlan(source, fullMax), source)).toBeGreaterThan(75_000_000 * 3 * 2);
  });

  it('gives the access copy a Retry-After that grows with the master, in seconds to minutes', async () => {
    // Prepare
    const small = await masterProbe({ width: 3000, height: 2000, tile: 1024, lossless: true, tlm: true, plt: true });
    const lossless = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: true, tlm: true, plt: true });
    const lossy = await masterProbe({ ...SEVENTY_FIVE, tile: 1024, lossless: false, tlm: true, plt: true });
    const jpeg: SourceProbe = { format: 'jpeg', ...SEVENTY_FIVE, levels: [SEVENTY_FIVE], orientation: 1, space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1 };

    // Act
    const seconds = [small, lossy, lossless, jpeg].map(estimateAccessCopySeconds);

    // Assess
    for (const s of seconds) expect(Number.isInteger(s)).toBe(true);
    const [fromSmall, fromLossy, fromLossless, fromJpeg] = seconds as [number, number, number, number];
    expect(fromSmall).toBeGreaterThanOrEqual(10);
    expect(fromSmall).toBeLessThan(fromLossy);
    expect(fromLossy).toBeLessThan(fromLossless);
    expect(fromLossless).toBeLessThan(300);
    expect(fromJpeg).toBeLessThan(fromLossless);
  });
});
