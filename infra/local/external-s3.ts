/**
 * The local stack on an S3 of your own (Ceph RGW, MinIO, AWS) instead of the embedded one: when
 * the environment has S3_ENDPOINT, the stack starts no embedded S3 and uses that endpoint with
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (else the SDK's default chain), AWS_REGION and the
 * SOURCE_BUCKET / DERIVATIVE_BUCKET it names, creating a bucket that is missing.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigError } from '../../lib/config.js';
import type { S3Credentials } from '../../lib/store/index.js';
import { LOCAL_DERIVATIVE_BUCKET, LOCAL_REGION, LOCAL_SOURCE_BUCKET } from './local-constants.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ExternalS3 {
  readonly endpoint: URL;
  readonly region: string;
  /** Unset: the SDK's default chain (AWS_PROFILE, SSO, instance roles). */
  readonly credentials?: S3Credentials;
  readonly sourceBucket: string;
  readonly derivativeBucket: string;
}

const set = (value: string | undefined): value is string => value !== undefined && value !== '';

/** The S3 the environment names, or undefined when it names none (then the stack embeds one). */
export function externalS3FromEnv(env: Env): ExternalS3 | undefined {
  if (!set(env.S3_ENDPOINT)) return undefined;
  let endpoint: URL;
  try {
    endpoint = new URL(env.S3_ENDPOINT);
  } catch {
    throw new ConfigError('S3_ENDPOINT', `expected an http(s) URL such as http://127.0.0.1:9000, got ${JSON.stringify(env.S3_ENDPOINT)}`);
  }
  if (set(env.AWS_ACCESS_KEY_ID) !== set(env.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError('AWS_SECRET_ACCESS_KEY', 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither to use the AWS SDK\'s default credentials');
  }
  return {
    endpoint,
    region: set(env.AWS_REGION) ? env.AWS_REGION : LOCAL_REGION,
    ...(set(env.AWS_ACCESS_KEY_ID) && set(env.AWS_SECRET_ACCESS_KEY)
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(set(env.AWS_SESSION_TOKEN) ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
      : {}),
    sourceBucket: set(env.SOURCE_BUCKET) ? env.SOURCE_BUCKET : LOCAL_SOURCE_BUCKET,
    derivativeBucket: set(env.DERIVATIVE_BUCKET) ? env.DERIVATIVE_BUCKET : LOCAL_DERIVATIVE_BUCKET,
  };
}

/**
 * Create each bucket that does not exist yet, with a CORS rule that lets these origins GET and
 * HEAD its objects (browsers follow Recto's redirects there). A bucket that exists is left as it
 * is, its CORS rules included: it may be someone's.
 */
export async function ensureBuckets(client: S3Client, buckets: readonly string[], corsOrigins: readonly string[]): Promise<string[]> {
  const created: string[] = [];
  for (const bucket of new Set(buckets)) {
    if (await bucketExists(client, bucket)) continue;
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // Made by someone else meanwhile: as good as made here.
      if (error instanceof S3ServiceException && error.name === 'BucketAlreadyOwnedByYou') continue;
      throw new Error(`Could not create bucket ${bucket} at the S3 endpoint (${describe(error)}): create it yourself, or name another with SOURCE_BUCKET / DERIVATIVE_BUCKET`, { cause: error });
    }
    if (corsOrigins.length > 0) {
      await client.send(
        new PutBucketCorsCommand({
          Bucket: bucket,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: [...corsOrigins],
                AllowedMethods: ['GET', 'HEAD'],
                AllowedHeaders: ['*'],
                ExposeHeaders: ['Content-Length', 'Content-Type', 'ETag', 'Last-Modified'],
                MaxAgeSeconds: 3600,
              },
            ],
          },
        }),
      );
    }
    created.push(bucket);
  }
  return created;
}

async function bucketExists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
    if (status === 404) return false;
    throw new Error(
      `Could not reach bucket ${bucket} at the S3 endpoint (${describe(error)}): check S3_ENDPOINT, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and AWS_REGION`,
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof S3ServiceException) return `${error.name}, HTTP ${String(error.$metadata.httpStatusCode ?? '?')}`;
  return error instanceof Error ? error.message : String(error);
}
