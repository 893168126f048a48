/**
 * The deep-zoom viewer: OpenSeadragon on the image's IIIF 3.0 info.json. Tiles are fetched with
 * XHR (`loadTilesWithAjax`) so they carry the token; each follows its 302 to the embedded S3.
 *
 * The viewer element's data attributes say what it is doing (state, tiles loaded and failed,
 * zoom, whether everything in view is loaded), for people debugging and for the browser test;
 * each tile drawn is also announced as a `recto:tile-loaded` DOM event whose detail is its URL.
 */
import OpenSeadragon from 'openseadragon';
import { RequestError, type Session } from './http.js';
import { SourceHealth } from './source-health.js';

export interface ViewerElements {
  /** The element OpenSeadragon fills; `data-info-url` names the info.json. */
  readonly container: HTMLElement;
  /** A live region for what the viewer is doing. */
  readonly status: HTMLElement;
  /** Where OpenSeadragon's button images are served. */
  readonly imagesUrl: string;
  /** Told when the service says no image of this source can be made. */
  readonly health: SourceHealth;
}

/** The DOM event the viewer element dispatches for every tile it has loaded and can draw. */
export const TILE_LOADED_EVENT = 'recto:tile-loaded';

export interface TileLoaded {
  /** The IIIF URL OpenSeadragon asked for (before the redirect to storage). */
  readonly url: string;
}

interface InfoSummary {
  readonly width: number;
  readonly height: number;
  readonly tileWidth: number | undefined;
}

export async function startViewer(elements: ViewerElements, session: Session): Promise<OpenSeadragon.Viewer | undefined> {
  const { container, status, health } = elements;
  const infoUrl = container.dataset.infoUrl ?? '';
  // The service's own answer, shown as it is (code and message), once, for the whole viewer.
  const cannotShow = (error: RequestError): void => {
    container.dataset.state = 'failed';
    if (error.code !== undefined) container.dataset.error = error.code;
    status.textContent = `This image cannot be shown: ${error.message}`;
    health.fail(error);
  };
  let info: unknown;
  try {
    info = await session.json(infoUrl);
  } catch (error) {
    if (error instanceof RequestError && SourceHealth.isAboutSource(error)) {
      cannotShow(error);
      return undefined;
    }
    container.dataset.state = 'failed';
    status.textContent = `Could not load info.json: ${error instanceof Error ? error.message : String(error)}`;
    return undefined;
  }
  const summary = summarise(info);

  const viewer = OpenSeadragon({
    element: container,
    tileSources: info as object,
    prefixUrl: elements.imagesUrl,
    // XHR for tiles, so they can carry Authorization; the blob it yields is same-origin, so the
    // canvas stays readable.
    loadTilesWithAjax: true,
    ajaxHeaders: await session.headers(),
    crossOriginPolicy: 'Anonymous',
    // The 2D canvas drawer: no WebGL needed (headless browsers, remote desktops).
    drawer: 'canvas',
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    // Two screen pixels per image pixel at most: closer shows nothing new.
    maxZoomPixelRatio: 2,
    visibilityRatio: 0.5,
  });
  session.onRenew((headers) => {
    viewer.setAjaxHeaders(headers);
  });

  let loaded = 0;
  let failed = 0;
  const set = (name: string, value: string): void => {
    container.dataset[name] = value;
  };
  set('tilesLoaded', '0');
  set('tilesFailed', '0');
  viewer.addHandler('open', () => {
    set('state', 'open');
    status.textContent = describe(summary);
  });
  viewer.addHandler('open-failed', (event) => {
    set('state', 'failed');
    status.textContent = `The viewer could not open this image: ${event.message}`;
  });
  viewer.addHandler('tile-loaded', (event) => {
    loaded += 1;
    set('tilesLoaded', String(loaded));
    container.dispatchEvent(new CustomEvent<TileLoaded>(TILE_LOADED_EVENT, { bubbles: true, detail: { url: event.tile.getUrl() } }));
  });
  viewer.addHandler('tile-load-failed', (event) => {
    failed += 1;
    set('tilesFailed', String(failed));
    // The tile's XHR holds the service's answer: say what it said, not OpenSeadragon's "XHR error".
    const answer = RequestError.fromXhr((event as { tileRequest?: XMLHttpRequest }).tileRequest);
    if (answer !== undefined && SourceHealth.isAboutSource(answer)) {
      if (health.failure === undefined) cannotShow(answer);
      return;
    }
    if (health.failure !== undefined) return;
    status.textContent = `A tile failed to load (${failed} so far): ${answer?.message ?? event.message}`;
  });
  viewer.addHandler('fully-loaded-change', (event) => {
    set('fullyLoaded', String(event.fullyLoaded));
  });
  viewer.addHandler('animation-start', () => {
    set('animating', 'true');
  });
  viewer.addHandler('animation-finish', () => {
    set('animating', 'false');
    // Zoom relative to the whole image in view: 1 at home, 4 after zooming in four times over.
    const zoom = viewer.viewport.getZoom(true) / viewer.viewport.getHomeZoom();
    set('zoom', zoom.toFixed(2));
  });
  return viewer;
}

function summarise(info: unknown): InfoSummary {
  const record = (info ?? {}) as { width?: unknown; height?: unknown; tiles?: { width?: unknown }[] };
  const tileWidth = record.tiles?.[0]?.width;
  return {
    width: typeof record.width === 'number' ? record.width : 0,
    height: typeof record.height === 'number' ? record.height : 0,
    tileWidth: typeof tileWidth === 'number' ? tileWidth : undefined,
  };
}

function describe(summary: InfoSummary): string {
  const tiles = summary.tileWidth === undefined ? '' : `, tiles of ${summary.tileWidth} px`;
  return `${summary.width} × ${summary.height} px${tiles}. Drag to pan; zoom with the mouse wheel, the + and − buttons, or the keyboard (+, −, arrows) once the view has focus.`;
}
