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

export function startBuilder(form: HTMLFormElement, identifier: string, session: Session, result: ResultFigure): void {
  const link = form.querySelector<HTMLAnchorElement>('#builder-url');
  const error = form.querySelector<HTMLElement>('#builder-error');
  if (link === null || error === null) return;
  const value = (name: string): string => {
    const field = form.elements.namedItem(name);
    return field instanceof HTMLInputElement || field instanceof HTMLSelectElement ? field.value.trim() : '';
  };

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
      return path;
    } catch (problem) {
      if (!(problem instanceof RectoError)) throw problem;
      const field = form.elements.namedItem(FIELD_OF_CODE[problem.code] ?? '');
      if (field instanceof HTMLElement) field.setAttribute('aria-invalid', 'true');
      error.textContent = problem.message;
      error.hidden = false;
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
}
