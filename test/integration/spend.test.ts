/**
 * What a render-scope token can spend, over real HTTP against the local stack and its embedded
 * S3: new renders per caller and minute are limited (429 with Retry-After, nothing rendered or
 * stored past the limit), cache hits never are, callers are counted apart; derivatives no viewer
 * or preset asks for are stored tagged recto:lifetime=short (for the bucket's lifecycle rule),
 * and the ones viewers ask for are not. The budget runs on a fixed clock so that no minute
 * boundary falls inside a test; how the configuration chooses a budget is checked at the end.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectTaggingCommand, type Tag } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../lib/entry/wiring.js';
import { loadConfig } from '../../lib/config.js';
import { InProcessRenderBudget } from '../../lib/service/render-budget.js';
import { createS3Client } from '../../lib/store/index.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';

/** 10 s into a minute: the budget's window has 50 s left. */
const FIXED_NOW = Date.UTC(2030, 0, 1, 0, 0, 10);

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ overrides: { renderBudget: new InProcessRenderBudget(3, () => FIXED_NOW) } });
}, 60_000);

afterAll(async () => {
  await t.close();
});

/** A token with both scopes for this subject, signed with the stack's dev key. */
function tokenFor(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'iiif:read iiif:render' })
    .setProtectedHeader({ alg: 'ES256', kid: t.stack.keys.kid, typ: 'JWT' })
    .setIssuer('recto-local')
    .setAudience('recto')
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(t.stack.keys.privateKey);
}

async function tagsOf(key: string): Promise<Tag[]> {
  return (await t.s3.send(new GetObjectTaggingCommand({ Bucket: t.derivativeBucket, Key: key }))).TagSet ?? [];
}

describe('the render budget of a caller', () => {
  it('renders three new derivatives in a minute, refuses the fourth with 429 and Retry-After, and renders nothing for it', async () => {
    // Prepare
    const alice = await tokenFor('alice');
    const paths = ['full/101,/0/default.png', 'full/102,/0/default.png', '0,0,512,512/512,512/0/default.jpg'];
    for (const path of paths) expect((await t.request(`/iiif/3/${GRID_ID}/${path}`, { token: alice })).status).toBe(302);
    const rendered = t.engine.count;
    const before = await t.listDerivatives();

    // Act
    const refused = await t.request(`/iiif/3/${GRID_ID}/full/104,/0/default.png`, { token: alice });

    // Assess
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('50');
    expect(refused.headers['content-type']).toBe('application/json');
    expect(refused.headers['access-control-allow-origin']).toBe('*');
    expect(refused.json()).toEqual({
      error: 'RENDER_RATE_LIMITED',
      detail:
        'Expected at most 3 new renders a minute for one caller but received "one more"; retry after 50 s. ' +
        'Images that already exist are never limited: pre-warm the ones you need (npm run prewarm, docs/prewarm.md), or ask for the sizes and tiles info.json lists.',
    });
    expect(t.engine.count).toBe(rendered);
    expect(await t.listDerivatives()).toEqual(before);
    expect(t.logger.requests().at(-1)).toMatchObject({ status: 429, cache: 'miss', error: 'RENDER_RATE_LIMITED' });
  });

  it('never limits a cache hit, in either API version', async () => {
    // Prepare
    const alice = await tokenFor('alice');

    // Act
    const hits = await Promise.all([
      t.request(`/iiif/3/${GRID_ID}/full/101,/0/default.png`, { token: alice }),
      t.request(`/iiif/2/${GRID_ID}/full/101,/0/default.png`, { token: alice }),
      t.request(`/iiif/3/${GRID_ID}/info.json`, { token: alice }),
    ]);

    // Assess
    expect(hits.map((answer) => answer.status)).toEqual([302, 302, 200]);
  });

  it('counts callers apart: another subject still renders', async () => {
    // Prepare
    const bob = await tokenFor('bob');

    // Act
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/104,/0/default.png`, { token: bob });

    // Assess
    expect(answer.status).toBe(302);
    expect(await t.derivativeExists(`${GRID_ID}/full/104,104/0/default.png`)).toBe(true);
  });
});

describe('the lifetime of what is stored', () => {
  it('tags sizes nobody advertised recto:lifetime=short, and leaves a tile of the grid and an advertised size untagged', async () => {
    // Prepare: the grid is 1000 x 1000: 512 tiles, sizes 1000, 500, 250, 125, 63.
    const carol = await tokenFor('carol');
    const requests = {
      odd: 'full/117,/0/default.png',
      tile: '512,0,488,512/488,512/0/default.jpg',
      size: 'full/250,/0/default.jpg',
    };

    // Act
    for (const path of Object.values(requests)) expect((await t.request(`/iiif/3/${GRID_ID}/${path}`, { token: carol })).status).toBe(302);

    // Assess
    expect(await tagsOf(`${GRID_ID}/full/117,117/0/default.png`)).toEqual([{ Key: 'recto:lifetime', Value: 'short' }]);
    expect(await tagsOf(`${GRID_ID}/512,0,488,512/488,512/0/default.jpg`)).toEqual([]);
    expect(await tagsOf(`${GRID_ID}/full/250,250/0/default.jpg`)).toEqual([]);
    expect(await tagsOf(`${GRID_ID}/full/101,101/0/default.png`)).toEqual([{ Key: 'recto:lifetime', Value: 'short' }]);
    expect(await tagsOf(`${GRID_ID}/0,0,512,512/512,512/0/default.jpg`)).toEqual([]);
  });
});

describe('the budget the configuration chooses', () => {
  const base = { SOURCE_BUCKET: 's', DERIVATIVE_BUCKET: 'd', IIIF_AUTH: 'off', S3_ENDPOINT: 'http://127.0.0.1:9' } as const;
  const s3 = createS3Client({ endpoint: new URL(base.S3_ENDPOINT), credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

  it.each([
    ['600 a minute in this process by default', {}, 'InProcessRenderBudget'],
    ['none with RENDER_RATE_PER_MINUTE=0', { RENDER_RATE_PER_MINUTE: '0' }, undefined],
  ])('is %s', (_what, env, kind) => {
    // Act
    const services = createServices(loadConfig({ ...base, ...env }), { s3 });

    // Assess
    expect(services.renderBudget?.constructor.name).toBe(kind);
  });

  it('is the DynamoDB table RENDER_RATE_TABLE names, with RENDER_RATE_PER_MINUTE as its limit, reached on the first render', async () => {
    // Prepare: DynamoDB simulated (there is none here): every client's UpdateItem succeeds.
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(UpdateItemCommand).resolves({});
    const services = createServices(loadConfig({ ...base, RENDER_RATE_TABLE: 'recto-render-rate', RENDER_RATE_PER_MINUTE: '42' }), { s3 });

    // Act
    const calledBefore = dynamo.calls().length;
    const answer = await services.renderBudget?.take('sub:alice');

    // Assess
    try {
      expect([calledBefore, answer]).toEqual([0, true]);
      expect(dynamo.commandCalls(UpdateItemCommand).map((call) => [call.args[0].input.TableName, call.args[0].input.ExpressionAttributeValues?.[':limit']])).toEqual([['recto-render-rate', { N: '42' }]]);
    } finally {
      dynamo.restore();
    }
  });
});
