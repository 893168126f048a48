/**
 * The thundering herd across Lambda containers. In one process, identical cold
 * requests share one render (single flight: load.test.ts shows 50 requests, 1 render). Lambda,
 * though, gives each container one request at a time, so a herd reaches as many containers as
 * are free: each renders the derivative once, and the conditional PUT (If-None-Match: *) stores
 * it once; the others' PUTs are refused with 412 and they redirect to the stored object. So a
 * herd renders at most once per container it reaches, and stores once. Here five "containers"
 * (five independent sets of services on one S3) take a herd of 50.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/stack.js';
import { createHttpApp, type HttpApp } from '../../lib/http/app.js';
import { createServices } from '../../lib/entry/wiring.js';
import { createS3Client } from '../../lib/store/index.js';
import { CapturingLogger, decode, GRID_ID, renderSpy, startTestStack, type RenderSpy, type TestStack } from '../support/stack.js';

const CONTAINERS = 5;
const HERD = 50;

let t: TestStack;
let token: string;
const containers: { app: HttpApp; engine: RenderSpy; dir: string; destroy: () => void }[] = [];

beforeAll(async () => {
  t = await startTestStack();
  token = await t.token();
  // The record exists, as it would for an image already described.
  expect((await t.request(`/iiif/3/${GRID_ID}/info.json`, { token })).status).toBe(200);
  for (let i = 0; i < CONTAINERS; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'recto-container-'));
    const s3 = createS3Client({ endpoint: t.stack.s3Endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const engine = renderSpy();
    const services = createServices({ ...t.stack.config, sourceCache: { dir, maxBytes: 50 * 1024 * 1024 } }, { s3, engine, logger: new CapturingLogger(), deferral: 'never' });
    containers.push({ app: createHttpApp(services), engine, dir, destroy: () => {
      s3.destroy();
    } });
  }
});

afterAll(async () => {
  for (const container of containers) {
    container.destroy();
    await rm(container.dir, { recursive: true, force: true });
  }
  await t.close();
});

describe('a herd across containers', () => {
  it(`renders at most once per container (${CONTAINERS} here) and stores once, and every request is redirected to that object`, async () => {
    // Prepare
    const path = `/iiif/3/${GRID_ID}/full/777,/0/default.webp`;
    const key = `${GRID_ID}/full/777,777/0/default.webp`;

    // Act: the herd spread over the containers, all at once.
    const answers = await Promise.all(
      Array.from({ length: HERD }, (_, i) =>
        (containers[i % CONTAINERS] as (typeof containers)[number]).app.handle({ method: 'GET', path, headers: { authorization: `Bearer ${token}` }, baseUrl: 'http://127.0.0.1' }),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(Array<number>(HERD).fill(302));
    const renders = containers.map((container) => container.engine.count);
    expect(renders.every((count) => count <= 1)).toBe(true);
    expect(renders.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
    expect((await t.listImages()).filter((object) => object.key === key)).toHaveLength(1);
    const keys = new Set(answers.map((answer) => decodeURIComponent(new URL(answer.headers.location ?? '').pathname)));
    expect(keys).toEqual(new Set([`/${t.derivativeBucket}/${key}`]));
    const image = await decode((await t.getDerivative(key)) ?? Buffer.alloc(0));
    expect([image.format, image.width, image.height]).toEqual(['webp', 777, 777]);
  });
});
