/**
 * The local stack's page at `/`: for the chosen image (`/?id=…`, else the `map` sample, else the
 * first source) a deep-zoom viewer driven by its IIIF 3.0 info.json, first on the page so it is
 * in view on opening; its preset links, its info.json links and a form that builds any IIIF URL;
 * then a gallery of every source (thumbnails through the IIIF API).
 *
 * The HTML is plain and works as a document on its own (headings, lists, labelled form fields);
 * viewer/client/app.ts brings it to life: OpenSeadragon, thumbnails and results fetched with the
 * token when auth is on (an <img> cannot send `Authorization`), presets, the URL builder. Every
 * URL on the page is relative, so the page works under whichever loopback name the browser used.
 */
import { encodeIdentifier, QUALITIES, RENDERABLE_FORMATS } from '../../lib/iiif/index.js';
import type { Services } from '../../lib/entry/wiring.js';
import { VIEWER_ASSET_PATHS } from './viewer/assets.js';
import { LOCAL_TOKEN_PATH } from './viewer/token-endpoint.js';

/** The thumbnail every gallery entry shows (the brief's size: fits in 300 x 300). */
export const THUMBNAIL_PATH = 'full/!300,300/0/default.jpg';

/** The sample the page opens without `?id=`: it has something to see at every zoom level. */
export const FIRST_SHOWN = 'map';

/** The first `limit` identifiers of the source bucket, sorted (the same listing pre-warming uses). */
export async function listSourceIdentifiers(services: Services, limit = 500): Promise<string[]> {
  const identifiers: string[] = [];
  for await (const identifier of services.sources.listIdentifiers()) {
    identifiers.push(identifier);
    if (identifiers.length >= limit) break;
  }
  return identifiers.sort();
}

export interface HomePageOptions {
  /** The identifier asked for with `?id=`; FIRST_SHOWN, else the first source, when absent. */
  readonly selected?: string;
}

export interface HomePage {
  /** 404 when `?id=` names no source (the page still lists the ones there are). */
  readonly status: 200 | 404;
  readonly html: string;
}

