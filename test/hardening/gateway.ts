/**
 * The IIIF function as Lambda runs it (the API Gateway handler), on an S3 client mocked with
 * aws-sdk-client-mock: fast enough to fuzz thousands of requests, and every S3 command it sends
 * is kept. Storage holds one described source (`grid`, 1000x800: its record is stored, and each
 * derivative HEAD answers as the test says), one undescribed source (`fresh`, a small JPEG with
 * no record yet), and nothing else.
 */
import { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import sharp from 'sharp';
import { loadConfig, type Config } from '../../lib/config.js';
import { createHttpApp } from '../../lib/http/app.js';
import { createGatewayHandler, type GatewayHandler } from '../../lib/entry/iiif.js';
import type { RenderEngine } from '../../lib/service/produce.js';
import { createServices, type ServiceOverrides, type Services } from '../../lib/entry/wiring.js';
import { RECORD_SCHEMA, type SourceRecord } from '../../lib/service/source-records.js';
import { estimateRenderSeconds, render, renderBatch } from '../../lib/render/index.js';
import { CapturingLogger } from '../support/stack.js';
import type { S3Call } from './support.js';

export const SOURCE_BUCKET = 'fuzz-sources';
export const DERIVATIVE_BUCKET = 'fuzz-derivatives';

export interface MockedGateway {
  readonly handler: GatewayHandler;
  readonly services: Services;
  readonly config: Config;
  readonly s3: AwsClientStub<S3Client>;
  readonly logger: CapturingLogger;
  /** Renders started so far. */
  readonly renders: () => number;
  /** The S3 commands sent since the last `resetCalls()`. */
  calls(): S3Call[];
  resetCalls(): void;
  /** Send one request as API Gateway (HTTP API, payload 2.0) would. */
  send(method: string, rawPath: string, headers?: Readonly<Record<string, string>>): Promise<APIGatewayProxyStructuredResultV2>;
  close(): Promise<void>;
}

export interface MockedGatewayOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Whether a derivative HEAD finds the object (true: every request is a hit). */
  readonly derivativesExist: boolean;
  readonly overrides?: ServiceOverrides;
}

const GRID_RECORD: SourceRecord = {
  schema: RECORD_SCHEMA,
  identifier: 'grid',
  source: { key: 'masters/grid.tif', etag: '"grid-etag"', bytes: 123_456 },
  probe: {
    format: 'jpeg', width: 1000, height: 800, levels: [{ width: 1000, height: 800 }], orientation: 1,
    space: 'srgb', channels: 3, depth: 'uchar', hasAlpha: false, hasProfile: false, pages: 1,
  },
};

function notFound(name: 'NoSuchKey' | 'NotFound'): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 404 }, message: name });
}

export async function startMockedGateway(options: MockedGatewayOptions): Promise<MockedGateway> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'recto-fuzz-'));
  const config = loadConfig({
    SOURCE_BUCKET,
    DERIVATIVE_BUCKET,
    DERIVATIVE_PREFIX: 'iiif/',
    SOURCE_KEY_TEMPLATE: 'masters/{id}.tif',
    SOURCE_CACHE_DIR: cacheDir,
    IIIF_AUTH: 'off',
    ...options.env,
  });
  const fresh = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDFUZZ', secretAccessKey: 'fuzz-secret' } });
  const s3 = mockClient(client);
  s3.onAnyCommand().rejects(notFound('NoSuchKey'));
  s3.on(GetObjectCommand, { Bucket: DERIVATIVE_BUCKET }).rejects(notFound('NoSuchKey'));
  s3.on(GetObjectCommand, { Bucket: DERIVATIVE_BUCKET, Key: 'iiif/!recto/records/grid/source.json' }).callsFake(() => ({
    Body: Readable.from([Buffer.from(JSON.stringify(GRID_RECORD))]),
  }));
  s3.on(PutObjectCommand, { Bucket: DERIVATIVE_BUCKET }).resolves({});
  s3.on(HeadObjectCommand, { Bucket: DERIVATIVE_BUCKET }).callsFake(() => {
    if (options.derivativesExist) return {};
    throw notFound('NotFound');
  });
  s3.on(HeadObjectCommand, { Bucket: SOURCE_BUCKET }).rejects(notFound('NotFound'));
  s3.on(HeadObjectCommand, { Bucket: SOURCE_BUCKET, Key: 'masters/fresh.tif' }).resolves({ ETag: '"fresh"', ContentLength: fresh.length });
  s3.on(GetObjectCommand, { Bucket: SOURCE_BUCKET, Key: 'masters/fresh.tif' }).callsFake(() => ({
    Body: Readable.from([fresh]),
    ETag: '"fresh"',
    ContentLength: fresh.length,
  }));
  let renders = 0;
  const engine: RenderEngine = {
    render(input, plan, source, renderOptions) {
      renders += 1;
      return render(input, plan, source, renderOptions);
    },
    renderBatch,
    estimateRenderSeconds,
  };
  const logger = new CapturingLogger();
  const services = createServices(config, { s3: client, logger, engine, deferral: 'never', ...options.overrides });
  const handler = createGatewayHandler(() => createHttpApp(services));
  let seen = 0;
  const calls = (): S3Call[] =>
    s3.calls().slice(seen).map((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: { Bucket?: string; Key?: string } };
      return { command: command.constructor.name, bucket: command.input.Bucket ?? '', key: command.input.Key ?? '' };
    });

  return {
    handler,
    services,
    config,
    s3,
    logger,
    renders: () => renders,
    calls,
    resetCalls() {
      seen = s3.calls().length;
    },
    async send(method, rawPath, headers = {}) {
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: '$default',
        rawPath,
        rawQueryString: '',
        headers: { host: 'iiif.example.org', ...headers },
        requestContext: {
          accountId: 'fuzz', apiId: 'fuzz', domainName: 'iiif.example.org', domainPrefix: 'iiif',
          http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'fuzz' },
          requestId: 'fuzz', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0,
        },
        isBase64Encoded: false,
      };
      return handler(event);
    },
    async close() {
      s3.restore();
      client.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/** A gateway result as the plain answer the checks read. */
export function plain(result: APIGatewayProxyStructuredResultV2): { status: number; headers: Record<string, string | undefined>; body: string } {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  return { status: result.statusCode ?? 0, headers, body: result.body ?? '' };
}
