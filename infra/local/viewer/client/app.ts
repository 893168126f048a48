/**
 * The local page's script (bundled by infra/local/viewer/assets.ts with OpenSeadragon): the
 * gallery's thumbnails, the deep-zoom viewer, presets and the URL builder. The page's HTML
 * (infra/local/home-page.ts) says what to do through data attributes; with auth on, every
 * request carries a token from the loopback token endpoint.
 */
import { startBuilder } from './builder.js';
import { Session } from './http.js';
import { showPresets } from './presets.js';
import { ResultFigure } from './result.js';
import { SourceHealth } from './source-health.js';
import { startViewer } from './viewer.js';

/** Thumbnails fetched at once: enough to fill the gallery quickly, few enough to leave the viewer room. */
const THUMBNAIL_CONCURRENCY = 4;

function main(): void {
  const body = document.body;
  const session = new Session(body.dataset.auth === 'on' ? body.dataset.tokenUrl : undefined);
  void loadThumbnails(session);

  const section = document.getElementById('viewer');
  if (section === null) return;
  const identifier = section.dataset.identifier ?? '';
  const encoded = section.dataset.encodedIdentifier ?? '';
  const health = new SourceHealth();
  const container = document.getElementById('osd');
  const status = document.getElementById('viewer-status');
  if (container !== null && status !== null) {
    void startViewer({ container, status, imagesUrl: body.dataset.viewerImages ?? '/viewer/images/', health }, session);
  }

  const image = document.getElementById('result-image');
  const caption = document.getElementById('result-status');
  if (!(image instanceof HTMLImageElement) || caption === null) return;
  const result = new ResultFigure(image, caption);
  const form = document.getElementById('builder');
  const builder = form instanceof HTMLFormElement ? startBuilder(form, identifier, session, result) : undefined;
  const presets = document.getElementById('presets');
  const presetsStatus = document.getElementById('presets-status');
  if (presets !== null && presetsStatus !== null) {
    void showPresets(presets, presetsStatus, encoded, session, result, {
      health,
      onChoose: (url) => {
        builder?.select(url);
      },
    });
  }
}

/** With auth on, thumbnails come as `data-iiif-src`: fetch each with the token, show its blob. */
async function loadThumbnails(session: Session): Promise<void> {
  const pending = Array.from(document.querySelectorAll<HTMLImageElement>('img[data-iiif-src]'));
  const worker = async (): Promise<void> => {
    for (let image = pending.shift(); image !== undefined; image = pending.shift()) {
      const url = image.dataset.iiifSrc ?? '';
      try {
        image.src = URL.createObjectURL(await session.image(url));
        image.dataset.state = 'loaded';
      } catch (error) {
        image.dataset.state = 'failed';
        image.title = `Thumbnail failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: THUMBNAIL_CONCURRENCY }, worker));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
