/**
 * The local stack: the embedded S3 (s3rver) or, when the environment names one with S3_ENDPOINT,
 * an S3 of your own (external-s3.ts), both buckets, the sample sources, dev signing keys
 * and their JWKS, and an HTTP server that turns each request into an API Gateway event for the
 * same handler the Lambda runs. `npm start` runs it (start.ts); integration tests start their
 * own on ephemeral ports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../../lib/config.js';
import { createApp, createGatewayHandler } from '../../lib/entry/iiif.js';
import { createServices, type ServiceOverrides, type Services } from '../../lib/entry/wiring.js';
import { DEV_AUDIENCE, DEV_ISSUER, ensureDevKeys, mintDevToken, type DevKeys } from './dev-keys.js';
import { serveThroughGateway } from './gateway-adapter.js';
import { startLocalS3, type ObjectChange } from './s3.js';
import { ensureBuckets, externalS3FromEnv } from './external-s3.js';
import { uploadSources, type UploadSummary } from './sources.js';
import { createViewerRoutes } from './viewer/routes.js';
import { LOCAL_CREDENTIALS, LOCAL_DERIVATIVE_BUCKET, LOCAL_REGION, LOCAL_SOURCE_BUCKET } from './local-constants.js';
import { createPurgeHandler, type PurgeHandler } from '../../lib/entry/purge.js';
import type { PrewarmMessage } from '../../lib/queue/index.js';
import { withDefaults } from '../../lib/service/prewarm.js';
import { createS3Client } from '../../lib/store/index.js';
import type { S3Client } from '@aws-sdk/client-s3';

export { LOCAL_CREDENTIALS, LOCAL_DERIVATIVE_BUCKET, LOCAL_REGION, LOCAL_SOURCE_BUCKET };

export interface LocalStackOptions {
  /** HTTP port; 0 picks a free one. */
  readonly port: number;
  /** Embedded S3 port; 0 picks a free one. */
  readonly s3Port: number;
  readonly dataDir: string;
  /** Function environment (the same variables as the Lambda); local defaults fill the rest. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directories whose images become sources, identifier = file name without extension. */
  readonly imageDirs?: readonly string[];
  readonly host?: string;
  /** Service overrides for tests (an S3 client with injected faults, a render engine spy). */
  readonly overrides?: ServiceOverrides;
  /** Origins besides the stack's own page whose scripts may read the buckets (the IIIF validator's). */
  readonly corsOrigins?: readonly string[];
  /**
   * Called once the HTTP port is bound (with the stack's URL), before the sources are uploaded;
   * the start waits for it. Until the stack is ready, requests are answered 503 with Retry-After.
   */
  readonly onListening?: (url: string) => void | Promise<void>;
  /**
   * React to changes of the source bucket as a deployment does (default false): each object
   * created or deleted goes through the purge function's own handler, and a created one's
   * `ingest` job runs in this process's background, as the pre-warm worker would run it from the
   * queue. `npm start` turns it on; tests that upload sources and count requests leave it off.
   * The embedded S3 only: an S3 of your own sends its events to its own notification targets,
   * not to this process (`npx recto ingest` builds the copies there).
   */
  readonly sourceEvents?: boolean;
}

