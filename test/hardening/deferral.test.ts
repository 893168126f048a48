/**
 * Renders longer than a request may wait: the estimate is made from the
 * Plan before any work; a render over RENDER_BUDGET_SECONDS, or over the time the invocation has
 * left, is handed on (the pre-warm queue in Lambda, the background in the local stack) and the
 * client gets 503 with Retry-After, then a hit; a render that still runs out of time is stopped
 * before the platform would kill the function, stores nothing, and is handed on too. Never a
 * gateway 504 after a wasted render.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../lib/http/app.js';
import { createGatewayHandler, type GatewayHandler } from '../../lib/entry/iiif.js';
import { parseImageRequest, resolve, storageKey } from '../../lib/iiif/index.js';
import { parsePrewarmMessage } from '../../lib/queue/index.js';
import { estimateRenderSeconds, render, renderBatch, type SourceProbe } from '../../lib/render/index.js';
import type { RenderEngine } from '../../lib/service/produce.js';
import { photoLike } from '../support/fixtures.js';
import { decode, GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { plain, startMockedGateway, type MockedGateway } from './gateway.js';
import { waitFor } from '../support/wait.js';
import { answerProblems } from './support.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/recto-prewarm';

// ---- the pre-warm queue ---------------------------------------------------------------------

describe('a render over the budget, in Lambda (the pre-warm queue)', () => {
  let gateway: MockedGateway;
  let sqs: AwsClientStub<SQSClient>;

  beforeAll(async () => {
    // Every SQSClient, the one createServices builds for the queue included.
    sqs = mockClient(SQSClient);
    gateway = await startMockedGateway({
      derivativesExist: false,
      env: { PREWARM_QUEUE_URL: QUEUE_URL, RENDER_BUDGET_SECONDS: '1' },
      overrides: { deferral: 'queue' },
    });
  });

  afterEach(() => {
    sqs.reset();
  });

  afterAll(async () => {
    sqs.restore();
    await gateway.close();
  });

  it('answers 503 with Retry-After at once, and queues one message whose path leads the worker to the same key', async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const path = '/iiif/3/grid/full/^2000,/0/default.gif';
    const request = parseImageRequest('3', { identifier: 'grid', region: 'full', size: '^2000,', rotation: '0', qualityFormat: 'default.gif' });
    const probe = gateway.services.records;
    const record = await probe.get('grid');
    const plan = resolve(request, record.probe, gateway.config.limits);
    expect(estimateRenderSeconds(plan, record.probe)).toBeGreaterThan(1);
    gateway.resetCalls();

    // Act
    const answer = plain(await gateway.send('GET', path));

    // Assess
    expect(answer.status).toBe(503);
    expect(answerProblems(answer)).toEqual([]);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'RENDER_DEFERRED' });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    expect(gateway.renders()).toBe(0);
    expect(gateway.calls().filter((call) => call.command === 'PutObjectCommand')).toEqual([]);
    const sent = sqs.commandCalls(SendMessageCommand);
    expect(sent).toHaveLength(1);
    const input = sent[0]?.args[0].input;
    expect(input?.QueueUrl).toBe(QUEUE_URL);
    const message = parsePrewarmMessage(input?.MessageBody);
    expect(message).toEqual({ identifier: 'grid', paths: ['full/^2000,1600/0/default.gif'] });
    // The worker parses the path as 3.0 and resolves it against the same record and limits.
    const [region = '', size = '', rotation = '', qualityFormat = ''] = (message.paths?.[0] ?? '').split('/');
    const workerPlan = resolve(parseImageRequest('3', { identifier: 'grid', region, size, rotation, qualityFormat }), record.probe, gateway.config.limits);
    expect(storageKey(workerPlan, gateway.config.derivativePrefix)).toBe(storageKey(plan, gateway.config.derivativePrefix));
    expect(storageKey(plan, gateway.config.derivativePrefix)).toBe('iiif/grid/full/2000,1600/0/default.gif');
  });

  it('queues one message for a herd of 30 identical requests, not one each', async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-2' });

    // Act
    const answers = await Promise.all(Array.from({ length: 30 }, () => gateway.send('GET', '/iiif/3/grid/full/^2200,/0/default.gif')));

    // Assess
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array<number>(30).fill(503));
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(gateway.renders()).toBe(0);
  });

  it('answers 503 RENDER_QUEUE_UNAVAILABLE, not a 500, when SQS fails, and queues the render once SQS is back', async () => {
    // Prepare
    const path = '/iiif/3/grid/full/^2400,/0/default.gif';
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }));

    // Act
    const failed = plain(await gateway.send('GET', path));
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-3' });
    const retried = plain(await gateway.send('GET', path));

    // Assess
    expect(failed.status).toBe(503);
    expect(JSON.parse(failed.body)).toEqual({
      error: 'RENDER_QUEUE_UNAVAILABLE',
      detail: 'This image takes longer to render than a request may wait, and it could not be queued for rendering (ServiceUnavailable); retry after 5 s.',
    });
    expect(failed.headers['retry-after']).toBe('5');
    expect(retried.status).toBe(503);
    expect(JSON.parse(retried.body)).toMatchObject({ error: 'RENDER_DEFERRED' });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(gateway.renders()).toBe(0);
  });
});

// ---- the background (local stack) ------------------------------------------------------------

/** One invocation of the stack's own services through the Lambda handler, with a context. */
function invoke(handler: GatewayHandler, rawPath: string, token: string, remainingMs: number): Promise<APIGatewayProxyStructuredResultV2> {
  const started = Date.now();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0', routeKey: '$default', rawPath, rawQueryString: '', isBase64Encoded: false,
    headers: { host: '127.0.0.1', authorization: `Bearer ${token}` },
    requestContext: {
      accountId: 'test', apiId: 'test', domainName: '127.0.0.1', domainPrefix: '127', requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0,
      http: { method: 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
    },
  };
  return handler(event, { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) });
}

