/**
 * `npx recto get`, `info` and `token` against a local stack (auth on, ephemeral ports), run as
 * staff run them: a token from `npx recto token` (same data directory, so the same dev keys),
 * RECTO_ENDPOINT and RECTO_TOKEN in the environment.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { decodeJwt } from 'jose';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../infra/local/dev-keys.js';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { gridImage, type Grid } from '../support/fixtures.js';
import { recto } from './support.js';

/** An identifier with a space and a slash: both must be encoded once on the way. */
const NESTED_ID = 'box 1/page';

describe('recto get, info and token against a local stack', () => {
  let stack: LocalStack;
  let grid: Grid;
  let directory: string;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'recto-cli-'));
    dataDir = path.join(directory, 'data');
    const images = path.join(directory, 'images');
    await mkdir(images);
    grid = await gridImage({ width: 800, height: 600, cols: 4, rows: 3 });
    await writeFile(path.join(images, 'grid.png'), grid.png);
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir, env: { IIIF_AUTH: 'on' }, imageDirs: [images] });
    // A source whose identifier needs encoding, put straight into the bucket.
    await stack.services.s3.send(new PutObjectCommand({ Bucket: stack.config.sourceBucket, Key: stack.services.sources.keyFor(NESTED_ID), Body: grid.png, ContentType: 'image/png' }));
    const minted = await recto(['token', '--ttl', '600'], { env: { DATA_DIR: dataDir } });
    expect(minted.code).toBe(0);
    env = { RECTO_ENDPOINT: stack.url, RECTO_TOKEN: minted.text.trim() };
  }, 60_000);

  afterAll(async () => {
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('token prints a JWT alone on stdout with the asked lifetime and both scopes', () => {
    // Act: (minted in beforeAll, with --ttl 600)
    const claims = decodeJwt(env.RECTO_TOKEN ?? '');

    // Assess
    expect([claims.iss, claims.aud, claims.scope, (claims.exp ?? 0) - (claims.iat ?? 0)]).toEqual(['recto-local', 'recto', 'iiif:read iiif:render', 600]);
  });

  it('info prints the 3.0 info.json, its id the URL asked for', async () => {
    // Act
    const ran = await recto(['info', 'grid'], { env });

    // Assess
    expect(ran.code).toBe(0);
    const info = JSON.parse(ran.text) as Record<string, unknown>;
    expect([info['@context'], info.id, info.type, info.width, info.height]).toEqual(['http://iiif.io/api/image/3/context.json', `${stack.url}/iiif/3/grid`, 'ImageService3', 800, 600]);
    expect(ran.text).toBe(`${JSON.stringify(info, null, 2)}\n`);
  });

  it('info --api 2 prints the 2.1 info.json of an identifier with a slash and a space', async () => {
    // Act
    const ran = await recto(['info', NESTED_ID, '--api', '2'], { env });

    // Assess
    const info = JSON.parse(ran.text) as Record<string, unknown>;
    expect([ran.code, info['@context'], info['@id']]).toEqual([0, 'http://iiif.io/api/image/2/context.json', `${stack.url}/iiif/2/box%201%2Fpage`]);
  });

  it('get writes the image the options describe, following the redirect with the token', async () => {
    // Prepare
    const file = path.join(directory, 'crop.png');

    // Act: the top-left cell of the grid, 100 px wide, as PNG.
    const ran = await recto(['get', 'grid', '--region', '0,0,200,200', '--size', '100,', '--format', 'png', '-o', file], { env });

    // Assess: the bytes on disk are that cell, in its colour.
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain(`${file}: image/png, `);
    const { data, info } = await sharp(await readFile(file)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([100, 100]);
    expect([data[0], data[1], data[2]]).toEqual([grid.cellColour(0, 0).r, grid.cellColour(0, 0).g, grid.cellColour(0, 0).b]);
  });

  it('get takes a full URL and a path against the endpoint, and writes several images into a directory', async () => {
    // Prepare
    const out = path.join(directory, 'several');

    // Act
    const ran = await recto(['get', `${stack.url}/iiif/3/grid/full/max/0/gray.png`, '/iiif/2/grid/full/!50,50/0/default.webp', '-o', out], { env });

    // Assess
    expect(ran.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['grid_full_fit50x50_0_default.webp', 'grid_full_max_0_gray.png']);
    const gray = await sharp(path.join(out, 'grid_full_max_0_gray.png')).metadata();
    const small = await sharp(path.join(out, 'grid_full_fit50x50_0_default.webp')).metadata();
    expect([gray.format, gray.width, gray.height, gray.channels]).toEqual(['png', 800, 600, 1]);
    expect([small.format, small.width, small.height]).toEqual(['webp', 50, 38]);
  });

  it('get writes to stdout when it is not a terminal', async () => {
    // Act
    const ran = await recto(['get', 'grid', '--size', '80,'], { env });

    // Assess
    const metadata = await sharp(ran.stdout).metadata();
    expect([ran.code, metadata.format, metadata.width, metadata.height]).toEqual([0, 'jpeg', 80, 60]);
  });

  it('get without a token fails with the 401 and says how to get one', async () => {
    // Act
    const ran = await recto(['get', 'grid', '-o', path.join(directory, 'never.jpg')], { env: { RECTO_ENDPOINT: stack.url } });

    // Assess
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^recto get: 401 AUTH_MISSING_TOKEN: .* \(GET http:\/\/127\.0\.0\.1:\d+\/iiif\/3\/grid\/full\/max\/0\/default\.jpg\)\nThis endpoint wants a token: --token TOKEN or RECTO_TOKEN \(for the local stack: export RECTO_TOKEN=\$\(npx recto token\)\)\.\n$/);
  });

  it('get with an expired token says when it expired (ISO 8601) and how to get a new one', async () => {
    // Prepare: a token of the stack's own keys that expired an hour ago.
    const expired = await mintDevToken(stack.keys, { scopes: ['iiif:read', 'iiif:render'], ttlSeconds: 3600, now: new Date(Date.now() - 2 * 3600_000) });

    // Act
    const ran = await recto(['get', 'grid', '-o', path.join(directory, 'never.jpg')], { env: { RECTO_ENDPOINT: stack.url, RECTO_TOKEN: expired } });

    // Assess
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^recto get: 401 AUTH_INVALID_TOKEN: The token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(exp \d+\), \d+ s before this request; get a new token from its issuer \("recto-local"\) \(GET [^)]+\)\nThe token was refused; get a new one: the local stack mints one with: export RECTO_TOKEN=\$\(npx recto token\)\.\n$/);
  });

  it('info of an unknown image fails with the 404 Recto answered', async () => {
    // Act
    const ran = await recto(['info', 'no-such-image'], { env });

    // Assess
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^recto info: 404 SOURCE_NOT_FOUND: /);
  });

  it('get refuses image options given with a URL (the URL already says what it wants)', async () => {
    // Act
    const ran = await recto(['get', '/iiif/3/grid/full/max/0/default.jpg', '--size', '10,', '-o', '-'], { env });

    // Assess
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe('recto get: Expected image options with IDs only (a URL already says what it wants) for --size but received "/iiif/3/grid/full/max/0/default.jpg"\nRun `npx recto get --help` for usage.\n');
  });
});
