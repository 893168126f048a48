/**
 * `GET /local/token`: a short-lived token with both scopes, for the local stack's own page, so a
 * developer with auth on sees the viewer work without pasting a token anywhere.
 *
 * Threat model. The token is signed with the dev keys under `.data/keys/`; whoever holds it can
 * read and render anything the local stack serves for its lifetime. Who could ask for one:
 *
 * 1. Another machine. The stack listens on 127.0.0.1 by default, but `startLocalStack({ host })`
 *    can bind elsewhere: the answer is refused unless the TCP peer is loopback (127.0.0.1, ::1 or
 *    its IPv4-mapped form). Headers such as X-Forwarded-For are ignored: they are the client's
 *    to write.
 * 2. A web page on another site open in the developer's browser. Its `fetch` reaches loopback,
 *    but the answer carries no CORS headers, so that page cannot read it. It is refused anyway
 *    when the browser says the request is cross-site or cross-origin (`Sec-Fetch-Site`, `Origin`),
 *    so nothing is even minted.
 * 3. DNS rebinding: a hostile name re-resolved to 127.0.0.1 makes the hostile page same-origin
 *    with the stack, which defeats (2). The `Host` header then carries the hostile name, so only
 *    the stack's own loopback names with its own port are accepted.
 * 4. Local processes. They can read `.data/keys/` (or run `npm run token`) already: nothing new.
 *
 * What remains is the developer's own browser on the stack's own origin, which is the point. The
 * token lives LOCAL_TOKEN_TTL_SECONDS, is never cached (`no-store`), and is never sent by the page
 * to any other origin (browsers drop `Authorization` on cross-origin redirects to S3).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the page asks for its token. */
export const LOCAL_TOKEN_PATH = '/local/token';
/** Five minutes: long enough for a viewing session between refreshes, short if it leaks. */
export const LOCAL_TOKEN_TTL_SECONDS = 300;

/** Peers that are this machine. `::ffff:127.0.0.1` is how a dual-stack socket reports IPv4 loopback. */
const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1', '::ffff:127.0.0.1'] as const;
/** Host names that can only mean this machine (a rebinding attack carries its own name instead). */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'] as const;
/** `Sec-Fetch-Site` values of a request the stack's own page (or a typed URL) makes. */
const SAME_SITE_FETCHES = ['same-origin', 'none'] as const;

/** The JSON the endpoint answers with. */
export interface LocalTokenAnswer {
  readonly token: string;
  readonly tokenType: 'Bearer';
  /** Seconds from now until `exp`. */
  readonly expiresIn: number;
  /** Space-separated, as in the token's `scope` claim. */
  readonly scope: string;
}

export interface TokenEndpointOptions {
  /** The port the stack listens on: the only one accepted in `Host`. */
  readonly port: number;
  /** False with IIIF_AUTH=off: there is nothing to hand out. */
  readonly authEnabled: boolean;
  readonly scopes: readonly string[];
  readonly ttlSeconds?: number;
  /** Mints a token the stack accepts (LocalStack.token). */
  readonly mint: (scopes: readonly string[], ttlSeconds: number) => Promise<string>;
}

/**
 * Why this request may not have a token, or undefined when it may. Exported for tests: the
 * checks are the security boundary, so each is asserted on its own.
 */
export function tokenRefusal(request: Pick<IncomingMessage, 'headers' | 'method'> & { socket: { remoteAddress?: string | undefined } }, port: number): string | undefined {
  const peer = request.socket.remoteAddress ?? '';
  if (!(LOOPBACK_ADDRESSES as readonly string[]).includes(peer)) {
    return `Expected a request from this machine (127.0.0.1 or ::1) for ${LOCAL_TOKEN_PATH} but received one from ${JSON.stringify(peer)}`;
  }
  const host = request.headers.host ?? '';
  const ownHosts = LOOPBACK_HOSTS.map((name) => `${name}:${port}`);
  if (!ownHosts.includes(host.toLowerCase())) {
    return `Expected Host ${ownHosts.join(', ')} for ${LOCAL_TOKEN_PATH} but received ${JSON.stringify(host.slice(0, 64))}`;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && !(SAME_SITE_FETCHES as readonly string[]).includes(site)) {
    return `Expected a request from the stack's own page (Sec-Fetch-Site same-origin) for ${LOCAL_TOKEN_PATH} but received ${JSON.stringify(site)}`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return `Expected no Origin or ${JSON.stringify(`http://${host}`)} for ${LOCAL_TOKEN_PATH} but received ${JSON.stringify(origin.slice(0, 64))}`;
  }
  return undefined;
}

/** Answer `GET /local/token`. */
export async function serveLocalToken(request: IncomingMessage, response: ServerResponse, options: TokenEndpointOptions): Promise<void> {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (request.method !== 'GET') {
    response.writeHead(405, { ...headers, allow: 'GET' }).end(JSON.stringify({ error: 'METHOD_NOT_ALLOWED', detail: `Expected GET for ${LOCAL_TOKEN_PATH}` }));
    return;
  }
  if (!options.authEnabled) {
    response.writeHead(404, headers).end(JSON.stringify({ error: 'NOT_FOUND', detail: 'Auth is off (IIIF_AUTH=off): requests need no token' }));
    return;
  }
  const refusal = tokenRefusal(request, options.port);
  if (refusal !== undefined) {
    response.writeHead(403, headers).end(JSON.stringify({ error: 'LOCAL_TOKEN_REFUSED', detail: refusal }));
    return;
  }
  const ttlSeconds = options.ttlSeconds ?? LOCAL_TOKEN_TTL_SECONDS;
  const answer: LocalTokenAnswer = {
    token: await options.mint(options.scopes, ttlSeconds),
    tokenType: 'Bearer',
    expiresIn: ttlSeconds,
    scope: options.scopes.join(' '),
  };
  response.writeHead(200, headers).end(JSON.stringify(answer));
}
