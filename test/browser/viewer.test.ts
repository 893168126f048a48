/**
 * The local page in a real browser: headless Chromium (Debian's package, playwright-core) on a
 * local stack with auth on. It opens `/`, sees a thumbnail for every source, opens an image,
 * zooms in, and checks that tiles came through Recto's 302s from the embedded S3 and that the
 * viewer draws the grid's known colours; the URL builder and the presets; a source the service
 * cannot read; the page as a newcomer opens it, viewer first, at 1400 x 1000; and the
 * OpenSeadragon page of docs/viewers.md, served from another origin with a token, and without
 * one under public read. Screenshots go to test-results/ (and docs/viewer.png, for the README,
 * when that file is missing).
 *
 * No timing assertions: the machine is shared; every wait is for a state, with a generous limit.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, Response } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { gridImage, photoLike, type Grid } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { launchChromium, skipBrowserTests, type Browser } from './chromium.js';
import { tileTrafficProblems, type Exchange } from './tile-traffic.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
const README_SCREENSHOT = path.join(REPO_ROOT, 'docs', 'viewer.png');
const SAMPLES_DIR = path.join(REPO_ROOT, 'samples');
/** The window a newcomer's laptop browser gives the page (and the README screenshot's size). */
const NEWCOMER_VIEWPORT = { width: 1400, height: 1000 } as const;
/** The manual whose OpenSeadragon page the test runs. */
const VIEWERS_MANUAL = path.join(REPO_ROOT, 'docs', 'viewers.md');
/**
 * The Origin a page served from another origin than the stack's sends to storage: Recto's 302 to
 * the embedded S3 is a second cross-origin hop, after which the browser sends `Origin: null`
 * (the Fetch standard's tainted origin), not the page's. The embedded S3 answers CORS only for
 * the origins the stack is started with, so this one must be among them.
 */
const REDIRECTED_PAGE_ORIGINS = ['null'] as const;
/** Where that page loads OpenSeadragon from; the test serves node_modules' copy at these URLs. */
const OSD_CDN = 'https://cdn.jsdelivr.net/npm/openseadragon@6.1.1/build/openseadragon/';

/** The image the test zooms into: big enough for several tile levels, cells of 500 px. */
const ZOOM_ID = 'zoom-grid';
const GRID = { width: 4000, height: 3000, cols: 8, rows: 6 } as const;
/** A state the page reaches on a busy two-core machine; not a performance bound. */
const WAIT_MS = 90_000;
/** How long the test's own response listeners may take to catch up with what the page drew. */
const SETTLE_MS = 15_000;
/** JPEG tiles shift a flat colour by a few levels at most. */
const COLOUR_TOLERANCE = 12;

interface Traffic {
  /** Image requests to the stack (tiles, thumbnails) and their answers. */
  readonly recto: Exchange[];
  /** Requests to the embedded S3 (where the 302s lead) and their answers. */
  readonly storage: Exchange[];
  /** Listeners still reading a response's headers. */
  readonly pending: Set<Promise<void>>;
}

/** Installed in every page: collects the URL of each tile the viewer announces it has loaded. */
function collectDrawnTiles(): void {
  const drawn: string[] = [];
  (window as unknown as { rectoDrawnTiles: string[] }).rectoDrawnTiles = drawn;
  document.addEventListener('recto:tile-loaded', (event) => {
    drawn.push((event as CustomEvent<{ url: string }>).detail.url);
  });
}

