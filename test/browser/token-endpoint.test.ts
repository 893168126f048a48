/**
 * The page's token endpoint (`GET /local/token`): a short-lived token for the stack's own page,
 * and nothing for anyone else. Each refusal rule is checked on its own, then over real HTTP.
 */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { LOCAL_TOKEN_PATH, LOCAL_TOKEN_TTL_SECONDS, tokenRefusal } from '../../infra/local/viewer/token-endpoint.js';

const PORT = 3456;

function fromPeer(remoteAddress: string, headers: Record<string, string>): Parameters<typeof tokenRefusal>[0] {
  return { method: 'GET', headers, socket: { remoteAddress } };
}

describe('tokenRefusal', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1:3456'],
    ['::1', 'localhost:3456'],
    ['::ffff:127.0.0.1', '[::1]:3456'],
  ])('accepts a request from %s for Host %s', (peer, host) => {
    expect(tokenRefusal(fromPeer(peer, { host, 'sec-fetch-site': 'same-origin' }), PORT)).toBeUndefined();
  });

  it('refuses a peer that is not this machine', () => {
    expect(tokenRefusal(fromPeer('192.168.1.20', { host: '127.0.0.1:3456' }), PORT)).toBe(
      'Expected a request from this machine (127.0.0.1 or ::1) for /local/token but received one from "192.168.1.20"',
    );
  });

  it('refuses a Host that is not the stack (DNS rebinding)', () => {
    expect(tokenRefusal(fromPeer('127.0.0.1', { host: 'attacker.example:3456' }), PORT)).toBe(
      'Expected Host 127.0.0.1:3456, localhost:3456, [::1]:3456 for /local/token but received "attacker.example:3456"',
    );
  });

  it('refuses the stack host on another port', () => {
    expect(tokenRefusal(fromPeer('127.0.0.1', { host: '127.0.0.1:80' }), PORT)).toMatch(/^Expected Host .* but received "127\.0\.0\.1:80"$/);
  });

  it('refuses a request the browser marks as cross-site', () => {
    expect(tokenRefusal(fromPeer('127.0.0.1', { host: '127.0.0.1:3456', 'sec-fetch-site': 'cross-site' }), PORT)).toBe(
      `Expected a request from the stack's own page (Sec-Fetch-Site same-origin) for /local/token but received "cross-site"`,
    );
  });

  it('refuses a request from another origin', () => {
    expect(tokenRefusal(fromPeer('127.0.0.1', { host: '127.0.0.1:3456', origin: 'http://localhost:3456' }), PORT)).toBe(
      'Expected no Origin or "http://127.0.0.1:3456" for /local/token but received "http://localhost:3456"',
    );
  });
});

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host). */
function get(base: string, pathName: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  const url = new URL(pathName, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /local/token on the local stack', () => {
  let stack: LocalStack;
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'recto-token-endpoint-'));
    stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: directory, env: { IIIF_AUTH: 'on' } });
  });

  afterAll(async () => {
    await stack.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('answers the stack\'s own page a 5-minute token with both scopes, never cached, without CORS', async () => {
    // Act
    const answer = await get(stack.url, LOCAL_TOKEN_PATH, { 'sec-fetch-site': 'same-origin' });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const body = JSON.parse(answer.body) as { token: string; tokenType: string; expiresIn: number; scope: string };
    expect({ ...body, token: typeof body.token }).toEqual({ token: 'string', tokenType: 'Bearer', expiresIn: LOCAL_TOKEN_TTL_SECONDS, scope: 'iiif:read iiif:render' });
    const claims = decodeJwt(body.token);
    expect([claims.iss, claims.aud, claims.scope, (claims.exp ?? 0) - (claims.iat ?? 0)]).toEqual(['recto-local', 'recto', 'iiif:read iiif:render', 300]);
  });

  it('hands out a token the stack accepts', async () => {
    // Prepare
    const { token } = JSON.parse((await get(stack.url, LOCAL_TOKEN_PATH)).body) as { token: string };

    // Act
    const withToken = await get(stack.url, '/iiif/3/no-such-image/info.json', { authorization: `Bearer ${token}` });
    const without = await get(stack.url, '/iiif/3/no-such-image/info.json');

    // Assess: past auth (404 for the missing source) with it, 401 without.
    expect([withToken.status, JSON.parse(withToken.body)]).toMatchObject([404, { error: 'SOURCE_NOT_FOUND' }]);
    expect([without.status, JSON.parse(without.body)]).toMatchObject([401, { error: 'AUTH_MISSING_TOKEN' }]);
  });

  it('refuses a rebinding Host with 403 and no token in the body', async () => {
    // Act
    const answer = await get(stack.url, LOCAL_TOKEN_PATH, { host: `attacker.example:${new URL(stack.url).port}` });

    // Assess
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'LOCAL_TOKEN_REFUSED',
      detail: expect.stringMatching(/^Expected Host 127\.0\.0\.1:\d+, localhost:\d+, \[::1\]:\d+ for \/local\/token but received "attacker\.example:\d+"$/) as unknown,
    });
  });

  it('refuses a cross-origin request with 403', async () => {
    // Act
    const answer = await get(stack.url, LOCAL_TOKEN_PATH, { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' });

    // Assess
    expect([answer.status, (JSON.parse(answer.body) as { error: string }).error]).toEqual([403, 'LOCAL_TOKEN_REFUSED']);
  });

  it('answers 405 to anything but GET', async () => {
    // Act
    const answer = await get(stack.url, LOCAL_TOKEN_PATH, {}, 'POST');

    // Assess
    expect([answer.status, answer.headers.allow]).toEqual([405, 'GET']);
  });
});

describe('GET /local/token with IIIF_AUTH=off', () => {
  it('answers 404: there is no token to hand out', async () => {
    // Prepare
    const directory = await mkdtemp(path.join(tmpdir(), 'recto-token-endpoint-off-'));
    const stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: directory, env: { IIIF_AUTH: 'off' } });
    try {
      // Act
      const answer = await get(stack.url, LOCAL_TOKEN_PATH);

      // Assess
      expect([answer.status, JSON.parse(answer.body)]).toEqual([404, { error: 'NOT_FOUND', detail: 'Auth is off (IIIF_AUTH=off): requests need no token' }]);
    } finally {
      await stack.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
