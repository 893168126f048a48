/**
 * A small tiled-TIFF writer for tests: what sharp cannot write (big-endian files, RGB-photometric
 * JPEG tiles, min-is-white, planar separate, sparse tiles, broken directories) and large pyramids
 * made in milliseconds. Classic or BigTIFF, either byte order; pages, and SubIFDs of the first
 * page. Each image's tiles come first and its directory right after them, as libtiff lays files
 * out, so the directories of large images sit far from the start.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type ByteOrder = 'II' | 'MM';

export interface ExtraTag {
  readonly tag: number;
  readonly type: number;
  readonly values: readonly number[] | Buffer;
}

export interface WriterImage {
  readonly width: number;
  readonly height: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly samplesPerPixel: number;
  readonly bitsPerSample: number;
  readonly photometric: number;
  readonly compression: number;
  readonly predictor?: number;
  readonly planarConfiguration?: number;
  readonly extraSamples?: readonly number[];
  readonly sampleFormat?: number;
  readonly orientation?: number;
  readonly newSubfileType?: number;
  readonly jpegTables?: Buffer;
  /** Stored bytes of each tile, row-major; the same Buffer object twice is stored once. An empty Buffer is a sparse tile (offset 0, count 0). */
  readonly tiles: readonly Buffer[];
  readonly extraTags?: readonly ExtraTag[];
}

export interface WriterOptions {
  readonly byteOrder?: ByteOrder;
  readonly bigTiff?: boolean;
  readonly pages: readonly WriterImage[];
  /** Reduced levels as SubIFDs of the first page. */
  readonly subifds?: readonly WriterImage[];
}

interface Field {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  readonly bytes: Buffer;
}

const TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 13: 4, 16: 8, 18: 8 };

/** Write the file. */
export function writeTiff(options: WriterOptions): Buffer {
  const order = options.byteOrder ?? 'II';
  const big = options.bigTiff ?? false;
  const images = [...options.pages, ...(options.subifds ?? [])];
  const layout = planLayout(images, order, big, options.pages.length);
  const out = Buffer.alloc(layout.size);
  writeHeader(out, order, big, layout.ifdOffsets[0] ?? 0);
  images.forEach((image, i) => {
    const place = layout.images[i];
    if (place === undefined) return;
    for (const [tile, offset] of place.tileOffsets) tile.copy(out, offset);
    const next = i + 1 < options.pages.length ? (layout.ifdOffsets[i + 1] ?? 0) : 0;
    const subifds = i === 0 ? layout.ifdOffsets.slice(options.pages.length) : [];
    const fields = imageFields(image, order, big, place.offsets, subifds);
    writeIfd(out, place.ifdOffset, fields, next, order, big);
  });
  return out;
}

interface Placement {
  /** Where each distinct tile Buffer goes. */
  readonly tileOffsets: Map<Buffer, number>;
  /** File offset of each tile, in tile order (0 for sparse tiles). */
  readonly offsets: readonly number[];
  readonly ifdOffset: number;
}

function planLayout(images: readonly WriterImage[], order: ByteOrder, big: boolean, pages: number): { images: Placement[]; ifdOffsets: number[]; size: number } {
  let position = big ? 16 : 8;
  const placements: Placement[] = [];
  images.forEach((image, i) => {
    const tileOffsets = new Map<Buffer, number>();
    const offsets = image.tiles.map((tile) => {
      if (tile.length === 0) return 0;
      const known = tileOffsets.get(tile);
      if (known !== undefined) return known;
      tileOffsets.set(tile, position);
      position += tile.length;
      return position - tile.length;
    });
    position += position % 2;
    const placeholderSubifds = i === 0 ? new Array<number>(images.length - pages).fill(0) : [];
    const size = ifdSize(imageFields(image, order, big, offsets, placeholderSubifds), big);
    placements.push({ tileOffsets, offsets, ifdOffset: position });
    position += size;
  });
  return { images: placements, ifdOffsets: placements.map((p) => p.ifdOffset), size: position };
}

