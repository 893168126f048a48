/**
 * Reading a TIFF's structure with as few round trips as the file allows. Directory parsing is
 * written as plain async code that asks for bytes where it needs them; the asks made while the
 * parse is blocked are gathered and sent together, one round, so sibling directories (the
 * SubIFDs of a page) and the values of one directory cost one wait, not one each.
 */
import { mapConcurrent } from './concurrency.js';
import { coalesceSpans, readExactly } from './ranges.js';
import type { ByteSpan, ReadRange, ReadStats } from './ranges.js';

interface Segment {
  readonly offset: number;
  readonly bytes: Buffer;
}

interface Ask extends ByteSpan {
  /** Also read this many bytes from `offset` on (clamped to the file): cheap read-ahead. */
  readonly window: number;
  readonly resolve: (bytes: Buffer) => void;
  readonly reject: (error: unknown) => void;
}

export interface BatchOptions {
  readonly maxGapBytes: number;
  readonly maxRangeBytes: number;
  readonly concurrency: number;
}

/** A cache of what was read plus a queue of what is missing, flushed once the parse is blocked. */
export class BatchedReader {
  private readonly segments: Segment[] = [];
  private queue: Ask[] = [];
  private scheduled = false;

  constructor(
    private readonly read: ReadRange,
    readonly fileBytes: number,
    private readonly options: BatchOptions,
    readonly stats: ReadStats,
  ) {}

  /**
   * Bytes [offset, offset + length): at once when already read, else in the next round, with
   * `window` bytes from `offset` read along (for a directory whose size is not yet known).
   * The span must lie inside the file: callers check it first, with a message that names it.
   */
  get(offset: number, length: number, window = 0): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.fileBytes) {
      return Promise.reject(new RangeError(`Expected a span inside the ${this.fileBytes}-byte file for a read but received ${offset}+${length}`));
    }
    const cached = this.cached(offset, length);
    if (cached !== undefined) return Promise.resolve(cached);
    return new Promise((resolve, reject) => {
      this.queue.push({ offset, length, window, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs once every pending promise continuation has run: by then each
        // branch of the parse is either done or waiting here.
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Read these spans now, as one round (the first chunk and the tail of the file). */
  async prime(spans: readonly ByteSpan[]): Promise<void> {
    await Promise.all(spans.map((span) => this.get(span.offset, span.length)));
  }

  private cached(offset: number, length: number): Buffer | undefined {
    const segment = this.segments.find((s) => s.offset <= offset && offset + length <= s.offset + s.bytes.length);
    return segment?.bytes.subarray(offset - segment.offset, offset - segment.offset + length);
  }

  private async flush(): Promise<void> {
    const asks = this.queue;
    this.queue = [];
    this.scheduled = false;
    const spans = asks.map((ask) => ({ offset: ask.offset, length: Math.max(ask.length, Math.min(ask.window, this.fileBytes - ask.offset)) }));
    try {
      const ranges = coalesceSpans(spans, this.options);
      this.stats.rounds++;
      const buffers = await mapConcurrent(ranges, this.options.concurrency, (range) => readExactly(this.read, range.offset, range.length, this.stats));
      // Whole ranges are kept, gaps included: a later ask may fall in them.
      ranges.forEach((range, i) => {
        const bytes = buffers[i];
        if (bytes !== undefined) this.segments.push({ offset: range.offset, bytes });
      });
      for (const ask of asks) {
        const bytes = this.cached(ask.offset, ask.length);
        if (bytes === undefined) ask.reject(new Error('Expected the bytes just read for a batched read but received none'));
        else ask.resolve(bytes);
      }
    } catch (error) {
      for (const ask of asks) ask.reject(error);
    }
  }
}
