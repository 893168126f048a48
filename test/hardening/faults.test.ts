/**
 * Storage faults under load, beyond test/integration/faults.test.ts (one fault
 * per request) and test/store/faults.test.ts (the client alone):
 *
 * - a burst of throttling that hits 40 concurrent requests at once: each answers what it got
 *   (served, or 503 with Retry-After), never a 500; once it passes, every request is served and
 *   every stored object is whole;
 * - storage slower than the client's timeout, for real (an HTTP hop that holds answers back, the
 *   SDK's own timeouts and retries): 503 in bounded time, then served, and a PUT that timed out
 *   on our side but landed later leaves exactly one whole object;
 * - presigned URLs and temporary credentials: the redirect is never cached longer than the
 *   credentials that signed it live.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_DERIVATIVE_BUCKET, LOCAL_REGION } from '../../infra/local/stack.js';
import type { Config } from '../../lib/config.js';
import { createHttpApp } from '../../lib/http/app.js';
import { createGatewayHandler, type GatewayHandler } from '../../lib/entry/iiif.js';
import { createServices } from '../../lib/entry/wiring.js';
import { createS3Client } from '../../lib/store/index.js';
import { gridImage } from '../support/fixtures.js';
import { startFaultProxy, type FaultProxy } from '../support/s3.js';
import { CapturingLogger, decode, GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { answerProblems, pool, storedImageProblems } from './support.js';

let t: TestStack;
let token: string;

beforeAll(async () => {
  const sources: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++) sources[`burst-${i}.png`] = (await gridImage({ width: 400 + i * 10, height: 300 })).png;
  t = await startTestStack({ sources });
  token = await t.token();
  // lib/store reports storage faults on stderr: expected here.
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await t.close();
});

/** Every image in the derivative bucket decodes whole at its key's dimensions. */
async function expectWholeObjects(): Promise<number> {
  const images = (await t.listImages()).map((object) => object.key);
  const objects = await Promise.all(images.map(async (key) => ({ key, body: (await t.getDerivative(key)) ?? Buffer.alloc(0) })));
  expect(await storedImageProblems(objects)).toEqual([]);
  return images.length;
}

function slowDown(): S3ServiceException {
  const error = new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503, attempts: 3 }, message: 'Please reduce your request rate.' });
  return Object.assign(error, { $retryable: { throttling: true } });
}

describe('a burst of throttling across concurrent requests', () => {
  it('answers every request with a result or a 503 with Retry-After during the burst, never a 500, and serves them all after', async () => {
    // Prepare: 40 requests for four images: info.json, hits and misses.
    const paths = Array.from({ length: 40 }, (_, i) => {
      const id = `burst-${i % 4}`;
      return i % 5 === 0 ? `/iiif/3/${id}/info.json` : `/iiif/3/${id}/full/${100 + i},/0/default.png`;
    });
    // Before the burst: the records exist, and so do a third of the derivatives.
    for (const path of paths.filter((_, i) => i % 5 === 0 || i % 3 === 0)) expect((await t.request(path, { token })).status).toBeLessThan(400);

    // While the burst lasts, two storage calls in three are throttled (still, after the
    // SDK's own retries), whichever request makes them; then storage recovers.
    const client: S3Client = t.stack.services.s3;
    const original = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    const mock = mockClient(client);
    let bursting = true;
    let calls = 0;
    let throttled = 0;
    const burst = <I>(Command: new (input: I) => unknown) => (input: I) => {
      calls += 1;
      if (bursting && calls % 3 !== 0) {
        throttled += 1;
        return Promise.reject(slowDown());
      }
      return original(new Command(input));
    };
    mock.on(HeadObjectCommand).callsFake(burst(HeadObjectCommand));
    mock.on(GetObjectCommand).callsFake(burst(GetObjectCommand));
    mock.on(PutObjectCommand).callsFake(burst(PutObjectCommand));
    try {
      // Act
      const during = await pool(paths, 40, (path) => t.request(path, { token }));
      bursting = false;
      const after = await pool(paths, 8, (path) => t.request(path, { token }));

      // Assess
      const outcomes = during.map((answer) => [answer.status, answer.status === 503 ? answer.headers['retry-after'] : undefined]);
      const statuses = new Set(outcomes.map(([status]) => status));
      expect(statuses).toContain(503);
      expect(statuses.has(200) || statuses.has(302)).toBe(true);
      for (const [status, retryAfter] of outcomes) {
        expect([200, 302, 503]).toContain(status);
        if (status === 503) expect(retryAfter).toBe('21');
      }
      for (const answer of during) expect(answerProblems({ status: answer.status, headers: answer.headers, body: answer.text() })).toEqual([]);
      expect(throttled).toBeGreaterThan(10);
      expect(after.map((answer) => answer.status)).toEqual(paths.map((path) => (path.endsWith('info.json') ? 200 : 302)));
    } finally {
      mock.restore();
    }
    expect(await expectWholeObjects()).toBeGreaterThanOrEqual(8);
  });
});

