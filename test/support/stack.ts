/**
 * The local stack for integration tests: infra/local/stack.ts started on ephemeral ports in a
 * fresh temp directory, with generated sources of known pixels, a render engine that counts its
 * renders, a logger whose JSON lines are kept, an S3 client of its own for looking at (and
 * tampering with) the buckets, and HTTP helpers that send paths byte for byte.
 *
 * Every stack is independent: its own data directory, embedded S3, dev keys and JWKS. close()
 * stops both servers and removes the directory. Against a real S3 (external-s3.ts) the stack
 * gets two buckets of its own there instead of an embedded S3, deleted by close().
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { MiddlewareStack } from '@smithy/types';
import sharp from 'sharp';
import { clearKeyCaches } from '../../lib/auth/keys.js';
import type { Plan } from '../../lib/iiif/index.js';
import { estimateRenderSeconds, render, renderBatch, type RenderOptions, type RenderResult, type SourceProbe } from '../../lib/render/index.js';
import type { RenderEngine } from '../../lib/service/produce.js';
import type { ServiceOverrides } from '../../lib/entry/wiring.js';
import { createS3Client } from '../../lib/store/index.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { deleteBucket, externalTestS3, uniqueBucket } from './external-s3.js';
import { gridImage, type Grid, type Rgb } from './fixtures.js';

// ---- the render spy ---------------------------------------------------------------------

/** lib/render, counting what it renders one by one. */
export interface RenderSpy extends RenderEngine {
  /**
   * Every Plan rendered through render() so far, oldest first (failed renders included): a
   * request's miss, and a batch's singles; not the Plans a batch cut from a shared decode.
   */
  readonly plans: readonly Plan[];
  readonly count: number;
}

export function renderSpy(): RenderSpy {
  const plans: Plan[] = [];
  return {
    plans,
    get count() {
      return plans.length;
    },
    render(input: Buffer | string, plan: Plan, source: SourceProbe, options: RenderOptions): Promise<RenderResult> {
      plans.push(plan);
      return render(input, plan, source, options);
    },
    renderBatch,
    estimateRenderSeconds,
  };
}

// ---- the captured log -------------------------------------------------------------------

/** A Powertools Logger that keeps each JSON line it would print, exactly as it would print it. */
export class CapturingLogger extends Logger {
  readonly lines: string[] = [];

  constructor() {
    // An explicit level wins over POWERTOOLS_LOG_LEVEL=SILENT, which vitest.config.ts sets.
    super({ serviceName: 'recto', logLevel: 'DEBUG' });
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    this.lines.push(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }

  /** Every line, parsed. */
  entries(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The per-request lines (message "request"), parsed. */
  requests(): Record<string, unknown>[] {
    return this.entries().filter((entry) => entry.message === 'request');
  }
}

// ---- HTTP -------------------------------------------------------------------------------

/** An answer with its body read whole. Header names are lower-case. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  text(): string;
  json(): unknown;
}

export interface SendOptions {
  readonly method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One request with node:http, the path sent exactly as given (no URL normalisation: `..`, `%2e`
 * and `\` reach the server as written, which fetch would have rewritten). Characters HTTP cannot
 * carry raw must be percent-encoded by the caller (see wirePath).
 */
export function send(base: string, path: string, options: SendOptions = {}): Promise<Answer> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** One request with fetch; a redirect is returned as it is, not followed. */
export async function fetchAnswer(url: string, options: SendOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(url, { method: options.method ?? 'GET', headers, redirect: 'manual' });
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: out, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) as unknown };
}

function answer(status: number, raw: IncomingHttpHeaders, body: Buffer): Answer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { status, headers, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) as unknown };
}

/**
 * A path as a client puts it on the wire: printable ASCII stays as it is (so malformed escapes
 * and dot segments reach the server unchanged), except `?` and `#`, which would end the path;
 * anything else (spaces, controls, non-ASCII) is percent-encoded as UTF-8, as browsers and curl do. A lone surrogate, which has no UTF-8 form,
 * goes as the bytes WTF-8 would give it (an invalid UTF-8 sequence).
 */
