/**
 * A stand-in for the IIIF function's dependency set, used by measure-cold-start.ts to decide
 * whether the AWS SDK is bundled or taken from the Lambda runtime. It creates its clients at
 * module scope, as the real handler does, and its first call does what a cache hit does: a
 * HEAD on S3 and a presigned GET, plus constructing the SQS client used for deferred renders.
 */
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createRemoteJWKSet } from 'jose';

const endpoint = process.env['S3_ENDPOINT'];
const s3 = new S3Client({ forcePathStyle: true, maxAttempts: 1, ...(endpoint === undefined ? {} : { endpoint }) });
const sqs = new SQSClient({ ...(endpoint === undefined ? {} : { endpoint }) });
const logger = new Logger({ serviceName: 'recto-probe', logLevel: 'ERROR' });
const metrics = new Metrics({ namespace: 'RectoProbe', serviceName: 'recto-probe' });
const jwks = createRemoteJWKSet(new URL('https://auth.example.org/.well-known/jwks.json'));

/** A cache hit's work: HEAD the derivative (404 here), presign a GET for it. */
export async function handler(): Promise<{ readonly status: number; readonly url: string }> {
  let status = 200;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: 'derivatives', Key: 'probe/full/max/0/default.jpg' }));
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    status = error.$metadata.httpStatusCode ?? 500;
  }
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'derivatives', Key: 'probe/full/max/0/default.jpg' }), { expiresIn: 60 });
  logger.debug('probe', { status, sqs: typeof sqs.send, jwks: typeof jwks });
  metrics.addMetric('probe', 'Count', 1);
  return { status, url };
}
