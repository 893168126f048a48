/**
 * `npm start` as a newcomer meets it: a request that arrives while it starts is answered; a
 * second start on taken ports says which port and how to choose others; unreadable images in
 * LOCAL_IMAGES_DIR are named at start with the service's own error; and the banner's example
 * commands, pasted into an interactive bash, fetch what they say.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../infra/local/stack.js';
import { photoLike } from '../support/fixtures.js';
import { interactiveBash } from '../support/shell.js';
import { startProcess, type StartProcess } from './start-process.js';

/** A bound on each request to a stack that is starting: it must answer, not hang. */
const ANSWER_WITHIN_MS = 15_000;

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'recto-start-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('a request that arrives while the local stack starts', () => {
  it('is answered 503 with Retry-After, for the API and the page alike', async () => {
    // Prepare: requests sent once the port is bound, before the sources are uploaded.
    const answers: { path: string; status: number; retryAfter: string | null; body: unknown }[] = [];
    const ask = async (url: string, pathname: string): Promise<void> => {
      const response = await fetch(`${url}${pathname}`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
      answers.push({ path: pathname, status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() });
    };

    // Act
    const stack = await startLocalStack({
      port: 0,
      s3Port: 0,
      dataDir: path.join(directory, 'early'),
      onListening: async (url) => {
        await ask(url, '/iiif/3/grid/info.json');
        await ask(url, '/');
      },
    });
    const ready = await fetch(`${stack.url}/`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    await stack.close();

    // Assess: both answered at once with a wait to honour; once ready, the page is served.
    const starting = { error: 'LOCAL_STACK_STARTING', detail: expect.stringMatching(/starting/) as unknown };
    expect(answers).toEqual([
      { path: '/iiif/3/grid/info.json', status: 503, retryAfter: '1', body: starting },
      { path: '/', status: 503, retryAfter: '1', body: starting },
    ]);
    expect(ready.status).toBe(200);
  });
});

describe('npm start on a port that is taken', () => {
  let holder: Server;
  let taken: number;

  beforeAll(async () => {
    // Prepare: an ephemeral port held by this process, as another `npm start` would hold 3000.
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = (holder.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => holder.close(() => { resolve(); }));
  });

  it.each([
    ['S3_PORT', 'the embedded S3'],
    ['PORT', 'the IIIF API'],
  ])('names the port when %s is taken, says how to pick others, and exits 1 without a stack trace', async (variable, what) => {
    // Act
    const start = startProcess({ PORT: '0', S3_PORT: '0', [variable]: String(taken), DATA_DIR: path.join(directory, `taken-${variable}`) });
    const code = await start.exited;

    // Assess
    expect(code).toBe(1);
    expect(start.stderr()).toContain(`port ${taken} on 127.0.0.1 is already in use (${variable}, ${what}`);
    expect(start.stderr()).toMatch(/^ {2}PORT=\d+ S3_PORT=\d+ npm start$/m);
    expect(start.stderr()).not.toMatch(/^\s+at /m);
    expect(start.stderr()).not.toContain('EADDRINUSE');
  });
});

describe('npm start with LOCAL_IMAGES_DIR holding images it cannot read', () => {
  let start: StartProcess;
  let images: string;
  let stdout: string;

  beforeAll(async () => {
    // Prepare: a truncated JPEG and a text file named .png, both sorting before the samples.
    images = path.join(directory, 'images');
    await mkdir(images);
    const photo = await photoLike({ width: 1200, height: 900, format: 'jpeg', quality: 85 });
    await writeFile(path.join(images, 'aa-truncated.jpg'), photo.subarray(0, Math.floor(photo.length / 3)));
    await writeFile(path.join(images, 'ab-not-an-image.png'), 'Not an image: a note saved with the wrong name.\n'.repeat(20));

    // Act
    start = startProcess({ PORT: '0', S3_PORT: '0', DATA_DIR: path.join(directory, 'data'), LOCAL_IMAGES_DIR: images });
    await start.waitForStdout(/Press Ctrl-C to stop\./);
    stdout = start.stdout();
  }, 120_000);

  afterAll(async () => {
    await start.stop();
  });

  it('warns about each one, with its file and the service\'s error code and message', () => {
    // Assess
    const stderr = start.stderr();
    expect(stderr).toMatch(/^Warning: 2 sources cannot be read/m);
    expect(stderr).toContain(`  aa-truncated (${path.join(images, 'aa-truncated.jpg')}): 422 SOURCE_UNREADABLE: Expected a readable image`);
    expect(stderr).toContain(`  ab-not-an-image (${path.join(images, 'ab-not-an-image.png')}): 422 SOURCE_UNREADABLE: Expected a readable image for the source but received "bytes in no known image format"`);
    expect(stdout).toMatch(/^Sources: aa-truncated, ab-not-an-image, .*; 2 cannot be read, see the warning\)$/m);
    // The AWS SDK's Node-version notice is not among the warnings.
    expect(stderr).not.toMatch(/NodeVersionSupportWarning/);
  });

  it('prints example commands on a source it could read, which work when pasted into an interactive bash', async () => {
    // Prepare: the token line and the commands under "Try:", as a developer would copy them.
    const lines = stdout.split('\n');
    const tokenLine = lines.find((line) => line.startsWith('TOKEN='));
    const tryAt = lines.indexOf('Try:');
    const commands = lines.slice(tryAt + 1).filter((line) => line.startsWith('  curl ')).map((line) => line.trim());
    expect(tokenLine).toBeDefined();
    expect(commands).toHaveLength(2);
    expect(commands.join('\n')).not.toMatch(/aa-truncated|ab-not-an-image/);
    const work = await mkdtemp(path.join(directory, 'shell-'));

    // Act: an interactive bash (history expansion on, as in a terminal) reading the pasted lines.
    const shell = await interactiveBash([tokenLine ?? '', ...commands], work);

    // Assess: the info.json is printed, and thumbnail.jpg is a JPEG that fits 400 x 400 (no
    // headers written into it).
    expect(shell.stderr).not.toContain('event not found');
    expect(shell.stdout).toMatch(/"type": ?"ImageService3"/);
    const thumbnail = await sharp(await readFile(path.join(work, 'thumbnail.jpg'))).metadata();
    expect([thumbnail.format, Math.max(thumbnail.width, thumbnail.height)]).toEqual(['jpeg', 400]);
  });
});
