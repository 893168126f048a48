/**
 * lib/service/images.ts (ImageService) on the embedded S3 with the real renderer: a hit costs one
 * HEAD and no render; a miss renders once for a whole herd, and only for a caller allowed to;
 * what memory cannot hold is refused before anything is spent; a render too long for the request
 * (or for the time the invocation has left) is handed to the deferrer once per key; a source
 * replaced under a request is retried on a fresh record. Clocks are injected.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/auth/index.js';
import { resolve, type ImageRequest } from '../../lib/iiif/index.js';
import { estimateRenderSeconds, renderMemoryBudget } from '../../lib/render/estimate.js';
import { renderBatch } from '../../lib/render/index.js';
import { ImageService, newTrace, type DeferredRender, type Deferrer, type ImageContext, type RequestTrace } from '../../lib/service/images.js';
import type { RenderEngine } from '../../lib/service/produce.js';
import type { DerivativeStore } from '../../lib/store/index.js';
import { gridImage, truncated } from '../support/fixtures.js';
import { renderSpy } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { GRID, manualClock, rejection, request, startBench, type Bench, type Clock, type Container } from './support.js';

let bench: Bench;

beforeAll(async () => {
  bench = await startBench();
});

afterAll(async () => {
  await bench.close();
});

const ANONYMOUS: Principal = { anonymous: true, scopes: new Set() };
const READER: Principal = { anonymous: false, subject: 'reader', scopes: new Set(['iiif:read']) };
const RENDERER: Principal = { anonymous: false, subject: 'renderer', scopes: new Set(['iiif:render']) };

/** A request's context for a caller; `authorized` counts the render authorisations asked for. */
function caller(container: Container, principal: Principal, extra: Partial<Pick<ImageContext, 'deadline'>> = {}) {
  const { authenticator } = container.services;
  const calls = { authorized: 0 };
  const trace: RequestTrace = newTrace();
  const context: ImageContext = {
    authorizeRender: () => {
      calls.authorized += 1;
      authenticator.authorize(principal, 'render');
    },
    mayWrite: authenticator.can(principal, 'render'),
    trace,
    ...extra,
  };
  return { context, trace, calls };
}

/** A deferrer that keeps each job and its work, running nothing. */
class StubDeferrer implements Deferrer {
  readonly jobs: DeferredRender[] = [];
  readonly works: (() => Promise<unknown>)[] = [];

  defer(job: DeferredRender, work: () => Promise<unknown>): Promise<void> {
    this.jobs.push(job);
    this.works.push(work);
    return Promise.resolve();
  }
}

/** The container's own ImageService again, with this deferrer and clock (and derivative store). */
function withDeferrer(container: Container, deferrer: Deferrer | undefined, clock: Clock, derivatives: Pick<DerivativeStore, 'exists' | 'presign'> = container.services.derivatives): ImageService {
  const { services, config } = container;
  return new ImageService(
    services.records,
    derivatives,
    services.producer,
    services.engine,
    { prefix: config.derivativePrefix, limits: config.limits, memoryBudgetBytes: renderMemoryBudget(config.render.memoryMb), budgetSeconds: config.render.budgetSeconds },
    deferrer,
    clock.now,
  );
}

const AUTH_ON = { IIIF_AUTH: 'on', JWT_PUBLIC_KEY: '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}', JWT_ALGORITHMS: 'EdDSA', JWT_ISSUER: 'https://issuer.example.org/', JWT_AUDIENCE: 'recto' };

