/**
 * The local tools keep their output clean under Node 20: the AWS SDK's nine-line
 * NodeVersionSupportWarning (printed the first time a client is built on Node < 22) must not
 * reach a developer's terminal (infra/local/quiet-runtime.ts). Each script runs as its npm
 * script runs it, against a local stack on ephemeral ports, without the variable that
 * vitest.config.ts sets for the test processes themselves.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { gridImage } from '../support/fixtures.js';
import { recto, tsx, type Ran } from './support.js';

/** What the SDK's notice starts with. */
const SDK_NOTICE = /NodeVersionSupportWarning|AWS SDK for JavaScript \(v3\)/;

describe(`the local tools under Node ${process.versions.node}`, () => {
  let stack: LocalStack;
  let directory: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Prepare: a stack with one source, and the environment that points the scripts at it.
    directory = await mkdtemp(path.join(tmpdir(), 'recto-runtime-'));
    const images = path.join(directory, 'images');
    await mkdir(images);
    await writeFile(path.join(images, 'grid.png'), (await gridImage({ width: 400, height: 300 })).png);
    const dataDir = path.join(directory, 'data');
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir, imageDirs: [images] });
    env = { PORT: new URL(stack.url).port, S3_PORT: stack.s3Endpoint.port, DATA_DIR: dataDir, POWERTOOLS_LOG_LEVEL: 'ERROR' };
  });

  afterAll(async () => {
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it.each<[string, () => Promise<Ran>]>([
    ['npm run purge -- grid --dry-run', () => tsx('infra/cli/purge.ts', ['grid', '--dry-run'], env)],
    ['npm run prewarm -- grid --dry-run', () => tsx('infra/cli/prewarm.ts', ['grid', '--dry-run'], env)],
    ['npx recto prewarm grid --dry-run', () => recto(['prewarm', 'grid', '--dry-run'], { env })],
    ['npm run invoke -- events/info-json.json', () => tsx('infra/cli/invoke.ts', ['events/info-json.json'], { ...env, TOKEN: '' })],
  ])('%s builds an S3 client and prints no AWS SDK Node-version notice', async (_command, runIt) => {
    // Act
    const ran = await runIt();

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.stderr).not.toMatch(SDK_NOTICE);
  });
});
