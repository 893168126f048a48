/**
 * Every event in events/ goes through `npm run invoke` against a local stack, as a developer
 * would run it beside `npm start`, and gives the expected answer.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { functionFor } from '../../infra/cli/invoke.js';
import { gridImage } from '../support/fixtures.js';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Invocation {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function invoke(event: string, env: Record<string, string>): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'infra/cli/invoke.ts', event], {
      cwd: REPO,
      env: { ...process.env, ...env, TOKEN: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run invoke on events/', () => {
  let stack: LocalStack;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'recto-invoke-'));
    const images = path.join(dataDir, 'images');
    await import('node:fs/promises').then((fs) => fs.mkdir(images));
    await writeFile(path.join(images, 'grid.png'), (await gridImage({ width: 800, height: 600 })).png);
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir, imageDirs: [images] });
    env = {
      PORT: new URL(stack.url).port,
      S3_PORT: stack.s3Endpoint.port,
      DATA_DIR: dataDir,
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
  });

  afterAll(async () => {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('tells each event file’s function from its shape', async () => {
    // Prepare
    const files = (await readdir(path.join(REPO, 'events'))).filter((name) => name.endsWith('.json')).sort();
    const { readFile } = await import('node:fs/promises');

    // Act
    const chosen = await Promise.all(files.map(async (name) => [name, functionFor(JSON.parse(await readFile(path.join(REPO, 'events', name), 'utf8')))]));

    // Assess
    expect(Object.fromEntries(chosen)).toEqual({
      'bad-request.json': 'iiif',
      'base-uri.json': 'iiif',
      'image.json': 'iiif',
      'info-json.json': 'iiif',
      'prewarm-sqs.json': 'prewarm',
      's3-object-created.json': 'purge',
      's3-object-removed.json': 'purge',
      'unauthorised.json': 'iiif',
    });
  });

  it.each([
    ['info-json.json', 200, undefined],
    ['image.json', 302, 'location'],
    ['base-uri.json', 303, 'location'],
    ['bad-request.json', 400, undefined],
    ['unauthorised.json', 401, 'www-authenticate'],
  ] as const)('answers %s with %i and prints only the response on stdout', async (file, status, header) => {
    // Act
    const result = await invoke(`events/${file}`, env);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const response = JSON.parse(result.stdout) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(response.statusCode).toBe(status);
    if (header !== undefined) expect(response.headers[header]).toBeTypeOf('string');
    if (status >= 400) expect(JSON.parse(response.body)).toHaveProperty('error');
  });

  it('renders the image the image event asks for into the local stack’s bucket', async () => {
    // Act
    const result = await invoke('events/image.json', env);

    // Assess
    const response = JSON.parse(result.stdout) as { headers: Record<string, string> };
    const fetched = await fetch(response.headers.location ?? '');
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('image/jpeg');
    const { default: sharp } = await import('sharp');
    expect(await sharp(Buffer.from(await fetched.arrayBuffer())).metadata()).toMatchObject({ width: 400, height: 300 });
  });

  it('runs the pre-warm function on the SQS event and reports no failed message', async () => {
    // Act
    const result = await invoke('events/prewarm-sqs.json', env);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [] });
  });

  it.each(['s3-object-created.json', 's3-object-removed.json'])('runs the purge function on %s, dropping the source’s derivatives', async (file) => {
    // Prepare: a derivative of "grid" exists
    const image = await invoke('events/image.json', env);
    expect(image.code, image.stderr).toBe(0);
    const before = await countObjects(stack, 'grid/');
    expect(before).toBeGreaterThan(0);

    // Act
    const result = await invoke(`events/${file}`, env);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(await countObjects(stack, 'grid/')).toBe(0);
  });
});

async function countObjects(stack: LocalStack, prefix: string): Promise<number> {
  let count = 0;
  for await (const object of stack.services.derivatives.list(prefix)) {
    if (object.key.startsWith(prefix)) count += 1;
  }
  return count;
}
