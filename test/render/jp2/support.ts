/**
 * Helpers for the JPEG 2000 tests: the committed fixtures, and byte surgery on them (JP2 boxes,
 * codestream markers) to make the broken and unsupported variants.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ErrorCode } from '../../../lib/errors.js';
import { RectoError } from '../../../lib/errors.js';
import { type ReadRange, bufferRange } from '../../../lib/render/jp2/reader.js';

export const FIXTURE_NAMES = ['rgb8.jp2', 'rgb8.j2k', 'grey8.jp2', 'grey12.jp2', 'rgb16.jp2', 'rgba8.jp2', 'icc.jp2', 'tiled.jp2', 'tiled-sop-eph.jp2', 'photo-tiled.jp2', 'lossy.jp2', 'sycc444.jp2', 'sycc420.jp2'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export function fixture(name: FixtureName): Buffer {
  return readFileSync(new URL(`../../fixtures/jp2/${name}`, import.meta.url));
}

/** A ReadRange over `bytes` that records every read. */
export function recordingRange(bytes: Buffer): { read: ReadRange; reads: { offset: number; length: number }[] } {
  const reads: { offset: number; length: number }[] = [];
  const inner = bufferRange(bytes);
  return {
    read: (offset, length) => {
      reads.push({ offset, length });
      return inner(offset, length);
    },
    reads,
  };
}

/** A JP2 box: length, type, content. */
export function box(type: string, content: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + content.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, content]);
}

/** The top-level boxes of a JP2 file, with where each starts. */
export function boxes(file: Buffer): { type: string; offset: number; content: Buffer }[] {
  const found: { type: string; offset: number; content: Buffer }[] = [];
  for (let at = 0; at + 8 <= file.length;) {
    const length = file.readUInt32BE(at) || file.length - at;
    found.push({ type: file.toString('latin1', at + 4, at + 8), offset: at, content: file.subarray(at + 8, at + length) });
    at += length;
  }
  return found;
}

/** Rebuild a JP2 file, letting `edit` replace (or drop, with an empty array) each top-level box. */
export function editBoxes(file: Buffer, edit: (type: string, content: Buffer) => Buffer | Buffer[]): Buffer {
  return Buffer.concat(boxes(file).flatMap(({ type, content }) => edit(type, content)));
}

/** Rebuild the jp2h box, letting `edit` replace each of its boxes. */
export function editJp2h(file: Buffer, edit: (type: string, content: Buffer) => Buffer | Buffer[]): Buffer {
  return editBoxes(file, (type, content) => (type === 'jp2h' ? box('jp2h', editBoxes(content, edit)) : box(type, content)));
}

/** The codestream of a JP2 file (its jp2c box) or of a .j2k. */
export function codestreamOf(file: Buffer): Buffer {
  const jp2c = boxes(file).find((b) => b.type === 'jp2c');
  return jp2c === undefined ? file : jp2c.content;
}

/** Where SIZ's fields lie in a codestream (SOC, then SIZ). */
export const SIZ_AT = { lsiz: 4, xsiz: 8, ysiz: 12, xosiz: 16, xtsiz: 24, xtosiz: 32, csiz: 40, ssiz0: 42 } as const;

/** Expect `promise` to reject with a RectoError of `code` whose message contains `text`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode, text?: string): Promise<void> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RectoError);
  expect((error as RectoError).code).toBe(code);
  if (text !== undefined) expect((error as RectoError).message).toContain(text);
}
