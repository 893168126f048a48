/**
 * The storage scripts with the local stack stopped: they say the stack is not running and how
 * to start it, instead of a storage error that says "try again later" or "retry after 1 s".
 * Pointed at other storage, they leave that storage's own error as it is. Ports come from
 * listeners on port 0 that are closed again, so nothing answers on them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recto, tsx, type Ran } from './support.js';

/** A loopback port nothing listens on: an ephemeral one, bound and released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve();
  }));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => {
    resolve();
  }));
  return port;
}

describe('the storage scripts with the local stack stopped', () => {
  let directory: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'recto-down-'));
    env = { PORT: String(await closedPort()), S3_PORT: String(await closedPort()), DATA_DIR: directory };
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it.each<[string, () => Promise<Ran>]>([
    ['npm run invoke -- events/info-json.json', () => tsx('infra/cli/invoke.ts', ['events/info-json.json'], { ...env, TOKEN: '' })],
    ['npm run prewarm -- grid', () => tsx('infra/cli/prewarm.ts', ['grid'], env)],
    ['npm run purge -- grid', () => tsx('infra/cli/purge.ts', ['grid'], env)],
    ['npx recto prewarm grid', () => recto(['prewarm', 'grid'], { env })],
  ])('%s says the local stack is not running and how to start it, and exits 1', async (_command, runIt) => {
    // Act
    const ran = await runIt();

    // Assess
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain(`The local stack is not running: nothing answers on 127.0.0.1:${env.S3_PORT ?? ''} (S3_PORT, its embedded S3).`);
    expect(ran.stderr).toContain('Start it in another terminal with `npm start`');
    expect(`${ran.text}${ran.stderr}`).not.toMatch(/try again later|retry after/i);
  });

  it('says nothing about the local stack when the environment names other storage', async () => {
    // Act: storage of one's own, down.
    const ran = await tsx('infra/cli/purge.ts', ['grid'], { S3_ENDPOINT: `http://127.0.0.1:${env.S3_PORT ?? ''}`, SOURCE_BUCKET: 'a', DERIVATIVE_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });

    // Assess: that storage's error, not advice about `npm start`.
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('STORAGE_UNAVAILABLE');
    expect(ran.stderr).not.toContain('local stack');
  });
});
