/**
 * The URL builder: region, size, rotation, quality, format and version become a IIIF URL as
 * they are typed, checked with the service's own grammar (infra/cli/iiif-url.ts), and the
 * result is fetched and shown on submit.
 */
import { API_VERSIONS, type ApiVersion } from '../../../../lib/iiif/index.js';
import { RectoError } from '../../../../lib/errors.js';
import { imageRequestPath } from '../../../cli/iiif-url.js';
import type { Session } from './http.js';
import type { ResultFigure } from './result.js';

/** Which form field each error code is about, so the message lands next to it. */
const FIELD_OF_CODE: Readonly<Record<string, string>> = {
  IIIF_INVALID_REGION: 'region',
  IIIF_INVALID_SIZE: 'size',
  IIIF_INVALID_ROTATION: 'rotation',
  IIIF_INVALID_QUALITY: 'quality',
  IIIF_INVALID_FORMAT: 'format',
};

/** What the rest of the page may ask of the builder. */
export interface Builder {
  /** Fill the form from a IIIF image URL of this image (a preset's), so the URL line shows it. */
  select(url: string): void;
}

/** The parts of a IIIF image request path, from `/iiif/{version}/{id}/…` onwards. */
const IMAGE_PATH = /\/iiif\/([23])\/[^/]+\/([^/]+)\/([^/]+)\/([^/]+)\/([^/.]+)\.([^/.]+)$/;

export function startBuilder(form: HTMLFormElement, identifier: string, session: Session, result: ResultFigure): Builder {
  const link = form.querySelector<HTMLAnchorElement>('#builder-url');
  const error = form.querySelector<HTMLElement>('#builder-error');
  if (link === null || error === null) return { select: () => undefined };
  const value = (name: string): string => {
    const field = form.elements.namedItem(name);
    return field instanceof HTMLInputElement || field instanceof HTMLSelectElement ? field.value.trim() : '';
  };
  const setValue = (name: string, text: string): void => {
    const field = form.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = text;
  };
  /** The URL the line shows; the result figure only keeps an image of that URL. */
  let shown: string | undefined = link.getAttribute('href') ?? undefined;

  /** The URL the form describes now, or undefined (and the reason shown) when it is not valid IIIF. */
  const build = (): string | undefined => {
    for (const field of Array.from(form.querySelectorAll('[aria-invalid]'))) field.removeAttribute('aria-invalid');
    const version = value('version');
    try {
      const path = imageRequestPath({
        identifier,
        version: (API_VERSIONS as readonly string[]).includes(version) ? (version as ApiVersion) : '3',
        region: value('region'),
        size: value('size'),
        rotation: value('rotation'),
        quality: value('quality'),
        format: value('format'),
      });
      error.hidden = true;
      link.href = path;
      link.textContent = new URL(path, location.href).href;
      shown = path;
      return path;
    } catch (problem) {
      if (!(problem instanceof RectoError)) throw problem;
      const field = form.elements.namedItem(FIELD_OF_CODE[problem.code] ?? '');
      if (field instanceof HTMLElement) field.setAttribute('aria-invalid', 'true');
      error.textContent = problem.message;
      error.hidden = false;
      // No URL stands for the form now: neither the last good one nor its image.
      if (shown !== undefined) result.clear('No image: the form does not describe a valid IIIF URL.');
      shown = undefined;
      link.removeAttribute('href');
      link.textContent = '(none: correct the field marked above)';
      return undefined;
    }
  };

  form.addEventListener('input', () => {
    build();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const path = build();
    if (path !== undefined) void result.show(path, session);
  });
  build();
  return {
    select(url) {
      const match = IMAGE_PATH.exec(new URL(url, location.href).pathname);
      if (match === null) return;
      const [, version = '3', region = '', size = '', rotation = '', quality = '', format = ''] = match;
      setValue('version', version);
      for (const [name, text] of [['region', region], ['size', size], ['rotation', rotation], ['quality', quality], ['format', format]] as const) {
        setValue(name, decodeURIComponent(text));
      }
      build();
    },
  };
}
