/**
 * The suite's HTTP client. It sends the path bytes exactly as written, as the validator's
 * urllib does: WHATWG URL parsing (and so `fetch`) would turn a `\` in a random region into a
 * `/` and percent-encode `<`, `>` and `` ` ``, changing the request under test. Redirects are
 * followed by hand so that both answers are kept: the IIIF server's own (302, with its `Link`
 * and CORS headers) and the storage's (the image bytes), and so that a bearer token goes to the
 * IIIF server only, never to the presigned storage URL.
 */
import http from 'node:http';
import https from 'node:https';

/** The headers the validator sends with every request (iiif_validator/tests/test.py HEADERS). */
export const VALIDATOR_HEADERS = {
  origin: 'http://iiif.io/',
  referer: 'http://iiif.io/api/image/validator',
  'user-agent': 'Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.5; en-US; rv:1.9.1b3pre) Gecko/20081130 Minefield/3.1b3pre',
} as const;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export interface HttpAnswer {
  /** The URL requested, as sent. */
  readonly url: string;
  readonly status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface FollowedAnswer extends HttpAnswer {
  /** Every answer on the way, the first request's included; the last is this one. */
  readonly hops: readonly HttpAnswer[];
}

export interface RequestOptions {
  readonly method?: 'GET' | 'HEAD' | 'OPTIONS';
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpClientOptions {
  /** Sent as `Authorization: Bearer …` to the origin of `tokenOrigin` only. */
  readonly token?: string;
  /** The IIIF server's origin (scheme://host:port); the token never leaves it. */
  readonly tokenOrigin?: string;
  readonly timeoutMs: number;
}

/** A client with keep-alive connections; `close()` frees them. */
export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly options: HttpClientOptions) {}

  /** One request, no redirect followed (the validator's `NoRedirect` opener). */
  request(url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    return this.send(url, options, true);
  }

  private send(url: string, options: RequestOptions, mayRetry: boolean): Promise<HttpAnswer> {
    const method = options.method ?? 'GET';
    const target = splitUrl(url);
    const headers: Record<string, string> = { ...VALIDATOR_HEADERS, ...options.headers };
    if (this.options.token !== undefined && target.origin === this.options.tokenOrigin) {
      headers.authorization = `Bearer ${this.options.token}`;
    }
    const transport = target.secure ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = transport.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.path,
          method,
          headers,
          agent: target.secure ? this.httpsAgent : this.httpAgent,
          timeout: this.options.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            resolve({ url, status: response.statusCode ?? 0, headers: flattenHeaders(response.headers), body: Buffer.concat(chunks) });
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => {
        request.destroy(new Error(`No answer from ${url} within ${this.options.timeoutMs} ms`));
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed just as we reused it: send again on a new
        // one (Node's documented pattern; every request here is idempotent).
        if (mayRetry && request.reusedSocket && error.code === 'ECONNRESET') {
          this.send(url, options, false).then(resolve, reject);
        } else {
          reject(error);
        }
      });
      request.end();
    });
  }

  /**
   * A request that follows redirects as urllib's `urlopen` does for GET and HEAD, keeping the
   * validator's headers (Origin included) on every hop.
   */
  async follow(url: string, options: RequestOptions = {}): Promise<FollowedAnswer> {
    const hops: HttpAnswer[] = [];
    let current = url;
    for (;;) {
      const answer = await this.request(current, options);
      hops.push(answer);
      const location = answer.headers.location;
      const method = options.method ?? 'GET';
      if (!REDIRECT_STATUSES.has(answer.status) || location === undefined || method === 'OPTIONS') {
        return { ...answer, hops };
      }
      if (hops.length > MAX_REDIRECTS) throw new Error(`More than ${MAX_REDIRECTS} redirects from ${url}`);
      current = new URL(location, current).href;
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

interface SplitUrl {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly origin: string;
  /** Path and query, byte for byte as given. */
  readonly path: string;
}

/**
 * Scheme and authority through URL (they are never under test), the path untouched.
 * @throws TypeError for a URL that is not http(s)://authority/…
 */
export function splitUrl(url: string): SplitUrl {
  const match = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(url);
  if (match === null) throw new TypeError(`Expected an http:// or https:// URL but received ${JSON.stringify(url)}`);
  const [, scheme = 'http', authority = '', rest = ''] = match;
  const parsed = new URL(`${scheme}://${authority}/`);
  const secure = parsed.protocol === 'https:';
  return {
    secure,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
    origin: parsed.origin,
    path: rest === '' ? '/' : rest,
  };
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** One `Link` header entry. */
export interface LinkValue {
  readonly uri: string;
  readonly rels: readonly string[];
}

/**
 * Parse a `Link` header (RFC 8288): `<uri>; rel="a b", <uri2>; rel=c`. Unlike the validator's
 * `parse_rel_links` regex (which needs `;rel="…"` with the quotes), unquoted and
 * space-separated rel values are read too; rel names are compared in lower case.
 */
export function parseLinkHeader(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  const pattern = /<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,\s]*))?)*)/g;
  for (const match of header.matchAll(pattern)) {
    const [, uri = '', params = ''] = match;
    const rels: string[] = [];
    for (const param of params.matchAll(/;\s*([^;,=\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,\s]*)))?/g)) {
      if (param[1]?.toLowerCase() !== 'rel') continue;
      const value = param[2] ?? param[3] ?? '';
      rels.push(...value.split(/\s+/).filter((rel) => rel !== '').map((rel) => rel.toLowerCase()));
    }
    links.push({ uri, rels });
  }
  return links;
}

/** The first URI with the given rel, if any. */
export function linkFor(links: readonly LinkValue[], rel: string): string | undefined {
  return links.find((link) => link.rels.includes(rel.toLowerCase()))?.uri;
}
