/**
 * Identifiers: percent-decoded exactly once on the way in, percent-encoded exactly once on the
 * way out (storage keys, canonical URLs). 3.0 §3 and 2.1 §3: an identifier's "/" and other
 * reserved characters arrive percent-encoded.
 */
import { IiifRequestError, expected } from '../errors.js';

/**
 * The longest identifier, in bytes once percent-encoded (as it appears in keys and URLs). S3 keys
 * are at most 1024 bytes; the longest derivative suffix and a prefix must still fit.
 */
export const MAX_IDENTIFIER_BYTES = 512;

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators: matching them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// A surrogate without its pair is not Unicode text: encodeURIComponent throws a URIError on it,
// which would escape as a 500 from storageKey/canonicalUrl instead of a 400 here.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Decode one path segment into an identifier.
 * @throws IiifRequestError IIIF_INVALID_IDENTIFIER: malformed percent-encoding, empty, control
 *   characters, unpaired surrogates, a `.` or `..` path segment, or longer than
 *   MAX_IDENTIFIER_BYTES once percent-encoded.
 */
export function decodeIdentifier(segment: string): string {
  const identifier = decodeSegment(segment, 'identifier', 'IIIF_INVALID_IDENTIFIER');
  const problem = identifierProblem(identifier);
  if (problem !== undefined) {
    throw new IiifRequestError('IIIF_INVALID_IDENTIFIER', expected(problem, 'identifier', identifier));
  }
  return identifier;
}

function identifierProblem(identifier: string): string | undefined {
  if (identifier === '') return 'a non-empty identifier';
  if (CONTROL.test(identifier)) return 'an identifier without control characters';
  if (LONE_SURROGATE.test(identifier)) return 'an identifier of well-formed Unicode';
  if (identifier.split('/').some((part) => part === '.' || part === '..')) {
    return 'an identifier without "." or ".." path segments';
  }
  // Measured as it appears in keys (percent-encoded, up to 3 bytes per byte), not decoded: a
  // 512-byte identifier of "/" is 1536 bytes in a key, past S3's 1024.
  if (encodeIdentifier(identifier).length > MAX_IDENTIFIER_BYTES) {
    return `an identifier of at most ${MAX_IDENTIFIER_BYTES} bytes once percent-encoded`;
  }
  return undefined;
}

/**
 * Encode an identifier as one path segment: everything but RFC 3986 unreserved characters is
 * percent-encoded, so the result is the same however the client spelled the request.
 */
export function encodeIdentifier(identifier: string): string {
  return encodeURIComponent(identifier).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Percent-decode one URL path segment once.
 * @throws IiifRequestError with the given code when the encoding is malformed.
 */
export function decodeSegment(
  segment: string,
  part: string,
  code: 'IIIF_INVALID_IDENTIFIER' | 'IIIF_INVALID_PATH' | 'IIIF_INVALID_REGION' | 'IIIF_INVALID_SIZE' | 'IIIF_INVALID_ROTATION' | 'IIIF_INVALID_FORMAT',
): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new IiifRequestError(code, expected('valid percent-encoding', part, segment), { cause });
  }
}
