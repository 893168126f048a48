/**
 * Bounded reads of a JPEG 2000 source: its header is parsed from the first few kilobytes, and a
 * box or tile that lies further on is fetched at its offset, so a caller backed by ranged GETs
 * or a local file never has to hold the whole file to describe it or to decode one tile.
 */
import { open } from 'node:fs/promises';
import { SourceError, expected } from '../../errors.js';

/**
 * Reads `length` bytes at `offset`. Fewer bytes (or none) mean the source ended there; it must
 * never answer with more.
 */
export type ReadRange = (offset: number, length: number) => Promise<Buffer>;

/** A ReadRange over bytes already in memory. */
export function bufferRange(bytes: Buffer): ReadRange {
  return (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length));
}

/** A ReadRange over a local file; close it when done. */
export async function openFileRange(path: string): Promise<{ readonly read: ReadRange; close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const read: ReadRange = async (offset, length) => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  };
  return { read, close: () => handle.close() };
}

/**
 * A ReadRange that remembers the last window it fetched and counts what it fetched, so the
 * parsers can ask for small pieces without each becoming a read of its own.
 */
export class WindowedReader {
  #window: Buffer = Buffer.alloc(0);
  #windowStart = 0;
  #bytesRead = 0;

  constructor(
    private readonly read: ReadRange,
    /** The least a fetch asks for: small asks are rounded up to this. */
    private readonly minimumFetch: number,
  ) {}

  /** Bytes fetched from the source so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Up to `length` bytes at `offset`: fewer only where the source ends. */
  async bytes(offset: number, length: number): Promise<Buffer> {
    const start = offset - this.#windowStart;
    if (start >= 0 && start + length <= this.#window.length) return this.#window.subarray(start, start + length);
    const fetched = await this.read(offset, Math.max(length, this.minimumFetch));
    this.#bytesRead += fetched.length;
    this.#window = fetched;
    this.#windowStart = offset;
    return fetched.subarray(0, length);
  }

  /**
   * Exactly `length` bytes at `offset`.
   *
   * @throws SourceError `SOURCE_UNREADABLE` when the source ends first (a truncated file).
   */
  async exactly(offset: number, length: number, part: string): Promise<Buffer> {
    const bytes = await this.bytes(offset, length);
    if (bytes.length < length) throw truncated(part, offset + bytes.length);
    return bytes;
  }
}

/** The error for a source that ends inside `part`. */
export function truncated(part: string, at: number): SourceError {
  return new SourceError('SOURCE_UNREADABLE', expected(`a complete ${part}`, 'the JPEG 2000 source', `a file that ends at byte ${at}`));
}
