/**
 * From a raw path to a route, by shape only (segment counts and the version prefix). Whether
 * the parts are valid IIIF is lib/iiif's to say, so a `<` in a region is a 400 naming the
 * region, not a router 404.
 */
import type { ApiVersion, ImagePathSegments } from '../iiif/index.js';

export type Route =
  | { readonly kind: 'base'; readonly version: ApiVersion; readonly prefix: string; readonly identifier: string }
  | { readonly kind: 'info'; readonly version: ApiVersion; readonly prefix: string; readonly identifier: string }
  | { readonly kind: 'image'; readonly version: ApiVersion; readonly prefix: string; readonly segments: ImagePathSegments }
  | { readonly kind: 'presets'; readonly identifier: string }
  | { readonly kind: 'not-found' };

const ROOT = '/iiif';
/** Paths longer than this are refused before any parsing (API Gateway itself caps URLs near 8 KB). */
export const MAX_PATH_LENGTH = 8192;

/**
 * Route a raw path. `/iiif/2/…` and `/iiif/3/…` name their version; `/iiif/{id}/…` uses the
 * default. A first segment of `2`, `3` or `presets` is always a prefix, never an identifier.
 */
export function route(path: string, defaultVersion: ApiVersion): Route {
  if (path.length > MAX_PATH_LENGTH || !path.startsWith(`${ROOT}/`)) return { kind: 'not-found' };
  const segments = path.slice(ROOT.length + 1).split('/');
  const [first, ...rest] = segments;
  if (first === 'presets') {
    return rest.length === 1 && rest[0] !== undefined ? { kind: 'presets', identifier: rest[0] } : { kind: 'not-found' };
  }
  if (first === '2' || first === '3') return routeVersioned(first, `${ROOT}/${first}`, rest);
  return routeVersioned(defaultVersion, ROOT, segments);
}

function routeVersioned(version: ApiVersion, prefix: string, segments: readonly string[]): Route {
  const [identifier, region, size, rotation, qualityFormat] = segments;
  if (identifier === undefined) return { kind: 'not-found' };
  switch (segments.length) {
    case 1:
      return { kind: 'base', version, prefix, identifier };
    case 2:
      return region === 'info.json' ? { kind: 'info', version, prefix, identifier } : { kind: 'not-found' };
    case 5:
      if (region === undefined || size === undefined || rotation === undefined || qualityFormat === undefined) {
        return { kind: 'not-found' };
      }
      return { kind: 'image', version, prefix, segments: { identifier, region, size, rotation, qualityFormat } };
    default:
      // Includes identifiers with an unescaped "/": never a 200, whatever the route.
      return { kind: 'not-found' };
  }
}
