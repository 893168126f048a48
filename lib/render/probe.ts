/**
 * What a source is, read from its headers without decoding pixels: the record info.json is built
 * from (sizes from the real pyramid levels, tiles from the real tile size) and that render()
 * plans from. It is cached beside the derivatives as a small JSON document, so no request has to
 * open the source just to learn its size.
 */
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { SourceError, UnsupportedError, expected } from '../errors.js';
import type { Size } from '../iiif/types.js';
import { toRenderError } from './failure.js';
import { orientationTransform, transformSize } from './geometry.js';
import { describeJp2, type Jp2Description } from './jp2/describe.js';
import { bufferRange, openFileRange } from './jp2/reader.js';
import { readHead, sniffFormat } from './sniff.js';
import { readTiffTileSize } from './tiff.js';
import { isDecreasing, isPagePyramid, MAX_PYRAMID_LEVELS } from './tiff/pyramid.js';
import type { TiffStructure } from './tiff/structure.js';

/**
 * Source formats Recto decodes, by sharp's name, and 'jp2' for JPEG 2000 (a JP2 file or a bare
 * codestream), which lib/render/jp2 decodes. Anything else is a 501 naming the format.
 */
export const SOURCE_FORMATS = ['jpeg', 'png', 'tiff', 'webp', 'gif', 'jp2'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];


/** Where the reduced levels of a pyramidal TIFF live. */
export const PYRAMID_KINDS = ['pages', 'subifds'] as const;
export type PyramidKind = (typeof PYRAMID_KINDS)[number];

export interface SourceProbe {
  /** sharp's name for the decoder: one of SOURCE_FORMATS. */
  readonly format: string;
  /** As displayed, i.e. after the EXIF orientation is applied. */
  readonly width: number;
  readonly height: number;
  /** Stored resolutions in display orientation, largest (the full image) first. */
  readonly levels: readonly Size[];
  /** The native tile size, when the source is tiled. */
  readonly tile?: Size;
  /** EXIF orientation 1..8 (1 when absent or invalid). */
  readonly orientation: number;
  /** libvips interpretation: 'srgb', 'rgb16', 'b-w', 'grey16', 'cmyk', ... */
  readonly space: string;
  readonly channels: number;
  /** Sample format: 'uchar' for 8-bit, 'ushort' for 16-bit, ... */
  readonly depth: string;
  readonly hasAlpha: boolean;
  readonly hasProfile: boolean;
  /** Pages or frames in the file; only the first (or the pyramid) is ever rendered. */
  readonly pages: number;
  /** For a pyramid (more than one level): pages of the file or SubIFDs of its first page. */
  readonly pyramid?: PyramidKind;
  /**
   * A tiled TIFF whose every level the tile decoder reads: its structure, read by ranges. With
   * it, renders read only the tiles under the region (lib/render/tiff); the pixel limit then
   * bounds the pixels decoded, not the master's size.
   */
  readonly tiff?: TiffStructure;
  /**
   * A JPEG 2000 master read by ranges (format 'jp2'): where its codestream, main header and ICC
   * profile lie. Renders decode only the resolution and the tiles a request needs (render.ts);
   * what needs more is for its access copy (a tiled pyramidal TIFF, access-copy.ts).
   */
  readonly jp2?: Jp2Description;
}

export interface ProbeOptions {
  /** Sources with more pixels than this are refused (sharp's limitInputPixels). */
  readonly maxInputPixels: number;
}

/**
 * Read a source's header and describe it.
 *
 * @throws SourceError `SOURCE_UNREADABLE` (422) for an empty, corrupt or missing file or bytes
 *   that are not an image; `SOURCE_TOO_LARGE` (422) for a source over `maxInputPixels`
 *   (decompression bombs included: the header is enough to refuse them).
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` (501) for a recognised format Recto
 *   does not decode (JPEG 2000, JPEG XL, HEIC, AVIF, PDF, SVG, ...), naming it.
 */
