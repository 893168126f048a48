/**
 * The byte-range plumbing: spans coalesced into few bounded requests, each span's bytes where it
 * asked, concurrency bounded, and directory reads asked for together sent as one round.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchedReader } from '../../../lib/render/tiff/batch.js';
import { Limiter, mapConcurrent } from '../../../lib/render/tiff/concurrency.js';
import { coalesceSpans, emptyStats, fetchSpans, planTileRanges } from '../../../lib/render/tiff/index.js';
import { memoryReader } from './support.js';

const span = fc.record({ offset: fc.nat(100_000), length: fc.integer({ min: 1, max: 5_000 }) });
const bounds = fc.record({ maxGapBytes: fc.nat(2_000), maxRangeBytes: fc.integer({ min: 1, max: 20_000 }) });

describe('coalesceSpans', () => {
  it('puts every span in exactly one range that holds it, merges only within the bounds, and leaves no mergeable neighbours', () => {
    fc.assert(fc.property(fc.array(span, { maxLength: 60 }), bounds, (spans, options) => {
      // Act
      const ranges = coalesceSpans(spans, options);
      // Assess
      const seen = ranges.flatMap((r) => r.spans).sort((a, b) => a - b);
      expect(seen).toEqual(spans.map((_, i) => i));
      for (const range of ranges) {
        for (const i of range.spans) {
          const s = spans[i]!;
          expect(s.offset >= range.offset && s.offset + s.length <= range.offset + range.length).toBe(true);
        }
        if (range.spans.length > 1) expect(range.length).toBeLessThanOrEqual(options.maxRangeBytes);
      }
      for (let i = 1; i < ranges.length; i++) {
        const previous = ranges[i - 1]!;
        const current = ranges[i]!;
        const end = previous.offset + previous.length;
        // The span that opened the next range could not have joined this one.
        const opener = spans[current.spans[0]!]!;
        const couldJoin = opener.offset <= end + options.maxGapBytes && Math.max(end, opener.offset + opener.length) - previous.offset <= options.maxRangeBytes;
        expect(couldJoin).toBe(false);
      }
    }), { numRuns: 300, seed: 7 });
  });

  it('merges spans within the gap and splits at the size bound', () => {
    // Act
    const ranges = coalesceSpans([{ offset: 0, length: 10 }, { offset: 15, length: 10 }, { offset: 100, length: 10 }, { offset: 110, length: 100 }], { maxGapBytes: 5, maxRangeBytes: 50 });
    // Assess
    expect(ranges).toEqual([
      { offset: 0, length: 25, spans: [0, 1] },
      { offset: 100, length: 10, spans: [2] },
      { offset: 110, length: 100, spans: [3] },
    ]);
  });
});

describe('fetchSpans', () => {
  it('answers each span with its own bytes, in one round of coalesced requests', async () => {
    // Prepare
    const file = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    const reader = memoryReader(file);
    const stats = emptyStats();
    const spans = [{ offset: 100, length: 10 }, { offset: 5, length: 3 }, { offset: 112, length: 4 }, { offset: 3000, length: 96 }];
    // Act
    const buffers = await fetchSpans(reader.read, spans, { maxGapBytes: 16, maxRangeBytes: 1024, concurrency: 2 }, stats);
    // Assess
    buffers.forEach((buffer, i) => { expect(buffer.equals(file.subarray(spans[i]!.offset, spans[i]!.offset + spans[i]!.length))).toBe(true); });
    expect(stats).toEqual({ rounds: 1, requests: 3, bytes: 3 + 16 + 96 });
  });
});

describe('planTileRanges', () => {
  it('needs no request for sparse tiles and shares one for tiles that share bytes', () => {
    // Act
    const ranges = planTileRanges([
      { index: 0, offset: 1000, byteCount: 50 },
      { index: 1, offset: 0, byteCount: 0 },
      { index: 2, offset: 1000, byteCount: 50 },
    ], { maxGapBytes: 0, maxRangeBytes: 1_000_000 });
    // Assess
    expect(ranges).toEqual([{ offset: 1000, length: 50, tiles: [{ index: 0, offset: 1000, byteCount: 50 }, { index: 2, offset: 1000, byteCount: 50 }] }]);
  });
});

describe('Limiter', () => {
  it('never runs more than its limit, runs everything, keeps the order of results and frees a slot on failure', async () => {
    // Prepare
    let active = 0;
    let most = 0;
    const task = async (i: number): Promise<number> => {
      most = Math.max(most, ++active);
      await new Promise((resolve) => setTimeout(resolve, (i * 7) % 5));
      active--;
      if (i === 3) throw new Error('task 3 fails');
      return i * 2;
    };
    const limiter = new Limiter(3);
    // Act
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => limiter.run(() => task(i))));
    const mapped = await mapConcurrent([1, 2, 4], 2, (i) => Promise.resolve(i + 1));
    // Assess
    expect(most).toBe(3);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    expect(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))).toEqual(Array.from({ length: 20 }, (_, i) => i * 2).filter((v) => v !== 6));
    expect(mapped).toEqual([2, 3, 5]);
  });
});

describe('BatchedReader', () => {
  it('sends what is asked while the parse is blocked as one round, and serves what it read from memory', async () => {
    // Prepare
    const file = Buffer.alloc(1_000_000, 1);
    const reader = memoryReader(file);
    const stats = emptyStats();
    const batched = new BatchedReader(reader.read, file.length, { maxGapBytes: 100, maxRangeBytes: 1_000_000, concurrency: 4 }, stats);
    // Act: three asks in one tick, then one after a chain of awaits, then one already read.
    await Promise.all([batched.get(0, 10), batched.get(50, 10), batched.get(500_000, 8, 1000)]);
    await batched.get(900_000, 4);
    await batched.get(500_100, 100);
    // Assess
    expect(stats).toEqual({ rounds: 2, requests: 3, bytes: 60 + 1000 + 4 });
    expect(reader.requests).toEqual([{ offset: 0, length: 60 }, { offset: 500_000, length: 1000 }, { offset: 900_000, length: 4 }]);
  });
});
