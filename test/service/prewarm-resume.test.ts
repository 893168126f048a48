/**
 * Resuming: a pre-warm killed halfway (SIGKILL to the `npm run prewarm` process) or hit by
 * storage failures leaves only whole objects behind, and running it again completes the set:
 * exactly the planned keys, each decoding to its planned size, none stored twice.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/prewarm.js';
import { scriptServices } from '../../infra/cli/storage-script.js';
import { UnavailableError } from '../../lib/errors.js';
import { planJobs } from '../../lib/service/prewarm-jobs.js';
import { Prewarmer } from '../../lib/service/prewarm.js';
import { Producer } from '../../lib/service/produce.js';
import { parsePresets } from '../../lib/service/presets.js';
import { fromRaw, photoLikeRaw } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { Capture, cliEnvironment } from '../support/prewarm-cli.js';

const REPO = join(import.meta.dirname, '..', '..');

async function partFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((name) => name.endsWith('.part'));
}

/** The planned keys and sizes of an identifier's tiles, as the runner plans them. */
async function planned(t: TestStack, identifier: string): Promise<Map<string, { width: number; height: number }>> {
  const record = await t.stack.services.records.get(identifier);
  const { config } = t.stack;
  const { jobs } = planJobs(
    { identifier, source: record.probe, limits: config.limits, tileSize: config.tileSize, prefix: config.derivativePrefix },
    { tiles: true, sizes: false, presets: [], paths: [], api: 'both' },
  );
  return new Map(jobs.map((job) => [job.key, job.plan.size]));
}