export async function probe(input: Buffer | string, options: ProbeOptions): Promise<SourceProbe> {
  const context = { maxInputPixels: options.maxInputPixels, input };
  let head: Buffer;
  try {
    head = await readHead(input);
  } catch (error) {
    throw toRenderError(error, context);
  }
  if (head.length === 0) {
    throw new SourceError('SOURCE_UNREADABLE', expected('an image', 'the source', 'an empty file'));
  }
  const named = sniffFormat(head);
  if (named === 'jp2' || named === 'j2k') return probeJp2(input, context);
  if (named !== undefined) throw unsupported(named);

  const open = (extra: { page?: number; subifd?: number } = {}): Promise<Metadata> =>
    sharp(input, {
      // Headers only: no pixel is decoded here, and the limit is checked right below with a
      // message that gives the size. render() keeps sharp's own limit on every pipeline.
      limitInputPixels: false,
      failOn: 'warning',
      ...(extra.page === undefined ? {} : { page: extra.page }),
      ...(extra.subifd === undefined ? {} : { tiff: { subifd: extra.subifd } }),
    }).metadata();

  try {
    const metadata = await open();
    const format = metadata.format;
    if (!isSourceFormat(format)) throw unsupported(format);
    const stored: Size = { width: metadata.width, height: metadata.height };
    if (stored.width * stored.height > options.maxInputPixels) {
      throw new SourceError('SOURCE_TOO_LARGE', expected(`at most ${options.maxInputPixels} pixels`, 'the source', `${stored.width}x${stored.height}`));
    }
    const orientation = isOrientation(metadata.orientation) ? metadata.orientation : 1;
    const toDisplay = orientationTransform(orientation);
    const pages = metadata.pages ?? 1;

    let storedLevels: Size[] = [stored];
    let pyramid: PyramidKind | undefined;
    if (format === 'tiff') {
      if (pages > 1 && pages <= MAX_PYRAMID_LEVELS) {
        // Stop at the first page that is not the next level down: a 500-page document costs
        // one extra header read, not 499.
        const sizes = [stored];
        for (let page = 1; page < pages; page++) {
          const level = await open({ page });
          sizes.push({ width: level.width, height: level.height });
          if (!isPagePyramid(sizes)) break;
        }
        if (sizes.length === pages && isPagePyramid(sizes)) {
          storedLevels = sizes;
          pyramid = 'pages';
        }
      }
      const subifds = metadata.subifds ?? 0;
      if (pyramid === undefined && subifds > 0 && subifds < MAX_PYRAMID_LEVELS) {
        const sizes = [stored];
        for (let subifd = 0; subifd < subifds; subifd++) {
          const level = await open({ subifd });
          sizes.push({ width: level.width, height: level.height });
        }
        if (isDecreasing(sizes)) {
          storedLevels = sizes;
          pyramid = 'subifds';
        }
      }
    }
    const tile = format === 'tiff' ? await readTiffTileSize(input) : undefined;
    const display = transformSize(stored, toDisplay);
    return {
      format,
      width: display.width,
      height: display.height,
      levels: storedLevels.map((level) => transformSize(level, toDisplay)),
      ...(tile === undefined ? {} : { tile: transformSize(tile, toDisplay) }),
      orientation,
      space: metadata.space,
      channels: metadata.channels,
      depth: metadata.depth,
      hasAlpha: metadata.hasAlpha,
      hasProfile: metadata.hasProfile,
      pages,
      ...(pyramid === undefined ? {} : { pyramid }),
    };
  } catch (error) {
    const failure = toRenderError(error, context);
    const weak = failure.code === 'SOURCE_UNREADABLE' ? sniffFormat(head, { weak: true }) : undefined;
    throw weak === undefined ? failure : unsupported(weak);
  }
}

/**
 * A JPEG 2000 is described from its header (lib/render/jp2), as when it is read by ranges. No
 * pixel limit here: a render decodes only what a request needs and is held to the limit then.
 */
async function probeJp2(input: Buffer | string, context: { maxInputPixels: number; input: Buffer | string }): Promise<SourceProbe> {
  if (Buffer.isBuffer(input)) return describeJp2(bufferRange(input), input.length);
  try {
    const file = await openFileRange(input);
    try {
      const { size } = await stat(input);
      return await describeJp2(file.read, size);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw toRenderError(error, context);
  }
}

function isSourceFormat(format: string): format is SourceFormat {
  return (SOURCE_FORMATS as readonly string[]).includes(format);
}

function isOrientation(value: number | undefined): value is number {
  return value !== undefined && Number.isInteger(value) && value >= 1 && value <= 8;
}

function unsupported(format: string): UnsupportedError {
  return new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(`a source in one of ${SOURCE_FORMATS.join(', ')}`, 'the source format', format));
}