describe('a hit', () => {
  it('costs one HEAD, no render and no render authorisation, and redirects to a presigned URL for the key', async () => {
    // Prepare: the derivative stored by another container.
    const writer = await bench.container();
    const wanted = request(GRID, 'full/200,/0/default.jpg');
    await writer.services.images.image(wanted, caller(writer, RENDERER).context);
    const clock = manualClock();
    const reader = await bench.container({ env: { ...AUTH_ON, PRESIGN_TTL_SECONDS: '900' }, overrides: { now: clock.now } });
    await reader.services.records.get(GRID);
    const { context, trace, calls } = caller(reader, ANONYMOUS);
    const mark = bench.mark();

    // Act
    const answer = await reader.services.images.image(wanted, context);

    // Assess
    const key = 'grid/full/200,200/0/default.jpg';
    expect(bench.since(mark)).toEqual([`HEAD /recto-derivatives/${key}`]);
    expect([reader.engine.count, calls.authorized]).toEqual([0, 0]);
    expect(trace).toEqual({ cache: 'hit', sourceBytesRead: 0, key });
    expect(answer.key).toBe(key);
    expect(decodeURIComponent(new URL(answer.location.url).pathname)).toBe(`/recto-derivatives/${key}`);
    expect(answer.location.maxAgeSeconds).toBe(900);
    expect(answer.location.expiresAt.getTime()).toBe(clock.now() + 900_000);
  });

  it('is remembered for 15 seconds: a repeat within them sends no HEAD, one after them sends one', async () => {
    // Prepare
    const clock = manualClock();
    const reader = await bench.container({ overrides: { now: clock.now } });
    const wanted = request(GRID, 'full/201,/0/default.jpg');
    await reader.services.images.image(wanted, caller(reader, RENDERER).context);
    const key = 'grid/full/201,201/0/default.jpg';

    // Act
    clock.advance(14_999);
    const m1 = bench.mark();
    const within = caller(reader, RENDERER);
    await reader.services.images.image(wanted, within.context);
    const inside = bench.since(m1);
    const other = await bench.container({ overrides: { now: clock.now } });
    await other.services.images.image(wanted, caller(other, RENDERER).context);
    clock.advance(15_000);
    const m2 = bench.mark();
    const after = caller(other, RENDERER);
    await other.services.images.image(wanted, after.context);

    // Assess
    expect(inside).toEqual([]);
    expect(bench.since(m2)).toEqual([`HEAD /recto-derivatives/${key}`]);
    expect([within.trace.cache, after.trace.cache]).toEqual(['hit', 'hit']);
  });

  // A hit answered from memory must not re-set the key's 15 s window: were it to slide, a key asked
  // for at least every 15 s would never be checked again, even after a purge had deleted it.
  it('checks a remembered key again 15 seconds after it was seen stored, however often it was asked for meanwhile', async () => {
    // Prepare: a key seen stored at t = 0, asked for again at t = 14.999 s.
    const clock = manualClock();
    const reader = await bench.container({ overrides: { now: clock.now } });
    const wanted = request(GRID, 'full/202,/0/default.jpg');
    await reader.services.images.image(wanted, caller(reader, RENDERER).context);
    clock.advance(14_999);
    await reader.services.images.image(wanted, caller(reader, RENDERER).context);

    // Act: t = 15 s.
    clock.advance(1);
    const mark = bench.mark();
    await reader.services.images.image(wanted, caller(reader, RENDERER).context);

    // Assess
    expect(bench.since(mark)).toEqual(['HEAD /recto-derivatives/grid/full/202,202/0/default.jpg']);
  });
});