function imageFields(image: WriterImage, order: ByteOrder, big: boolean, offsets: readonly number[], subifds: readonly number[]): Field[] {
  const short = (tag: number, values: readonly number[]): Field => field(tag, 3, values, order);
  const long = (tag: number, values: readonly number[]): Field => field(tag, 4, values, order);
  const spp = image.samplesPerPixel;
  const fields: Field[] = [
    long(256, [image.width]),
    long(257, [image.height]),
    short(258, new Array<number>(spp).fill(image.bitsPerSample)),
    short(259, [image.compression]),
    short(262, [image.photometric]),
    short(277, [spp]),
    short(284, [image.planarConfiguration ?? 1]),
    long(322, [image.tileWidth]),
    long(323, [image.tileHeight]),
    field(324, big ? 16 : 4, offsets, order),
    long(325, image.tiles.map((tile) => tile.length)),
    short(339, new Array<number>(spp).fill(image.sampleFormat ?? 1)),
  ];
  if (image.newSubfileType !== undefined) fields.push(long(254, [image.newSubfileType]));
  if (image.orientation !== undefined) fields.push(short(274, [image.orientation]));
  if (image.predictor !== undefined) fields.push(short(317, [image.predictor]));
  if (image.extraSamples !== undefined) fields.push(short(338, image.extraSamples));
  if (image.jpegTables !== undefined) fields.push(field(347, 7, image.jpegTables, order));
  if (subifds.length > 0) fields.push(field(330, big ? 18 : 13, subifds, order));
  for (const extra of image.extraTags ?? []) fields.push(field(extra.tag, extra.type, extra.values, order));
  return fields.sort((a, b) => a.tag - b.tag);
}

function field(tag: number, type: number, values: readonly number[] | Buffer, order: ByteOrder): Field {
  if (Buffer.isBuffer(values)) return { tag, type, count: values.length / (TYPE_SIZES[type] ?? 1), bytes: values };
  const size = TYPE_SIZES[type] ?? 1;
  const bytes = Buffer.alloc(values.length * size);
  values.forEach((value, i) => { writeUint(bytes, i * size, size, value, order); });
  return { tag, type, count: values.length, bytes };
}

function ifdSize(fields: readonly Field[], big: boolean): number {
  const inline = big ? 8 : 4;
  const outside = fields.reduce((sum, f) => sum + (f.bytes.length > inline ? f.bytes.length + (f.bytes.length % 2) : 0), 0);
  return (big ? 8 : 2) + fields.length * (big ? 20 : 12) + (big ? 8 : 4) + outside;
}

function writeIfd(out: Buffer, at: number, fields: readonly Field[], next: number, order: ByteOrder, big: boolean): void {
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  writeUint(out, at, countSize, fields.length, order);
  let values = at + countSize + fields.length * entrySize + (big ? 8 : 4);
  fields.forEach((f, i) => {
    const entry = at + countSize + i * entrySize;
    writeUint(out, entry, 2, f.tag, order);
    writeUint(out, entry + 2, 2, f.type, order);
    writeUint(out, entry + 4, big ? 8 : 4, f.count, order);
    const valueField = entry + (big ? 12 : 8);
    if (f.bytes.length <= inline) {
      f.bytes.copy(out, valueField);
    } else {
      writeUint(out, valueField, inline, values, order);
      f.bytes.copy(out, values);
      values += f.bytes.length + (f.bytes.length % 2);
    }
  });
  writeUint(out, at + countSize + fields.length * entrySize, big ? 8 : 4, next, order);
}

function writeHeader(out: Buffer, order: ByteOrder, big: boolean, firstIfd: number): void {
  out.write(order, 0, 'latin1');
  writeUint(out, 2, 2, big ? 43 : 42, order);
  if (big) {
    writeUint(out, 4, 2, 8, order);
    writeUint(out, 8, 8, firstIfd, order);
  } else {
    writeUint(out, 4, 4, firstIfd, order);
  }
}

