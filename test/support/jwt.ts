/**
 * Token helpers shared by the auth tests (unit and integration): real key pairs from jose,
 * real signed JWTs, hand-built hostile ones, and a JWKS served over HTTP on 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTHeaderParameters,
} from 'jose';

export const TEST_ISSUER = 'https://issuer.test/';
export const TEST_AUDIENCE = 'recto';

/** A fixed instant for the injected clock: 2030-01-01T00:00:00Z. */
export const NOW = new Date('2030-01-01T00:00:00Z');
/** NOW in seconds since the epoch, the unit of iat/nbf/exp. */
export const NOW_S = Math.floor(NOW.getTime() / 1000);

export type SigningAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'PS256' | 'EdDSA';

export interface SigningKey {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public JWK with kid, alg and use, as a JWKS member. */
  readonly publicJwk: JWK;
  /** The public key as PEM (SPKI). */
  readonly spki: string;
}

/** A fresh key pair (real keys from jose's generateKeyPair). */
export async function generateSigningKey(alg: SigningAlgorithm = 'ES256', kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 10)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { alg, kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg, use: 'sig' }, spki: await exportSPKI(publicKey) };
}

export interface TokenOptions {
  /**
   * Claims added to (or overriding) the defaults: iss, aud, sub, iat NOW, exp NOW + 1 h. Any
   * JSON, so tests can build tokens with claims of the wrong type on purpose.
   */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Claims to leave out of the defaults. */
  readonly omit?: readonly ('iss' | 'aud' | 'sub' | 'iat' | 'exp')[];
  /** Header members added to (or overriding) `{ alg, kid, typ: 'JWT' }`; `undefined` removes one. */
  readonly header?: Readonly<Record<string, unknown>>;
}

/** A JWT signed by `key`, with sensible claims unless told otherwise. */
export async function signToken(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  const claims = withDefaults(options);
  const header = { alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header } as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

/** A JWT signed with an HMAC secret (for key-confusion attacks: the secret is a public key). */
export async function signWithSecret(secret: Uint8Array, options: TokenOptions = {}): Promise<string> {
  return new SignJWT(withDefaults(options))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...options.header })
    .sign(secret);
}

/** An unsigned token built by hand: `base64url(header).base64url(payload).` (empty signature). */
export function unsignedToken(options: TokenOptions = {}): string {
  const header = { alg: 'none', typ: 'JWT', ...options.header };
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode(header)}.${encode(withDefaults(options))}.`;
}

function withDefaults(options: TokenOptions): JWTPayload {
  const claims: Record<string, unknown> = {
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    sub: 'user-1',
    iat: NOW_S,
    exp: NOW_S + 3600,
    ...options.claims,
  };
  for (const name of options.omit ?? []) Reflect.deleteProperty(claims, name);
  // Claims of any type on purpose: hostile tests need values jose's producer would refuse.
  return claims;
}

// ---- a JWKS over HTTP --------------------------------------------------------------------

/** How the JWKS server answers. */
export type JwksBehaviour =
  | { readonly kind: 'keys' }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'body'; readonly body: string }
  /** Accept the request and never answer (a slow or stuck key server). */
  | { readonly kind: 'hang' };

export interface JwksServer {
  /**
   * `http://127.0.0.1:PORT/<random>/.well-known/jwks.json`: the random segment keeps two servers
   * that happen to reuse a port from sharing lib/auth's per-URL key cache.
   */
  readonly url: URL;
  /** Requests received so far. */
  readonly requests: number;
  /** Serve these keys from now on (behaviour back to 'keys'). */
  serve(keys: readonly JWK[]): void;
  /** Answer differently from now on. */
  behave(behaviour: JwksBehaviour): void;
  close(): Promise<void>;
}

/** Serve a JWKS on 127.0.0.1, port 0 (ephemeral), counting requests. */
export async function startJwksServer(keys: readonly JWK[] = []): Promise<JwksServer> {
  let current: readonly JWK[] = keys;
  let behaviour: JwksBehaviour = { kind: 'keys' };
  let requests = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    request.resume();
    switch (behaviour.kind) {
      case 'keys':
        response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: current }));
        return;
      case 'status':
        response.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end('key server trouble');
        return;
      case 'body':
        response.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.body);
        return;
      case 'hang':
        return;
    }
  });
  await listen(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/${randomUUID()}/.well-known/jwks.json`),
    get requests() {
      return requests;
    },
    serve(next) {
      current = next;
      behaviour = { kind: 'keys' };
    },
    behave(next) {
      behaviour = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hung requests keep their sockets open: cut them so close() can finish.
        server.closeAllConnections();
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a key server that is down). */
export async function closedPortUrl(): Promise<URL> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return new URL(`http://127.0.0.1:${port}/${randomUUID()}/.well-known/jwks.json`);
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
}