export interface LocalStack {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly s3Endpoint: URL;
  /** 'external' when the environment named an S3 (S3_ENDPOINT): no embedded S3 was started. */
  readonly storage: 'embedded' | 'external';
  readonly config: Config;
  readonly services: Services;
  readonly keys: DevKeys;
  readonly uploaded: UploadSummary;
  /** A token the stack accepts. */
  token(scopes?: readonly string[], ttlSeconds?: number): Promise<string>;
  /** Resolves once the background jobs source events started (purges, access copies) are done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.dataDir, { recursive: true });
  const userEnv = options.env ?? {};
  const external = externalS3FromEnv(userEnv);
  const sourceBucket = external?.sourceBucket ?? userEnv.SOURCE_BUCKET ?? LOCAL_SOURCE_BUCKET;
  const derivativeBucket = external?.derivativeBucket ?? userEnv.DERIVATIVE_BUCKET ?? LOCAL_DERIVATIVE_BUCKET;

  const events = new SourceEvents(sourceBucket);
  // Listening first: the buckets' CORS rule names the page's own origin, and the JWKS URL and
  // token endpoint need the port, which port 0 only gets by binding. Until the stack is ready,
  // a request is answered 503, not left hanging.
  let handle: (request: IncomingMessage, response: ServerResponse) => Promise<void> = answerStarting;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error('local stack: unhandled error', error);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' });
      response.end('local stack error');
    });
  });
  const port = await listen(server, options.port, host);
  const url = `http://${host}:${port}`;
  await options.onListening?.(url);
  const pageOrigins = [...(host === '127.0.0.1' ? [url, `http://localhost:${port}`] : [url]), ...(options.corsOrigins ?? [])];

  let s3: { readonly endpoint: URL; close(): Promise<void> };
  let s3Client: S3Client;
  try {
    if (external === undefined) {
      s3 = await startLocalS3({
        port: options.s3Port,
        directory: path.join(options.dataDir, 's3'),
        buckets: [sourceBucket, derivativeBucket],
        corsOrigins: pageOrigins,
        silent: true,
        ...(options.sourceEvents === true ? { onChange: (change: ObjectChange) => { events.notify(change); } } : {}),
      });
      // Explicit credentials: a developer's own AWS keys in the environment must not reach s3rver.
      s3Client = createS3Client({ endpoint: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    } else {
      s3Client = createS3Client({ endpoint: external.endpoint, region: external.region, ...(external.credentials === undefined ? {} : { credentials: external.credentials }) });
      await ensureBuckets(s3Client, [sourceBucket, derivativeBucket], pageOrigins);
      s3 = { endpoint: external.endpoint, close: () => Promise.resolve() };
    }
  } catch (error) {
    server.close();
    throw error;
  }
  const keys = await ensureDevKeys(options.dataDir);

  const config = loadConfig({
    SOURCE_CACHE_DIR: path.join(options.dataDir, 'cache'),
    JWT_JWKS_URL: `${url}/.well-known/jwks.json`,
    JWT_ISSUER: DEV_ISSUER,
    JWT_AUDIENCE: DEV_AUDIENCE,
    ...userEnv,
    SOURCE_BUCKET: sourceBucket,
    DERIVATIVE_BUCKET: derivativeBucket,
    S3_ENDPOINT: s3.endpoint.href,
  });
  const services = createServices(config, { deferral: 'background', s3: s3Client, ...options.overrides });
  events.ready(services);
  const uploaded = await uploadSources(services, options.imageDirs ?? []);
  // Built now, not on the first request: a bad presets file stops `npm start` at once.
  const app = createApp(services);
  const gateway = createGatewayHandler(() => app);
  const token = (scopes: readonly string[] = [config.auth.readScope, config.auth.renderScope], ttlSeconds = 3600) =>
    mintDevToken(keys, { scopes, ttlSeconds });

  // The page at `/`, its assets under /viewer/ and the loopback token endpoint (viewer/routes.ts).
  const viewer = createViewerRoutes({ services, port, mint: token });

  handle = async (request, response) => {
    const pathname = (request.url ?? '/').split('?')[0] ?? '/';
    if (pathname === '/.well-known/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'x-content-type-options': 'nosniff' }).end(JSON.stringify(keys.publicJwks));
    } else if (!(await viewer(request, response))) {
      await serveThroughGateway(gateway, request, response);
    }
  };

  return {
    url,
    s3Endpoint: s3.endpoint,
    storage: external === undefined ? 'embedded' : 'external',
    config,
    services,
    keys,
    uploaded,
    token,
    idle: () => events.idle(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await s3.close();
    },
  };
}

/**
 * The local stand-in for the source bucket's event notifications: each change is handed, as the
 * S3 event it would be, to the purge function's own handler, whose `ingest` jobs go to a queue
 * of one: jobs run one after another in the background, through the pre-warm worker's runner.
 */
class SourceEvents {
  #services: Services | undefined;
  #purge: PurgeHandler | undefined;
  /** The chain of background work; each link logs its own failure. */
  #tail: Promise<void> = Promise.resolve();

  constructor(private readonly sourceBucket: string) {}

  ready(services: Services): void {
    this.#services = services;
    const queue = { send: (message: PrewarmMessage): Promise<void> => this.#then(`ingest ${message.identifier}`, () => services.prewarmer.run(withDefaults(message))) };
    this.#purge = createPurgeHandler(() => ({
      derivatives: services.derivatives,
      prefix: services.config.derivativePrefix,
      records: services.records,
      sourceBucket: services.config.sourceBucket,
      keyTemplate: services.config.sourceKeyTemplate,
      queue,
    }));
  }

  notify(change: ObjectChange): void {
    // The stack's own uploads at start count too: a master replaced in LOCAL_IMAGES_DIR is
    // purged, and a large one gets its copy, as an upload to a deployment's bucket would.
    const purge = this.#purge;
    if (purge === undefined || change.bucket !== this.sourceBucket) return;
    const event = { Records: [{ eventName: change.eventName, s3: { bucket: { name: change.bucket }, object: { key: encodeURIComponent(change.key) } } }] };
    void this.#then(`purge ${change.key}`, () => purge(event));
  }

  /** Until no work is left: a job may queue another (a purge, its copy) while it runs. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.#tail;
      await seen;
    } while (seen !== this.#tail);
  }

  #then(what: string, work: () => Promise<unknown>): Promise<void> {
    this.#tail = this.#tail.then(work).then(
      () => undefined,
      (error: unknown) => {
        this.#services?.logger.error(`Local source event: ${what} failed`, { error });
      },
    );
    return Promise.resolve();
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** How long a client that arrives while the stack starts is asked to wait. */
export const STARTING_RETRY_AFTER_SECONDS = 1;

/**
 * Any request before the stack is ready: 503 with Retry-After, as the service answers when it
 * cannot serve yet, so clients that wait out a 503 (the page, `npx recto`) simply try again.
 */
function answerStarting(request: IncomingMessage, response: ServerResponse): Promise<void> {
  request.resume();
  response.writeHead(503, {
    'content-type': 'application/json',
    'retry-after': String(STARTING_RETRY_AFTER_SECONDS),
    'cache-control': 'no-store',
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
  });
  response.end(JSON.stringify({ error: 'LOCAL_STACK_STARTING', detail: `The local stack is starting (uploading its sources); try again in ${STARTING_RETRY_AFTER_SECONDS} s` }));
  return Promise.resolve();
}