describe('a render over the budget, in the local stack (the background)', () => {
  let t: TestStack;
  let token: string;

  beforeAll(async () => {
    t = await startTestStack({ env: { RENDER_BUDGET_SECONDS: '1' } });
    token = await t.token();
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers 503 with Retry-After before rendering, renders once in the background, and the retry is a hit', async () => {
    // Prepare
    const path = `/iiif/3/${GRID_ID}/full/^2000,/0/default.gif`;
    const key = `${GRID_ID}/full/2000,2000/0/default.gif`;

    // Act
    const started = Date.now();
    const first = await t.request(path, { token });
    const firstMs = Date.now() - started;
    await waitFor(() => t.derivativeExists(key), 60_000);
    const retry = await t.request(path, { token });

    // Assess
    expect(first.status).toBe(503);
    expect((first.json() as { error: string }).error).toBe('RENDER_DEFERRED');
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    expect(firstMs).toBeLessThan(1000);
    expect(retry.status).toBe(302);
    expect(t.engine.plans.filter((plan) => plan.format === 'gif')).toHaveLength(1);
    const image = await decode((await t.follow(retry.headers.location ?? '')).body);
    expect([image.format, image.width, image.height]).toEqual(['gif', 2000, 2000]);
    const line = t.logger.requests().filter((entry) => entry.path === path);
    expect(line.map((entry) => [entry.status, entry.cache, entry.deferred ?? false])).toEqual([[503, 'miss', true], [302, 'hit', false]]);
  });

  it('hands a render on at once when the invocation has too little time left for it, and the retry is a hit', async () => {
    // Prepare: 3 s left, of which 1.5 s are kept for answering: nothing fits.
    const handler = createGatewayHandler(() => createHttpApp(t.stack.services));
    const path = `/iiif/3/${GRID_ID}/full/640,/0/default.png`;
    const key = `${GRID_ID}/full/640,640/0/default.png`;
    const renders = t.engine.count;

    // Act
    const answer = await invoke(handler, path, token, 3000);
    await waitFor(() => t.derivativeExists(key), 30_000);
    const retry = await invoke(handler, path, token, 29_000);

    // Assess
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ error: 'RENDER_DEFERRED' });
    expect(retry.statusCode).toBe(302);
    expect(t.engine.count).toBe(renders + 1);
  });
});

// ---- out of time during the render ------------------------------------------------------------

