/**
 * What Recto relies on an S3 server to refuse, over real HTTP: presigned URLs that were tampered
 * with or have expired, anonymous requests, wrong credentials, a body that is not the one signed
 * or whose digest does not match; and that of concurrent conditional PUTs of one key exactly one
 * wins. Runs against the embedded S3 in `npm test` and against Ceph RGW in `npm run test:rgw`.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FinalizeHandler, FinalizeHandlerArguments, HttpRequest } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedOnly } from '../support/external-s3.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.putObject(s3.derivativeBucket, 'signed/object.txt', 'the stored bytes');
});
afterAll(async () => {
  await s3.close();
});

/** A presigned GET of signed/object.txt, signed at `signingDate`. */
function presign(options: { expiresIn?: number; signingDate?: Date } = {}): Promise<string> {
  return getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/object.txt' }), { expiresIn: options.expiresIn ?? 600, ...options });
}

/** The URL with the first character of its signature changed to another hex digit. */
function tamperSignature(url: string): string {
  const parsed = new URL(url);
  const signature = parsed.searchParams.get('X-Amz-Signature') ?? '';
  parsed.searchParams.set('X-Amz-Signature', `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`);
  return parsed.href;
}

/** The S3 error of a command that must fail: its HTTP status and code. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof S3ServiceException)) throw new Error(`Expected an S3 error, got ${error === undefined ? 'success' : error instanceof Error ? error.message : 'a non-error'}`);
  return { status: error.$metadata.httpStatusCode, code: error.name };
}

/** The <Code> of an S3 XML error body. */
function code(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

describe('presigned URLs', () => {
  it('serves the object through an intact presigned URL', async () => {
    // Act
    const answer = await fetch(await presign());

    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('the stored bytes');
  });

  it('refuses a presigned URL with one character of its signature changed, with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    const url = tamperSignature(await presign());

    // Act
    const answer = await fetch(url);
    const body = await answer.text();

    // Assess
    expect(answer.status).toBe(403);
    expect(code(body)).toBe('SignatureDoesNotMatch');
    expect(body).not.toContain('the stored bytes');
  });

  it('refuses a presigned URL for another key than the one signed', async () => {
    // Prepare
    await s3.putObject(s3.derivativeBucket, 'signed/other.txt', 'other bytes');
    const url = (await presign()).replace('/signed/object.txt?', '/signed/other.txt?');

    // Act
    const answer = await fetch(url);

    // Assess
    expect(answer.status).toBe(403);
    expect(code(await answer.text())).toBe('SignatureDoesNotMatch');
  });

  it('refuses a presigned URL once it has expired, with 403 AccessDenied', async () => {
    // Prepare: valid for 60 s from ten minutes ago.
    const url = await presign({ expiresIn: 60, signingDate: new Date(Date.now() - 600_000) });

    // Act
    const answer = await fetch(url);

    // Assess
    expect(answer.status).toBe(403);
    expect(code(await answer.text())).toBe('AccessDenied');
  });
});

