/**
 * The two ways a TIFF read by ranges fails on purpose: bytes that are not what the format
 * promises (a corrupt or truncated file, 422) and a valid file using something this reader does
 * not decode (501). Messages follow "Expected ⟨what⟩ for ⟨part⟩ but received ⟨value⟩".
 */
import { SourceError, UnsupportedError, expected } from '../../errors.js';

/** A `SOURCE_UNREADABLE` SourceError: the file breaks the TIFF (or JPEG, zlib, LZW) format. */
export function corrupt(what: string, part: string, received: string | number, cause?: unknown): SourceError {
  return new SourceError('SOURCE_UNREADABLE', expected(what, part, String(received)), cause === undefined ? {} : { cause });
}

/** A `SOURCE_FORMAT_NOT_SUPPORTED` UnsupportedError: a valid TIFF feature this reader lacks. */
export function unsupported(what: string, part: string, received: string | number): UnsupportedError {
  return new UnsupportedError('SOURCE_FORMAT_NOT_SUPPORTED', expected(what, part, String(received)));
}