export function wirePath(path: string): string {
  let out = '';
  for (const char of path) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '?' && char !== '#') {
      out += char;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += `%${(0xe0 | (code >> 12)).toString(16).toUpperCase()}%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`;
    } else {
      out += [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    }
  }
  return out;
}

// ---- the stack --------------------------------------------------------------------------

/** The identifier of the default 1000x1000 grid (10x10 squares of known colours). */
export const GRID_ID = 'grid';

export interface TestStackOptions {
  /** The function's environment (IIIF_AUTH, IIIF_PUBLIC_READ, limits, …). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Extra sources: file name (with extension) → bytes; the identifier is the name without its
   * extension. The 1000x1000 grid is always there as `grid.png`.
   */
  readonly sources?: Readonly<Record<string, Buffer>>;
  /** Service overrides; the engine defaults to a RenderSpy and the logger to a CapturingLogger. */
  readonly overrides?: ServiceOverrides;
  /** React to source uploads as a deployment does (purge, access copy): see LocalStackOptions. */
  readonly sourceEvents?: boolean;
}

export interface ListedDerivative {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface TestStack {
  readonly stack: LocalStack;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly dataDir: string;
  readonly grid: Grid;
  readonly engine: RenderSpy;
  readonly logger: CapturingLogger;
  /**
   * Every command the service's own S3 client has sent, as "HeadObjectCommand bucket/key",
   * oldest first (clear it with `length = 0`).
   */
  readonly s3Calls: string[];
  /** A client of the stack's S3 that the service does not use: for looking and tampering. */
  readonly s3: S3Client;
  readonly sourceBucket: string;
  readonly derivativeBucket: string;
  /** A token the stack accepts; both scopes unless told. */
  token(scopes?: readonly string[], ttlSeconds?: number): Promise<string>;
  /** fetch to the stack (redirects not followed). */
  request(path: string, options?: SendOptions): Promise<Answer>;
  /** node:http to the stack, path byte for byte. */
  send(path: string, options?: SendOptions): Promise<Answer>;
  /** GET a presigned Location from the embedded S3 (the redirect a client follows). */
  follow(location: string, headers?: Readonly<Record<string, string>>): Promise<Answer>;
  /** Every object in the derivative bucket (records included), sorted by key. */
  listDerivatives(): Promise<ListedDerivative[]>;
  /** Only the rendered images (no source records). */
  listImages(): Promise<ListedDerivative[]>;
  putSource(fileName: string, body: Buffer, contentType?: string): Promise<void>;
  deleteSource(key: string): Promise<void>;
  /** The bytes of a derivative, or undefined when it is not there. */
  getDerivative(key: string): Promise<Buffer | undefined>;
  derivativeExists(key: string): Promise<boolean>;
  close(): Promise<void>;
}

let gridPromise: Promise<Grid> | undefined;

/** The shared 1000x1000 grid (made once per test file). */
export function sharedGrid(): Promise<Grid> {
  gridPromise ??= gridImage();
  return gridPromise;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const grid = await sharedGrid();
  const dataDir = await mkdtemp(join(tmpdir(), 'recto-stack-'));
  const imageDir = join(dataDir, 'images');
  await mkdir(imageDir);
  await writeFile(join(imageDir, `${GRID_ID}.png`), grid.png);
  for (const [name, bytes] of Object.entries(options.sources ?? {})) await writeFile(join(imageDir, name), bytes);
  const engine = renderSpy();
  const logger = new CapturingLogger();
  // Each stack has its own dev keys at a URL an earlier stack of this process may have used.
  clearKeyCaches();
  const access = externalTestS3 ?? { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  // The stack's switch to an S3 of its own: S3_ENDPOINT with its credentials and new buckets.
  const storageEnv: Record<string, string> =
    externalTestS3 === undefined
      ? {}
      : {
          S3_ENDPOINT: externalTestS3.endpoint.href,
          AWS_ACCESS_KEY_ID: externalTestS3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: externalTestS3.credentials.secretAccessKey,
          AWS_REGION: externalTestS3.region,
          SOURCE_BUCKET: uniqueBucket('sources'),
          DERIVATIVE_BUCKET: uniqueBucket('derivatives'),
        };
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: 0,
      s3Port: 0,
      dataDir,
      env: { ...options.env, ...storageEnv },
      imageDirs: [imageDir],
      overrides: { engine, logger, ...options.overrides },
      ...(options.sourceEvents === undefined ? {} : { sourceEvents: options.sourceEvents }),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: access.region, credentials: access.credentials, maxAttempts: 1 });
  const s3Calls: string[] = [];
  const middleware = stack.services.s3.middlewareStack as MiddlewareStack<{ Bucket?: string; Key?: string }, object>;
  middleware.add(
    (next, context) => (args) => {
      s3Calls.push(`${String(context.commandName)} ${args.input.Bucket ?? ''}/${args.input.Key ?? ''}`);
      return next(args);
    },
    { step: 'initialize', name: 'recordTestCalls' },
  );
  const sourceBucket = stack.config.sourceBucket;
  const derivativeBucket = stack.config.derivativeBucket;