describe('a miss', () => {
  let a: Container;

  beforeAll(async () => {
    a = await bench.container({ env: AUTH_ON });
  });

  it('renders and stores the derivative for a caller with the render scope, then redirects to it', async () => {
    // Prepare
    const { context, trace, calls } = caller(a, RENDERER);
    const before = a.engine.count;
    const mark = bench.mark();

    // Act
    const answer = await a.services.images.image(request(GRID, '0,0,500,500/250,/0/gray.png'), context);

    // Assess
    const key = 'grid/0,0,500,500/250,250/0/gray.png';
    expect(answer.key).toBe(key);
    expect(decodeURIComponent(new URL(answer.location.url).pathname)).toBe(`/recto-derivatives/${key}`);
    expect([a.engine.count - before, calls.authorized]).toEqual([1, 1]);
    expect(trace).toMatchObject({ cache: 'miss', stored: 'created', key });
    expect(bench.since(mark).filter((r) => r.startsWith('PUT '))).toEqual([`PUT /recto-derivatives/${key}`]);
    const stored = await sharp((await bench.s3.getObject(bench.s3.derivativeBucket, key))?.body).metadata();
    expect([stored.format, stored.width, stored.height, stored.channels]).toEqual(['png', 250, 250, 1]);
  });

  it.each([
    ['an anonymous caller', ANONYMOUS, { name: 'AuthError', code: 'AUTH_MISSING_TOKEN', status: 401 }, 'Bearer realm="recto", scope="iiif:render"'],
    ['a read-only caller', READER, { name: 'AuthError', code: 'AUTH_INSUFFICIENT_SCOPE', status: 403 }, 'Bearer realm="recto", error="insufficient_scope", scope="iiif:render"'],
  ])('refuses %s with the AuthError of the render scope and writes nothing, not even the source record', async (_who, principal, expected, challenge) => {
    // Prepare: a source nobody has described yet.
    const identifier = `undescribed-${bench.mark()}`;
    await bench.putSource(identifier, (await gridImage({ width: 200, height: 100, cols: 2, rows: 1 })).png);
    const { context, trace } = caller(a, principal);
    const before = a.engine.count;
    const mark = bench.mark();

    // Act
    let thrown: unknown;
    try {
      await a.services.images.image(request(identifier, 'full/max/0/default.jpg'), context);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toMatchObject({ ...expected, headers: { 'www-authenticate': challenge } });
    expect(trace.cache).toBe('miss');
    expect(a.engine.count).toBe(before);
    expect(bench.since(mark).filter((r) => r.startsWith('PUT '))).toEqual([]);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, `${identifier}/`)).toEqual([]);
  });

  it('renders once and stores once when ten identical misses arrive together', async () => {
    // Prepare: the render is held back until all ten HEADs have been answered (all ten are misses).
    let answered = 0;
    const spy = renderSpy();
    const engine: RenderEngine = {
      render: async (input, plan, source, options) => {
        await waitFor(() => answered >= 10, 10_000, 5, 'ten HEADs answered');
        return spy.render(input, plan, source, options);
      },
      renderBatch,
      estimateRenderSeconds,
    };
    const herded = await bench.container({ overrides: { engine } });
    const { derivatives } = herded.services;
    const counting = {
      exists: async (key: string) => {
        const found = await derivatives.exists(key);
        answered += 1;
        return found;
      },
      presign: (key: string) => derivatives.presign(key),
    };
    const images = withDeferrer(herded, undefined, manualClock(), counting);
    await herded.services.records.get(GRID);
    const herd = Array.from({ length: 10 }, () => caller(herded, RENDERER));
    const mark = bench.mark();

    // Act
    const answers = await Promise.all(herd.map(({ context }) => images.image(request(GRID, 'full/333,/0/default.webp'), context)));

    // Assess
    const key = 'grid/full/333,333/0/default.webp';
    expect(new Set(answers.map((answer) => answer.key))).toEqual(new Set([key]));
    expect([answered, spy.count]).toEqual([10, 1]);
    expect(bench.since(mark).filter((r) => r === `PUT /recto-derivatives/${key}`)).toHaveLength(1);
    expect(herd.every(({ trace }) => trace.cache === 'miss' && trace.stored === 'created')).toBe(true);
  });

  it('refuses a render that memory cannot hold (RENDER_TOO_LARGE, 501) before rendering, handing on or writing anything', async () => {
    // Prepare: 512 MB leaves 256 MB for a render; a 9000x9000 WebP needs about 348 MB.
    const clock = manualClock();
    const small = await bench.container({ env: { RENDER_MEMORY_MB: '512', RENDER_BUDGET_SECONDS: '1' } });
    const deferrer = new StubDeferrer();
    const images = withDeferrer(small, deferrer, clock);
    const { context, trace } = caller(small, RENDERER);
    await small.services.records.get(GRID);
    const mark = bench.mark();

    // Act
    let thrown: unknown;
    try {
      await images.image(request(GRID, 'full/^9000,/0/default.webp'), context);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toMatchObject({
      name: 'UnsupportedError',
      code: 'RENDER_TOO_LARGE',
      status: 501,
      message: 'Expected a render needing at most 256 MB of memory for the image but received "9000x9000 webp from a png source, needing about 348 MB"; ask for a smaller size, another format or a right-angle rotation',
    });
    expect([small.engine.count, deferrer.jobs.length]).toEqual([0, 0]);
    expect(bench.since(mark)).toEqual(['HEAD /recto-derivatives/grid/full/9000,9000/0/default.webp']);
    expect(trace.cache).toBe('miss');
  });
});