describe.skipIf(skipBrowserTests())('the local page in Chromium (auth on)', () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let grid: Grid;
  const traffic: Traffic = { recto: [], storage: [], pending: new Set() };
  const pageErrors: string[] = [];
  /** Closers of what beforeAll managed to start, so a failed start still cleans up. */
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // Prepare: a stack with the samples (as `npm start` has them) and a large grid of known colours.
    const directory = await mkdtemp(path.join(tmpdir(), 'recto-browser-'));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    const images = path.join(directory, 'images');
    await mkdir(images);
    grid = await gridImage(GRID);
    await writeFile(path.join(images, `${ZOOM_ID}.png`), grid.png);
    const imageDirs = existsSync(SAMPLES_DIR) ? [SAMPLES_DIR, images] : [images];
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: path.join(directory, 'data'), env: { IIIF_AUTH: 'on' }, imageDirs, corsOrigins: REDIRECTED_PAGE_ORIGINS });
    cleanup.push(() => stack.close());
    browser = await launchChromium();
    cleanup.push(() => browser.close());
    page = await browser.context.newPage();
    await page.addInitScript(collectDrawnTiles);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', (response) => {
      const recording = record(response, stack, traffic).finally(() => traffic.pending.delete(recording));
      traffic.pending.add(recording);
    });
  }, 120_000);

  afterAll(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it('lists every source with a 300-pixel thumbnail fetched through the IIIF API with a token', async () => {
    // Act
    await page.goto(`${stack.url}/`);
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll<HTMLImageElement>('.thumbnails img')).every((img) => img.dataset.state !== undefined),
      null,
      { timeout: WAIT_MS },
    );

    // Assess: one entry per source, each thumbnail a decoded image that fits 300 x 300.
    const names = await page.locator('.thumbnails .name').allTextContents();
    expect(names).toEqual([...stack.uploaded.identifiers]);
    const thumbnails = await page.$$eval('.thumbnails img', (images) =>
      images.map((img) => ({ state: (img as HTMLImageElement).dataset.state, width: (img as HTMLImageElement).naturalWidth, height: (img as HTMLImageElement).naturalHeight })),
    );
    expect(thumbnails.map((t) => t.state)).toEqual(names.map(() => 'loaded'));
    for (const thumbnail of thumbnails) expect(Math.max(thumbnail.width, thumbnail.height)).toBe(300);
    expect(thumbnails[names.indexOf(ZOOM_ID)]).toMatchObject({ width: 300, height: 225 });
    const thumbnails300 = () => traffic.recto.filter((r) => r.url.endsWith('/full/!300,300/0/default.jpg'));
    await settled(traffic, () => thumbnails300().length >= names.length);
    const thumbnailRequests = thumbnails300();
    expect(thumbnailRequests.map((r) => [r.status, r.authorization?.startsWith('Bearer ')])).toEqual(names.map(() => [302, true]));
  });

  it('opens an image, zooms in, and draws tiles that followed the redirect to the embedded S3', async () => {
    // Prepare: open the grid from the gallery and wait for the whole image to be drawn.
    await page.getByRole('link', { name: ZOOM_ID, exact: true }).click();
    await page.waitForURL(/\?id=zoom-grid/);
    await waitForViewer(page, 1);
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS_DIR, 'viewer-page.png'), fullPage: true });
    const drawnBefore = (await drawnTiles(page)).length;

    // Act: three clicks on OpenSeadragon's "Zoom in" button (x2 each).
    for (let click = 0; click < 3; click++) await page.getByTitle('Zoom in').click();
    await waitForViewer(page, 8);

    // Assess: the tiles drawn since the zoom are regions of the grid (not the whole image), and
    // each came through a 302 from Recto (with the token) and a 200 from S3 (without it). The
    // test's listeners get a bounded time to catch up with what the page has already drawn.
    const tiles = (await drawnTiles(page)).slice(drawnBefore).filter((url) => new URL(url).pathname.startsWith(`/iiif/3/${ZOOM_ID}/`) && !url.includes('/full/'));
    expect(tiles.length).toBeGreaterThanOrEqual(4);
    await settled(traffic, () => tileTrafficProblems(tiles, traffic).length === 0);
    expect(tileTrafficProblems(tiles, traffic)).toEqual([]);
    const state = await page.$eval('#osd', (element) => Object.fromEntries(Object.entries((element as HTMLElement).dataset)));
    expect(state).toMatchObject({ state: 'open', tilesFailed: '0', fullyLoaded: 'true' });

    // Assess: the view is the grid, not a blank canvas: most pixels are the colours of its
    // cells, and at 8x several cells are in view.
    const screenshot = await page.locator('#osd').screenshot({ path: path.join(RESULTS_DIR, 'viewer-zoomed.png') });
    const { share, cells, deviation } = await gridCoverage(screenshot, grid);
    expect(deviation).toBeGreaterThan(10);
    expect(share).toBeGreaterThan(0.6);
    expect(cells.size).toBeGreaterThanOrEqual(2);
    expect(pageErrors).toEqual([]);
  });

  it('builds a IIIF URL from the form and shows the image it names', async () => {
    // Act
    await page.fill('#region', '0,0,1000,1000');
    await page.fill('#size', '200,');
    await page.fill('#rotation', '90');
    await page.selectOption('#format', 'png');
    await page.click('#builder button[type=submit]');
    await page.waitForFunction(() => /px/.test(document.getElementById('result-status')?.textContent ?? ''), null, { timeout: WAIT_MS });

    // Assess: the URL, and the decoded result's size (a 200x200 crop turned a quarter).
    expect(await page.textContent('#builder-url')).toBe(`${stack.url}/iiif/3/${ZOOM_ID}/0,0,1000,1000/200,/90/default.png`);
    const result = await page.$eval('#result-image', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
    expect(result).toEqual([200, 200]);
    expect(await page.textContent('#result-status')).toMatch(/^200 × 200 px, image\/png, /);
  });

  it('forgets the URL and the image it showed once the region is invalid', async () => {
    // Prepare: the previous test left a URL on the line and its image in the figure.
    const before = await page.textContent('#builder-url');
    expect(await page.isVisible('#result-image')).toBe(true);

    // Act
    await page.fill('#region', 'bogus');

    // Assess: the service's message next to the field; no URL and no image of another request.
    expect(await page.textContent('#builder-error')).toMatch(/region/);
    expect(await page.getAttribute('#region', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#builder-url')).not.toBe(before);
    expect(await page.getAttribute('#builder-url', 'href')).toBeNull();
    expect(await page.isHidden('#result-image')).toBe(true);
    expect(await page.textContent('#result-status')).toBe('No image: the form does not describe a valid IIIF URL.');
  });

  it('says which part of a URL is wrong before sending it', async () => {
    // Act
    await page.fill('#region', 'full');
    await page.fill('#rotation', '400');

    // Assess: the service's own message, next to the field.
    expect(await page.textContent('#builder-error')).toBe('Expected n or !n with 0 ≤ n ≤ 360 for rotation but received "400"');
    expect(await page.getAttribute('#rotation', 'aria-invalid')).toBe('true');
  });

  it('lists the image\'s presets with their sizes, and shows one when it is chosen', async () => {
    // Prepare: what the presets route answers for the image.
    const answer = await fetch(`${stack.url}/iiif/presets/${ZOOM_ID}`, { headers: { authorization: `Bearer ${await stack.token()}` } });
    expect(answer.status).toBe(200);
    const usable = ((await answer.json()) as { presets: { name: string; url?: string; width?: number; height?: number }[] }).presets.filter((preset) => preset.url !== undefined);
    const first = usable[0];
    expect(first).toBeDefined();
    await page.waitForFunction(() => !/^Loading/.test(document.getElementById('presets-status')?.textContent ?? 'Loading'), null, { timeout: WAIT_MS });

    // Act
    await page.locator('#presets a.preset').first().click();
    // The figure names the URL it shows; its caption gains the pixel size once it is decoded.
    await page.waitForFunction(
      (url) => (document.getElementById('result-image') as HTMLImageElement | null)?.alt === `Result of ${url}` && /px/.test(document.getElementById('result-status')?.textContent ?? ''),
      first?.url ?? '',
      { timeout: WAIT_MS },
    );

    // Assess: one link per preset that applies, the chosen one shown at its size, and the URL
    // line (and the form) saying which URL that is.
    expect(await page.locator('#presets a.preset').allTextContents()).toEqual(usable.map((preset) => preset.name));
    expect(await page.textContent('#result-status')).toMatch(new RegExp(`^${first?.width ?? 0} × ${first?.height ?? 0} px, `));
    expect(await page.textContent('#builder-url')).toBe(first?.url);
    expect(await page.isHidden('#builder-error')).toBe(true);
  });

  it('runs the OpenSeadragon page of docs/viewers.md from another origin with a token, and draws every tile in view', async () => {
    // Prepare: the page as written, with the stack's address and a token filled in, served from
    // an origin of its own (so every request to Recto is cross-origin, with a CORS preflight).
    const html = viewersSnippet().replaceAll('http://127.0.0.1:3000', stack.url).replace("'PASTE-A-TOKEN-HERE'", `'${await stack.token()}'`);
    const site = await servePage(html);
    cleanup.push(site.close);
    const visitor = await browser.context.newPage();
    const seen = await watchSnippet(visitor, stack);

    // Act
    await visitor.goto(site.url);
    await visitor.waitForFunction('typeof viewer !== "undefined" && viewer.world.getItemCount() === 1 && viewer.world.getItemAt(0).getFullyLoaded()', null, { timeout: WAIT_MS });

    // Assess: info.json and every tile asked for with the token; each tile a 302 to storage,
    // fetched there without it; nothing refused.
    await settledSnippet(seen);
    const tiles = seen.recto.filter((exchange) => !exchange.url.endsWith('/info.json')).map((exchange) => exchange.url);
    expect(tiles.length).toBeGreaterThan(0);
    expect(seen.recto.filter((exchange) => exchange.url.endsWith('/iiif/3/map/info.json')).map((exchange) => [exchange.status, exchange.authorization?.startsWith('Bearer ')])).toEqual([[200, true]]);
    expect(tileTrafficProblems(tiles, seen)).toEqual([]);
    expect(seen.errors).toEqual([]);
    await visitor.close();
  });
});

describe.skipIf(skipBrowserTests())('the page as a newcomer opens it, at 1400 x 1000 (docs/viewer.png)', () => {
  let stack: LocalStack;
  let browser: Browser;
  let directory: string;

  beforeAll(async () => {
    // Prepare: what `npm start` serves on a fresh clone: the samples, auth on.
    directory = await mkdtemp(path.join(tmpdir(), 'recto-newcomer-'));
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: directory, env: { IIIF_AUTH: 'on' }, imageDirs: [SAMPLES_DIR] });
    browser = await launchChromium(NEWCOMER_VIEWPORT);
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('opens on the map in a viewer whose navigator is in view, with the gallery of the samples below', async () => {
    // Act: the page as someone opening it sees it.
    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/`);
    await waitForViewer(page, 1);
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('.thumbnails img')).every((img) => img.dataset.state === 'loaded'), null, { timeout: WAIT_MS });
    const screenshot = path.join(RESULTS_DIR, 'viewer-readme.png');
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: screenshot });

    // Assess: the structured sample, its viewer and navigator within the window, the gallery
    // after the viewer, listing what a fresh clone has.
    expect(await page.textContent('#viewer-heading')).toBe('map');
    const navigator = await page.locator('#osd .navigator').boundingBox();
    const viewer = await page.locator('#osd').boundingBox();
    const gallery = await page.locator('.gallery').boundingBox();
    expect(navigator).not.toBeNull();
    expect((navigator?.y ?? Infinity) + (navigator?.height ?? 0)).toBeLessThanOrEqual(NEWCOMER_VIEWPORT.height);
    expect((viewer?.y ?? Infinity) + (viewer?.height ?? 0)).toBeLessThanOrEqual(NEWCOMER_VIEWPORT.height);
    expect(gallery?.y ?? 0).toBeGreaterThan(viewer?.y ?? Infinity);
    const samples = readdirSync(SAMPLES_DIR).map((file) => path.parse(file).name).sort();
    expect(await page.locator('.thumbnails .name').allTextContents()).toEqual(samples);

    // Assess: the README's picture is this page (written when missing, so a stale one is
    // deleted and made again by this test).
    if (!existsSync(README_SCREENSHOT)) await copyFile(screenshot, README_SCREENSHOT);
    const readme = await sharp(README_SCREENSHOT).metadata();
    expect([readme.format, readme.width, readme.height]).toEqual(['png', NEWCOMER_VIEWPORT.width, NEWCOMER_VIEWPORT.height]);
  });
});

describe.skipIf(skipBrowserTests())('the OpenSeadragon page of docs/viewers.md under public read', () => {
  it('draws every tile with no token at all once the image is pre-warmed', async () => {
    // Prepare: IIIF_PUBLIC_READ=true, an image called map (small, so pre-warming is quick) with
    // its tiles and sizes stored, and the page without its ajaxHeaders line.
    const directory = await mkdtemp(path.join(tmpdir(), 'recto-public-'));
    const images = path.join(directory, 'images');
    await mkdir(images);
    await writeFile(path.join(images, 'map.png'), (await gridImage({ width: 1600, height: 1200, cols: 4, rows: 3 })).png);
    const stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: path.join(directory, 'data'), env: { IIIF_AUTH: 'on', IIIF_PUBLIC_READ: 'true' }, imageDirs: [images], corsOrigins: REDIRECTED_PAGE_ORIGINS });
    const browser = await launchChromium();
    try {
      const report = await stack.services.prewarmer.run({ identifier: 'map', tiles: true, sizes: true, api: 'both' });
      expect(report.status).toBe('done');
      const html = viewersSnippet().replaceAll('http://127.0.0.1:3000', stack.url).split('\n').filter((line) => !line.includes('ajaxHeaders')).join('\n');
      const site = await servePage(html);
      try {
        const visitor = await browser.context.newPage();
        const seen = await watchSnippet(visitor, stack);

        // Act
        await visitor.goto(site.url);
        await visitor.waitForFunction('typeof viewer !== "undefined" && viewer.world.getItemCount() === 1 && viewer.world.getItemAt(0).getFullyLoaded()', null, { timeout: WAIT_MS });

        // Assess: no request carried a token, and every tile was a stored derivative's 302.
        await settledSnippet(seen);
        const tiles = seen.recto.filter((exchange) => !exchange.url.endsWith('/info.json'));
        expect(tiles.length).toBeGreaterThan(0);
        expect(seen.recto.filter((exchange) => exchange.authorization !== undefined)).toEqual([]);
        expect(tiles.map((exchange) => exchange.status)).toEqual(tiles.map(() => 302));
        expect(seen.errors).toEqual([]);
      } finally {
        await site.close();
      }
    } finally {
      await browser.close();
      await stack.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipBrowserTests())('the local page in Chromium (IIIF_AUTH=off)', () => {
  let stack: LocalStack;
  let browser: Browser;
  let directory: string;

  beforeAll(async () => {
    // Prepare: a plain image, and a JPEG cut short (its header reads, its pixels do not).
    directory = await mkdtemp(path.join(tmpdir(), 'recto-browser-off-'));
    const images = path.join(directory, 'images');
    await mkdir(images);
    await writeFile(path.join(images, 'plain.png'), (await gridImage({ width: 1200, height: 900, cols: 4, rows: 3 })).png);
    const photo = await photoLike({ width: 1600, height: 1200, format: 'jpeg', quality: 85 });
    await writeFile(path.join(images, 'truncated.jpg'), photo.subarray(0, Math.floor(photo.length / 3)));
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: path.join(directory, 'data'), env: { IIIF_AUTH: 'off' }, imageDirs: [images] });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('shows thumbnails and a deep-zoom viewer without any token', async () => {
    // Prepare
    const authorizations: (string | undefined)[] = [];
    const page = await browser.context.newPage();
    page.on('request', (request) => {
      if (request.url().startsWith(`${stack.url}/iiif/`)) authorizations.push(request.headers().authorization);
    });

    // Act
    await page.goto(`${stack.url}/?id=plain`);
    await waitForViewer(page, 1);
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('.thumbnails img')?.naturalWidth ?? 0) > 0, null, { timeout: WAIT_MS });

    // Assess: tiles drawn, none failed, no token asked for or sent.
    const state = await page.$eval('#osd', (element) => Object.fromEntries(Object.entries((element as HTMLElement).dataset)));
    expect(state).toMatchObject({ state: 'open', tilesFailed: '0', fullyLoaded: 'true' });
    expect(Number(state.tilesLoaded)).toBeGreaterThan(0);
    expect(await page.$eval('.thumbnails img', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight])).toEqual([300, 225]);
    expect(authorizations.length).toBeGreaterThan(0);
    expect(authorizations.filter((value) => value !== undefined)).toEqual([]);
    await page.close();
  });

  it('shows the service\'s own error for a source it cannot read, and offers none of its presets', async () => {
    // Prepare: what the service answers for one of its tiles.
    const answer = await fetch(`${stack.url}/iiif/3/truncated/0,0,512,512/512,/0/default.jpg`);
    const error = (await answer.json()) as { error: string; detail: string };
    expect([answer.status, error.error]).toEqual([422, 'SOURCE_UNREADABLE']);
    const page = await browser.context.newPage();

    // Act
    await page.goto(`${stack.url}/?id=truncated`);
    await page.waitForFunction(() => document.getElementById('osd')?.dataset.state === 'failed' && !/^Loading/.test(document.getElementById('presets-status')?.textContent ?? 'Loading'), null, { timeout: WAIT_MS });

    // Assess: the viewer says what the service said (code and message), not OpenSeadragon's
    // "XHR error"; the presets line claims nothing and lists no link.
    // (Which libvips line names the damage may differ between two requests: its error log is
    // one per process, shared by concurrent decodes. Recto's own words do not.)
    const detail = /^Expected a readable image for the source but received "[^"]+"$/;
    expect(error.detail).toMatch(detail);
    expect(await page.getAttribute('#osd', 'data-error')).toBe('SOURCE_UNREADABLE');
    const status = await page.textContent('#viewer-status');
    expect(status?.replace('This image cannot be shown: 422 SOURCE_UNREADABLE: ', '')).toMatch(detail);
    expect(status).not.toMatch(/XHR|abort/i);
    await page.waitForFunction(() => /^No preset can be made/.test(document.getElementById('presets-status')?.textContent ?? ''), null, { timeout: WAIT_MS });
    expect(await page.textContent('#presets-status')).toMatch(/^No preset can be made: the service cannot make images of this source \(422 SOURCE_UNREADABLE: Expected a readable image for the source but received "[^"]+"\)\.$/);
    expect(await page.locator('#presets a.preset').count()).toBe(0);
    await page.close();
  });
});

/** Wait until the viewer is open at `zoom` (relative to home), still, and has drawn all it needs. */
async function waitForViewer(page: Page, zoom: number): Promise<void> {
  await page.waitForFunction(
    (target) => {
      const data = document.getElementById('osd')?.dataset;
      return data?.state === 'open' && data.fullyLoaded === 'true' && data.animating !== 'true' && Number(data.zoom ?? '1') >= target;
    },
    zoom * 0.99,
    { timeout: WAIT_MS },
  );
}

/** The URLs of the tiles the viewer has loaded so far, oldest first. */
function drawnTiles(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { rectoDrawnTiles?: string[] }).rectoDrawnTiles ?? []]);
}

/**
 * Wait, within SETTLE_MS, until `done()` holds and no listener is still reading a response; if
 * it never holds, return anyway and let the assertion that follows say what is missing.
 */
async function settled(traffic: Traffic, done: () => boolean): Promise<void> {
  await waitFor(() => traffic.pending.size === 0 && done(), SETTLE_MS, 100, 'tile traffic recorded').catch(() => undefined);
}

async function record(response: Response, stack: LocalStack, traffic: Traffic): Promise<void> {
  const request = response.request();
  const url = response.url();
  if (request.resourceType() === 'document') return;
  // allHeaders: what went on the wire, not the page's provisional view.
  const headers: Record<string, string> = await request.allHeaders().catch(() => ({}));
  const entry: Exchange = { url, status: response.status(), authorization: headers.authorization, location: await response.headerValue('location').catch(() => null) ?? undefined };
  if (url.startsWith(stack.s3Endpoint.origin)) traffic.storage.push(entry);
  else if (url.startsWith(`${stack.url}/iiif/`) && !url.endsWith('/info.json') && !url.includes('/iiif/presets/')) traffic.recto.push(entry);
}

/**
 * How much of a screenshot is the grid: the share of pixels within COLOUR_TOLERANCE of some
 * cell's colour, which cells appear (by at least 1% of the pixels), and the standard deviation of
 * the luminance (a blank canvas has none).
 */
async function gridCoverage(png: Buffer, grid: Grid): Promise<{ share: number; cells: Set<string>; deviation: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const palette: { key: string; r: number; g: number; b: number }[] = [];
  for (let row = 0; row < grid.rows; row++) for (let col = 0; col < grid.cols; col++) palette.push({ key: `${col},${row}`, ...grid.cellColour(col, row) });
  const counts = new Map<string, number>();
  let matched = 0;
  let sum = 0;
  let sumSquares = 0;
  const pixels = info.width * info.height;
  for (let i = 0; i < pixels; i++) {
    const r = data[i * 3] ?? 0;
    const g = data[i * 3 + 1] ?? 0;
    const b = data[i * 3 + 2] ?? 0;
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += luminance;
    sumSquares += luminance * luminance;
    const cell = palette.find((c) => Math.abs(c.r - r) <= COLOUR_TOLERANCE && Math.abs(c.g - g) <= COLOUR_TOLERANCE && Math.abs(c.b - b) <= COLOUR_TOLERANCE);
    if (cell !== undefined) {
      matched += 1;
      counts.set(cell.key, (counts.get(cell.key) ?? 0) + 1);
    }
  }
  const mean = sum / pixels;
  const cells = new Set([...counts].filter(([, count]) => count >= pixels / 100).map(([key]) => key));
  return { share: matched / pixels, cells, deviation: Math.sqrt(Math.max(0, sumSquares / pixels - mean * mean)) };
}

/** The first ```html block of docs/viewers.md: the OpenSeadragon page, as readers copy it. */
function viewersSnippet(): string {
  const markdown = readFileSync(VIEWERS_MANUAL, 'utf8');
  const block = /^```html\n([\s\S]*?)^```/m.exec(markdown)?.[1];
  if (block === undefined) throw new Error(`Expected an html block in ${VIEWERS_MANUAL} but found none`);
  return block;
}

/** An HTTP server on an ephemeral loopback port answering `/` with this page (another origin than the stack). */
async function servePage(html: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    if ((request.url ?? '/') === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve();
  }));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    }),
  };
}

