/**
 * S3 for tests: the embedded S3 of the local stack (infra/local/s3.ts) on an ephemeral port in a
 * fresh temp directory, with the two buckets, an SDK client made by lib/store, a log of every
 * request it served, and helpers to put, get and list objects. Against a real S3
 * (external-s3.ts), two buckets of its own there, seen through a recording proxy that passes
 * each request on byte for byte (signatures cover the Host header, which it keeps). Plus a fault proxy: an HTTP hop in
 * front of it that answers chosen requests with S3 errors, delays, resets or truncated bodies, so
 * the SDK's own retries, timeouts and error parsing run for real.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { ensureBuckets } from '../../infra/local/external-s3.js';
import { acceptProxyHost, LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3 } from '../../infra/local/s3.js';
import { createS3Client, type S3ClientOptions } from '../../lib/store/s3-client.js';
import { deleteBucket, externalTestS3, uniqueBucket } from './external-s3.js';

export const TEST_SOURCE_BUCKET = 'recto-sources';
export const TEST_DERIVATIVE_BUCKET = 'recto-derivatives';

/** One request as the embedded S3 received it. */
export interface RecordedRequest {
  readonly method: string;
  /** Bucket and key, percent-decoded: `/recto-sources/a b.jpg`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
}

export interface StoredTestObject {
  readonly body: Buffer;
  readonly etag?: string;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified?: Date;
}

export interface TestS3 {
  readonly endpoint: URL;
  /** The embedded S3's files (empty against a real S3). */
  readonly directory: string;
  /** The server the clients talk to: the embedded S3, or the proxy in front of a real one. */
  readonly server: Server;
  /** A client made by createS3Client against this server (1 attempt: tests see the first answer). */
  readonly client: S3Client;
  readonly sourceBucket: string;
  readonly derivativeBucket: string;
  /** Every request served so far, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** A client with other options (retries, timeouts), e.g. pointed at a fault proxy. */
  createClient(options?: Partial<S3ClientOptions>): S3Client;
  /** How many requests match, e.g. `count('GET', '/recto-sources/a.jpg')`. */
  count(method: string, path: string): number;
  putObject(bucket: string, key: string, body: Buffer | string, options?: { contentType?: string; cacheControl?: string; metadata?: Record<string, string> }): Promise<string>;
  /** The object, or undefined when it does not exist. */
  getObject(bucket: string, key: string): Promise<StoredTestObject | undefined>;
  deleteObject(bucket: string, key: string): Promise<void>;
  /**
   * Many small objects at once, written straight into the embedded S3's directory in its own
   * layout (an HTTP PUT costs ~8 ms there; a thousand objects would take seconds).
   */
  seed(bucket: string, keys: readonly string[], body: Buffer | string): Promise<void>;
  /** Every key under a prefix, sorted. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'recto-s3-'));
  const access = externalTestS3 ?? { region: LOCAL_S3_REGION, credentials: LOCAL_S3_CREDENTIALS };
  let local: { readonly endpoint: URL; readonly server: Server; close(): Promise<void> };
  let sourceBucket = TEST_SOURCE_BUCKET;
  let derivativeBucket = TEST_DERIVATIVE_BUCKET;
  let dropBuckets = (): Promise<void> => Promise.resolve();
  if (externalTestS3 === undefined) {
    local = await startLocalS3({ port: 0, directory, buckets: [sourceBucket, derivativeBucket] });
  } else {
    sourceBucket = uniqueBucket('sources');
    derivativeBucket = uniqueBucket('derivatives');
    const admin = createS3Client({ endpoint: externalTestS3.endpoint, region: externalTestS3.region, credentials: externalTestS3.credentials });
    await ensureBuckets(admin, [sourceBucket, derivativeBucket], []);
    const proxy = await startFaultProxy(externalTestS3.endpoint);
    local = proxy;
    dropBuckets = async () => {
      await Promise.all([deleteBucket(admin, sourceBucket), deleteBucket(admin, derivativeBucket)]);
      admin.destroy();
    };
  }
  const requests: RecordedRequest[] = [];
  local.server.on('request', (req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', local.endpoint);
    requests.push({ method: req.method ?? '', path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers });
  });
  const clients: S3Client[] = [];
  const createClient = (options: Partial<S3ClientOptions> = {}): S3Client => {
    const client = createS3Client({ endpoint: local.endpoint, region: access.region, credentials: access.credentials, maxAttempts: 1, ...options });
    clients.push(client);
    return client;
  };
  const client = createClient();
  return {
    endpoint: local.endpoint,
    directory,
    server: local.server,
    client,
    sourceBucket,
    derivativeBucket,
    requests,
    createClient,
    count: (method, path) => requests.filter((r) => r.method === method && r.path === path).length,
    async putObject(bucket, key, body, options = {}) {
      const answer = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: typeof body === 'string' ? Buffer.from(body) : body,
          ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
          ...(options.cacheControl === undefined ? {} : { CacheControl: options.cacheControl }),
          ...(options.metadata === undefined ? {} : { Metadata: options.metadata }),
        }),
      );
      return answer.ETag ?? '';
    },
    async getObject(bucket, key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = Buffer.from(await answer.Body!.transformToByteArray());
        return {
          body,
          ...(answer.ETag === undefined ? {} : { etag: answer.ETag }),
          ...(answer.ContentType === undefined ? {} : { contentType: answer.ContentType }),
          ...(answer.CacheControl === undefined ? {} : { cacheControl: answer.CacheControl }),
          metadata: answer.Metadata ?? {},
          ...(answer.LastModified === undefined ? {} : { lastModified: answer.LastModified }),
        };
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async seed(bucket, keys, body) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (externalTestS3 !== undefined) {
        // A real S3's files are its own: PUT them, a few at a time.
        const queue = [...keys];
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
              await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
            }
          }),
        );
        return;
      }
      const md5 = createHash('md5').update(bytes).digest('hex');
      for (const key of keys) {
        // s3rver's layout: <dir>/<bucket>/<key>._S3rver_object, beside .md5 and metadata.json.
        const base = join(directory, bucket, ...key.split('/'));
        await mkdir(dirname(base), { recursive: true });
        await writeFile(`${base}._S3rver_metadata.json`, '{}');
        await writeFile(`${base}._S3rver_object.md5`, md5);
        await writeFile(`${base}._S3rver_object`, bytes);
      }
    },
    async deleteObject(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async listKeys(bucket, prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key!));
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return keys.sort();
    },
    async close() {
      for (const each of clients) each.destroy();
      await local.close();
      await dropBuckets();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

// ---- signing raw requests ---------------------------------------------------------------

/** SHA-256 and HMAC-SHA-256 for the SDK's signer, from node:crypto. */
/** What createHash and createHmac both give. */
type Digester = ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

class NodeSha256 implements Checksum {
  #hash: Digester;
  readonly #secret: SourceData | undefined;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = NodeSha256.#make(secret);
  }