describe('a render too long for the request', () => {
  /** 2000x2000 GIF from the 1000x1000 grid: a few seconds by the estimate, over a 1 s budget. */
  const LONG = 'full/^2000,/0/default.gif';
  let a: Container;
  let longRequest: ImageRequest;
  let estimate: number;

  beforeAll(async () => {
    a = await bench.container({ env: { RENDER_BUDGET_SECONDS: '1' } });
    longRequest = request(GRID, LONG);
    const record = await a.services.records.get(GRID);
    estimate = estimateRenderSeconds(resolve(longRequest, record.probe, a.config.limits), record.probe);
    expect(estimate).toBeGreaterThan(1);
  });

  it('is handed to the deferrer once, and the caller told RENDER_DEFERRED (503) with Retry-After, rendering nothing', async () => {
    // Prepare
    const deferrer = new StubDeferrer();
    const images = withDeferrer(a, deferrer, manualClock());
    const first = caller(a, RENDERER);
    const second = caller(a, RENDERER);
    const before = a.engine.count;
    const mark = bench.mark();

    // Act
    const failures = [await rejection(images.image(longRequest, first.context)), await rejection(images.image(longRequest, second.context))];

    // Assess
    const seconds = Math.ceil(estimate);
    expect(failures).toEqual(Array(2).fill({ name: 'UnavailableError', code: 'RENDER_DEFERRED', status: 503, retryAfter: String(Math.min(120, Math.max(5, seconds))) }));
    expect(deferrer.jobs).toEqual([{ identifier: GRID, path: 'full/^2000,2000/0/default.gif' }]);
    expect([first.trace.deferred, second.trace.deferred, first.trace.cache]).toEqual([true, true, 'miss']);
    expect(a.engine.count).toBe(before);
    expect(bench.since(mark).filter((r) => r.startsWith('PUT '))).toEqual([]);
  });

  it('says how long the render takes in the RENDER_DEFERRED message', async () => {
    // Act
    let thrown: unknown;
    try {
      await withDeferrer(a, new StubDeferrer(), manualClock()).image(request(GRID, 'full/^2001,/0/default.gif'), caller(a, RENDERER).context);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect((thrown as Error).message).toMatch(/^This image takes about \d+ s to render, longer than a request may wait; it is being rendered now\. Retry after the time in Retry-After\.$/);
  });

  it('is stored by the handed-over work, after which the same request is a hit', async () => {
    // Prepare
    const deferrer = new StubDeferrer();
    const images = withDeferrer(a, deferrer, manualClock());
    const wanted = request(GRID, 'full/^1500,/0/default.gif');
    await rejection(images.image(wanted, caller(a, RENDERER).context));
    const work = deferrer.works[0] ?? expect.fail('nothing handed over');

    // Act
    const stored = await work();
    const after = caller(a, RENDERER);
    const answer = await images.image(wanted, after.context);

    // Assess
    expect(stored).toBe('created');
    expect(answer.key).toBe('grid/full/1500,1500/0/default.gif');
    expect(after.trace.cache).toBe('hit');
    expect(deferrer.jobs).toHaveLength(1);
  });

  it('is handed over again after two minutes, not before', async () => {
    // Prepare
    const clock = manualClock();
    const deferrer = new StubDeferrer();
    const images = withDeferrer(a, deferrer, clock);
    const wanted = request(GRID, 'full/^2100,/0/default.gif');
    await rejection(images.image(wanted, caller(a, RENDERER).context));

    // Act
    clock.advance(119_999);
    await rejection(images.image(wanted, caller(a, RENDERER).context));
    const within = deferrer.jobs.length;
    clock.advance(1);
    await rejection(images.image(wanted, caller(a, RENDERER).context));

    // Assess
    expect([within, deferrer.jobs.length]).toEqual([1, 2]);
  });

  it('is handed over again at once when the handed-over render failed', async () => {
    // Prepare: a source whose header probes but whose pixels do not decode.
    await bench.putSource('corrupt-long', truncated(bench.grid.png));
    const deferrer = new StubDeferrer();
    const images = withDeferrer(a, deferrer, manualClock());
    const wanted = request('corrupt-long', LONG);
    await rejection(images.image(wanted, caller(a, RENDERER).context));
    const failed = await rejection((deferrer.works[0] ?? expect.fail('nothing handed over'))());

    // Act
    await rejection(images.image(wanted, caller(a, RENDERER).context));

    // Assess
    expect(failed).toMatchObject({ code: 'SOURCE_UNREADABLE', status: 422 });
    expect(deferrer.jobs).toHaveLength(2);
  });

  it('is handed over again at once when the hand-over itself failed, and that failure is what the caller gets', async () => {
    // Prepare
    let attempts = 0;
    const flaky: Deferrer = {
      defer: () => {
        attempts += 1;
        return attempts === 1 ? Promise.reject(new Error('queue down')) : Promise.resolve();
      },
    };
    const images = withDeferrer(a, flaky, manualClock());
    const wanted = request(GRID, 'full/^2200,/0/default.gif');

    // Act
    const first = await images.image(wanted, caller(a, RENDERER).context).catch((error: unknown) => error);
    const second = await rejection(images.image(wanted, caller(a, RENDERER).context));

    // Assess
    expect((first as Error).message).toBe('queue down');
    expect(second.code).toBe('RENDER_DEFERRED');
    expect(attempts).toBe(2);
  });

  it('is rendered and stored in the background by the \'background\' deferrer of the wiring', async () => {
    // Prepare
    const background = await bench.container({ env: { RENDER_BUDGET_SECONDS: '1' }, overrides: { deferral: 'background' } });
    const wanted = request(GRID, 'full/^1400,/0/default.gif');
    const key = 'grid/full/1400,1400/0/default.gif';

    // Act
    const failure = await rejection(background.services.images.image(wanted, caller(background, RENDERER).context));
    await waitFor(async () => (await bench.s3.getObject(bench.s3.derivativeBucket, key)) !== undefined, 20_000, 50, `${key} stored`);
    const after = caller(background, RENDERER);
    await background.services.images.image(wanted, after.context);

    // Assess
    expect(failure.code).toBe('RENDER_DEFERRED');
    expect(background.engine.count).toBe(1);
    expect(after.trace.cache).toBe('hit');
  });
});

describe('the invocation deadline', () => {
  it('refuses to start a render with less than the upload margin left (RENDER_TIMEOUT, 503, Retry-After 1) when nothing can take it', async () => {
    // Prepare: no deferrer; 3.5 s left, and 3 s are kept for the upload.
    const clock = manualClock();
    const a = await bench.container({ overrides: { now: clock.now } });
    await a.services.records.get(GRID);
    const { context, trace } = caller(a, RENDERER, { deadline: clock.now() + 3_500 });
    const mark = bench.mark();

    // Act
    let thrown: unknown;
    try {
      await a.services.images.image(request(GRID, 'full/64,/0/default.jpg'), context);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toMatchObject({ name: 'UnavailableError', code: 'RENDER_TIMEOUT', status: 503, headers: { 'retry-after': '1' }, message: 'Not enough time is left in this invocation to render the image; retry.' });
    expect(a.engine.count).toBe(0);
    expect(bench.since(mark)).toEqual(['HEAD /recto-derivatives/grid/full/64,64/0/default.jpg']);
    expect(trace.cache).toBe('miss');
  });

  it('renders inline when the deadline leaves time enough', async () => {
    // Prepare
    const clock = manualClock();
    const a = await bench.container({ overrides: { now: clock.now } });
    const { context, trace } = caller(a, RENDERER, { deadline: clock.now() + 5_000 });

    // Act
    const answer = await a.services.images.image(request(GRID, 'full/65,/0/default.jpg'), context);

    // Assess
    expect([answer.key, trace.stored, a.engine.count]).toEqual(['grid/full/65,65/0/default.jpg', 'created', 1]);
  });

  it('hands even a quick render to the deferrer when the invocation has no time left for it', async () => {
    // Prepare
    const clock = manualClock();
    const a = await bench.container();
    const deferrer = new StubDeferrer();
    const images = withDeferrer(a, deferrer, clock);
    const { context, trace } = caller(a, RENDERER, { deadline: clock.now() + 3_500 });
    const before = a.engine.count;

    // Act
    const failure = await rejection(images.image(request(GRID, 'full/66,/0/default.jpg'), context));

    // Assess
    expect(failure).toMatchObject({ code: 'RENDER_DEFERRED', status: 503, retryAfter: '5' });
    expect(deferrer.jobs).toEqual([{ identifier: GRID, path: 'full/66,66/0/default.jpg' }]);
    expect([a.engine.count - before, trace.deferred]).toEqual([0, true]);
  });
});

describe('a source replaced under a request', () => {
  it('is retried on a record built afresh: the derivative is made from the new source, under the new size\'s key', async () => {
    // Prepare: a record stored for a 300x200 source, then the source replaced by a 640x480 one
    // (no purge); a container with nothing on disk answers.
    const writer = await bench.container();
    await bench.putSource('swapped', (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png);
    await writer.services.records.get('swapped');
    const newEtag = await bench.putSource('swapped', (await gridImage({ width: 640, height: 480, cols: 4, rows: 3 })).png);
    const b = await bench.container();
    const { context, trace } = caller(b, RENDERER);

    // Act
    const answer = await b.services.images.image(request('swapped', 'full/max/0/default.jpg'), context);

    // Assess
    expect(answer.key).toBe('swapped/full/640,480/0/default.jpg');
    expect(trace.key).toBe(answer.key);
    expect(b.engine.count).toBe(1);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, 'swapped/')).toEqual(['swapped/full/640,480/0/default.jpg']);
    expect(await bench.s3.listKeys(bench.s3.derivativeBucket, '!recto/records/swapped/')).toEqual(['!recto/records/swapped/source.json']);
    const record = JSON.parse((await bench.s3.getObject(bench.s3.derivativeBucket, '!recto/records/swapped/source.json'))?.body.toString() ?? '{}') as { source: { etag: string } };
    expect(record.source.etag).toBe(newEtag);
  });
});

describe('info', () => {
  it('describes a source for a caller who may not write without storing its record', async () => {
    // Prepare
    const a = await bench.container();
    const png = (await gridImage({ width: 120, height: 80, cols: 3, rows: 2 })).png;
    await bench.putSource('described', png);
    const trace = newTrace();
    const mark = bench.mark();

    // Act
    const record = await a.services.images.info('described', trace, false);

    // Assess
    expect([record.probe.width, record.probe.height, trace.sourceBytesRead]).toEqual([120, 80, png.length]);
    expect(bench.since(mark).filter((r) => r.startsWith('PUT '))).toEqual([]);
  });
});
