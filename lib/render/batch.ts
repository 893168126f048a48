/**
 * Many derivatives of one source from as few decodes as possible: the whole tile pyramid from one
 * decode per pyramid level.
 *
 * Each Plan is routed exactly as an on-demand render routes it (lib/render's `route`: the same
 * stored level, JPEG scale or page, and the same cut in it). Plans that cut from the same level
 * share its decode: the union of their cuts is decoded once into memory, as horizontal bands of
 * rows for a TIFF (whose tiles or strips are read at random, so a band costs only its own rows),
 * or whole for a sequential format (a JPEG or PNG decodes every row above the one wanted, so
 * bands would decode the top of the image again and again). Each Plan is then its own small
 * pipeline over those pixels: the same cut, the same resize, the same quality step and the
 * same encoder settings as render() uses, so the bytes match an on-demand render of its key.
 *
 * Everything that does not fit that mould is rendered one by one through the normal engine:
 * cuts of a whole level (one decode each anyway), a plan alone at its level, rotations and
 * mirrors, EXIF-oriented, alpha and 16-bit sources, and levels too large to hold in memory.
 */
import sharp from 'sharp';
import type { EncodeConfig } from '../config.js';
import { MEDIA_TYPES, type Plan, type Rect, type Size } from '../iiif/index.js';
import { encoderSettings } from './encode.js';
import { toRenderError } from './failure.js';
import type { SourceProbe } from './probe.js';
import { applyEncoder, applyQuality, fileOrBytes, openRegion, openSource, passthroughIndex, rangedInput, type RenderInput, type RenderResult } from './render.js';
import { route, type LoadSpec } from './route.js';
import { configureSharp } from './setup.js';

export interface BatchItem {
  readonly key: string;
  readonly plan: Plan;
}

export interface BatchRenderOptions {
  readonly encode: EncodeConfig;
  readonly maxInputPixels: number;
  /** Renders (and their uploads, through `rendered`) in flight at once. */
  readonly concurrency: number;
  /** Largest decode held in memory, in bytes: larger levels are rendered plan by plan. */
  readonly maxDecodeBytes?: number;
  /** Rows per band for TIFF sources (at least one cut's height). */
  readonly bandRows?: number;
  /** Stops taking new items; those in flight finish. */
  readonly signal?: AbortSignal;
}

/** The source, opened again before each decode (a file the /tmp cache may evict is fetched again). */
export interface BatchInput {
  open(): Promise<RenderInput>;
}

export interface BatchHandlers {
  /** Store a result (awaited: the upload counts against the concurrency). */
  rendered(item: BatchItem, result: RenderResult): Promise<void>;
  /** An item that could not be rendered or stored. */
  failed(item: BatchItem, error: unknown): void;
  /** Render one Plan the ordinary way (lib/render's render()). */
  single(plan: Plan): Promise<RenderResult>;
}

const BATCH_DEFAULTS = {
  /** 768 MiB: the full level of a 256-megapixel RGB source; a 3 GB pre-warm Lambda holds it. */
  maxDecodeBytes: 768 * 1024 * 1024,
  /** Four rows of 256-pixel tiles: a band of a 10000-pixel-wide level is 30 MB. */
  bandRows: 1024,
} as const;

/** A level decoded (or to be decoded) once for many plans. */
interface DecodeGroup {
  readonly load: LoadSpec;
  /** Index of the level opened (route's `level`). */
  readonly levelIndex: number;
  /** The level's size (stored orientation, which is display orientation here). */
  readonly level: Size;
  readonly bands: readonly Band[];
}

/** A rectangle of a level, decoded once, and the plans cut from it. */
interface Band {
  readonly rect: Rect;
  readonly items: readonly { readonly item: BatchItem; readonly cut: Rect; readonly scaled: Size }[];
}

interface BatchPlan {
  readonly groups: readonly DecodeGroup[];
  /** Rendered one by one. */
  readonly singles: readonly BatchItem[];
}

/**
 * Sort items into shared decodes and single renders (pure: exported for tests and estimates).
 * Only 8-bit, opaque, upright sources share decodes, and only plans that cut part of a level
 * (a whole level is one decode either way) and that are not alone at their level.
 */
