/**
 * `GET /iiif/presets/{id}`: the presets' full IIIF URLs for an image, behind the read scope.
 * Every URL it lists works: followed to the stored image, it decodes to the size it states.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';

interface Listing {
  readonly id: string;
  readonly presets: readonly { readonly name: string; readonly api: string; readonly url?: string; readonly width?: number; readonly height?: number; readonly error?: string; readonly detail?: string }[];
}

describe('GET /iiif/presets/{id} with the built-in presets', () => {
  let t: TestStack;

  beforeAll(async () => {
    t = await startTestStack();
  }, 60_000);

  afterAll(async () => {
    await t.close();
  });

  it('lists each preset with its URL for the image, or why it does not apply, to a read-only token', async () => {
    // Prepare
    const token = await t.token(['iiif:read']);

    // Act
    const answer = await t.send(`/iiif/presets/${GRID_ID}`, { token });

    // Assess
    expect(answer.status).toBe(200);
    expect({ type: answer.headers['content-type'], cors: answer.headers['access-control-allow-origin'], cache: answer.headers['cache-control'] }).toEqual({
      type: 'application/json',
      cors: '*',
      cache: 'private, max-age=300',
    });
    const listing = answer.json() as Listing;
    expect(listing.id).toBe(GRID_ID);
    expect(listing.presets.map(({ name, api, url, width, height, error }) => ({ name, api, url, width, height, error }))).toEqual([
      { name: 'thumbnail', api: '3', url: `${t.url}/iiif/3/grid/full/!400,400/0/default.jpg`, width: 400, height: 400, error: undefined },
      // The grid is 1000 pixels wide: 3.0 does not upscale to 1600 without "^".
      { name: 'web', api: '3', url: undefined, width: undefined, height: undefined, error: 'IIIF_UPSCALE_NOT_ALLOWED' },
      { name: 'print-gray', api: '3', url: `${t.url}/iiif/3/grid/full/max/0/gray.tif`, width: 1000, height: 1000, error: undefined },
    ]);
  });

  it('lists URLs that all work: each redirects to an image of the stated size and format', async () => {
    // Prepare
    const token = await t.token();
    const listing = (await t.send(`/iiif/presets/${GRID_ID}`, { token })).json() as Listing;
    const listed = listing.presets.filter((preset) => preset.url !== undefined);
    expect(listed).toHaveLength(2);

    for (const preset of listed) {
      // Act
      const redirect = await t.send((preset.url ?? '').slice(t.url.length), { token });
      const image = await t.follow(redirect.headers.location ?? '');

      // Assess
      expect(redirect.status).toBe(302);
      expect(image.status).toBe(200);
      const metadata = await sharp(image.body).metadata();
      expect({ name: preset.name, width: metadata.width, height: metadata.height, format: metadata.format }).toEqual({
        name: preset.name,
        width: preset.width,
        height: preset.height,
        format: preset.name === 'print-gray' ? 'tiff' : 'jpeg',
      });
    }
  });

  it('needs the read scope (401 without a token) and an existing source (404)', async () => {
    // Act
    const anonymous = await t.send(`/iiif/presets/${GRID_ID}`);
    const missing = await t.send('/iiif/presets/no-such-image', { token: await t.token(['iiif:read']) });

    // Assess
    expect({ status: anonymous.status, error: (anonymous.json() as { error: string }).error }).toEqual({ status: 401, error: 'AUTH_MISSING_TOKEN' });
    expect({ status: missing.status, error: (missing.json() as { error: string }).error }).toEqual({ status: 404, error: 'SOURCE_NOT_FOUND' });
  });
});

describe('GET /iiif/presets/{id} with PRESETS_FILE and PUBLIC_BASE_URL', () => {
  let t: TestStack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recto-presets-route-'));
    const file = join(dir, 'presets.json');
    await writeFile(file, JSON.stringify({ square: { path: 'square/200,200/0/default.png', api: '2', description: 'A square crop' }, half: 'pct:0,0,50,50/max/!90/bitonal.gif' }));
    t = await startTestStack({ env: { PRESETS_FILE: file, PUBLIC_BASE_URL: 'https://images.example.org/', IIIF_AUTH: 'off' } });
  }, 60_000);

  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the file\'s presets under the public base URL, the identifier as the client spelt it', async () => {
    // Act
    const answer = await t.send('/iiif/presets/gr%69d');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
    expect(answer.json()).toEqual({
      id: 'gr%69d',
      presets: [
        { name: 'square', api: '2', url: 'https://images.example.org/iiif/2/gr%69d/square/200,200/0/default.png', width: 200, height: 200, description: 'A square crop' },
        { name: 'half', api: '3', url: 'https://images.example.org/iiif/3/gr%69d/pct:0,0,50,50/max/!90/bitonal.gif', width: 500, height: 500 },
      ],
    });
  });
});
