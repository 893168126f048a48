/**
 * The derivative cache over real HTTP: a request renders once and is then a hit; every spelling
 * of the same pixels (pct or pixels, `!w,h` or `w,h`, 2.1 or 3.0) hits the same stored object;
 * and ten identical cold requests at once store one object from one render. Renders are counted
 * by the RenderSpy the stack runs instead of lib/render (it calls lib/render itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageKey } from '../../lib/iiif/index.js';
import { decode, GRID_ID, startTestStack, type Answer, type ListedDerivative, type TestStack } from '../support/stack.js';

let t: TestStack;
let token: string;

beforeAll(async () => {
  t = await startTestStack();
  token = await t.token();
});

afterAll(async () => {
  await t.close();
});

/** The storage key a presigned Location points at. */
function keyOf(answer: Answer): string {
  const path = decodeURIComponent(new URL(answer.headers.location ?? '').pathname);
  return path.slice(`/${t.derivativeBucket}/`.length);
}

function rendersOf(key: string): number {
  return t.engine.plans.filter((plan) => storageKey(plan, t.stack.config.derivativePrefix) === key).length;
}

function byKey(objects: readonly ListedDerivative[], key: string): ListedDerivative | undefined {
  return objects.find((object) => object.key === key);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('cache hits', () => {
  it('renders the first request, and the second identical request renders nothing and leaves the object untouched', async () => {
    // Prepare
    const path = `/iiif/3/${GRID_ID}/full/400,400/0/default.png`;
    const first = await t.request(path, { token });
    const stored = byKey(await t.listDerivatives(), keyOf(first));
    const bytes = await t.getDerivative(keyOf(first));
    // S3 times have whole seconds: wait past one, so a rewrite would show.
    await sleep(1100);

    // Act
    const second = await t.request(path, { token });

    // Assess
    expect([first.status, second.status]).toEqual([302, 302]);
    expect(keyOf(second)).toBe(`${GRID_ID}/full/400,400/0/default.png`);
    expect(rendersOf(keyOf(first))).toBe(1);
    expect(stored).toBeDefined();
    expect(byKey(await t.listDerivatives(), keyOf(second))).toEqual(stored);
    expect(await t.getDerivative(keyOf(second))).toEqual(bytes);
    const [missLine, hitLine] = t.logger.requests().filter((line) => line.path === path);
    expect(missLine).toMatchObject({ status: 302, cache: 'miss', stored: 'created' });
    expect(hitLine).toMatchObject({ status: 302, cache: 'hit', sourceBytes: 0 });
    expect(hitLine).not.toHaveProperty('renderMs');
  });

  it.each([
    {
      name: 'a scaled full image',
      key: `${GRID_ID}/full/500,500/0/default.png`,
      first: '3/grid/full/500,500/0/default.png',
      others: [
        '3/grid/full/500,/0/default.png',
        '3/grid/full/,500/0/default.png',
        '3/grid/full/pct:50/0/default.png',
        '3/grid/full/!500,500/0/default.png',
        '3/grid/full/!500,800/0/default.png',
        '3/grid/square/500,500/0/default.png',
        '3/grid/0,0,1000,1000/500,500/0/default.png',
        '3/grid/0,0,1200,1500/500,/0/default.png',
        '3/grid/pct:0,0,100,100/,500/0/default.png',
        '2/grid/full/500,/0/default.png',
        '2/grid/full/500,500/0/default.png',
        '2/grid/full/pct:50/0/default.png',
        '2/grid/full/!500,500/0/default.png',
        'grid/full/,500/0/default.png',
      ],
    },
    {
      name: 'a region',
      key: `${GRID_ID}/100,200,300,400/300,400/0/default.png`,
      first: '3/grid/100,200,300,400/max/0/default.png',
      others: [
        '3/grid/pct:10,20,30,40/max/0/default.png',
        '3/grid/pct:10,20,30,40/300,400/0/default.png',
        '3/grid/100,200,300,400/!300,400/0/default.png',
        '3/grid/100,200,300,400/,400/0/default.png',
        '2/grid/100,200,300,400/full/0/default.png',
        '2/grid/100,200,300,400/max/0/default.png',
        '2/grid/pct:10,20,30,40/300,/0/default.png',
        '2/grid/pct:10,20,30,40/full/0/default.png',
        '2/grid/pct:10,20,30,40/pct:100/0/default.png',
      ],
    },
  ])('answers every spelling of $name from the one object the first request stored', async ({ key, first, others }) => {
    // Prepare
    const created = await t.request(`/iiif/${first}`, { token });
    const stored = byKey(await t.listDerivatives(), key);
    const rendersBefore = t.engine.count;
    await sleep(1100);

    // Act
    const answers = [];
    for (const path of others) answers.push({ path, answer: await t.request(`/iiif/${path}`, { token }) });

    // Assess
    expect(created.status).toBe(302);
    expect(keyOf(created)).toBe(key);
    expect(rendersOf(key)).toBe(1);
    expect(t.engine.count).toBe(rendersBefore);
    for (const { path, answer } of answers) {
      expect({ path, status: answer.status, key: keyOf(answer) }).toEqual({ path, status: 302, key });
    }
    expect(stored).toBeDefined();
    expect(byKey(await t.listDerivatives(), key)).toEqual(stored);
  });

  it('keeps 2.1 and 3.0 spellings of a distorting size apart from the aspect-true one', async () => {
    // Act
    const distorted = await t.request(`/iiif/2/${GRID_ID}/full/500,250/0/default.png`, { token });
    const sameInThree = await t.request(`/iiif/3/${GRID_ID}/full/500,250/0/default.png`, { token });

    // Assess
    expect(keyOf(distorted)).toBe(`${GRID_ID}/full/500,250/0/default.png`);
    expect(keyOf(sameInThree)).toBe(keyOf(distorted));
    expect(rendersOf(keyOf(distorted))).toBe(1);
    const image = await decode((await t.follow(distorted.headers.location ?? '')).body);
    expect([image.width, image.height]).toEqual([500, 250]);
  });
});

describe('concurrent cold requests', () => {
  it('answers ten identical cold requests with 302, stores one object and renders it once', async () => {
    // Prepare
    const path = `/iiif/3/${GRID_ID}/full/!321,321/0/default.png`;
    const key = `${GRID_ID}/full/321,321/0/default.png`;
    expect(await t.derivativeExists(key)).toBe(false);

    // Act
    const answers = await Promise.all(Array.from({ length: 10 }, () => t.request(path, { token })));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(302));
    expect(new Set(answers.map(keyOf))).toEqual(new Set([key]));
    const images = (await t.listImages()).filter((object) => object.key.startsWith(`${GRID_ID}/full/321,`));
    expect(images.map((object) => object.key)).toEqual([key]);
    // One process: the nine later requests join the first one's render (single flight).
    expect(rendersOf(key)).toBe(1);
    const lines = t.logger.requests().filter((line) => line.path === path);
    expect(lines.map((line) => line.status)).toEqual(Array(10).fill(302));
    const image = await decode((await t.follow(answers[0]?.headers.location ?? '')).body);
    expect([image.format, image.width, image.height]).toEqual(['png', 321, 321]);
    expect(image.at(16, 16)).toEqual(t.grid.cellColour(0, 0));
    expect(image.at(321 - 16, 321 - 16)).toEqual(t.grid.cellColour(9, 9));
  });

  it('renders once when ten cold requests spell the same pixels ten ways', async () => {
    // Prepare
    const key = `${GRID_ID}/200,0,600,600/300,300/0/default.png`;
    const spellings = [
      '3/grid/200,0,600,600/300,300/0/default.png',
      '3/grid/200,0,600,600/300,/0/default.png',
      '3/grid/200,0,600,600/,300/0/default.png',
      '3/grid/200,0,600,600/pct:50/0/default.png',
      '3/grid/200,0,600,600/!300,300/0/default.png',
      '3/grid/pct:20,0,60,60/300,300/0/default.png',
      '2/grid/200,0,600,600/300,/0/default.png',
      '2/grid/200,0,600,600/300,300/0/default.png',
      '2/grid/pct:20,0,60,60/pct:50/0/default.png',
      '2/grid/pct:20,0,60,60/!300,300/0/default.png',
    ];

    // Act
    const answers = await Promise.all(spellings.map((path) => t.request(`/iiif/${path}`, { token })));

    // Assess
    expect(answers.map((answer) => [answer.status, keyOf(answer)])).toEqual(spellings.map(() => [302, key]));
    expect(rendersOf(key)).toBe(1);
    expect((await t.listImages()).filter((object) => object.key.startsWith(`${GRID_ID}/200,0,600,600/`)).map((object) => object.key)).toEqual([key]);
  });
});
