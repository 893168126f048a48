/**
 * The page's requests to Recto: the token (when auth is on) and fetches that carry it. An <img>
 * cannot send `Authorization`, so images are fetched and shown from blob URLs.
 *
 * Redirects: Recto answers an image with a 302 to a presigned URL on the embedded S3, another
 * origin. The browser follows it and, by the Fetch standard, drops `Authorization` on the way
 * (it never reaches S3, which would refuse a request that is both presigned and authorised).
 */

/** The JSON of `GET /local/token` (token-endpoint.ts). */
interface TokenAnswer {
  readonly token: string;
  readonly expiresIn: number;
}

/** Renew a token this long before it expires. */
const RENEW_MARGIN_MS = 60_000;
/** How many times a 503 with Retry-After (a render deferred or storage busy) is waited out. */
const MAX_RETRIES = 3;
/** The longest Retry-After the page waits for before giving up and saying so. */
const MAX_RETRY_WAIT_SECONDS = 30;

/** Where the token comes from and how requests carry it. */
export class Session {
  readonly #tokenUrl: string | undefined;
  #token: { readonly value: string; readonly expires: number } | undefined;
  #pending: Promise<string> | undefined;
  readonly #listeners: ((headers: Record<string, string>) => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `tokenUrl` undefined: auth is off, requests go anonymous. */
  constructor(tokenUrl: string | undefined) {
    this.#tokenUrl = tokenUrl;
  }

  /** Headers for a request to Recto now: `Authorization` when auth is on. */
  async headers(): Promise<Record<string, string>> {
    if (this.#tokenUrl === undefined) return {};
    return { Authorization: `Bearer ${await this.#currentToken()}` };
  }

  /**
   * Call `listener` with fresh headers each time the token is renewed (OpenSeadragon keeps its
   * own copy of the headers for tile requests).
   */
  onRenew(listener: (headers: Record<string, string>) => void): void {
    this.#listeners.push(listener);
  }

  /** GET JSON with the token. Throws RequestError with Recto's own message on a non-2xx. */
  async json(url: string): Promise<unknown> {
    const response = await this.fetch(url, 'application/json');
    return response.json() as Promise<unknown>;
  }

  /** GET an image with the token, following the redirect to storage; the result as a blob. */
  async image(url: string, onWait?: (seconds: number) => void): Promise<Blob> {
    const response = await this.fetch(url, 'image/*', onWait);
    return response.blob();
  }

  /** GET with the token; a 503 with Retry-After is waited out a few times. */
  async fetch(url: string, accept: string, onWait?: (seconds: number) => void): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(url, { headers: { Accept: accept, ...(await this.headers()) } });
      if (response.ok) return response;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.status === 503 && attempt < MAX_RETRIES && Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= MAX_RETRY_WAIT_SECONDS) {
        onWait?.(retryAfter);
        await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
        continue;
      }
      throw await RequestError.from(response);
    }
  }

  async #currentToken(): Promise<string> {
    if (this.#token !== undefined && this.#token.expires - Date.now() > RENEW_MARGIN_MS) return this.#token.value;
    this.#pending ??= this.#renew().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #renew(): Promise<string> {
    const tokenUrl = this.#tokenUrl ?? '';
    const response = await fetch(tokenUrl, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) throw await RequestError.from(response);
    const answer = (await response.json()) as TokenAnswer;
    const expires = Date.now() + answer.expiresIn * 1000;
    this.#token = { value: answer.token, expires };
    // Renew ahead of expiry even when nothing asks, so a viewer left open keeps loading tiles.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#token = undefined;
      void this.headers().then((headers) => {
        for (const listener of this.#listeners) listener(headers);
      }, () => undefined);
    }, Math.max(1000, expires - Date.now() - RENEW_MARGIN_MS));
    return answer.token;
  }
}

/** A non-2xx answer, with Recto's stable code and its message for people. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }

  static async from(response: Response): Promise<RequestError> {
    return RequestError.fromText(response.status, response.statusText, await response.text());
  }

  /**
   * The error an XHR received (OpenSeadragon loads tiles with XHR), or undefined when it got no
   * HTTP answer at all (a network error, an abort). Tiles come as ArrayBuffers.
   */
  static fromXhr(request: XMLHttpRequest | undefined): RequestError | undefined {
    if (request === undefined || request.status === 0) return undefined;
    const body: unknown = request.response;
    const text = body instanceof ArrayBuffer ? new TextDecoder().decode(body) : typeof body === 'string' ? body : '';
    return RequestError.fromText(request.status, request.statusText, text);
  }

  static fromText(status: number, statusText: string, text: string): RequestError {
    try {
      const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
      if (typeof body.detail === 'string') {
        return new RequestError(status, typeof body.error === 'string' ? body.error : undefined, `${status} ${typeof body.error === 'string' ? body.error : ''}: ${body.detail}`);
      }
    } catch {
      // Not Recto's JSON (a proxy's page): fall through to the status line.
    }
    return new RequestError(status, undefined, `${status} ${statusText}`.trim());
  }
}

/** A human size: 12.3 kB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
