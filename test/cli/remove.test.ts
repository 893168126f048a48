/**
 * `npx recto remove`: a source once served through LOCAL_IMAGES_DIR is taken out of the local
 * stack (source, derivatives, record), so the page stops listing it; the command names a file
 * that would bring it back on the next start, calls an identifier nobody knows unknown, and
 * refuses storage that is not the local stack's. Run as staff run it, against a stack on
 * ephemeral ports (its PORT, S3_PORT and DATA_DIR, as `npm start` and the scripts share them).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { listSourceIdentifiers } from '../../infra/local/home-page.js';
import { gridImage } from '../support/fixtures.js';
import { recto } from './support.js';

describe('npx recto remove', () => {
  let stack: LocalStack;
  let directory: string;
  let images: string;
  let env: Record<string, string>;

  async function derivativeKeys(identifier: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of stack.services.derivatives.list(`${identifier}/`)) keys.push(object.key);
    return keys;
  }

  beforeAll(async () => {
    // Prepare: two sources from an image directory, one of them viewed (a thumbnail and a record stored).
    directory = await mkdtemp(path.join(tmpdir(), 'recto-remove-'));
    images = path.join(directory, 'images');
    await mkdir(images);
    const png = (await gridImage({ width: 400, height: 300 })).png;
    await writeFile(path.join(images, 'kept.png'), png);
    await writeFile(path.join(images, 'old-scan.png'), png);
    const dataDir = path.join(directory, 'data');
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir, env: { IIIF_AUTH: 'off' }, imageDirs: [images] });
    expect((await fetch(`${stack.url}/iiif/3/old-scan/full/!300,300/0/default.jpg`, { redirect: 'manual' })).status).toBe(302);
    env = { PORT: new URL(stack.url).port, S3_PORT: stack.s3Endpoint.port, DATA_DIR: dataDir };
  }, 60_000);

  afterAll(async () => {
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('--dry-run lists the source and the derivatives it would delete, and deletes nothing', async () => {
    // Act
    const ran = await recto(['remove', '--dry-run', 'old-scan'], { env });

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.text).toContain(`${stack.config.sourceBucket}/old-scan\n`);
    expect(ran.text).toContain('old-scan/source.json\n');
    expect(ran.text).toMatch(/^old-scan: source would be deleted, \d+ derivative object\(s\) would be deleted$/m);
    expect(await listSourceIdentifiers(stack.services)).toContain('old-scan');
  });

  it('removes the source and everything stored for it, so the page no longer lists it, and names the file that would bring it back', async () => {
    // Prepare
    expect((await derivativeKeys('old-scan')).length).toBeGreaterThan(0);

    // Act
    const ran = await recto(['remove', 'old-scan'], { env });

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.text).toMatch(/^old-scan: source deleted, \d+ derivative object\(s\) deleted\n$/);
    expect(await listSourceIdentifiers(stack.services)).toEqual(['kept']);
    expect(await derivativeKeys('old-scan')).toEqual([]);
    const page = await (await fetch(`${stack.url}/`)).text();
    expect(page).toContain('>kept<');
    expect(page).not.toContain('old-scan');
    // This run has no LOCAL_IMAGES_DIR, so only a sample could bring it back: none is called that.
    expect(ran.stderr).toBe('');
  });

  it('says when a file in LOCAL_IMAGES_DIR would upload the source again on the next start', async () => {
    // Act
    const ran = await recto(['remove', 'kept'], { env: { ...env, LOCAL_IMAGES_DIR: images } });

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe(`kept: ${path.join(images, 'kept.png')} is still there: the next npm start uploads it again (delete or move it to keep kept out)\n`);
  });

  it('calls an identifier with no source and nothing stored unknown, and exits 1', async () => {
    // Act
    const ran = await recto(['remove', 'no-such-image'], { env });

    // Assess
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe('no-such-image: unknown identifier: there is no source "no-such-image" and nothing stored for it (identifiers are decoded: ms/0001, not ms%2F0001)\n');
  });

  it('refuses storage that is not the local stack\'s, with exit 2', async () => {
    // Act
    const ran = await recto(['remove', 'kept'], { env: { ...env, S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com', SOURCE_BUCKET: 'masters' } });

    // Assess
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^remove works on the local stack only/);
  });
});
