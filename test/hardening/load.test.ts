/**
 * The load test (bench/loadtest.ts) at a size for `npm test`: 300 mixed requests at concurrency
 * 16 and a herd of 50 identical cold requests, on a local stack on loopback. `npm run loadtest`
 * runs it at full size (2,000 requests at concurrency 32).
 */
import { describe, expect, it } from 'vitest';
import { runLoadTest } from '../../bench/loadtest.js';

describe('load on the local stack', () => {
  it('answers 300 mixed requests at concurrency 16 as expected, with no 5xx, nothing lost or corrupt, and a herd of 50 renders and stores once', async () => {
    // Act
    const report = await runLoadTest({ count: 300, concurrency: 16, herd: 50, seed: 11, timeLimitMs: 150_000 });

    // Assess
    expect(report.completed).toBe(true);
    expect(report.unexpected).toEqual([]);
    expect(report.serverErrors).toBe(0);
    expect(report.lost).toEqual([]);
    expect(report.corrupt).toEqual([]);
    expect(report.keysOutsidePrefixes).toEqual([]);
    for (const kind of ['hit-or-miss', 'unique-miss', 'info', 'error'] as const) expect(report.latencyByKindMs[kind].count).toBeGreaterThan(10);
    expect(Object.keys(report.statuses).sort()).toEqual(expect.arrayContaining(['200', '302', '400', '401', '403', '404']));
    expect(report.storedImages).toBeGreaterThan(30);
    // One process: the 49 later requests join the first one's render (single flight).
    expect(report.herd).toMatchObject({ requests: 50, statuses: { 302: 50 }, renders: 1, puts: 1, stored: 1 });
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
  }, 180_000);
});
