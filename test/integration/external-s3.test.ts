/**
 * The local stack on an S3 named by the environment (S3_ENDPOINT, AWS_* credentials, bucket
 * names) instead of its embedded one: in `npm test` an embedded S3 started apart stands for
 * MinIO, RGW or AWS; in `npm run test:rgw` it is Ceph RGW. The stack must start no S3 of its own,
 * create the missing buckets with a CORS rule for its page, and serve images from there.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetBucketCorsCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalS3FromEnv } from '../../infra/local/external-s3.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3 } from '../../infra/local/s3.js';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { createS3Client } from '../../lib/store/index.js';
import { deleteBucket, externalTestS3, uniqueBucket } from '../support/external-s3.js';
import { gridImage } from '../support/fixtures.js';
import { fetchAnswer } from '../support/stack.js';

describe('externalS3FromEnv', () => {
  it('is undefined without S3_ENDPOINT: the stack embeds its S3, whatever AWS settings there are', () => {
    // Act
    const settings = externalS3FromEnv({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret', SOURCE_BUCKET: 'mine' });

    // Assess
    expect(settings).toBeUndefined();
  });

  it('takes the endpoint, credentials, region and buckets from the environment', () => {
    // Act
    const settings = externalS3FromEnv({
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'minio',
      AWS_SECRET_ACCESS_KEY: 'minio-secret',
      AWS_REGION: 'eu-west-1',
      SOURCE_BUCKET: 'masters',
      DERIVATIVE_BUCKET: 'tiles',
    });

    // Assess
    expect(settings).toEqual({
      endpoint: new URL('http://127.0.0.1:9000'),
      region: 'eu-west-1',
      credentials: { accessKeyId: 'minio', secretAccessKey: 'minio-secret' },
      sourceBucket: 'masters',
      derivativeBucket: 'tiles',
    });
  });

  it("leaves credentials to the SDK's default chain when none are given, and defaults region and bucket names", () => {
    // Act
    const settings = externalS3FromEnv({ S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com' });

    // Assess
    expect(settings).toEqual({ endpoint: new URL('https://s3.eu-west-1.amazonaws.com'), region: 'us-east-1', sourceBucket: 'recto-sources', derivativeBucket: 'recto-derivatives' });
  });

  it('refuses an endpoint that is not a URL, and a key without its secret, saying what to set', () => {
    // Act
    const badUrl = () => externalS3FromEnv({ S3_ENDPOINT: '127.0.0.1:9000 ' });
    const halfCredentials = () => externalS3FromEnv({ S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'minio' });

    // Assess
    expect(badUrl).toThrow('S3_ENDPOINT: expected an http(s) URL such as http://127.0.0.1:9000, got "127.0.0.1:9000 "');
    expect(halfCredentials).toThrow('AWS_SECRET_ACCESS_KEY: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  });
});

describe('the local stack on an S3 named by the environment', () => {
  const sourceBucket = uniqueBucket('sources');
  const derivativeBucket = uniqueBucket('derivatives');
  let directory: string;
  let endpoint: URL;
  let client: S3Client;
  let closeS3 = (): Promise<void> => Promise.resolve();
  let stack: LocalStack;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'recto-external-'));
    const images = join(directory, 'images');
    await mkdir(images);
    await writeFile(join(images, 'plain.png'), (await gridImage({ width: 400, height: 300, cols: 4, rows: 3 })).png);
    // An S3 without these buckets: the RGW under test, or an embedded S3 with none.
    const access = externalTestS3 ?? { region: LOCAL_S3_REGION, credentials: LOCAL_S3_CREDENTIALS };
    if (externalTestS3 === undefined) {
      const outside = await startLocalS3({ port: 0, directory: join(directory, 'outside-s3'), buckets: [] });
      endpoint = outside.endpoint;
      closeS3 = () => outside.close();
    } else {
      endpoint = externalTestS3.endpoint;
    }
    client = createS3Client({ endpoint, region: access.region, credentials: access.credentials });
    stack = await startLocalStack({
      port: 0,
      s3Port: 0,
      dataDir: join(directory, 'data'),
      imageDirs: [images],
      env: {
        IIIF_AUTH: 'off',
        S3_ENDPOINT: endpoint.href,
        AWS_ACCESS_KEY_ID: access.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: access.credentials.secretAccessKey,
        AWS_REGION: access.region,
        SOURCE_BUCKET: sourceBucket,
        DERIVATIVE_BUCKET: derivativeBucket,
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await Promise.all([deleteBucket(client, sourceBucket), deleteBucket(client, derivativeBucket)]);
    client.destroy();
    await closeS3();
    await rm(directory, { recursive: true, force: true });
  });

  it('starts no S3 of its own and uses the one named', async () => {
    // Assess
    expect(stack.storage).toBe('external');
    expect(stack.s3Endpoint.href).toBe(endpoint.href);
    expect([stack.config.sourceBucket, stack.config.derivativeBucket]).toEqual([sourceBucket, derivativeBucket]);
    expect(await readdir(join(directory, 'data'))).not.toContain('s3');
  });

  it("creates the missing buckets, each with a CORS rule for the stack's page", async () => {
    for (const bucket of [sourceBucket, derivativeBucket]) {
      // Act
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      const cors = await client.send(new GetBucketCorsCommand({ Bucket: bucket }));

      // Assess
      expect(cors.CORSRules?.map((rule) => [rule.AllowedOrigins, rule.AllowedMethods])).toEqual([
        [[stack.url, stack.url.replace('127.0.0.1', 'localhost')], ['GET', 'HEAD']],
      ]);
    }
  });

  it('uploads its sources there and redirects image requests to it', async () => {
    // Act
    const answer = await fetchAnswer(`${stack.url}/iiif/3/plain/full/200,/0/default.png`);
    const image = await fetchAnswer(answer.headers.location ?? '', { headers: { origin: stack.url } });

    // Assess
    expect(stack.uploaded.identifiers).toEqual(['plain']);
    expect(answer.status).toBe(302);
    expect(new URL(answer.headers.location ?? '').origin).toBe(endpoint.origin);
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    expect(image.headers['access-control-allow-origin']).toBe(stack.url);
  });
});
