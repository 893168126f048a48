/**
 * A client of the local stack as a viewer is: one request, timed, its redirect followed to the
 * embedded S3 and timed apart, paired with the stack's request log line.
 */
import type { RequestLine, RequestLog } from './request-log.js';

export interface StackSample {
  /** Request to answer: a 302 for an image (render, store, redirect), 200 for info.json. */
  readonly ms: number;
  /** GET of the redirect's location (the stored derivative, from the embedded S3); null for info.json. */
  readonly redirectMs: number | null;
  /** Bytes of the image (or of info.json). */
  readonly bytes: number;
  readonly line: RequestLine;
}

async function followRedirect(location: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(location);
  const body = await response.arrayBuffer();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${location}: ${response.status} ${Buffer.from(body).toString().slice(0, 300)}`);
  return { ms, bytes: body.byteLength };
}

/** `path` (from the root: /iiif/3/…) asked of the stack at `base`; a 302 or 200, anything else throws. */
export async function stackRequest(base: string, path: string, log: RequestLog): Promise<StackSample> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, { redirect: 'manual' });
  const body = await response.arrayBuffer();
  const ms = performance.now() - started;
  const location = response.headers.get('location');
  if (response.status === 302 && location !== null) {
    const stored = await followRedirect(location);
    return { ms, redirectMs: stored.ms, bytes: stored.bytes, line: await log.wait(path) };
  }
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${Buffer.from(body).toString().slice(0, 300)}`);
  return { ms, redirectMs: null, bytes: body.byteLength, line: await log.wait(path) };
}