/** The page for the sources the stack serves now. */
export async function renderHomePage(services: Services, options: HomePageOptions = {}): Promise<HomePage> {
  const identifiers = await listSourceIdentifiers(services);
  const auth = services.config.auth.enabled;
  const missing = options.selected !== undefined && !identifiers.includes(options.selected);
  const selected = missing ? undefined : (options.selected ?? (identifiers.includes(FIRST_SHOWN) ? FIRST_SHOWN : identifiers[0]));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${selected === undefined ? '' : `${escapeHtml(selected)} · `}Recto (local stack)</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${VIEWER_ASSET_PATHS.style}">
<script src="${VIEWER_ASSET_PATHS.script}" defer></script>
</head>
<body data-auth="${auth ? 'on' : 'off'}" data-token-url="${LOCAL_TOKEN_PATH}" data-viewer-images="${VIEWER_ASSET_PATHS.images}">
<header>
<h1>Recto <span class="subtitle">local stack</span></h1>
${authNote(auth)}
</header>
<main>
${missing ? `<p class="error" role="alert">There is no source named <code>${escapeHtml(options.selected)}</code>: choose one below.</p>\n` : ''}${selected === undefined ? '' : viewerSection(selected)}
${gallerySection(identifiers, selected, auth)}
</main>
<footer><p>IIIF Image API 3.0 and 2.1 · <a href="https://iiif.io/api/image/3.0/">specification</a> · viewer: <a href="https://openseadragon.github.io/">OpenSeadragon</a></p></footer>
</body>
</html>
`;
  return { status: missing ? 404 : 200, html };
}

function authNote(auth: boolean): string {
  return auth
    ? `<p class="note">Auth is on. This page asks the stack for a short-lived token (<code>${LOCAL_TOKEN_PATH}</code>, answered to this machine only) and sends it as <code>Authorization: Bearer</code>. For curl: <code>TOKEN=$(npm run -s token)</code>.</p>`
    : '<p class="note">Auth is off (<code>IIIF_AUTH=off</code>): every request is anonymous.</p>';
}

function gallerySection(identifiers: readonly string[], selected: string | undefined, auth: boolean): string {
  const items = identifiers.map((identifier) => {
    const id = encodeIdentifier(identifier);
    const thumbnail = `/iiif/3/${id}/${THUMBNAIL_PATH}`;
    // With auth off the browser loads thumbnails itself (no script needed); with auth on the
    // script fetches them with the token and shows them from blob URLs.
    const source = auth ? `data-iiif-src="${thumbnail}"` : `src="${thumbnail}" loading="lazy"`;
    const current = identifier === selected ? ' aria-current="page"' : '';
    return `<li><a href="/?id=${id}#viewer"${current}><img ${source} alt="" width="150" height="150"><span class="name">${escapeHtml(identifier)}</span></a></li>`;
  });
  return `<section class="gallery" aria-labelledby="gallery-heading">
<h2 id="gallery-heading">Sources <span class="count">(${identifiers.length})</span></h2>
${
  identifiers.length === 0
    ? '<p>No sources yet: put images in <code>samples/</code> or <code>$LOCAL_IMAGES_DIR</code> and restart.</p>'
    : `<ul class="thumbnails">\n${items.join('\n')}\n</ul>`
}
</section>`;
}

function viewerSection(identifier: string): string {
  const id = encodeIdentifier(identifier);
  const name = escapeHtml(identifier);
  // The format menu offers what Recto renders: jp2 and pdf parse but would be answered 501.
  const options = (values: readonly string[], chosen: string): string =>
    values.map((value) => `<option${value === chosen ? ' selected' : ''}>${value}</option>`).join('');
  return `<section id="viewer" class="viewer" aria-labelledby="viewer-heading" data-identifier="${name}" data-encoded-identifier="${id}">
<h2 id="viewer-heading">${name}</h2>
<div id="osd" class="osd" role="region" aria-label="Deep-zoom view of ${name}: drag to pan, scroll or use the buttons to zoom" data-state="loading" data-info-url="/iiif/3/${id}/info.json"></div>
<p id="viewer-status" class="status" role="status" aria-live="polite">Loading the viewer…</p>

<div class="columns">
<section aria-labelledby="links-heading">
<h3 id="links-heading">Links</h3>
<ul>
<li><a href="/iiif/3/${id}/info.json">info.json (IIIF 3.0)</a></li>
<li><a href="/iiif/2/${id}/info.json">info.json (IIIF 2.1)</a></li>
</ul>
<h3 id="presets-heading">Presets</h3>
<p id="presets-status" class="status" role="status" aria-live="polite">Loading presets…</p>
<ul id="presets" aria-labelledby="presets-heading"></ul>
</section>

<section aria-labelledby="builder-heading">
<h3 id="builder-heading">Build a IIIF URL</h3>
<form id="builder" class="builder" novalidate>
<div class="field"><label for="version">API version</label>
<select id="version" name="version">${options(['3', '2'], '3')}</select></div>
<div class="field"><label for="region">Region</label>
<input id="region" name="region" value="full" spellcheck="false" autocomplete="off" aria-describedby="region-help">
<small id="region-help">full, square, x,y,w,h or pct:x,y,w,h</small></div>
<div class="field"><label for="size">Size</label>
<input id="size" name="size" value="!800,800" spellcheck="false" autocomplete="off" aria-describedby="size-help">
<small id="size-help">max, w,, ,h, pct:n, w,h or !w,h (3.0: ^ to upscale; 2.1: full)</small></div>
<div class="field"><label for="rotation">Rotation</label>
<input id="rotation" name="rotation" value="0" spellcheck="false" autocomplete="off" aria-describedby="rotation-help">
<small id="rotation-help">degrees clockwise, 0 to 360; ! first to mirror, e.g. !90</small></div>
<div class="field"><label for="quality">Quality</label>
<select id="quality" name="quality">${options(QUALITIES, 'default')}</select></div>
<div class="field"><label for="format">Format</label>
<select id="format" name="format">${options(RENDERABLE_FORMATS, 'jpg')}</select></div>
<p id="builder-error" class="error" role="alert" hidden></p>
<p class="built">URL: <a id="builder-url" href="/iiif/3/${id}/full/!800,800/0/default.jpg"><code>/iiif/3/${id}/full/!800,800/0/default.jpg</code></a></p>
<button type="submit">Show the image</button>
</form>
<figure class="result">
<img id="result-image" alt="" hidden>
<figcaption id="result-status" role="status" aria-live="polite">The result appears here.</figcaption>
</figure>
</section>
</div>
</section>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