describe('requests without valid credentials', () => {
  it('refuses an anonymous GET of an object with 403 AccessDenied', async () => {
    // Act
    const answer = await fetch(new URL(`/${s3.derivativeBucket}/signed/object.txt`, s3.endpoint));
    const body = await answer.text();

    // Assess
    expect(answer.status).toBe(403);
    expect(code(body)).toBe('AccessDenied');
    expect(body).not.toContain('the stored bytes');
  });

  it('refuses an anonymous listing of a bucket with 403 AccessDenied', async () => {
    // Act
    const answer = await fetch(new URL(`/${s3.derivativeBucket}?list-type=2`, s3.endpoint));
    const body = await answer.text();

    // Assess
    expect(answer.status).toBe(403);
    expect(code(body)).toBe('AccessDenied');
    expect(body).not.toContain('signed/object.txt');
  });

  it('refuses a request signed with the wrong secret key, with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    const credentials = await s3.client.config.credentials();
    const wrong = s3.createClient({ credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: `${credentials.secretAccessKey}x` } });

    // Act
    const result = await refusal(wrong.send(new GetObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/object.txt' })));

    // Assess
    expect(result).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses an access key it does not know, with 403 InvalidAccessKeyId', async () => {
    // Prepare
    const stranger = s3.createClient({ credentials: { accessKeyId: 'AKIANOBODYKNOWS0000', secretAccessKey: 'not-a-secret' } });

    // Act
    const result = await refusal(stranger.send(new ListObjectsV2Command({ Bucket: s3.derivativeBucket })));

    // Assess
    expect(result).toEqual({ status: 403, code: 'InvalidAccessKeyId' });
  });

  it('refuses a request signed an hour ago, with 403 RequestTimeTooSkewed', async () => {
    // Prepare: a client whose clock is an hour behind.
    const late = s3.createClient();
    late.config.systemClockOffset = -3_600_000;

    // Act
    const result = await refusal(late.send(new GetObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/object.txt' })));

    // Assess
    expect(result).toEqual({ status: 403, code: 'RequestTimeTooSkewed' });
  });
});

describe('uploads', () => {
  /** A client whose PUT bodies are replaced, after signing, by bytes of the same length. */
  function swappingBodies(): S3Client {
    const client = s3.createClient();
    client.middlewareStack.addRelativeTo(
      (next: FinalizeHandler<ServiceInputTypes, ServiceOutputTypes>) => (args: FinalizeHandlerArguments<ServiceInputTypes>) => {
        const request = args.request as HttpRequest;
        if (request.method === 'PUT' && Buffer.isBuffer(request.body)) request.body = Buffer.alloc(request.body.length, 'x');
        return next(args);
      },
      { relation: 'after', toMiddleware: 'awsAuthMiddleware', name: 'swapBodyAfterSigning' },
    );
    return client;
  }

  it('refuses a body other than the one whose SHA-256 was signed, and stores nothing', async () => {
    // Prepare
    const client = swappingBodies();

    // Act
    const result = await refusal(client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/swapped.txt', Body: Buffer.from('signed bytes') })));

    // Assess
    expect(result).toEqual({ status: 400, code: 'XAmzContentSHA256Mismatch' });
    expect(await s3.getObject(s3.derivativeBucket, 'signed/swapped.txt')).toBeUndefined();
    const put = s3.requests.find((r) => r.method === 'PUT' && r.path === `/${s3.derivativeBucket}/signed/swapped.txt`);
    expect(put?.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('signed bytes').digest('hex'));
  });

  it('refuses a body whose Content-MD5 does not match, with 400 BadDigest, and stores nothing', async () => {
    // Act
    const result = await refusal(
      s3.client.send(
        new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/md5.txt', Body: Buffer.from('the real bytes'), ContentMD5: createHash('md5').update('other bytes').digest('base64') }),
      ),
    );

    // Assess
    expect(result).toEqual({ status: 400, code: 'BadDigest' });
    expect(await s3.getObject(s3.derivativeBucket, 'signed/md5.txt')).toBeUndefined();
  });

  embeddedOnly('Ceph RGW 16 stores the object: it does not verify x-amz-checksum-sha256')(
    'refuses a body whose x-amz-checksum-sha256 does not match, with 400 BadDigest, and stores nothing',
    async () => {
      // Act
      const result = await refusal(
        s3.client.send(
          new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/sha.txt', Body: Buffer.from('the real bytes'), ChecksumSHA256: createHash('sha256').update('other bytes').digest('base64') }),
        ),
      );

      // Assess
      expect(result).toEqual({ status: 400, code: 'BadDigest' });
      expect(await s3.getObject(s3.derivativeBucket, 'signed/sha.txt')).toBeUndefined();
    },
  );

  it("refuses the SDK's default streamed upload (aws-chunked with a trailing checksum) rather than storing its framing", async () => {
    // Prepare: the SDK's checksum defaults, not the WHEN_REQUIRED that lib/store sets.
    const defaults = s3.createClient();
    defaults.config.requestChecksumCalculation = () => Promise.resolve('WHEN_SUPPORTED');

    // Act
    const result = await refusal(
      defaults.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'signed/chunked.bin', Body: Readable.from([Buffer.from('abc')]), ContentLength: 3 })),
    );

    // Assess: Ceph RGW 16 answers 411 MissingContentLength, the embedded S3 501 NotImplemented.
    expect([411, 501]).toContain(result.status);
    const sent = s3.requests.find((r) => r.method === 'PUT' && r.path === `/${s3.derivativeBucket}/signed/chunked.bin`);
    expect(sent?.headers['content-encoding']).toBe('aws-chunked');
    expect(await s3.getObject(s3.derivativeBucket, 'signed/chunked.bin')).toBeUndefined();
  });

  it('lets exactly one of eight concurrent If-None-Match: * PUTs of a key win, round after round', async () => {
    // Prepare
    const rounds = 5;
    const writers = 8;
    const outcomes: { winners: number[]; refused: (number | undefined)[]; stored: string | undefined }[] = [];

    for (let round = 0; round < rounds; round += 1) {
      // Act
      const key = `race/${String(round)}.txt`;
      const results = await Promise.all(
        Array.from({ length: writers }, (_, writer) =>
          s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: key, Body: Buffer.from(`writer ${String(writer)}`), IfNoneMatch: '*' })).then(
            (): { writer: number; status: number | undefined } => ({ writer, status: 200 }),
            (error: unknown) => ({ writer, status: error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined }),
          ),
        ),
      );
      outcomes.push({
        winners: results.filter((r) => r.status === 200).map((r) => r.writer),
        refused: results.filter((r) => r.status !== 200).map((r) => r.status),
        stored: (await s3.getObject(s3.derivativeBucket, key))?.body.toString(),
      });
    }

    // Assess: one winner, whose bytes are stored; the others 412 (or 409 while the winner writes).
    for (const outcome of outcomes) {
      expect(outcome.winners).toHaveLength(1);
      expect(outcome.stored).toBe(`writer ${String(outcome.winners[0])}`);
      expect(outcome.refused).toHaveLength(writers - 1);
      for (const status of outcome.refused) expect([409, 412]).toContain(status);
    }
  });
});

it('answers 412 PreconditionFailed to If-None-Match: * once the key exists, and keeps the first bytes', async () => {
  // Prepare
  await s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'once.txt', Body: Buffer.from('first'), IfNoneMatch: '*' }));

  // Act
  const result = await refusal(s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'once.txt', Body: Buffer.from('second'), IfNoneMatch: '*' })));

  // Assess
  expect(result).toEqual({ status: 412, code: 'PreconditionFailed' });
  expect((await s3.getObject(s3.derivativeBucket, 'once.txt'))?.body.toString()).toBe('first');
});
