/**
 * Headless Chromium for the browser tests: Debian's `chromium` package (no browser download),
 * driven by playwright-core, with a fresh profile in a temp directory every launch.
 *
 * Where /usr/bin/chromium is absent the tests are skipped with a printed notice, except under
 * CI=true, where a missing browser is a failure: CI must prove the page works.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** How CI installs it (.ci/run). */
export const CHROMIUM_INSTALL = 'apt-get install -y chromium';

/** Flags for a quiet, reproducible headless run: no GPU, no background traffic, no sandbox (containers). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export const chromiumAvailable = existsSync(CHROMIUM_PATH);
export const onCi = process.env.CI === 'true';

/** True when the browser tests should be skipped (no browser, not CI); prints why, once. */
let noticePrinted = false;

export function skipBrowserTests(): boolean {
  if (chromiumAvailable || onCi) return false;
  if (noticePrinted) return true;
  noticePrinted = true;
  console.warn(`[browser tests skipped] ${CHROMIUM_PATH} is absent. Install it (${CHROMIUM_INSTALL}) to run them; under CI=true they fail instead.`);
  return true;
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A browser with a fresh profile (`--user-data-dir` in a temp directory, which Playwright sets
 * through launchPersistentContext), removed on close.
 * @throws Error naming the path and the install command when Chromium is absent (CI).
 */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  if (!chromiumAvailable) {
    throw new Error(`Expected Chromium at ${CHROMIUM_PATH} (CI=true makes the browser tests mandatory) but it is absent: ${CHROMIUM_INSTALL}`);
  }
  const profile = await mkdtemp(path.join(tmpdir(), 'recto-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport,
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