export function planBatch(items: readonly BatchItem[], source: SourceProbe, options: Pick<BatchRenderOptions, 'maxDecodeBytes' | 'bandRows'> = {}): BatchPlan {
  const maxDecodeBytes = options.maxDecodeBytes ?? BATCH_DEFAULTS.maxDecodeBytes;
  const bandRows = options.bandRows ?? BATCH_DEFAULTS.bandRows;
  // Decoding to raw pixels applies what render() applies at load (ICC and CMYK conversion to
  // sRGB: the bytes match, see the tests); alpha (flattened for JPEG), 16-bit and EXIF turns
  // are render()'s alone.
  // A JPEG 2000 is decoded per Plan at its own reduction (render()), never shared.
  const shareable = source.orientation === 1 && !source.hasAlpha && source.depth === 'uchar' && source.jp2 === undefined;
  const singles: BatchItem[] = [];
  const byLevel = new Map<string, { load: LoadSpec; levelIndex: number; level: Size; members: { item: BatchItem; cut: Rect; scaled: Size }[] }>();
  for (const item of items) {
    const chosen = route(item.plan, source, { inputIsPath: source.tiff === undefined });
    const plain = chosen.residualDegrees === 0 && !chosen.transform.flop && chosen.transform.quarterTurns === 0;
    // A stored tile passed through is read, not decoded: render() does it alone.
    const stored = passthroughIndex(item.plan, chosen, source) !== undefined;
    if (!shareable || !plain || stored || chosen.extract === undefined || (chosen.strategy !== 'level' && chosen.strategy !== 'direct')) {
      singles.push(item);
      continue;
    }
    const id = `${chosen.level}:${chosen.load.page ?? ''}:${chosen.load.subifd ?? ''}:${chosen.load.shrink ?? ''}`;
    let group = byLevel.get(id);
    if (group === undefined) {
      group = { load: chosen.load, levelIndex: chosen.level, level: chosen.loaded, members: [] };
      byLevel.set(id, group);
    }
    group.members.push({ item, cut: chosen.extract, scaled: chosen.scaled });
  }
  const groups: DecodeGroup[] = [];
  for (const group of byLevel.values()) {
    if (group.members.length === 1) {
      // Alone at its level: render() streams it instead of holding its pixels in memory.
      singles.push(...group.members.map((member) => member.item));
      continue;
    }
    // Random access (TIFF tiles and strips) makes bands cheap; anything else is decoded whole.
    const rows = source.format === 'tiff' ? bandRows : Number.POSITIVE_INFINITY;
    const bands = makeBands(group.members, rows);
    const largest = Math.max(...bands.map((band) => band.rect.width * band.rect.height * source.channels));
    if (largest > maxDecodeBytes) {
      singles.push(...group.members.map((member) => member.item));
      continue;
    }
    groups.push({ load: group.load, levelIndex: group.levelIndex, level: group.level, bands });
  }
  return { groups, singles };
}

/** Greedy bands over cuts sorted by their top row: a band grows while it stays within `rows`. */
function makeBands(members: readonly { item: BatchItem; cut: Rect; scaled: Size }[], rows: number): Band[] {
  const sorted = [...members].sort((a, b) => a.cut.y - b.cut.y || a.cut.x - b.cut.x);
  const bands: Band[] = [];
  let current: { top: number; bottom: number; left: number; right: number; items: typeof sorted } | undefined;
  const close = (): void => {
    if (current === undefined) return;
    bands.push({ rect: { x: current.left, y: current.top, width: current.right - current.left, height: current.bottom - current.top }, items: current.items });
  };
  for (const member of sorted) {
    const { cut } = member;
    const bottom = cut.y + cut.height;
    if (current !== undefined && Math.max(current.bottom, bottom) - current.top <= Math.max(rows, current.bottom - current.top)) {
      current.bottom = Math.max(current.bottom, bottom);
      current.left = Math.min(current.left, cut.x);
      current.right = Math.max(current.right, cut.x + cut.width);
      current.items.push(member);
      continue;
    }
    close();
    current = { top: cut.y, bottom, left: cut.x, right: cut.x + cut.width, items: [member] };
  }
  close();
  return bands;
}

