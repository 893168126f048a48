/**
 * The staff CLI's requests to Recto: a GET with the bearer token that follows Recto's redirect
 * to the presigned storage URL. The token goes to Recto's own origin only: a presigned URL
 * carries its own signature, S3 refuses a request that also has `Authorization`, and the token
 * must never leave for another host.
 */

/** Recto redirects once (to storage); a few more allow for a proxy or custom domain in front. */
const MAX_REDIRECTS = 5;
/** A render Recto deferred (503 + Retry-After) is waited out this many times. */
const MAX_RETRIES = 3;
/** The longest Retry-After the CLI waits for; longer and it stops and says so. */
const MAX_RETRY_WAIT_SECONDS = 60;

export interface FetchOptions {
  readonly token?: string;
  readonly accept: string;
  /** Told each time a 503 with Retry-After is waited out. */
  readonly onWait?: (seconds: number, url: string) => void;
  /** Injectable for tests; the global fetch by default. */
  readonly fetch?: typeof fetch;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Fetched {
  /** The URL that answered 200 (the presigned storage URL after a redirect). */
  readonly url: string;
  /** The URL asked for, and each redirect target, in order. */
  readonly chain: readonly string[];
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/** A non-2xx answer, with Recto's stable error code and message when the body has them. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly url: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GET `url`, following redirects, with `Authorization: Bearer` on requests to the first URL's
 * origin only.
 * @throws HttpError on a non-2xx answer (after waiting out up to MAX_RETRIES 503s with
 *   Retry-After), on too many redirects, or on a redirect without Location.
 */
export async function fetchFollowing(url: string, options: FetchOptions): Promise<Fetched> {
  const fetchImpl = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const origin = new URL(url).origin;
  const chain = [url];
  let current = url;
  let retries = 0;
  for (;;) {
    const sameOrigin = new URL(current).origin === origin;
    const headers: Record<string, string> = { accept: options.accept };
    if (sameOrigin && options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await fetchImpl(current, { headers, redirect: 'manual' });
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      await response.arrayBuffer();
      if (location === null) throw new HttpError(response.status, undefined, current, `Expected a Location header with the ${response.status} redirect from ${current} but received none`);
      if (chain.length > MAX_REDIRECTS) throw new HttpError(response.status, undefined, current, `Expected at most ${MAX_REDIRECTS} redirects from ${url} but received more`);
      current = new URL(location, current).href;
      chain.push(current);
      continue;
    }
    if (response.ok) {
      return { url: current, chain, contentType: response.headers.get('content-type') ?? undefined, body: Buffer.from(await response.arrayBuffer()) };
    }
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    if (response.status === 503 && retries < MAX_RETRIES && Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= MAX_RETRY_WAIT_SECONDS) {
      await response.arrayBuffer();
      retries += 1;
      options.onWait?.(retryAfter, current);
      await sleep(retryAfter * 1000);
      // Ask Recto again, not the storage URL: a deferred render answers at Recto's URL.
      current = url;
      chain.splice(1);
      continue;
    }
    throw await httpError(response, current);
  }
}

async function httpError(response: Response, url: string): Promise<HttpError> {
  const text = await response.text();
  let code: string | undefined;
  let detail: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.detail === 'string') detail = body.detail;
  } catch {
    // Storage answers XML, proxies HTML: the status line says enough.
  }
  const reason = code === undefined ? response.statusText : `${code}: ${detail ?? ''}`;
  // Without the query: a presigned URL's signature does not belong in a terminal's scrollback.
  const shown = url.split('?')[0] ?? url;
  return new HttpError(response.status, code, url, `${response.status} ${reason} (GET ${shown})`.replace(/\s+/g, ' '));
}