describe('storage slower than the timeout, for real', () => {
  let proxy: FaultProxy;
  let handler: GatewayHandler;
  let cacheDir: string;
  let client: S3Client;

  beforeAll(async () => {
    proxy = await startFaultProxy(t.stack.s3Endpoint);
    cacheDir = await mkdtemp(join(tmpdir(), 'recto-slow-'));
    // The same buckets through the proxy, with a short timeout: two attempts of 300 ms.
    client = createS3Client({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 300, maxAttempts: 2 });
    const config: Config = { ...t.stack.config, sourceCache: { dir: cacheDir, maxBytes: 100 * 1024 * 1024 } };
    const services = createServices(config, { s3: client, logger: new CapturingLogger(), deferral: 'never' });
    handler = createGatewayHandler(() => createHttpApp(services));
  });

  afterAll(async () => {
    client.destroy();
    await proxy.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function get(rawPath: string): Promise<{ status: number; body: string; ms: number; headers: Record<string, string> }> {
    const event: APIGatewayProxyEventV2 = {
      version: '2.0', routeKey: '$default', rawPath, rawQueryString: '', isBase64Encoded: false,
      headers: { host: '127.0.0.1', authorization: `Bearer ${token}` },
      requestContext: {
        accountId: 'test', apiId: 'test', domainName: '127.0.0.1', domainPrefix: '127', requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0,
        http: { method: 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      },
    };
    const started = Date.now();
    const result: APIGatewayProxyStructuredResultV2 = await handler(event, { getRemainingTimeInMillis: () => 29_000 });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    return { status: result.statusCode ?? 0, body: result.body ?? '', ms: Date.now() - started, headers };
  }

  it.each([
    ['the HEAD of a derivative', 'HEAD', new RegExp(`^/${LOCAL_DERIVATIVE_BUCKET}/${GRID_ID}/full/171,171/`), 171],
    ['the GET of a source record', 'GET', /\/burst-3\/source\.json$/, 172],
  ])('answers %s slower than the timeout with 503 within bounded time, then serves the request', async (_what, method, path, width) => {
    // Prepare: both attempts held back 2 s, past the 300 ms timeout.
    const identifier = width === 172 ? 'burst-3' : GRID_ID;
    proxy.inject({ method, path, times: 2, action: { delayMs: 2000 } });
    const request = `/iiif/3/${identifier}/full/${width},/0/default.png`;

    // Act
    const slow = await get(request);
    const next = await get(request);

    // Assess
    expect(slow.status).toBe(503);
    expect(JSON.parse(slow.body)).toMatchObject({ error: 'STORAGE_UNAVAILABLE' });
    expect(slow.headers['retry-after']).toBe('19');
    expect(slow.ms).toBeLessThan(2000);
    expect(next.status).toBe(302);
    expect(proxy.pending()).toBe(0);
  });

  it('leaves exactly one whole object when a PUT times out on our side but lands later', async () => {
    // Prepare: both attempts of the PUT are held back past the timeout, then delivered.
    const key = `${GRID_ID}/full/173,173/0/default.png`;
    proxy.inject({ method: 'PUT', path: `/${t.derivativeBucket}/${key}`, times: 2, action: { delayMs: 1000 } });
    const request = `/iiif/3/${GRID_ID}/full/173,/0/default.png`;

    // Act
    const slow = await get(request);
    await waitFor(() => proxy.held() === 0, 30_000, 50, 'the delayed PUTs forwarded or dropped');
    const next = await get(request);

    // Assess
    expect(slow.status).toBe(503);
    expect(next.status).toBe(302);
    expect((await t.listImages()).filter((object) => object.key === key)).toHaveLength(1);
    const image = await decode((await t.getDerivative(key)) ?? Buffer.alloc(0));
    expect([image.width, image.height]).toEqual([173, 173]);
    await expectWholeObjects();
  });
});

describe('presigned URLs and temporary credentials', () => {
  it('never lets a redirect be cached past the expiry of the credentials that signed it, and the URL works while they live', async () => {
    // Prepare: a role session with 10 minutes left, shorter than PRESIGN_TTL_SECONDS (1 h).
    const cacheDir = await mkdtemp(join(tmpdir(), 'recto-session-'));
    const expiration = new Date(Date.now() + 600_000);
    const client = createS3Client({ endpoint: t.stack.s3Endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    client.config.credentials = () => Promise.resolve({ ...LOCAL_CREDENTIALS, sessionToken: 'session-1', expiration });
    const services = createServices({ ...t.stack.config, sourceCache: { dir: cacheDir, maxBytes: 10 * 1024 * 1024 } }, { s3: client, logger: new CapturingLogger(), deferral: 'never' });
    const app = createHttpApp(services);

    try {
      // Act
      const answer = await app.handle({ method: 'GET', path: `/iiif/3/${GRID_ID}/full/174,/0/default.png`, headers: { authorization: `Bearer ${token}` }, baseUrl: 'http://127.0.0.1' });
      const location = new URL(answer.headers.location ?? '');
      const followed = await t.follow(location.href);

      // Assess
      expect(answer.status).toBe(302);
      const maxAge = Number(/max-age=(\d+)/.exec(answer.headers['cache-control'] ?? '')?.[1]);
      expect(maxAge).toBeLessThanOrEqual(600);
      expect(maxAge).toBeGreaterThan(590);
      // The URL itself claims the full TTL; S3 refuses it once the session ends anyway.
      expect(location.searchParams.get('X-Amz-Expires')).toBe('3600');
      expect(location.searchParams.get('X-Amz-Security-Token')).toBe('session-1');
      expect(followed.status).toBe(200);
      expect((await decode(followed.body)).width).toBe(174);
    } finally {
      client.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
