/**
 * `npm start` checks the sources it has just uploaded (samples/ and $LOCAL_IMAGES_DIR) through the
 * service itself, as the page will use them: each one's gallery thumbnail is requested from the
 * running stack. That request probes the source exactly as the function does (its source record:
 * format, size, pyramid) and then decodes it for the thumbnail, so a file that is no image, a
 * truncated JPEG or a JPEG 2000 master is found at start, with the service's own error code and
 * message, instead of in the viewer. On later starts the thumbnails are stored, so the check is
 * a few HEADs.
 */
import { encodeIdentifier } from '../../lib/iiif/index.js';
import { THUMBNAIL_PATH } from './home-page.js';
import type { LocalStack } from './stack.js';

/** Sources checked at once: the stack renders on the same cores. */
const CHECK_CONCURRENCY = 2;

export type SourceCheck =
  /** The service answered the thumbnail with its redirect: the source can be read. */
  | { readonly identifier: string; readonly outcome: 'ok' }
  /** The render was deferred (a very large master): it goes on in the background, unchecked. */
  | { readonly identifier: string; readonly outcome: 'pending' }
  /** The service refused it: its status, error code and message. */
  | { readonly identifier: string; readonly outcome: 'unreadable'; readonly status: number; readonly code: string; readonly detail: string };

/** Check each identifier through the running stack, in the order given. */
export async function checkSources(stack: LocalStack, identifiers: readonly string[]): Promise<SourceCheck[]> {
  const headers: Record<string, string> = stack.config.auth.enabled ? { authorization: `Bearer ${await stack.token()}` } : {};
  const results = new Map<string, SourceCheck>();
  const pending = [...identifiers];
  const worker = async (): Promise<void> => {
    for (let identifier = pending.shift(); identifier !== undefined; identifier = pending.shift()) {
      results.set(identifier, await checkOne(stack.url, identifier, headers));
    }
  };
  await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, worker));
  return identifiers.map((identifier) => results.get(identifier) ?? { identifier, outcome: 'pending' });
}

async function checkOne(base: string, identifier: string, headers: Record<string, string>): Promise<SourceCheck> {
  const response = await fetch(`${base}/iiif/3/${encodeIdentifier(identifier)}/${THUMBNAIL_PATH}`, { headers, redirect: 'manual' });
  const text = await response.text();
  if (response.status >= 200 && response.status < 400) return { identifier, outcome: 'ok' };
  if (response.status === 503) return { identifier, outcome: 'pending' };
  let code = `HTTP_${response.status}`;
  let detail = text.slice(0, 200);
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.detail === 'string') detail = body.detail;
  } catch {
    // Not the service's JSON: the status and the start of the body say enough.
  }
  return { identifier, outcome: 'unreadable', status: response.status, code, detail };
}

/**
 * The warning `npm start` prints for the sources that cannot be served (empty when there are
 * none): one line per source, with the file it came from and the service's answer.
 */
export function unreadableWarning(checks: readonly SourceCheck[], files: Readonly<Record<string, string>>): string {
  const unreadable = checks.flatMap((check) => (check.outcome === 'unreadable' ? [check] : []));
  if (unreadable.length === 0) return '';
  const lines = unreadable.map((check) => {
    const file = files[check.identifier];
    return `  ${check.identifier}${file === undefined ? '' : ` (${file})`}: ${check.status} ${check.code}: ${check.detail}`;
  });
  const count = unreadable.length === 1 ? '1 source cannot be read' : `${unreadable.length} sources cannot be read`;
  return `Warning: ${count}; the service answers every request for it with this error:\n${lines.join('\n')}\nReplace or remove the file and restart; \`npx recto remove ID\` drops what the stack keeps of it.\n`;
}
