/**
 * The pre-warm worker's two event sources: SQS batches answered with partial batch failures, and
 * S3 Batch Operations invocations (schema 1.0 and 2.0) answered with one result per task in the
 * format S3 expects. Most cases use a runner stand-in; one SQS batch runs the real runner on a
 * local stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RectoError } from '../../lib/errors.js';
import { createPrewarmHandler, resultCode, userArgumentsRequest, type BatchResult, type WorkerDeps } from '../../lib/entry/prewarm.js';
import { parsePrewarmMessage, type PrewarmMessage } from '../../lib/queue/index.js';
import { loadPresets } from '../../lib/service/presets.js';
import { Prewarmer, type ImageReport, type JobFailure } from '../../lib/service/prewarm.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

function report(identifier: string, status: ImageReport['status'], failures: { failed?: JobFailure[]; error?: JobFailure } = {}): ImageReport {
  return { identifier, status, planned: 3, rendered: status === 'done' ? 3 : 1, skipped: 0, failed: failures.failed ?? [], unavailable: [], bytes: 10, ms: 5, ...(failures.error === undefined ? {} : { error: failures.error }) };
}

const STORAGE_DOWN: JobFailure = { key: 'k', code: 'STORAGE_UNAVAILABLE', message: 'down', retryable: true };
const UNREADABLE: JobFailure = { key: 'k', code: 'SOURCE_UNREADABLE', message: 'corrupt', retryable: false };
const MISSING: JobFailure = { key: 'gone', code: 'SOURCE_NOT_FOUND', message: 'Expected an existing source for the identifier but received "gone"', retryable: false };

/** A runner stand-in: each identifier's outcome is given; every request is kept. */
function fakeWorker(outcomes: Record<string, ImageReport | Error>, keyTemplate = '{id}'): WorkerDeps & { requests: PrewarmMessage[] } {
  const requests: PrewarmMessage[] = [];
  return {
    requests,
    sourceBucket: 'recto-sources',
    keyTemplate,
    logger: QUIET,
    prewarmer: {
      run(request) {
        requests.push(request);
        const outcome = outcomes[request.identifier] ?? report(request.identifier, 'done');
        return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
      },
    },
  };
}

function sqsEvent(bodies: Record<string, string>): unknown {
  return { Records: Object.entries(bodies).map(([messageId, body]) => ({ messageId, receiptHandle: 'h', body, attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:recto-prewarm', awsRegion: 'us-east-1' })) };
}

describe('the SQS handler', () => {
  it('reports exactly the messages to retry: bad bodies and failed images, not done ones nor deleted sources', async () => {
    // Prepare
    const worker = fakeWorker({ broken: report('broken', 'failed', { failed: [STORAGE_DOWN] }), gone: report('gone', 'failed', { error: MISSING }), throws: new Error('boom') });
    const handler = createPrewarmHandler(() => worker);

    // Act
    const answer = await handler(
      sqsEvent({
        m1: JSON.stringify({ identifier: 'fine', presets: ['thumbnail'] }),
        m2: '{ not json',
        m3: JSON.stringify({ identifier: 'broken' }),
        m4: JSON.stringify({ identifier: 'gone' }),
        m5: JSON.stringify({ identifier: 'typo', tile: true }),
        m6: JSON.stringify({ identifier: 'throws' }),
      }),
    );

    // Assess
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }, { itemIdentifier: 'm5' }, { itemIdentifier: 'm6' }] });
    expect(worker.requests.map((request) => request.identifier)).toEqual(['fine', 'broken', 'gone', 'throws']);
    // Nothing named: the tiles and sizes.
    expect(worker.requests[1]).toEqual({ identifier: 'broken', tiles: true, sizes: true });
    expect(worker.requests[0]).toEqual({ identifier: 'fine', presets: ['thumbnail'] });
  });

  describe('on a local stack', () => {
    let t: TestStack;

    beforeAll(async () => {
      t = await startTestStack();
    }, 60_000);

    afterAll(async () => {
      await t.close();
    });

    it('renders the message of the sample event (a preset and the sizes) and reports no failure', async () => {
      // Prepare
      const services = t.stack.services;
      const handler = createPrewarmHandler(() => ({ prewarmer: new Prewarmer(services, loadPresets({})), sourceBucket: t.sourceBucket, keyTemplate: '{id}', logger: QUIET }));

      // Act
      const answer = await handler(sqsEvent({ m1: JSON.stringify({ identifier: GRID_ID, presets: ['thumbnail'], sizes: true }) }), { getRemainingTimeInMillis: () => 900_000 });

      // Assess: the 400x400 thumbnail and the 1000, 500, 250, 125, 63 sizes.
      expect(answer).toEqual({ batchItemFailures: [] });
      expect((await t.listImages()).map((object) => object.key)).toEqual(
        ['full/1000,1000', 'full/125,125', 'full/250,250', 'full/400,400', 'full/500,500', 'full/63,63'].map((path) => `${GRID_ID}/${path}/0/default.jpg`),
      );
    });
  });
});