  const listDerivatives = async (): Promise<ListedDerivative[]> => {
    const listed: ListedDerivative[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: derivativeBucket, ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const object of page.Contents ?? []) {
        listed.push({ key: object.Key ?? '', size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) });
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };

  return {
    stack,
    url: stack.url,
    dataDir,
    grid,
    engine,
    logger,
    s3Calls,
    s3,
    sourceBucket,
    derivativeBucket,
    token: (scopes, ttlSeconds) => stack.token(scopes, ttlSeconds),
    request: (path, sendOptions) => fetchAnswer(`${stack.url}${path}`, sendOptions),
    send: (path, sendOptions) => send(stack.url, path, sendOptions),
    follow: (location, headers = {}) => fetchAnswer(location, { headers }),
    listDerivatives,
    async listImages() {
      return (await listDerivatives()).filter((object) => !object.key.endsWith('/source.json'));
    },
    async putSource(fileName, body, contentType = 'application/octet-stream') {
      const key = stack.services.sources.keyFor(fileName.replace(/\.[^.]+$/, ''));
      await s3.send(new PutObjectCommand({ Bucket: sourceBucket, Key: key, Body: body, ContentType: contentType }));
    },
    async deleteSource(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: sourceBucket, Key: key }));
    },
    async getDerivative(key) {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: derivativeBucket, Key: key }));
        return Buffer.from(await got.Body!.transformToByteArray());
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async derivativeExists(key) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: derivativeBucket, Key: key }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw error;
      }
    },
    async close() {
      await stack.close();
      if (externalTestS3 !== undefined) await Promise.all([deleteBucket(s3, sourceBucket), deleteBucket(s3, derivativeBucket)]);
      s3.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// ---- pixels -----------------------------------------------------------------------------

export interface Decoded {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly format: string | undefined;
  /** The colour at (x, y) (first three channels). */
  at(x: number, y: number): Rgb;
}

/** Decode image bytes with sharp: dimensions, format and pixel access. */
export async function decode(bytes: Buffer): Promise<Decoded> {
  const metadata = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: info.channels,
    format: metadata.format,
    at(x, y) {
      const i = (y * info.width + x) * info.channels;
      return { r: data[i] ?? -1, g: data[i + 1] ?? -1, b: data[i + 2] ?? -1 };
    },
  };
}

/** The largest difference between two colours over r, g and b. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a.r - b.r), Math.abs(a.g - b.g), Math.abs(a.b - b.b));
}