interface Decoded {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

type Settled<T> = { readonly ok: T } | { readonly error: unknown } | { readonly unshareable: true };

/**
 * Render every item, calling `rendered` (which stores it) or `failed` for each. Resolves when all
 * are done or, after `signal` aborts, when those in flight are.
 */
export async function renderBatch(input: BatchInput, source: SourceProbe, items: readonly BatchItem[], options: BatchRenderOptions, handlers: BatchHandlers): Promise<void> {
  configureSharp();
  const plan = planBatch(items, source, options);
  const context = { maxInputPixels: options.maxInputPixels };

  async function* tasks(): AsyncGenerator<() => Promise<void>> {
    for (const group of plan.groups) {
      const decode = (band: Band): Promise<Settled<Decoded>> => input.open().then((opened) => decodeBand(opened, source, group, band, options.maxInputPixels)).then(
        (ok) => ({ ok }),
        (error: unknown) => (error instanceof Unshareable ? { unshareable: true } : { error: toRenderError(error, context) }),
      );
      // One band ahead: the next decode runs while this band's tiles encode and upload.
      let next = group.bands[0] === undefined ? undefined : decode(group.bands[0]);
      for (let i = 0; i < group.bands.length; i++) {
        const band = group.bands[i];
        const settled = await next;
        const following = group.bands[i + 1];
        next = following === undefined ? undefined : decode(following);
        if (band === undefined || settled === undefined) continue;
        for (const member of band.items) {
          if (options.signal?.aborted === true) return;
          if ('unshareable' in settled) {
            yield () => renderSingle(member.item);
            continue;
          }
          yield async () => {
            if ('error' in settled) {
              handlers.failed(member.item, settled.error);
              return;
            }
            let result: RenderResult;
            try {
              result = await cutAndEncode(settled.ok, band.rect, member.cut, member.scaled, member.item.plan, options.encode);
            } catch (error) {
              handlers.failed(member.item, toRenderError(error, context));
              return;
            }
            await store(member.item, result);
          };
        }
      }
    }
    for (const item of plan.singles) {
      if (options.signal?.aborted === true) return;
      yield () => renderSingle(item);
    }
  }

  async function renderSingle(item: BatchItem): Promise<void> {
    let result: RenderResult;
    try {
      result = await handlers.single(item.plan);
    } catch (error) {
      handlers.failed(item, error);
      return;
    }
    await store(item, result);
  }

  async function store(item: BatchItem, result: RenderResult): Promise<void> {
    try {
      await handlers.rendered(item, result);
    } catch (error) {
      handlers.failed(item, error);
    }
  }

  // Workers pull from one generator: an async generator queues concurrent next() calls.
  const queue = tasks();
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await queue.next();
      if (next.done === true) return;
      await next.value();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
}

/** Decode a band of a level into raw pixels, opening the level as render() does (openSource, openRegion). */
async function decodeBand(input: RenderInput, source: SourceProbe, group: DecodeGroup, band: Band, maxInputPixels: number): Promise<Decoded> {
  // Shared decodes are of opaque sources only (planBatch), so the output format, which decides
  // only whether alpha is flattened, does not change the pixels: any member's will do.
  const format = band.items[0]?.item.plan.format ?? 'png';
  const { rect } = band;
  const ranged = rangedInput(input, source);
  let pipeline;
  if (ranged !== undefined) {
    pipeline = await openRegion(ranged, source, group.levelIndex, rect, maxInputPixels, format);
  } else {
    pipeline = openSource(fileOrBytes(input), group.load, source, maxInputPixels, format);
    if (rect.x !== 0 || rect.y !== 0 || rect.width !== group.level.width || rect.height !== group.level.height) {
      pipeline = pipeline.extract({ left: rect.x, top: rect.y, width: rect.width, height: rect.height });
    }
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 && info.channels !== 3) throw new Unshareable(`${info.channels} channels`);
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** A decode whose pixels are not plain grey or sRGB: its plans are rendered one by one instead. */
class Unshareable extends Error {
  override readonly name = 'Unshareable';
}

/** One derivative from decoded pixels: cut, resize, quality, encoder (render.ts's steps, in its order). */
async function cutAndEncode(pixels: Decoded, band: Rect, cut: Rect, scaled: Size, plan: Plan, encode: EncodeConfig): Promise<RenderResult> {
  let pipeline = sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
    // Our own decode, already checked against the source limit when it was opened.
    limitInputPixels: Math.max(1, pixels.width * pixels.height),
  });
  const left = cut.x - band.x;
  const top = cut.y - band.y;
  if (left !== 0 || top !== 0 || cut.width !== pixels.width || cut.height !== pixels.height) {
    pipeline = pipeline.extract({ left, top, width: cut.width, height: cut.height });
  }
  if (cut.width !== scaled.width || cut.height !== scaled.height) {
    pipeline = pipeline.resize({ width: scaled.width, height: scaled.height, fit: 'fill' });
  }
  pipeline = applyQuality(pipeline, plan.quality);
  pipeline = applyEncoder(pipeline, encoderSettings(plan.format, plan.quality, scaled, encode, false));
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  return { data, contentType: MEDIA_TYPES[plan.format], width: info.width, height: info.height };
}