/** The stored images of an identifier, waiting until the listing holds still (a write may land after a kill). */
async function settledKeys(t: TestStack, identifier: string): Promise<string[]> {
  let previous = '';
  for (;;) {
    const keys = (await t.listImages()).map((object) => object.key).filter((key) => key.startsWith(`${identifier}/`));
    const signature = keys.join('\n');
    if (signature === previous) return keys;
    previous = signature;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function expectComplete(t: TestStack, identifier: string, expected: Map<string, { width: number; height: number }>): Promise<void> {
  const keys = await settledKeys(t, identifier);
  expect(keys.sort()).toEqual([...expected.keys()].sort());
  for (const key of keys) {
    const bytes = (await t.getDerivative(key)) ?? expect.fail(key);
    const metadata = await sharp(bytes).metadata();
    expect({ key, format: metadata.format, width: metadata.width, height: metadata.height }).toEqual({ key, format: 'jpeg', ...expected.get(key) });
  }
}

describe('resuming a pre-warm', () => {
  let t: TestStack;

  beforeAll(async () => {
    const pyramid = (seed: number) => photoLikeRaw({ width: 4000, height: 3000, seed }).then((raw) => fromRaw(raw).tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 80 }).toBuffer());
    t = await startTestStack({ sources: { 'killed.tif': await pyramid(31), 'faulty.tif': await pyramid(32) } });
  }, 120_000);

  afterAll(async () => {
    await t.close();
  });

  it('killed halfway with SIGKILL, completes on the next run with only whole objects and no duplicates', async () => {
    // Prepare
    const expected = await planned(t, 'killed');
    const env = { ...cliEnvironment(t), PATH: process.env.PATH ?? '', POWERTOOLS_METRICS_DISABLED: 'true' };

    // Act 1: a run at one render at a time, killed once some of its objects are stored.
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'infra/cli/prewarm.ts'), '--tiles', '--concurrency', '1', 'killed'], { cwd: REPO, env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.once('exit', (_code, signal) => {
        resolve(signal);
      });
    });
    for (;;) {
      const stored = (await t.listImages()).filter((object) => object.key.startsWith('killed/')).length;
      if (stored >= 20 || child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    const signal = await exited;
    const left = await settledKeys(t, 'killed');

    // Assess 1: killed before the end, leaving whole objects only.
    expect(signal).toBe('SIGKILL');
    expect(left.length).toBeGreaterThanOrEqual(20);
    expect(left.length).toBeLessThan(expected.size);
    expect(left.every((key) => expected.has(key))).toBe(true);

    // Act 2: the same command again.
    const stdout = new Capture();
    const code = await main(['--tiles', 'killed'], cliEnvironment(t), { stdout, stderr: new Capture() });

    // Assess 2: what was there is skipped, the rest rendered, and the set is exactly the plan.
    expect(code).toBe(0);
    expect(stdout.text).toContain(`derivatives  ${expected.size} planned: ${expected.size - left.length} rendered, ${left.length} skipped (already stored), 0 failed`);
    await expectComplete(t, 'killed', expected);
    expect(await partFiles(join(t.dataDir, 's3'))).toEqual([]);

    // Act 3 and assess: a third run has nothing left to do.
    const again = new Capture();
    expect(await main(['--tiles', 'killed'], cliEnvironment(t), { stdout: again, stderr: new Capture() })).toBe(0);
    expect(again.text).toContain(`derivatives  ${expected.size} planned: 0 rendered, ${expected.size} skipped (already stored), 0 failed`);
  }, 180_000);

  it('hit by storage failures, reports each as retryable, and completes on the next run', async () => {
    // Prepare: a store that refuses every third upload with a 503.
    const expected = await planned(t, 'faulty');
    const services = scriptServices(cliEnvironment(t));
    let puts = 0;
    const store = services.derivatives;
    const flaky = {
      list: (prefix: string) => store.list(prefix),
      deletePrefix: (prefix: string) => store.deletePrefix(prefix),
      readRange: (...args: Parameters<typeof store.readRange>) => store.readRange(...args),
      put: (...args: Parameters<typeof store.put>) => {
        puts += 1;
        if (puts % 3 === 0) return Promise.reject(new UnavailableError('STORAGE_UNAVAILABLE', 'Injected: storage is unavailable; retry after 1 s', 1));
        return store.put(...args);
      },
    };
    const producer = new Producer(services.sources, flaky, services.engine, services.producer.options);
    const prewarmer = new Prewarmer({ ...services, derivatives: flaky, producer }, parsePresets({}, 'test'));

    // Act 1
    const first = await prewarmer.run({ identifier: 'faulty', tiles: true });

    // Assess 1
    expect(first.status).toBe('failed');
    expect(first.failed.length).toBe(Math.floor(expected.size / 3));
    expect(first.failed.every((failure) => failure.code === 'STORAGE_UNAVAILABLE' && failure.retryable)).toBe(true);
    expect(first.rendered).toBe(expected.size - first.failed.length);

    // Act 2: the CLI, with working storage.
    const stdout = new Capture();
    const code = await main(['--tiles', 'faulty'], cliEnvironment(t), { stdout, stderr: new Capture() });

    // Assess 2
    expect(code).toBe(0);
    expect(stdout.text).toContain(`${first.failed.length} rendered, ${first.rendered} skipped (already stored), 0 failed`);
    await expectComplete(t, 'faulty', expected);
    services.s3.destroy();
  }, 180_000);

  it('stops before rendering when its signal is aborted (Ctrl-C, the Lambda deadline), and says cancelled', async () => {
    // Prepare
    const services = scriptServices(cliEnvironment(t));
    const controller = new AbortController();
    controller.abort();

    // Act
    const report = await new Prewarmer(services, parsePresets({}, 'test')).run({ identifier: 'killed', tiles: true, sizes: true }, { signal: controller.signal });

    // Assess: the sizes were never stored; the tiles were (by the runs above).
    expect({ status: report.status, rendered: report.rendered, failed: report.failed }).toEqual({ status: 'cancelled', rendered: 0, failed: [] });
    expect(report.planned - report.skipped).toBeGreaterThan(0);
    services.s3.destroy();
  });
});

