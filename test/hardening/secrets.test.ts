/**
 * Secrets and headers, beyond the request log (test/integration/
 * request-log.test.ts): the error logs (the 'Unhandled error' path, which logs a whole SDK
 * error, and lib/store's own log of storage faults) hold no token, no request signature, no
 * presigned query string and no secret key; the 500 a client gets says nothing of the fault; and
 * every answer of the local stack, its own non-IIIF routes included, carries
 * `X-Content-Type-Options: nosniff`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/stack.js';
import { createHttpApp, type HttpApp } from '../../lib/http/app.js';
import { createServices } from '../../lib/entry/wiring.js';
import { createS3Client } from '../../lib/store/index.js';
import { startFaultProxy, type FaultProxy } from '../support/s3.js';
import { CapturingLogger, GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { answerProblems } from './support.js';

/** The embedded S3 verifies signatures, so the secret is its own: that word must not be logged either. */
const SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;

let t: TestStack;
let token: string;
let proxy: FaultProxy;
let app: HttpApp;
let logger: CapturingLogger;
let cacheDir: string;
const consoleLines: string[] = [];

beforeAll(async () => {
  t = await startTestStack();
  token = await t.token();
  proxy = await startFaultProxy(t.stack.s3Endpoint);
  cacheDir = await mkdtemp(join(tmpdir(), 'recto-secrets-'));
  const s3 = createS3Client({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'S3RVER', secretAccessKey: SECRET_ACCESS_KEY, sessionToken: 'do-not-log-this-session-token' }, maxAttempts: 1 });
  logger = new CapturingLogger();
  const services = createServices({ ...t.stack.config, sourceCache: { dir: cacheDir, maxBytes: 10 * 1024 * 1024 } }, { s3, logger, deferral: 'never' });
  app = createHttpApp(services);
  // lib/store logs storage faults with console.warn / console.error: keep what it writes.
  for (const method of ['warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await proxy.close();
  await rm(cacheDir, { recursive: true, force: true });
  await t.close();
});

/** Everything that must never appear in a log. */
function secrets(): string[] {
  return [token, token.split('.')[2] ?? token, SECRET_ACCESS_KEY, 'do-not-log-this-session-token', 'Signature=', 'X-Amz-Signature', 'X-Amz-Credential', 'Bearer ', 'authorization'];
}

describe('the error logs', () => {
  it('log an unexpected storage error whole for operators, without the token, the signature or the keys, and answer a bare 500', async () => {
    // Prepare: storage answers a GET of the source record with an error Recto does not know.
    proxy.inject({ method: 'GET', path: `/${t.derivativeBucket}/!recto/records/${GRID_ID}/source.json`, action: { status: 400, code: 'InvalidArgument' } });

    // Act
    const answer = await app.handle({ method: 'GET', path: `/iiif/3/${GRID_ID}/info.json`, headers: { authorization: `Bearer ${token}` }, baseUrl: 'http://127.0.0.1' });

    // Assess
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'INTERNAL_ERROR', detail: 'An unexpected error occurred. It has been logged.' });
    expect(answerProblems(answer)).toEqual([]);
    const unhandled = logger.entries().filter((entry) => entry.message === 'Unhandled error');
    expect(unhandled).toHaveLength(1);
    expect(JSON.stringify(unhandled[0])).toContain('InvalidArgument');
    const everything = logger.lines.join('\n');
    for (const secret of secrets()) expect(everything.toLowerCase()).not.toContain(secret.toLowerCase());
  });

  it("keep lib/store's own log of a storage fault to the bucket, key and error, and a presigned redirect's query out of every log", async () => {
    // Prepare
    proxy.inject({ method: 'HEAD', path: new RegExp(`/${t.derivativeBucket}/${GRID_ID}/full/191,191/`), action: { status: 503 } });

    // Act
    const failed = await app.handle({ method: 'GET', path: `/iiif/3/${GRID_ID}/full/191,/0/default.png`, headers: { authorization: `Bearer ${token}` }, baseUrl: 'http://127.0.0.1' });
    const served = await app.handle({ method: 'GET', path: `/iiif/3/${GRID_ID}/full/191,/0/default.png`, headers: { authorization: `Bearer ${token}` }, baseUrl: 'http://127.0.0.1' });

    // Assess
    expect(failed.status).toBe(503);
    expect(served.status).toBe(302);
    const query = new URL(served.headers.location ?? '').search;
    expect(query).toContain('X-Amz-Signature');
    const storeLine = consoleLines.find((line) => line.includes('Storage is unavailable'));
    expect(JSON.parse(storeLine ?? '{}')).toMatchObject({ level: 'WARN', operation: 'HeadObject', bucket: t.derivativeBucket, key: `${GRID_ID}/full/191,191/0/default.png`, httpStatus: 503 });
    const everything = [...logger.lines, ...consoleLines].join('\n');
    expect(everything).not.toContain(query.slice(1, 60));
    for (const secret of secrets()) expect(everything.toLowerCase()).not.toContain(secret.toLowerCase());
  });
});

describe('X-Content-Type-Options: nosniff', () => {
  it('is on every answer of the local stack, its page, assets, token endpoint and key set included', async () => {
    // Prepare
    const paths: readonly [string, string, number][] = [
      ['GET', '/', 200],
      ['GET', '/viewer/app.js', 200],
      ['GET', '/viewer/app.css', 200],
      ['GET', '/local/token', 200],
      ['POST', '/local/token', 405],
      ['GET', '/.well-known/jwks.json', 200],
      ['GET', `/iiif/3/${GRID_ID}/info.json`, 200],
      ['GET', `/iiif/3/${GRID_ID}`, 303],
      ['GET', `/iiif/3/${GRID_ID}/full/192,/0/default.png`, 302],
      ['HEAD', `/iiif/3/${GRID_ID}/full/192,/0/default.png`, 302],
      ['OPTIONS', `/iiif/3/${GRID_ID}/info.json`, 204],
      ['GET', '/iiif/3/nope/info.json', 404],
      ['GET', '/favicon.ico', 404],
      ['DELETE', `/iiif/3/${GRID_ID}/info.json`, 405],
      ['GET', `/iiif/3/${GRID_ID}/full/max/0/default.exe`, 400],
    ];

    // Act
    const answers = await Promise.all(paths.map(([method, path]) => t.send(path, { method, token })));

    // Assess
    expect(answers.map((answer, i) => [paths[i]?.[1], answer.status, answer.headers['x-content-type-options']])).toEqual(
      paths.map(([, path, status]) => [path, status, 'nosniff']),
    );
  });
});
