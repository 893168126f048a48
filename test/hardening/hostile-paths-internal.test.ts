/**
 * Identifiers that spell Recto's internal prefixes. Everything in the derivative bucket that is
 * not a derivative (source records, S3 Batch Operations manifests and reports, access copies)
 * lives under `{DERIVATIVE_PREFIX}!recto/`, and identifiers are percent-encoded once into keys,
 * `!` always as `%21`. Over real HTTP against the local stack, with sources that really exist
 * under these names (so requests render and write), this proves that no request reads or writes
 * inside the internal root except its own identifier's source record, and that purging such an
 * identifier deletes its own objects and nothing internal.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdentifier, internalPrefix, recordKey } from '../../lib/iiif/index.js';
import { purgeIdentifier } from '../../lib/service/purge.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { callProblems, parseS3Call } from './support.js';

const PREFIX = 'iiif/';

/** Identifiers that name, or used to name, internal folders: each has a source in this test. */
const SPELLED: readonly string[] = [
  '!recto',
  '!recto/records/grid/source.json',
  '!recto/batch/manifest.csv',
  '!recto/access',
  'iiif/!recto/batch',
  '%21recto',
  '_recto-batch',
  '_recto-batch/reports',
];

/** Internal objects planted beforehand: none may be read, changed or deleted by what follows. */
const PLANTED: readonly string[] = [
  `${internalPrefix('batch', PREFIX)}manifest.csv`,
  `${internalPrefix('batch', PREFIX)}reports/job-1/results.csv`,
  `${internalPrefix('access', PREFIX)}grid/copy.jpg`,
  `${PREFIX}_recto-batch-manifest.csv`,
];

let t: TestStack;
let token: string;
let png: Buffer;

beforeAll(async () => {
  t = await startTestStack({ env: { DERIVATIVE_PREFIX: PREFIX } });
  token = await t.token();
  png = t.grid.png;
  for (const identifier of SPELLED) {
    await t.s3.send(new PutObjectCommand({ Bucket: t.sourceBucket, Key: identifier, Body: png, ContentType: 'image/png' }));
  }
  for (const key of PLANTED) {
    await t.s3.send(new PutObjectCommand({ Bucket: t.derivativeBucket, Key: key, Body: Buffer.from(`planted ${key}`), ContentType: 'text/plain' }));
  }
  // The grid's record, so that the planted state includes another identifier's record too.
  expect((await t.request('/iiif/3/grid/info.json', { token })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await t.close();
});

/** What the derivative bucket holds under the internal root, other than these identifiers' records. */
async function internalObjects(except: readonly string[] = SPELLED): Promise<string[]> {
  const own = new Set(except.map((identifier) => recordKey(identifier, PREFIX)));
  const listed = await t.listDerivatives();
  return listed
    .filter((object) => object.key.startsWith(`${PREFIX}!recto/`) && !own.has(object.key))
    .map((object) => `${object.key} ${object.size} ${object.lastModified.toISOString()}`);
}

/** Why a derivative-bucket key is not this identifier's own: its prefix, or its record. */
function foreign(key: string, identifier: string): boolean {
  return !key.startsWith(`${PREFIX}${encodeIdentifier(identifier)}/`) && key !== recordKey(identifier, PREFIX);
}

describe('identifiers that spell internal prefixes', () => {
  it.each(SPELLED)('%j: info.json and a render touch only its own derivatives and its own record', async (identifier) => {
    // Prepare
    const before = await internalObjects();
    t.s3Calls.length = 0;
    const segment = encodeIdentifier(identifier);

    // Act
    const info = await t.send(`/iiif/3/${segment}/info.json`, { token });
    const image = await t.send(`/iiif/3/${segment}/full/120,/0/default.png`, { token });

    // Assess
    expect([info.status, image.status]).toEqual([200, 302]);
    const calls = t.s3Calls.map(parseS3Call);
    const derivativeCalls = calls.filter((call) => call.bucket === t.derivativeBucket);
    expect(callProblems(calls, t.stack.config, { writes: true })).toEqual([]);
    expect(derivativeCalls.filter((call) => foreign(call.key, identifier)).map((call) => `${call.command} ${call.key}`)).toEqual([]);
    expect(derivativeCalls.map((call) => `${call.command} ${call.key}`)).toEqual(expect.arrayContaining([
      `PutObjectCommand ${recordKey(identifier, PREFIX)}`,
      `PutObjectCommand ${PREFIX}${encodeIdentifier(identifier)}/full/120,120/0/default.png`,
    ]));
    expect(await internalObjects()).toEqual(before);
  });

  it.each([
    ['a planted manifest', 'iiif/!recto/batch/manifest.csv'],
    ['a planted report', 'iiif/!recto/batch/reports/job-1/results.csv'],
    ['the grid\'s record', 'iiif/!recto/records/grid/source.json'],
  ])('answers an identifier naming %s, which is no source, with 404 and only reads its own keys', async (_what, identifier) => {
    // Prepare
    const before = await internalObjects();
    t.s3Calls.length = 0;

    // Act
    const answer = await t.send(`/iiif/3/${encodeIdentifier(identifier)}/full/max/0/default.jpg`, { token });

    // Assess
    expect([answer.status, (answer.json() as { error: string }).error]).toEqual([404, 'SOURCE_NOT_FOUND']);
    const calls = t.s3Calls.map(parseS3Call);
    expect(callProblems(calls, t.stack.config, { writes: false })).toEqual([]);
    expect(calls.filter((call) => call.bucket === t.derivativeBucket && foreign(call.key, identifier))).toEqual([]);
    expect(await internalObjects()).toEqual(before);
  });

  it('purges each such identifier\'s derivatives and record, and nothing internal', async () => {
    // Prepare: every identifier has a record and a derivative (the first test made them).
    const services = t.stack.services;
    const before = await internalObjects();
    const counts: number[] = [];

    // Act
    for (const identifier of SPELLED) {
      counts.push(await purgeIdentifier({ derivatives: services.derivatives, prefix: PREFIX, records: services.records }, identifier));
    }

    // Assess: two objects each (the render and the record); every planted object still there.
    expect(counts).toEqual(SPELLED.map(() => 2));
    expect(await internalObjects()).toEqual(before);
    const left = (await t.listDerivatives()).map((object) => object.key);
    expect(left.filter((key) => SPELLED.some((identifier) => !foreign(key, identifier)))).toEqual([]);
    for (const key of PLANTED) expect(await t.getDerivative(key)).toEqual(Buffer.from(`planted ${key}`));
  });
});