describe('the S3 Batch Operations handler', () => {
  it('answers a schema 1.0 invocation with one result per task, identifiers from the URL-encoded keys', async () => {
    // Prepare
    const worker = fakeWorker({ 'ms/0002': report('ms/0002', 'failed', { error: UNREADABLE }) }, 'masters/{id}.tif');
    const handler = createPrewarmHandler(() => worker);
    const event = {
      invocationSchemaVersion: '1.0',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce' },
      tasks: [
        { taskId: 't1', s3Key: 'masters/ms%2F0001+recto.tif', s3VersionId: '1', s3BucketArn: 'arn:aws:s3:::recto-sources' },
        { taskId: 't2', s3Key: 'masters/ms/0002.tif', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::recto-sources' },
        { taskId: 't3', s3Key: 'readme.txt', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::recto-sources' },
        { taskId: 't4', s3Key: 'masters/x.tif', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::someone-else' },
      ],
    };

    // Act
    const answer = (await handler(event)) as BatchResult;

    // Assess
    expect(answer).toEqual({
      invocationSchemaVersion: '1.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      results: [
        { taskId: 't1', resultCode: 'Succeeded', resultString: 'ms/0001 recto: 3 rendered, 0 skipped, 0 failed of 3' },
        { taskId: 't2', resultCode: 'PermanentFailure', resultString: 'ms/0002: 1 rendered, 0 skipped, 0 failed of 3; SOURCE_UNREADABLE: corrupt' },
        { taskId: 't3', resultCode: 'PermanentFailure', resultString: 'PREWARM_INVALID_MESSAGE: Expected a key SOURCE_KEY_TEMPLATE (masters/{id}.tif) makes for s3Key but received "readme.txt"' },
        { taskId: 't4', resultCode: 'PermanentFailure', resultString: 'PREWARM_INVALID_MESSAGE: Expected an object of the source bucket recto-sources for the task but received "someone-else"' },
      ],
    });
    expect(worker.requests).toEqual([
      { identifier: 'ms/0001 recto', tiles: true, sizes: true },
      { identifier: 'ms/0002', tiles: true, sizes: true },
    ]);
  });

  it('takes what to render from the userArguments of a schema 2.0 job, and the bucket by name', async () => {
    // Prepare
    const worker = fakeWorker({});
    const handler = createPrewarmHandler(() => worker);
    const event = {
      invocationSchemaVersion: '2.0',
      invocationId: 'inv-2',
      job: { id: 'job-2', userArguments: { presets: 'thumbnail, web', api: '3', force: 'true' } },
      tasks: [{ taskId: 't1', s3Bucket: 'recto-sources', s3Key: 'grid', s3VersionId: null }],
    };

    // Act
    const answer = (await handler(event)) as BatchResult;

    // Assess
    expect(answer.results).toEqual([{ taskId: 't1', resultCode: 'Succeeded', resultString: 'grid: 3 rendered, 0 skipped, 0 failed of 3' }]);
    expect(answer.invocationSchemaVersion).toBe('2.0');
    expect(worker.requests).toEqual([{ identifier: 'grid', presets: ['thumbnail', 'web'], api: '3', force: true }]);
  });

  it('fails every task permanently when the job gives arguments it does not know', async () => {
    // Prepare
    const handler = createPrewarmHandler(() => fakeWorker({}));
    const event = { invocationSchemaVersion: '2.0', invocationId: 'i', job: { id: 'j', userArguments: { tiles: 'yes' } }, tasks: [{ taskId: 't1', s3Bucket: 'recto-sources', s3Key: 'grid' }] };

    // Act
    const answer = (await handler(event)) as BatchResult;

    // Assess
    expect(answer.results).toEqual([{ taskId: 't1', resultCode: 'PermanentFailure', resultString: 'PREWARM_INVALID_MESSAGE: Expected "true" or "false" for userArguments.tiles but received "\\"yes\\""' }]);
  });

  it.each([
    ['done', report('x', 'done'), 'Succeeded'],
    ['cut short by the deadline', report('x', 'cancelled'), 'TemporaryFailure'],
    ['failed on storage only', report('x', 'failed', { failed: [STORAGE_DOWN, STORAGE_DOWN] }), 'TemporaryFailure'],
    ['failed on an unreadable source', report('x', 'failed', { failed: [STORAGE_DOWN, UNREADABLE] }), 'PermanentFailure'],
    ['missing its source', report('x', 'failed', { error: MISSING }), 'PermanentFailure'],
  ] as const)('maps an image %s to %s', (_what, outcome, code) => {
    expect(resultCode(outcome)).toBe(code);
  });
});

describe('a direct invocation', () => {
  it('runs a PrewarmMessage and answers its report', async () => {
    // Prepare
    const worker = fakeWorker({});
    const handler = createPrewarmHandler(() => worker);

    // Act
    const answer = await handler({ identifier: 'grid', presets: ['thumbnail'] });

    // Assess
    expect(answer).toEqual(report('grid', 'done'));
  });

  it('refuses anything else with PREWARM_INVALID_MESSAGE', async () => {
    // Prepare
    const handler = createPrewarmHandler(() => fakeWorker({}));

    // Act
    const error = await handler({ hello: 'world' }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RectoError);
    expect({ code: (error as RectoError).code, message: (error as RectoError).message }).toEqual({
      code: 'PREWARM_INVALID_MESSAGE',
      message: 'Expected only the fields identifier, paths, presets, tiles, sizes, api, force, ingest for the message but received "hello"',
    });
  });
});

describe('parsePrewarmMessage', () => {
  it('keeps the fields it is given', () => {
    expect(parsePrewarmMessage('{"identifier":"a/b","paths":["full/max/0/default.jpg"],"api":"2","tiles":false,"force":true}')).toEqual({
      identifier: 'a/b',
      paths: ['full/max/0/default.jpg'],
      api: '2',
      tiles: false,
      force: true,
    });
  });

  it.each([
    ['[]', 'Expected a JSON object for the message body but received "[]"'],
    ['{"identifier":""}', 'Expected a non-empty string for identifier but received "\\"\\""'],
    ['{"identifier":"a","api":"4"}', 'Expected one of "2", "3", "both" for api but received "\\"4\\""'],
    ['{"identifier":"a","presets":"thumbnail"}', 'Expected a list of at most 10000 non-empty strings for presets but received "\\"thumbnail\\""'],
    ['{"identifier":"a","sizes":"yes"}', 'Expected true or false for sizes but received "\\"yes\\""'],
  ])('refuses %s', (body, message) => {
    expect(() => parsePrewarmMessage(body)).toThrow(message);
  });

  it('reads userArguments strings', () => {
    expect(userArgumentsRequest({ tiles: 'true', sizes: 'false', presets: 'a,,b', api: 'both' })).toEqual({ tiles: true, sizes: false, presets: ['a', 'b'], api: 'both' });
  });
});
