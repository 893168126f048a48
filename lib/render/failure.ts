/**
 * The one place where a failure inside sharp/libvips becomes a Recto error. sharp reports every
 * failure as a plain Error whose message is the libvips error log; the few messages that mean
 * something other than "these bytes are not a readable image" are recognised here, and nothing
 * raw leaves lib/render.
 */
import { RectoError, SourceError, UnavailableError, expected } from '../errors.js';

/** How long a client should wait after a render ran out of time: long enough for a pre-warm. */
export const RENDER_TIMEOUT_RETRY_SECONDS = 30;

const PIXEL_LIMIT = /exceeds pixel limit/i;
// libvips' eval watchdog, as sharp's timeout() arms it: "timeout: 42% complete".
const TIMEOUT = /\btimeout: \d+% complete/i;
const UNKNOWN_FORMAT = /unsupported image format|is not a known (file )?format/i;
// sharp's own line when failOn stops a load; the warning itself sits in libvips' error buffer,
// which is shared by the whole process, so a concurrent pipeline may have taken it.
const FAIL_ON_NOTE = /^Warning treated as error due to failOn setting/i;
const STOPPED_AT_WARNING = 'a damaged or truncated image (decoding stopped at a warning)';

export interface FailureContext {
  readonly maxInputPixels: number;
  readonly timeoutSeconds?: number | undefined;
  /** The source's path, kept out of messages (they may reach clients). */
  readonly input?: Buffer | string;
}

/**
 * Translate anything thrown while probing or rendering into a RectoError:
 * - SOURCE_TOO_LARGE when the source has more pixels than `maxInputPixels`;
 * - RENDER_TIMEOUT when the pipeline ran past its time limit;
 * - SOURCE_UNREADABLE for everything else: a zero-byte, truncated or corrupt file, bytes that
 *   are no image at all, or a file that vanished from the cache. The cause is kept.
 */
export function toRenderError(error: unknown, context: FailureContext): RectoError {
  if (error instanceof RectoError) return error;
  const raw = error instanceof Error ? error.message : typeof error === 'string' ? error : 'an unknown failure';
  const message = scrub(reason(raw), context.input);
  if (PIXEL_LIMIT.test(message)) {
    return new SourceError('SOURCE_TOO_LARGE', expected(`at most ${context.maxInputPixels} pixels`, 'the source', 'a larger image'), { cause: error });
  }
  if (TIMEOUT.test(message)) {
    const limit = context.timeoutSeconds === undefined ? 'the time limit' : `${context.timeoutSeconds} s`;
    return new UnavailableError('RENDER_TIMEOUT', expected(`a render within ${limit}`, 'the image', message), RENDER_TIMEOUT_RETRY_SECONDS, { cause: error });
  }
  const received = isMissingFile(error) ? 'no file at the source path' : UNKNOWN_FORMAT.test(message) ? 'bytes in no known image format' : message;
  return new SourceError('SOURCE_UNREADABLE', expected('a readable image', 'the source', received), { cause: error });
}

function isMissingFile(error: unknown): boolean {
  return error instanceof Error && (('code' in error && error.code === 'ENOENT') || /^Input file is missing/.test(error.message));
}

/** The first line of the libvips log that says what went wrong (not sharp's failOn note). */
function reason(message: string): string {
  const lines = message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length === 0) return '';
  return lines.find((line) => !FAIL_ON_NOTE.test(line)) ?? STOPPED_AT_WARNING;
}

function scrub(message: string, input: Buffer | string | undefined): string {
  return typeof input === 'string' && input !== '' ? message.split(input).join('the source') : message;
}