/** What a page running the snippet sent and received. */
interface SnippetTraffic {
  readonly recto: Exchange[];
  readonly storage: Exchange[];
  /** Answers of 400 and above from Recto or storage, page errors, console errors. */
  readonly errors: string[];
  readonly pending: Set<Promise<void>>;
}

/**
 * Serve OpenSeadragon's CDN URLs from node_modules (the test has no network), and record the
 * page's exchanges with Recto and storage.
 */
async function watchSnippet(page: Page, stack: LocalStack): Promise<SnippetTraffic> {
  const require = createRequire(import.meta.url);
  const osd = path.join(path.dirname(require.resolve('openseadragon/package.json')), 'build', 'openseadragon');
  await page.route(`${OSD_CDN}**`, async (route) => {
    const file = path.join(osd, new URL(route.request().url()).pathname.slice(new URL(OSD_CDN).pathname.length));
    const type = file.endsWith('.js') ? 'text/javascript' : 'image/png';
    await route.fulfill({ status: 200, contentType: type, body: await readFile(file) });
  });
  const seen: SnippetTraffic = { recto: [], storage: [], errors: [], pending: new Set() };
  page.on('pageerror', (error) => seen.errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    const recording = (async () => {
      const url = response.url();
      const headers: Record<string, string> = await response.request().allHeaders().catch(() => ({}));
      const entry: Exchange = { url, status: response.status(), authorization: headers.authorization, location: (await response.headerValue('location').catch(() => null)) ?? undefined };
      if (url.startsWith(`${stack.url}/iiif/`)) seen.recto.push(entry);
      else if (url.startsWith(stack.s3Endpoint.origin)) seen.storage.push(entry);
      else return;
      if (entry.status >= 400) seen.errors.push(`${entry.status} ${url}`);
    })().finally(() => seen.pending.delete(recording));
    seen.pending.add(recording);
  });
  return seen;
}

/** Wait, within SETTLE_MS, until no listener is still reading a response. */
async function settledSnippet(seen: SnippetTraffic): Promise<void> {
  await waitFor(() => seen.pending.size === 0, SETTLE_MS, 100, 'snippet traffic recorded').catch(() => undefined);
}