  static #make(secret: SourceData | undefined): Digester {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', NodeSha256.#bytes(secret));
  }

  static #bytes(data: SourceData): Buffer {
    return typeof data === 'string' ? Buffer.from(data) : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }

  reset(): void {
    this.#hash = NodeSha256.#make(this.#secret);
  }
}

/**
 * The headers of a raw request signed by the AWS SDK's own SigV4 signer (not Recto's verifier)
 * with the local credentials, the body unsigned (UNSIGNED-PAYLOAD) so that it may be streamed.
 * `host` defaults to the endpoint's.
 */
export async function signedHeaders(
  endpoint: URL,
  method: string,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  options: { host?: string; credentials?: { accessKeyId: string; secretAccessKey: string }; signingDate?: Date } = {},
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 's3', region: LOCAL_S3_REGION, credentials: options.credentials ?? LOCAL_S3_CREDENTIALS, sha256: NodeSha256, uriEscapePath: false });
  const url = new URL(path, endpoint);
  const signed = await signer.sign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: options.host ?? url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    options.signingDate === undefined ? {} : { signingDate: options.signingDate },
  );
  return signed.headers;
}

// ---- fault proxy ------------------------------------------------------------------------

/** What a fault does to a request it matches. */
export type FaultAction =
  /** Answer with this status and an S3 error document (no body for HEAD, as S3 does). */
  | { readonly status: number; readonly code?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Wait this long, then forward (a slow S3: past the client's timeout, the client gives up). */
  | { readonly delayMs: number }
  /** Destroy the connection without an answer (ECONNRESET at the client). */
  | { readonly reset: true }
  /** Forward, but cut the response body after this many bytes and drop the connection. */
  | { readonly truncateAfterBytes: number };

export interface Fault {
  readonly method?: string;
  /** Matched against the decoded path (`/bucket/key`). */
  readonly path?: string | RegExp;
  /** How many matching requests it applies to (default 1). */
  readonly times?: number;
  readonly action: FaultAction;
}

export interface FaultProxy {
  readonly endpoint: URL;
  readonly server: Server;
  /** Requests seen by the proxy, faulted or not, with what was done. */
  readonly log: readonly { readonly method: string; readonly path: string; readonly fault: boolean }[];
  /** Queue a fault; faults are tried in the order they were added. */
  inject(fault: Fault): void;
  /** Faults that have not been used up. */
  pending(): number;
  /** Requests a delay fault is still holding back (neither forwarded nor abandoned yet). */
  held(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: URL): Promise<FaultProxy> {
  const faults: { fault: Fault; left: number }[] = [];
  const log: { method: string; path: string; fault: boolean }[] = [];
  let held = 0;
  const server = createServer((req, res) => {
    const method = req.method ?? '';
    const path = decodeURIComponent(new URL(req.url ?? '/', target).pathname);
    const index = faults.findIndex(({ fault }) => matches(fault, method, path));
    const entry = faults[index];
    log.push({ method, path, fault: entry !== undefined });
    const forward = (onResponse: (upstream: IncomingMessage) => void): void => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method, path: req.url, headers: req.headers },
        onResponse,
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (entry === undefined) {
      forward((upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      });
      return;
    }
    entry.left -= 1;
    if (entry.left <= 0) faults.splice(index, 1);
    const action = entry.fault.action;
    if ('status' in action) {
      req.resume();
      const body =
        method === 'HEAD' || action.code === undefined
          ? ''
          : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${action.code}</Code><Message>Injected ${action.code}</Message><RequestId>FAULT</RequestId></Error>`;
      res.writeHead(action.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...action.headers });
      res.end(body);
    } else if ('delayMs' in action) {
      held += 1;
      let holding = true;
      const release = (): void => {
        if (holding) held -= 1;
        holding = false;
      };
      const timer = setTimeout(() => {
        release();
        if (!res.destroyed) {
          forward((upstream) => {
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            upstream.pipe(res);
          });
        }
      }, action.delayMs);
      res.on('close', () => {
        clearTimeout(timer);
        release();
      });
    } else if ('reset' in action) {
      req.socket.destroy();
    } else {
      forward((upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        res.flushHeaders();
        let sent = 0;
        upstream.on('data', (chunk: Buffer) => {
          const room = action.truncateAfterBytes - sent;
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += chunk.length;
          if (sent >= action.truncateAfterBytes) {
            upstream.destroy();
            // Later, so the client has the headers and part of the body: a cut mid-body, which
            // the SDK cannot retry, rather than a failed request, which it would.
            setTimeout(() => res.socket?.destroy(), 300);
          }
        });
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Its clients sign for its own host:port, which it passes on: the embedded S3 must accept it.
  const withdraw = acceptProxyHost(`127.0.0.1:${String(port)}`);
  return {
    endpoint: new URL(`http://127.0.0.1:${port}`),
    server,
    log,
    inject(fault) {
      faults.push({ fault, left: fault.times ?? 1 });
    },
    pending: () => faults.length,
    held: () => held,
    close: () =>
      new Promise<void>((resolve) => {
        withdraw();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function matches(fault: Fault, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method !== method) return false;
  if (fault.path === undefined) return true;
  return typeof fault.path === 'string' ? fault.path === path : fault.path.test(path);
}
