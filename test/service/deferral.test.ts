/**
 * lib/service/deferral.ts: the QueueDeferrer sends a deferred render as one pre-warm message and
 * turns a queue failure into a 503 RENDER_QUEUE_UNAVAILABLE that names the SDK error's name and
 * never its message (which can hold the account, the role and the queue URL); the
 * BackgroundDeferrer answers at once and reports a job that fails through its callback.
 * SQS failures are injected with aws-sdk-client-mock into the SQSClient of a real QueueSender.
 */
import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../lib/errors.js';
import { QueueSender, type PrewarmMessage } from '../../lib/queue/index.js';
import { BackgroundDeferrer, QUEUE_RETRY_AFTER_SECONDS, QueueDeferrer } from '../../lib/service/deferral.js';
import type { DeferredJob, DeferredRender } from '../../lib/service/images.js';

const ACCOUNT = '123456789012';
const QUEUE_URL = `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/recto-prewarm`;
const JOB: DeferredRender = { identifier: 'ms/0001', path: 'full/^2000,1600/0/default.gif' };

describe('QueueDeferrer', () => {
  let client: SQSClient;
  let sqs: AwsClientStub<SQSClient>;

  beforeAll(() => {
    client = new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    sqs = mockClient(client);
  });

  afterEach(() => {
    sqs.reset();
  });

  afterAll(() => {
    sqs.restore();
    client.destroy();
  });

  it('hands the job over as one pre-warm message naming the identifier and the path', async () => {
    // Prepare: a stand-in sender that keeps what it is given.
    const sent: PrewarmMessage[] = [];
    const deferrer = new QueueDeferrer({
      send: (message) => {
        sent.push(message);
        return Promise.resolve();
      },
    });

    // Act
    await deferrer.defer(JOB);

    // Assess
    expect(sent).toEqual([{ identifier: 'ms/0001', paths: ['full/^2000,1600/0/default.gif'] }]);
  });

  it.each([
    [
      'AccessDenied',
      new SQSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/recto-iiif/fn is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:eu-west-1:${ACCOUNT}:recto-prewarm` }),
    ],
    [
      'QueueDoesNotExist',
      new SQSServiceException({ name: 'QueueDoesNotExist', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `The specified queue ${QUEUE_URL} does not exist.` }),
    ],
    ['ServiceUnavailable', Object.assign(new Error(`Service Unavailable for ${QUEUE_URL}`), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })],
    ['an error', new Error(`connect ECONNREFUSED sqs.eu-west-1.amazonaws.com for ${QUEUE_URL}`)],
  ])('answers a queue failure with 503 RENDER_QUEUE_UNAVAILABLE naming "%s", never the SDK message', async (named, error) => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(error);
    const deferrer = new QueueDeferrer(new QueueSender(client, QUEUE_URL));

    // Act
    let thrown: unknown;
    try {
      await deferrer.defer(JOB);
    } catch (caught) {
      thrown = caught;
    }

    // Assess
    expect(thrown).toBeInstanceOf(UnavailableError);
    const failure = thrown as UnavailableError;
    expect({ code: failure.code, status: failure.status, headers: failure.headers, retryAfterSeconds: failure.retryAfterSeconds }).toEqual({
      code: 'RENDER_QUEUE_UNAVAILABLE',
      status: 503,
      headers: { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
      retryAfterSeconds: 5,
    });
    expect(failure.message).toBe(`This image takes longer to render than a request may wait, and it could not be queued for rendering (${named}); retry after 5 s.`);
    expect(failure.message).not.toContain(ACCOUNT);
    expect(failure.message).not.toContain('amazonaws.com');
    expect((failure.cause as Error).name).toBe(error.name);
  });
});

describe('BackgroundDeferrer', () => {
  /** A job's work that the test settles by hand. */
  function pending() {
    let settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined;
    const promise = new Promise<unknown>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let started = 0;
    const work = () => {
      started += 1;
      return promise;
    };
    return { work, settle: settle ?? expect.fail('no executor'), started: () => started };
  }

  it('starts the work and answers at once, before the work is done', async () => {
    // Prepare
    const job = pending();
    const errors: unknown[] = [];
    const deferrer = new BackgroundDeferrer((error) => errors.push(error));

    // Act
    await deferrer.defer(JOB, job.work);

    // Assess
    expect(job.started()).toBe(1);
    job.settle.resolve('created');
    await Promise.resolve();
    expect(errors).toEqual([]);
  });

  it('reports a job whose work fails through its callback, with the error and the job', async () => {
    // Prepare
    const job = pending();
    const reported = new Promise<[unknown, DeferredJob]>((resolve) => {
      void new BackgroundDeferrer((error, failed) => {
        resolve([error, failed]);
      }).defer(JOB, job.work);
    });
    const error = new Error('render failed');

    // Act
    job.settle.reject(error);

    // Assess
    const [reportedError, reportedJob] = await reported;
    expect(reportedError).toBe(error);
    expect(reportedJob).toBe(JOB);
  });
});
