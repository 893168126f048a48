/**
 * Byte ranges: what lib/render asks of storage when it reads a TIFF by parts. The caller gives a
 * reader function (HTTP Range GETs on S3, a file handle, a Buffer in tests); everything here
 * decides which ranges to ask for and checks what comes back.
 */
import { mapConcurrent } from './concurrency.js';
import { corrupt } from './failure.js';

/**
 * Read `length` bytes at `offset` of the source. It must resolve exactly that many bytes: the
 * callers only ask for ranges inside the file, so fewer means the object was cut or replaced.
 */
export type ReadRange = (offset: number, length: number) => Promise<Buffer>;

/** What a read cost: sequential rounds (latency), requests (price) and bytes (transfer). */
export interface ReadStats {
  /** Batches of requests issued together; each waits for the one before. */
  rounds: number;
  requests: number;
  bytes: number;
}

/** Stats of nothing read yet, to be counted into. */
export function emptyStats(): ReadStats {
  return { rounds: 0, requests: 0, bytes: 0 };
}

export interface ByteSpan {
  readonly offset: number;
  readonly length: number;
}

export interface CoalesceOptions {
  /** Two spans at most this far apart are read as one range, the bytes between them wasted. */
  readonly maxGapBytes: number;
  /** No range grows past this by merging; a single longer span is still read whole. */
  readonly maxRangeBytes: number;
}

/** One request: a range of the file and which of the input spans it carries. */
export interface CoalescedRange extends ByteSpan {
  /** Indexes into the spans given to `coalesceSpans`. */
  readonly spans: readonly number[];
}

/**
 * Merge spans into as few ranges as the gap and size bounds allow: sorted by offset, a span
 * joins the current range when it starts within `maxGapBytes` of its end and the range stays
 * within `maxRangeBytes`. Overlapping and repeated spans (tiles that share bytes) share a range.
 */
export function coalesceSpans(spans: readonly ByteSpan[], options: CoalesceOptions): CoalescedRange[] {
  const order = spans.map((_, index) => index).sort((a, b) => (spans[a]?.offset ?? 0) - (spans[b]?.offset ?? 0));
  const ranges: { offset: number; end: number; spans: number[] }[] = [];
  for (const index of order) {
    const span = spans[index];
    if (span === undefined) continue;
    const end = span.offset + span.length;
    const current = ranges.at(-1);
    if (current !== undefined && span.offset <= current.end + options.maxGapBytes && Math.max(end, current.end) - current.offset <= options.maxRangeBytes) {
      current.end = Math.max(current.end, end);
      current.spans.push(index);
    } else {
      ranges.push({ offset: span.offset, end, spans: [index] });
    }
  }
  return ranges.map((range) => ({ offset: range.offset, length: range.end - range.offset, spans: range.spans }));
}

/**
 * `read` with its answer checked: exactly `length` bytes, counted in `stats` (one request; the
 * caller counts rounds).
 *
 * @throws SourceError `SOURCE_UNREADABLE` when the reader answers with another length.
 */
export async function readExactly(read: ReadRange, offset: number, length: number, stats: ReadStats): Promise<Buffer> {
  const bytes = await read(offset, length);
  stats.requests++;
  stats.bytes += bytes.length;
  if (bytes.length !== length) {
    throw corrupt(`${length} bytes`, `the range at byte ${offset} of the source`, `${bytes.length} bytes`);
  }
  return bytes;
}

export interface FetchOptions extends CoalesceOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
}

/**
 * Read every span in one round: coalesced into ranges, at most `concurrency` requests at a time.
 * Answers one Buffer per span, in the spans' order (views into the ranges read).
 *
 * @throws SourceError `SOURCE_UNREADABLE` when a range comes back short or long.
 */
export async function fetchSpans(read: ReadRange, spans: readonly ByteSpan[], options: FetchOptions, stats: ReadStats): Promise<Buffer[]> {
  const ranges = coalesceSpans(spans, options);
  if (ranges.length === 0) return [];
  stats.rounds++;
  const buffers = await mapConcurrent(ranges, options.concurrency, (range) => readExactly(read, range.offset, range.length, stats));
  const out = new Array<Buffer>(spans.length);
  ranges.forEach((range, r) => {
    const buffer = buffers[r] ?? Buffer.alloc(0);
    for (const index of range.spans) {
      const span = spans[index];
      if (span !== undefined) out[index] = buffer.subarray(span.offset - range.offset, span.offset - range.offset + span.length);
    }
  });
  return out;
}
