/**
 * The point of pre-warming: after `npm run prewarm -- --tiles --sizes --api both ID` on the local
 * stack, every tile and size URL a viewer builds from info.json (the real OpenSeadragon, and the
 * legacy OpenSeadragon, Leaflet-IIIF and Mirador forms) in both API versions is answered from
 * storage: replaying them all over HTTP renders nothing and stores nothing new.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/prewarm.js';
import { readInfo, viewerUrls } from '../../lib/iiif/index.js';
import { fromRaw, photoLikeRaw } from '../support/fixtures.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { openSeadragonTileUrls } from '../unit/iiif/openseadragon.js';
import { Capture, cliEnvironment, forEach } from '../support/prewarm-cli.js';

const IDENTIFIERS = ['pyramid', 'photo', GRID_ID] as const;

describe('replaying viewer URLs after a pre-warm', () => {
  let t: TestStack;
  let token: string;

  beforeAll(async () => {
    const raw = await photoLikeRaw({ width: 2000, height: 1500, seed: 21 });
    t = await startTestStack({
      sources: {
        'pyramid.tif': await fromRaw(raw).tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 85 }).toBuffer(),
        'photo.jpg': await fromRaw(await photoLikeRaw({ width: 1500, height: 1100, seed: 22 })).jpeg({ quality: 85 }).toBuffer(),
      },
    });
    token = await t.token();
  }, 120_000);

  afterAll(async () => {
    await t.close();
  });

  it('renders nothing and stores nothing new, for every tile and size URL of both versions', async () => {
    // Prepare: pre-warm with the CLI, as `npm run prewarm -- --tiles --sizes --api both …` does.
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await main(['--tiles', '--sizes', '--api', 'both', ...IDENTIFIERS], cliEnvironment(t), { stdout, stderr });
    expect({ code, stderr: stderr.text }).toEqual({ code: 0, stderr: expect.stringContaining('pyramid: 73 planned, 73 rendered, 0 skipped, 0 failed') as unknown });
    expect(stdout.text).toMatch(/derivatives {2}\d+ planned: \d+ rendered, 0 skipped \(already stored\), 0 failed/);
    const before = (await t.listImages()).map((object) => `${object.key} ${object.lastModified.toISOString()}`);
    const rendersBefore = t.engine.count;
    expect(before.length).toBe(73 + 22 + 11);

    // Act: every URL each viewer builds from the info.json it is served.
    const urls = new Set<string>();
    for (const identifier of IDENTIFIERS) {
      for (const version of ['2', '3'] as const) {
        const infoPath = `/iiif/${version}/${identifier}/info.json`;
        const answer = await t.send(infoPath, { token });
        expect(answer.status).toBe(200);
        const document = answer.json() as Record<string, unknown>;
        for (const url of openSeadragonTileUrls(document, `${t.url}${infoPath}`)) urls.add(url);
        for (const { url } of viewerUrls(readInfo(document), { tiles: true, sizes: true })) urls.add(url);
      }
    }
    const statuses = new Map<number, number>();
    await forEach([...urls], 8, async (url) => {
      expect(url.startsWith(`${t.url}/iiif/`)).toBe(true);
      const answer = await t.send(url.slice(t.url.length), { token });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    });

    // Assess
    expect(urls.size).toBeGreaterThan(before.length);
    expect(Object.fromEntries(statuses)).toEqual({ 302: urls.size });
    expect(t.engine.count - rendersBefore).toBe(0);
    expect((await t.listImages()).map((object) => `${object.key} ${object.lastModified.toISOString()}`)).toEqual(before);
  }, 240_000);

  it('stored tiles that decode to the size the viewer asked for', async () => {
    // Prepare: two tiles of the pyramid as OpenSeadragon asks for them in 3.0.
    const info = (await t.send('/iiif/3/pyramid/info.json', { token })).json() as Record<string, unknown>;
    const urls = openSeadragonTileUrls(info, `${t.url}/iiif/3/pyramid/info.json`);
    const edge = urls.find((url) => url.includes('/1792,1280,208,220/')) ?? expect.fail('the corner tile at full size');

    // Act
    const redirect = await t.send(edge.slice(t.url.length), { token });
    const image = await t.follow(redirect.headers.location ?? '');

    // Assess
    expect(redirect.status).toBe(302);
    expect(image.status).toBe(200);
    const metadata = await sharp(image.body).metadata();
    expect({ format: metadata.format, width: metadata.width, height: metadata.height }).toEqual({ format: 'jpeg', width: 208, height: 220 });
  });
});
