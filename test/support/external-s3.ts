/**
 * The S3 the tests talk to: the embedded one (infra/local/s3.ts, the default), or a real server
 * named by RECTO_TEST_S3_ENDPOINT, RECTO_TEST_S3_ACCESS_KEY_ID, RECTO_TEST_S3_SECRET_ACCESS_KEY,
 * RECTO_TEST_S3_REGION and RECTO_TEST_S3_NAME (`npm run test:rgw` sets them for its Ceph RGW).
 * Variables of their own, not AWS_*: a developer's AWS keys must never point the tests at AWS.
 *
 * Against a real server every test stack and test S3 makes buckets of its own with unique
 * names, and deletes them (and what is in them) when it closes.
 */
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { it } from 'vitest';
import type { S3Credentials } from '../../lib/store/index.js';

export interface ExternalTestS3 {
  readonly endpoint: URL;
  readonly region: string;
  readonly credentials: S3Credentials;
  /** For messages: "Ceph RGW 16.2.15". */
  readonly name: string;
}

function fromEnv(env: NodeJS.ProcessEnv): ExternalTestS3 | undefined {
  const endpoint = env.RECTO_TEST_S3_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  const accessKeyId = env.RECTO_TEST_S3_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.RECTO_TEST_S3_SECRET_ACCESS_KEY ?? '';
  if (accessKeyId === '' || secretAccessKey === '') {
    throw new Error('RECTO_TEST_S3_ENDPOINT is set: set RECTO_TEST_S3_ACCESS_KEY_ID and RECTO_TEST_S3_SECRET_ACCESS_KEY too (npm run test:rgw does)');
  }
  return {
    endpoint: new URL(endpoint),
    region: env.RECTO_TEST_S3_REGION ?? 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
    name: env.RECTO_TEST_S3_NAME ?? endpoint,
  };
}

/** The real S3 under test, or undefined for the embedded one. */
export const externalTestS3: ExternalTestS3 | undefined = fromEnv(process.env);

/** A bucket name no other test uses (3-63 characters, lower case, as S3 wants). */
export function uniqueBucket(role: string): string {
  return `recto-test-${role}-${randomBytes(6).toString('hex')}`;
}

/**
 * `it`, or against a real S3 `it.skip` with a line saying why: for tests of the embedded S3's
 * own behaviour (its files, its messages), which a real server need not share.
 */
export function embeddedOnly(reason: string): typeof it {
  if (externalTestS3 === undefined) return it;
  const server = externalTestS3.name;
  const skipping = it.skip;
  return Object.assign((name: string, ...rest: unknown[]) => {
    console.info(`Skipped against ${server}: "${name}": ${reason}`);
    (skipping as (name: string, ...rest: unknown[]) => void)(name, ...rest);
  }, skipping) as unknown as typeof it;
}

/** Empty a bucket and delete it (a test's own bucket on a real S3). */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key ?? '' }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