export function writeUint(out: Buffer, at: number, size: number, value: number, order: ByteOrder): void {
  const little = order === 'II';
  switch (size) {
    case 1: out.writeUInt8(value, at); break;
    case 2: if (little) out.writeUInt16LE(value, at); else out.writeUInt16BE(value, at); break;
    case 4: if (little) out.writeUInt32LE(value, at); else out.writeUInt32BE(value, at); break;
    default: if (little) out.writeBigUInt64LE(BigInt(value), at); else out.writeBigUInt64BE(BigInt(value), at);
  }
}

// ---- tiles from pixels --------------------------------------------------------------------

/** Interleaved pixels: 8-bit in a Buffer, 16-bit in a Uint16Array. */
export interface Pixels {
  readonly data: Buffer | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

export interface TileEncoding {
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly compression: 'none' | 'deflate';
  readonly predictor?: 1 | 2;
  readonly byteOrder?: ByteOrder;
}

/** Cut pixels into full-size tiles (edges padded with zeros), optionally differenced and deflated. */
export function encodeTiles(pixels: Pixels, encoding: TileEncoding): Buffer[] {
  const bits = pixels.data instanceof Uint16Array ? 16 : 8;
  const across = Math.ceil(pixels.width / encoding.tileWidth);
  const down = Math.ceil(pixels.height / encoding.tileHeight);
  const tiles: Buffer[] = [];
  for (let row = 0; row < down; row++) {
    for (let column = 0; column < across; column++) {
      const samples = cutTile(pixels, column * encoding.tileWidth, row * encoding.tileHeight, encoding.tileWidth, encoding.tileHeight);
      if (encoding.predictor === 2) difference(samples, encoding.tileWidth, pixels.channels, bits);
      const bytes = serialise(samples, bits, encoding.byteOrder ?? 'II');
      tiles.push(encoding.compression === 'deflate' ? deflateSync(bytes) : bytes);
    }
  }
  return tiles;
}

function cutTile(pixels: Pixels, x0: number, y0: number, width: number, height: number): number[] {
  const samples = new Array<number>(width * height * pixels.channels).fill(0);
  for (let y = 0; y < height && y0 + y < pixels.height; y++) {
    for (let x = 0; x < width && x0 + x < pixels.width; x++) {
      for (let c = 0; c < pixels.channels; c++) {
        samples[(y * width + x) * pixels.channels + c] = pixels.data[((y0 + y) * pixels.width + x0 + x) * pixels.channels + c] ?? 0;
      }
    }
  }
  return samples;
}

function difference(samples: number[], width: number, channels: number, bits: number): void {
  const row = width * channels;
  const mask = bits === 16 ? 0xffff : 0xff;
  for (let start = 0; start < samples.length; start += row) {
    for (let i = start + row - 1; i >= start + channels; i--) samples[i] = ((samples[i] ?? 0) - (samples[i - channels] ?? 0)) & mask;
  }
}

function serialise(samples: readonly number[], bits: number, order: ByteOrder): Buffer {
  const size = bits / 8;
  const bytes = Buffer.alloc(samples.length * size);
  samples.forEach((value, i) => { writeUint(bytes, i * size, size, value, order); });
  return bytes;
}

// ---- JPEG tiles ---------------------------------------------------------------------------

export interface JpegTiles {
  /** SOI, the quantisation and Huffman tables, EOI: the JPEGTables tag. */
  readonly tables: Buffer;
  /** Abbreviated streams: SOI, frame, scan, EOI, no tables. */
  readonly tiles: Buffer[];
}

export interface JpegTileOptions {
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly quality?: number;
  /**
   * `ycbcr`: ordinary JPEG (colour transformed). `rgb`: the components hold R, G and B as they
   * are, as libtiff writes RGB-photometric JPEG. `rgb-ids` also names the components 'R', 'G',
   * 'B' in the frame and scan headers, exactly as libtiff does.
   */
  readonly colour: 'ycbcr' | 'rgb' | 'rgb-ids' | 'grey';
}

/**
 * JPEG tiles as libtiff stores them: standard Huffman tables and one quantisation table set
 * shared by every tile (moved to JPEGTables), 4:4:4 sampling.
 *
 * sharp always writes three-component JPEG as YCbCr, so "RGB" tiles are made by handing it
 * pixels whose YCbCr transform is the wanted R, G, B: the stored components are then those
 * values. The colours must lie where that inverse stays in 0..255 (see `rgbStorable`).
 */
export async function jpegTiles(pixels: Pixels, options: JpegTileOptions): Promise<JpegTiles> {
  if (!(pixels.data instanceof Buffer)) throw new TypeError('Expected 8-bit pixels for jpegTiles but received 16-bit');
  const across = Math.ceil(pixels.width / options.tileWidth);
  const down = Math.ceil(pixels.height / options.tileHeight);
  const tiles: Buffer[] = [];
  let tables: Buffer | undefined;
  for (let row = 0; row < down; row++) {
    for (let column = 0; column < across; column++) {
      const samples = cutTile(pixels, column * options.tileWidth, row * options.tileHeight, options.tileWidth, options.tileHeight);
      const input = options.colour === 'rgb' || options.colour === 'rgb-ids' ? inverseYcbcr(samples) : Buffer.from(samples);
      const stream = await sharp(input, { raw: { width: options.tileWidth, height: options.tileHeight, channels: pixels.channels === 1 ? 1 : 3 } })
        .jpeg({ quality: options.quality ?? 95, chromaSubsampling: '4:4:4', optimiseCoding: false })
        .toBuffer();
      const split = splitTables(stream, options.colour === 'rgb-ids');
      if (tables !== undefined && !tables.equals(split.tables)) throw new Error('Expected the same tables in every tile for jpegTiles but received different ones');
      tables = split.tables;
      tiles.push(split.tile);
    }
  }
  return { tables: tables ?? Buffer.alloc(0), tiles };
}

/** Whether an R, G, B triple survives as stored components (the inverse YCbCr stays in range). */
export function rgbStorable(r: number, g: number, b: number): boolean {
  const [pr, pg, pb] = ycbcrToRgb(r, g, b);
  return [pr, pg, pb].every((v) => v >= 1 && v <= 254);
}

function ycbcrToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), y + 1.772 * (cb - 128)];
}

