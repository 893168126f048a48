/**
 * Real services over the embedded S3, for the lib/service and lib/http tests: one in-process S3
 * per test file (test/support/s3.ts), and as many "containers" over it as a test needs. Each
 * container is what a cold start builds (lib/entry/wiring.ts `createServices`): its own
 * configuration, /tmp source cache, memory (source records, stored keys), render spy, captured
 * log and clock. Two containers over one S3 are two warm Lambdas sharing the buckets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../lib/config.js';
import { createServices, type ServiceOverrides, type Services } from '../../lib/entry/wiring.js';
import { parseImagePath, type ImageRequest } from '../../lib/iiif/index.js';
import { RectoError } from '../../lib/errors.js';
import { gridImage, type Grid } from '../support/fixtures.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { CapturingLogger, renderSpy, type RenderSpy } from '../support/stack.js';

export interface Container {
  readonly config: Config;
  readonly services: Services;
  /** The engine, when the test did not bring its own. */
  readonly engine: RenderSpy;
  readonly logger: CapturingLogger;
  readonly cacheDir: string;
}

export interface ContainerOptions {
  /** The function's environment, over the buckets and a cache directory of its own; auth off unless set. */
  readonly env?: Readonly<Record<string, string>>;
  /** Wiring overrides (clock, deferral, engine, another S3 client); logger and engine default to a capture and a spy. */
  readonly overrides?: ServiceOverrides;
}

export interface Bench {
  readonly s3: TestS3;
  /** The 1000x1000 grid of 10x10 squares, stored as the source `grid`. */
  readonly grid: Grid;
  container(options?: ContainerOptions): Promise<Container>;
  /** Store a source under its identifier (the default key template `{id}`); returns its ETag. */
  putSource(identifier: string, body: Buffer, contentType?: string): Promise<string>;
  /** Where the request log stands now. */
  mark(): number;
  /** The requests the embedded S3 served since `mark`, as `METHOD /bucket/key`, oldest first. */
  since(mark: number): string[];
  close(): Promise<void>;
}

export const GRID = 'grid';

export async function startBench(): Promise<Bench> {
  const s3 = await startTestS3();
  const grid = await gridImage();
  await s3.putObject(s3.sourceBucket, GRID, grid.png, { contentType: 'image/png' });
  const dirs: string[] = [];
  return {
    s3,
    grid,
    async container(options = {}) {
      const cacheDir = await mkdtemp(join(tmpdir(), 'recto-svc-'));
      dirs.push(cacheDir);
      const config = loadConfig({
        SOURCE_BUCKET: s3.sourceBucket,
        DERIVATIVE_BUCKET: s3.derivativeBucket,
        SOURCE_CACHE_DIR: cacheDir,
        IIIF_AUTH: 'off',
        ...options.env,
      });
      const engine = renderSpy();
      const logger = new CapturingLogger();
      const services = createServices(config, { s3: s3.client, engine, logger, deferral: 'never', ...options.overrides });
      return { config, services, engine, logger, cacheDir };
    },
    putSource: (identifier, body, contentType = 'image/png') => s3.putObject(s3.sourceBucket, identifier, body, { contentType }),
    mark: () => s3.requests.length,
    since: (mark) => s3.requests.slice(mark).map((request) => `${request.method} ${request.path}`),
    async close() {
      await s3.close();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A 3.0 image request for an identifier: `request('grid', 'full/max/0/default.jpg')`. */
export function request(identifier: string, path: string): ImageRequest {
  return parseImagePath('3', path, identifier);
}

/** The code, status and Retry-After of the RectoError a promise rejects with (anything else fails). */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; status: number; retryAfter?: string; name: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RectoError)) throw error;
    const retryAfter = error.headers['retry-after'];
    return { name: error.name, code: error.code, status: error.status, ...(retryAfter === undefined ? {} : { retryAfter }) };
  }
  throw new Error('Expected a rejection but the promise fulfilled');
}

/** A clock a test moves by hand. */
export interface Clock {
  readonly now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2030, 0, 1)): Clock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}
