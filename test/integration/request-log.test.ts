/**
 * The request log over real HTTP: one JSON line per request, as the function's Powertools
 * Logger prints it (captured by the stack's CapturingLogger), with method, path, status, cache
 * hit or miss, source bytes, render, upload and total milliseconds; and never a token, an
 * Authorization header or a presigned URL's query string, whatever the request carried.
 */
import { HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GRID_ID, startTestStack, type Answer, type TestStack } from '../support/stack.js';

let t: TestStack;
let token: string;
/** Every request sent, in order, and its answer. */
const sent: { method: string; path: string; answer: Answer }[] = [];

async function call(path: string, options: { method?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const answer = await t.send(path, options);
  sent.push({ method: options.method ?? 'GET', path: path.split('?')[0] ?? path, answer });
  return answer;
}

beforeAll(async () => {
  t = await startTestStack();
  token = await t.token();
  // One of each kind of request, one after the other.
  await call(`/iiif/3/${GRID_ID}/full/300,/0/default.jpg`, { token });
  await call(`/iiif/3/${GRID_ID}/full/300,/0/default.jpg`, { token });
  await call(`/iiif/3/${GRID_ID}/full/301,/0/default.jpg`, { token });
  await call(`/iiif/2/${GRID_ID}/info.json`, { token });
  await call(`/iiif/3/${GRID_ID}/full/max/0/default.bmp`, { token });
  await call(`/iiif/3/${GRID_ID}/full/max/0/default.jpg`, { token: `${token.slice(0, -4)}AAAA` });
  await call(`/iiif/3/${GRID_ID}/full/302,/0/default.jpg?access_token=${token}&X-Amz-Signature=abc`);
  await call('/iiif/3/missing/info.json', { token });
  await call(`/iiif/3/${GRID_ID}/info.json`, { method: 'OPTIONS' });
  await call(`/iiif/3/${GRID_ID}/info.json`, { method: 'HEAD', token });
  await call(`/iiif/3/${GRID_ID}/info.json`, { method: 'DELETE', token });
  // A storage fault, for a 5xx line.
  const s3Mock = mockClient(t.stack.services.s3);
  s3Mock.send.callThrough();
  s3Mock.on(HeadObjectCommand, { Bucket: t.derivativeBucket }).rejects(new S3ServiceException({ name: 'Unknown', $fault: 'server', $metadata: { httpStatusCode: 503, attempts: 3 }, message: 'Unknown' }));
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    await call(`/iiif/3/${GRID_ID}/full/303,/0/default.jpg`, { token });
  } finally {
    s3Mock.restore();
    warn.mockRestore();
  }
});

afterAll(async () => {
  await t.close();
});

describe('the request log', () => {
  it('has one line per request, in order, with its method, path and status', () => {
    // Act
    const lines = t.logger.requests();

    // Assess
    expect(lines.map((line) => [line.method, line.path, line.status])).toEqual(sent.map((each) => [each.method, each.path, each.answer.status]));
    expect(sent.map((each) => each.answer.status)).toEqual([302, 302, 302, 200, 400, 401, 401, 404, 204, 200, 405, 503]);
  });

  it('tells a render (miss, with source bytes, render and upload times) from a cache hit', () => {
    // Act
    const [miss, hit, missOnCachedSource] = t.logger.requests();

    // Assess
    expect(miss).toMatchObject({ level: 'INFO', message: 'request', status: 302, cache: 'miss', stored: 'created' });
    // The source was read from S3 once (to probe it, into the local cache) and rendered from there.
    expect(miss?.sourceBytes).toBe(t.grid.png.length);
    for (const field of ['renderMs', 'uploadMs', 'totalMs']) {
      expect(Number.isInteger(miss?.[field]), field).toBe(true);
      expect(miss?.[field] as number, field).toBeGreaterThanOrEqual(0);
    }
    expect(miss?.totalMs as number).toBeGreaterThanOrEqual((miss?.renderMs as number) + (miss?.uploadMs as number));
    expect(hit).toMatchObject({ status: 302, cache: 'hit', sourceBytes: 0 });
    expect(hit).not.toHaveProperty('renderMs');
    expect(hit).not.toHaveProperty('uploadMs');
    expect(Number.isInteger(hit?.totalMs)).toBe(true);
    // Another render from the same source reads nothing from S3: the source is on local disk.
    expect(missOnCachedSource).toMatchObject({ status: 302, cache: 'miss', stored: 'created', sourceBytes: 0 });
    expect(missOnCachedSource?.renderMs).toEqual(expect.any(Number));
  });

  it('names the error code of failed requests, and logs server errors as warnings', () => {
    // Act
    const lines = t.logger.requests();

    // Assess
    expect(lines.map((line) => [line.status, line.level, line.error])).toEqual([
      [302, 'INFO', undefined],
      [302, 'INFO', undefined],
      [302, 'INFO', undefined],
      [200, 'INFO', undefined],
      [400, 'INFO', 'IIIF_INVALID_FORMAT'],
      [401, 'INFO', 'AUTH_INVALID_TOKEN'],
      [401, 'INFO', 'AUTH_MISSING_TOKEN'],
      [404, 'INFO', 'SOURCE_NOT_FOUND'],
      [204, 'INFO', undefined],
      [200, 'INFO', undefined],
      [405, 'INFO', 'METHOD_NOT_ALLOWED'],
      [503, 'WARN', 'STORAGE_UNAVAILABLE'],
    ]);
  });

  it('never holds a token, an Authorization header, a query string or a presigned URL', () => {
    // Prepare
    const everything = t.logger.lines.join('\n');
    const presigned = sent.map((each) => each.answer.headers.location).filter((location) => location !== undefined);

    // Assess
    expect(presigned.length).toBeGreaterThan(0);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2] ?? token);
    expect(everything.toLowerCase()).not.toContain('bearer');
    expect(everything.toLowerCase()).not.toContain('authorization');
    expect(everything).not.toContain('access_token');
    expect(everything).not.toContain('X-Amz-');
    expect(everything).not.toContain('?');
    for (const location of presigned) expect(everything).not.toContain(new URL(location).search.slice(1, 40));
  });
});
