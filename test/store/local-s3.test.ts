/**
 * The embedded S3 (infra/local/s3.ts) over real HTTP: what Recto relies on, and each fix over
 * plain s3rver (atomic writes, If-None-Match, integrity checks, ListObjectsV2 paging, SigV4
 * verification, the Host check, CORS for the page's origin only, stale .part files removed).
 * Raw requests are signed by the AWS SDK's signer (signedHeaders), as the server now demands.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { GetObjectTaggingCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_CREDENTIALS, localS3Environment, startLocalS3, type LocalS3 } from '../../infra/local/s3.js';
import { createS3Client } from '../../lib/store/s3-client.js';
import { signedHeaders, startTestS3, type TestS3 } from '../support/s3.js';
import { waitFor } from '../support/wait.js';

const CHILD = fileURLToPath(new URL('./local-s3-child.ts', import.meta.url));

interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One plain HTTP request, signed unless `anonymous` (for `host` if given), the body sent whole. */
async function raw(
  endpoint: URL,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
  options: { anonymous?: boolean; host?: string } = {},
): Promise<RawAnswer> {
  const sent = options.anonymous === true ? headers : await signedHeaders(endpoint, method, path, headers, options.host === undefined ? {} : { host: options.host });
  return new Promise((resolve, reject) => {
    const req = request({ host: endpoint.hostname, port: endpoint.port, method, path, headers: sent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function partFiles(directory: string): Promise<string[]> {
  const names = await readdir(directory, { recursive: true });
  return names.filter((name) => name.endsWith('.part'));
}

describe('the embedded S3', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(async () => {
    await s3.close();
  });

  it('listens on 127.0.0.1 and names the environment a process needs to reach it', () => {
    // Assess
    expect(s3.endpoint.hostname).toBe('127.0.0.1');
    expect(localS3Environment(s3.endpoint)).toEqual({
      S3_ENDPOINT: `http://127.0.0.1:${s3.endpoint.port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
  });

  it('stores and serves objects with their type, cache control and metadata', async () => {
    // Prepare
    const body = Buffer.from('pixels');

    // Act
    const etag = await s3.putObject(s3.derivativeBucket, 'a b/0,0,1,1/max/0/default.jpg', body, {
      contentType: 'image/jpeg',
      cacheControl: 'public, max-age=31536000, immutable',
      metadata: { 'source-etag': '"abc"' },
    });
    const stored = await s3.getObject(s3.derivativeBucket, 'a b/0,0,1,1/max/0/default.jpg');

    // Assess
    expect(etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    expect(stored?.body.toString()).toBe('pixels');
    expect(stored?.contentType).toBe('image/jpeg');
    expect(stored?.cacheControl).toBe('public, max-age=31536000, immutable');
    expect(stored?.metadata).toEqual({ 'source-etag': '"abc"' });
  });

  it('keeps the tags of x-amz-tagging with the object, replaces them on a PUT without, and forgets them on delete', async () => {
    // Prepare
    const key = 'tagged/full/10,10/0/default.jpg';
    const tagsOf = async () => (await s3.client.send(new GetObjectTaggingCommand({ Bucket: s3.derivativeBucket, Key: key }))).TagSet ?? [];

    // Act
    await s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: key, Body: Buffer.from('a'), Tagging: 'recto%3Alifetime=short&x=a%26b' }));
    const tagged = await tagsOf();
    await s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: key, Body: Buffer.from('b') }));
    const replaced = await tagsOf();
    await s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: key, Body: Buffer.from('c'), Tagging: 'k=v' }));
    await s3.deleteObject(s3.derivativeBucket, key);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: key, Body: Buffer.from('d') }));
    const recreated = await tagsOf();

    // Assess
    expect(tagged).toEqual([{ Key: 'recto:lifetime', Value: 'short' }, { Key: 'x', Value: 'a&b' }]);
    expect(replaced).toEqual([]);
    expect(recreated).toEqual([]);
  });

  it('answers to its own loopback host and port only, refusing any other Host with 400 before looking at the request', async () => {
    // Prepare
    await s3.putObject(s3.sourceBucket, 'host.txt', 'x');
    const path = `/${s3.sourceBucket}/host.txt`;

    // Act: each request signed for the Host it sends, so only the Host check can refuse it.
    const own = await raw(s3.endpoint, 'GET', path);
    const localhost = await raw(s3.endpoint, 'GET', path, {}, undefined, { host: `localhost:${s3.endpoint.port}` });
    const rebound = await raw(s3.endpoint, 'GET', path, {}, undefined, { host: `attacker.example:${s3.endpoint.port}` });
    const otherPort = await raw(s3.endpoint, 'GET', path, {}, undefined, { host: '127.0.0.1:1' });

    // Assess
    expect([own.status, localhost.status]).toEqual([200, 200]);
    expect(rebound.status).toBe(400);
    expect(rebound.body.toString()).toContain('<Code>InvalidHostHeader</Code>');
    expect(rebound.body.toString()).not.toContain('x</');
    expect(otherPort.status).toBe(400);
  });

  it('never shows a half-written object: a GET during a slow PUT finds nothing, then the whole object', async () => {
    // Prepare
    const chunk = Buffer.alloc(64 * 1024, 7);
    const chunks = 20;
    const duringUpload: number[] = [];
    const headers = await signedHeaders(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/slow.bin`, { 'content-length': String(chunk.length * chunks) });
    const upload = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: s3.endpoint.hostname, port: s3.endpoint.port, method: 'PUT', path: `/${s3.derivativeBucket}/slow.bin`, headers },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      void (async () => {
        for (let i = 0; i < chunks; i += 1) {
          req.write(chunk);
          await sleep(10);
          if (i % 5 === 4 && i < chunks - 1) duringUpload.push((await raw(s3.endpoint, 'GET', `/${s3.derivativeBucket}/slow.bin`)).status);
        }
        req.end();
      })();
    });

    // Act
    const status = await upload;
    const after = await raw(s3.endpoint, 'GET', `/${s3.derivativeBucket}/slow.bin`);

    // Assess
    expect(status).toBe(200);
    expect(duringUpload).toEqual([404, 404, 404]);
    expect(after.status).toBe(200);
    expect(after.body.length).toBe(chunk.length * chunks);
    expect(after.headers.etag).toBe(`"${createHash('md5').update(Buffer.concat(Array.from({ length: chunks }, () => chunk))).digest('hex')}"`);
  });

  it('leaves nothing behind when a client cuts a PUT off', async () => {
    // Prepare
    const req = request({
      host: s3.endpoint.hostname,
      port: s3.endpoint.port,
      method: 'PUT',
      path: `/${s3.derivativeBucket}/cut.bin`,
      headers: await signedHeaders(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/cut.bin`, { 'content-length': String(1024 * 1024) }),
    });
    req.on('error', () => undefined);

    // Act
    req.write(Buffer.alloc(100_000, 1));
    await waitFor(async () => (await partFiles(s3.directory)).length > 0, 30_000, 20, 'the upload begun');
    req.destroy();
    await waitFor(async () => (await partFiles(s3.directory)).length === 0, 30_000, 20, 'the cut upload cleaned up');
    const after = await raw(s3.endpoint, 'GET', `/${s3.derivativeBucket}/cut.bin`);

    // Assess
    expect(after.status).toBe(404);
    expect(await partFiles(s3.directory)).toEqual([]);
  });

  it('answers If-None-Match: * with 412 when the key exists', async () => {
    // Prepare
    await s3.putObject(s3.derivativeBucket, 'once.txt', 'first');

    // Act
    const second = await raw(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/once.txt`, { 'if-none-match': '*' }, Buffer.from('second'));
    const stored = await s3.getObject(s3.derivativeBucket, 'once.txt');

    // Assess
    expect(second.status).toBe(412);
    expect(second.body.toString()).toContain('<Code>PreconditionFailed</Code>');
    expect(stored?.body.toString()).toBe('first');
  });

  it('answers If-None-Match: * with 409 while another write of the key is in progress', async () => {
    // Prepare: a slow first write holds the key until the second has its answer.
    let answered = (): void => undefined;
    const secondAnswered = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const headers = await signedHeaders(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/race.txt`, { 'if-none-match': '*', 'content-length': '10' });
    const first = new Promise<number>((resolve) => {
      const req = request(
        { host: s3.endpoint.hostname, port: s3.endpoint.port, method: 'PUT', path: `/${s3.derivativeBucket}/race.txt`, headers },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.write('01234');
      // Finished only once the second write has been answered (below).
      void secondAnswered.then(() => req.end('56789'));
    });
    await waitFor(async () => (await partFiles(s3.directory)).length > 0, 30_000, 20, 'the first write begun');

    // Act
    const second = await raw(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/race.txt`, { 'if-none-match': '*' }, Buffer.from('other'));
    answered();

    // Assess
    expect(second.status).toBe(409);
    expect(second.body.toString()).toContain('<Code>ConditionalRequestConflict</Code>');
    expect(await first).toBe(200);
    expect((await s3.getObject(s3.derivativeBucket, 'race.txt'))?.body.toString()).toBe('0123456789');
  });

  it('refuses a body whose SHA-256 or Content-MD5 does not match, and stores nothing', async () => {
    // Prepare
    const body = Buffer.from('the real bytes');
    const wrongSha = createHash('sha256').update('other bytes').digest('base64');
    const wrongMd5 = createHash('md5').update('other bytes').digest('base64');

    // Act
    const bySha = await raw(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/sha.bin`, { 'x-amz-checksum-sha256': wrongSha }, body);
    const byMd5 = await raw(s3.endpoint, 'PUT', `/${s3.derivativeBucket}/md5.bin`, { 'content-md5': wrongMd5 }, body);

    // Assess
    expect(bySha.status).toBe(400);
    expect(bySha.body.toString()).toContain('<Code>BadDigest</Code>');
    expect(byMd5.status).toBe(400);
    expect(byMd5.body.toString()).toContain('<Code>BadDigest</Code>');
    expect(await s3.getObject(s3.derivativeBucket, 'sha.bin')).toBeUndefined();
    expect(await s3.getObject(s3.derivativeBucket, 'md5.bin')).toBeUndefined();
    expect(await partFiles(s3.directory)).toEqual([]);
  });

  it('refuses the SDK default aws-chunked stream upload with 501 instead of storing the chunk framing', async () => {
    // Prepare: the SDK's defaults, not lib/store's client.
    const defaults = new S3Client({
      endpoint: s3.endpoint.href,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: LOCAL_S3_CREDENTIALS,
      maxAttempts: 1,
    });

    // Act
    const error = await defaults
      .send(new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'chunked.bin', Body: Readable.from([Buffer.from('abc')]), ContentLength: 3 }))
      .catch((caught: unknown) => caught);
    defaults.destroy();

    // Assess
    expect(error).toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
    expect((error as Error).message).toContain('requestChecksumCalculation: "WHEN_REQUIRED"');
    const uploaded = s3.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/chunked.bin'));
    expect(uploaded?.headers['content-encoding']).toBe('aws-chunked');
    expect(await s3.getObject(s3.derivativeBucket, 'chunked.bin')).toBeUndefined();
  });

  it('uploads streams without aws-chunked framing through the client lib/store builds', async () => {
    // Act
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.derivativeBucket, Key: 'streamed.bin', Body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]), ContentLength: 4 }),
    );

    // Assess
    expect((await s3.getObject(s3.derivativeBucket, 'streamed.bin'))?.body.toString()).toBe('abcd');
  });

  it('lists more keys than a page holds, in S3 byte order, with continuation tokens', async () => {
    // Prepare: keys whose directory-walk order differs from S3's order.
    const keys = ['list/a/b', 'list/a-c', 'list/a/d', 'list/a.e', 'list/a0'];
    for (const key of keys) await s3.putObject(s3.sourceBucket, key, key);

    // Act
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.sourceBucket, Prefix: 'list/', MaxKeys: 2, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      pages.push((page.Contents ?? []).map((object) => object.Key ?? ''));
      token = page.NextContinuationToken;
      if (token !== undefined) expect(page.IsTruncated).toBe(true);
    } while (token !== undefined);

    // Assess
    expect(pages).toEqual([['list/a-c', 'list/a.e'], ['list/a/b', 'list/a/d'], ['list/a0']]);
  });

  it('lists common prefixes with a delimiter, with sizes and ETags for objects', async () => {
    // Prepare
    await s3.putObject(s3.sourceBucket, 'tree/x/1', '1');
    await s3.putObject(s3.sourceBucket, 'tree/y/2', '22');
    await s3.putObject(s3.sourceBucket, 'tree/z', '333');

    // Act
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.sourceBucket, Prefix: 'tree/', Delimiter: '/' }));

    // Assess
    expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['tree/x/', 'tree/y/']);
    expect(page.Contents?.map((o) => [o.Key, o.Size, o.ETag])).toEqual([['tree/z', 3, `"${createHash('md5').update('333').digest('hex')}"`]]);
    expect(page.KeyCount).toBe(3);
  });

  it('answers NoSuchBucket for a listing of a bucket that does not exist', async () => {
    // Act
    const error = await s3.client.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });
});

describe("the embedded S3's CORS rule", () => {
  const page = 'http://127.0.0.1:3000';
  let local: LocalS3;
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'recto-s3-cors-'));
    local = await startLocalS3({ port: 0, directory, buckets: ['sources', 'derivatives'], corsOrigins: [page] });
    const client = createS3Client({ endpoint: local.endpoint, credentials: LOCAL_S3_CREDENTIALS });
    for (const bucket of ['sources', 'derivatives']) await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cors.txt', Body: Buffer.from('x') }));
    client.destroy();
  });
  afterAll(async () => {
    await local.close();
    await rm(directory, { recursive: true, force: true });
  });

  it.each(['sources', 'derivatives'])("answers the page's preflight and GET on %s with its origin, and the headers a viewer reads", async (bucket) => {
    // Act
    const preflight = await raw(local.endpoint, 'OPTIONS', `/${bucket}/cors.txt`, { origin: page, 'access-control-request-method': 'GET' }, undefined, { anonymous: true });
    const get = await raw(local.endpoint, 'GET', `/${bucket}/cors.txt`, { origin: page });

    // Assess
    expect(preflight.status).toBe(200);
    expect(preflight.headers['access-control-allow-origin']).toBe(page);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, HEAD');
    expect(get.status).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBe(page);
    expect(get.headers['access-control-expose-headers']).toBe('Content-Length, Content-Type, ETag, Last-Modified');
  });

  it.each(['sources', 'derivatives'])('refuses the preflight of another origin on %s, and gives its GET no CORS headers', async (bucket) => {
    // Act
    const preflight = await raw(local.endpoint, 'OPTIONS', `/${bucket}/cors.txt`, { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' }, undefined, { anonymous: true });
    const get = await raw(local.endpoint, 'GET', `/${bucket}/cors.txt`, { origin: 'https://elsewhere.example' });

    // Assess
    expect(preflight.status).toBe(403);
    expect(preflight.body.toString()).toContain('<Code>CORSResponse</Code>');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('marks every GET as varying by Origin, so that a browser never reuses an answer without CORS headers for the page', async () => {
    // Act: an <img> asks without Origin, then the page's script asks for the same URL.
    const plain = await raw(local.endpoint, 'GET', '/derivatives/cors.txt');
    const fromPage = await raw(local.endpoint, 'GET', '/derivatives/cors.txt', { origin: page });

    // Assess
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    expect(plain.headers.vary).toContain('Origin');
    expect(fromPage.headers['access-control-allow-origin']).toBe(page);
    expect(fromPage.headers.vary).toContain('Origin');
  });

  it('has no CORS rule at all when started without page origins', async () => {
    // Act: the store tests' S3 (startTestS3) names no origin.
    const s3 = await startTestS3();
    await s3.putObject(s3.sourceBucket, 'cors.txt', 'x');
    const preflight = await raw(s3.endpoint, 'OPTIONS', `/${s3.sourceBucket}/cors.txt`, { origin: page, 'access-control-request-method': 'GET' }, undefined, { anonymous: true });
    await s3.close();

    // Assess
    expect(preflight.status).toBe(403);
    expect(preflight.body.toString()).toContain('CORS is not enabled for this bucket');
  });
});

describe('the embedded S3 across restarts', () => {
  it('keeps its objects and buckets in its directory', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'recto-s3-restart-'));
    try {
      const first = await startLocalS3({ port: 0, directory, buckets: ['keep'] });
      const client = createS3Client({ endpoint: first.endpoint, credentials: LOCAL_S3_CREDENTIALS });
      await client.send(new PutObjectCommand({ Bucket: 'keep', Key: 'k.txt', Body: Buffer.from('kept') }));
      client.destroy();
      await first.close();

      // Act
      const second = await startLocalS3({ port: 0, directory, buckets: ['keep'] });
      const again = createS3Client({ endpoint: second.endpoint, credentials: LOCAL_S3_CREDENTIALS });
      const page = await again.send(new ListObjectsV2Command({ Bucket: 'keep' }));
      const get = await raw(second.endpoint, 'GET', '/keep/k.txt');
      again.destroy();
      await second.close();

      // Assess
      expect(page.Contents?.map((o) => o.Key)).toEqual(['k.txt']);
      expect(get.body.toString()).toBe('kept');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('deletes the .part files of an upload cut short by SIGKILL when it starts again, and keeps the objects', async () => {
    // Prepare: a server in a child process holds a half-received PUT when it is killed.
    const directory = await mkdtemp(join(tmpdir(), 'recto-s3-killed-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /PORT (\d+)/.exec(chunk.toString());
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.once('exit', () => {
          reject(new Error('the child S3 exited before listening'));
        });
      });
      const endpoint = new URL(`http://127.0.0.1:${port}`);
      expect((await raw(endpoint, 'PUT', '/b/kept.part', {}, Buffer.from('a key that ends in .part'))).status).toBe(200);
      const upload = request({
        host: endpoint.hostname,
        port: endpoint.port,
        method: 'PUT',
        path: '/b/cut/object.bin',
        headers: await signedHeaders(endpoint, 'PUT', '/b/cut/object.bin', { 'content-length': String(1024 * 1024) }),
      });
      upload.on('error', () => undefined);
      upload.write(Buffer.alloc(100_000, 1));
      await waitFor(async () => (await partFiles(directory)).length > 0, 30_000, 20, 'the upload begun');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      upload.destroy();
      const left = await partFiles(directory);

      // Act
      const again = await startLocalS3({ port: 0, directory, buckets: ['b'] });
      const remaining = await partFiles(directory);
      const cut = await raw(again.endpoint, 'GET', '/b/cut/object.bin');
      const kept = await raw(again.endpoint, 'GET', '/b/kept.part');
      await again.close();

      // Assess
      expect(left).toHaveLength(1);
      expect(remaining).toEqual([]);
      expect(cut.status).toBe(404);
      expect(kept.body.toString()).toBe('a key that ends in .part');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
