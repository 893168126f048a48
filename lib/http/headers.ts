/** Headers every answer carries, and the ones particular answers add. */

/** On every answer, errors included. info.json must say exactly `*`, not the caller's origin. */
export const COMMON_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Link, Location, Retry-After, WWW-Authenticate',
  'x-content-type-options': 'nosniff',
} as const;

export const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Authorization, Accept, Content-Type, Range',
  'access-control-max-age': '86400',
} as const;

export const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';

/** `Link` for an image answer: the compliance profile and the canonical URL, as the IIIF spec asks of every image. */
export function imageLinkHeader(profileUrl: string, canonicalUrl: string): string {
  return `<${profileUrl}>;rel="profile", <${canonicalUrl}>;rel="canonical"`;
}