function inverseYcbcr(samples: readonly number[]): Buffer {
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i += 3) {
    const [r, g, b] = ycbcrToRgb(samples[i] ?? 0, samples[i + 1] ?? 0, samples[i + 2] ?? 0);
    out[i] = clamp(r);
    out[i + 1] = clamp(g);
    out[i + 2] = clamp(b);
  }
  return out;
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

/** Move DQT and DHT out of a JPEG into a tables stream; optionally rename the components R, G, B. */
function splitTables(stream: Buffer, rgbIds: boolean): { tables: Buffer; tile: Buffer } {
  const tables: Buffer[] = [];
  const kept: Buffer[] = [];
  let at = 2;
  for (;;) {
    const marker = stream[at + 1] ?? 0;
    if (marker === 0xda) break;
    const end = at + 2 + stream.readUInt16BE(at + 2);
    const segment = Buffer.from(stream.subarray(at, end));
    if (marker === 0xdb || marker === 0xc4) tables.push(segment);
    else if (marker !== 0xe0) kept.push(segment);
    if (rgbIds && marker === 0xc0) renameComponents(segment, 10, 3);
    at = end;
  }
  const scan = Buffer.from(stream.subarray(at));
  if (rgbIds) renameComponents(scan, 5, 2);
  const soi = Buffer.from([0xff, 0xd8]);
  return { tables: Buffer.concat([soi, ...tables, Buffer.from([0xff, 0xd9])]), tile: Buffer.concat([soi, ...kept, scan]) };
}

/** Component ids 1, 2, 3 become 'R', 'G', 'B' in a frame (3 bytes per component from 10) or scan (2 bytes from 5) header. */
function renameComponents(segment: Buffer, first: number, stride: number): void {
  const ids = [0x52, 0x47, 0x42];
  for (let i = 0; i < 3; i++) {
    const at = first + i * stride;
    const id = segment[at];
    if (id !== undefined && id >= 1 && id <= 3) segment[at] = ids[id - 1] ?? id;
  }
}