describe('the Lambda deadline approaching during a render', () => {
  let t: TestStack;
  let token: string;
  let renders = 0;

  beforeAll(async () => {
    // An engine whose estimate is far too low: the render starts, then runs out of time.
    const engine: RenderEngine = {
      render(input, plan, source, options) {
        renders += 1;
        return render(input, plan, source, options);
      },
      renderBatch,
      estimateRenderSeconds: () => 0.01,
    };
    t = await startTestStack({ overrides: { engine } });
    token = await t.token();
  });

  afterAll(async () => {
    await t.close();
  });

  it('stops the render with 503 before the deadline, stores nothing, hands it on, and the retry is a hit', async () => {
    // Prepare: 5.6 s left: 1.5 s kept for answering, 3 s for the upload: the render gets 1 s.
    const handler = createGatewayHandler(() => createHttpApp(t.stack.services));
    const path = `/iiif/3/${GRID_ID}/full/^8000,/0/default.webp`;
    const key = `${GRID_ID}/full/8000,8000/0/default.webp`;
    const remainingMs = 5600;
    // The source's record made beforehand: only the render, not its description, spends the 1 s.
    expect((await invoke(handler, `/iiif/3/${GRID_ID}/info.json`, token, 29_000)).statusCode).toBe(200);

    // Act
    const started = Date.now();
    const answer = await invoke(handler, path, token, remainingMs);
    const elapsed = Date.now() - started;
    const storedRightAfter = await t.derivativeExists(key);
    await waitFor(() => t.derivativeExists(key), 90_000, 250);
    const retry = await invoke(handler, path, token, 29_000);

    // Assess
    expect(answer.statusCode).toBe(503);
    expect(answerProblems(plain(answer))).toEqual([]);
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ error: 'RENDER_DEFERRED' });
    expect(Number(answer.headers?.['retry-after'])).toBeGreaterThanOrEqual(5);
    // Answered before the platform would have ended the invocation.
    expect(elapsed).toBeLessThan(remainingMs);
    expect(storedRightAfter).toBe(false);
    expect(retry.statusCode).toBe(302);
    // The cut-short render and the one handed on: no third.
    expect(renders).toBe(2);
    const timedOut = t.logger.requests().find((entry) => entry.path === path);
    expect(timedOut).toMatchObject({ status: 503, cache: 'miss', deferred: true, error: 'RENDER_DEFERRED' });
    const image = await sharp((await t.getDerivative(key)) ?? Buffer.alloc(0)).metadata();
    expect([image.format, image.width, image.height]).toEqual(['webp', 8000, 8000]);
  }, 120_000);
});

// ---- the estimate against measured times ------------------------------------------------------

describe('the render-time estimate', () => {
  it('is never below the CPU time measured on this machine, nor absurdly above it, for photo-like sources', async () => {
    // Prepare
    const jpeg = await photoLike({ width: 3000, height: 2000, format: 'jpeg', quality: 85 });
    const png = await photoLike({ width: 2000, height: 1500, format: 'png' });
    const cases: { readonly name: string; readonly source: Buffer; readonly path: string }[] = [
      { name: 'JPEG full/max as JPEG', source: jpeg, path: 'full/max/0/default.jpg' },
      { name: 'JPEG full/max as PNG', source: jpeg, path: 'full/max/0/default.png' },
      { name: 'JPEG full/max as WebP', source: jpeg, path: 'full/max/0/default.webp' },
      { name: 'JPEG thumbnail', source: jpeg, path: 'full/!400,400/0/default.jpg' },
      { name: 'JPEG tile', source: jpeg, path: '1024,1024,512,512/512,/0/default.jpg' },
      { name: 'JPEG rotated 30', source: jpeg, path: 'full/1500,/30/default.png' },
      { name: 'PNG full/max as GIF', source: png, path: 'full/1000,/0/default.gif' },
      { name: 'PNG half as JPEG', source: png, path: 'full/pct:50/0/default.jpg' },
    ];
    const { probe } = await import('../../lib/render/index.js');
    const encode = { jpegQuality: 85, webpQuality: 80, webpEffort: 2, pngCompressionLevel: 6 };
    const rows: { name: string; estimate: number; measured: number }[] = [];

    // Act
    for (const entry of cases) {
      const source: SourceProbe = await probe(entry.source, { maxInputPixels: 268_402_689 });
      const [region = '', size = '', rotation = '', qualityFormat = ''] = entry.path.split('/');
      const plan = resolve(parseImageRequest('3', { identifier: 'x', region, size, rotation, qualityFormat }), source, {});
      // CPU time, not wall time: what a one-vCPU Lambda pays for every thread's work, and what
      // another process busy on this machine's cores does not inflate.
      let measured = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 2; run++) {
        const started = process.cpuUsage();
        await render(entry.source, plan, source, { encode, maxInputPixels: 268_402_689 });
        const used = process.cpuUsage(started);
        measured = Math.min(measured, (used.user + used.system) / 1e6);
      }
      rows.push({ name: entry.name, estimate: estimateRenderSeconds(plan, source, { webpEffort: 2 }), measured });
    }

    // Assess: the estimate is for a slower Lambda core (3x this machine); it may be pessimistic,
    // which only sends a render asynchronous early, but never below the CPU time measured here.
    for (const row of rows) {
      expect(row.estimate, `${row.name}: estimate ${row.estimate.toFixed(3)} s, measured ${row.measured.toFixed(3)} s`).toBeGreaterThan(row.measured);
      expect(row.estimate, `${row.name}: estimate ${row.estimate.toFixed(3)} s, measured ${row.measured.toFixed(3)} s`).toBeLessThan(Math.max(0.1, row.measured * 60));
    }
  }, 120_000);
});
