/**
 * The service as a client sees it, on the local stack (`npm start` in a child process, auth on,
 * so each request verifies a real JWT):
 * - a cache hit (request → 302) beside the floor, a plain GET of the same object from the
 *   embedded S3; the hit must stay within 2x of it;
 * - info.json from a warm process;
 * - the cold start of the built Lambda bundle: a fresh `node` importing dist's IIIF handler and
 *   answering its first request (info.json, then a hit) against the same stack.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctions } from '../../infra/build/bundle.js';
import { ensureDevKeys, mintDevToken } from '../../infra/local/dev-keys.js';
import { scriptEnvironment } from '../../infra/local/script-env.js';
import { freePort, startStack, stopStack } from '../local-stack.js';
import { median, percentiles, type BenchContext, type BenchRow, type BenchSection, type SectionResult } from '../section.js';

const REQUESTS = 300;
/** Distinct derivatives whose first hit in a fresh process is timed (the HEAD path). */
const DISTINCT = 100;
const COLD_STARTS = 8;
const IDENTIFIER = 'grid';
const IMAGE_PATH = `/iiif/3/${IDENTIFIER}/full/!400,400/0/default.jpg`;
const INFO_PATH = `/iiif/3/${IDENTIFIER}/info.json`;
const MAX_HIT_OVER_FLOOR = 2;


/** Time `count` sequential calls, after two unmeasured ones (connection set-up, JIT). */
async function timeEach(count: number, call: () => Promise<void>): Promise<number[]> {
  await call();
  await call();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  return times;
}

async function expectStatus(url: string, init: RequestInit, status: number): Promise<Response> {
  const response = await fetch(url, { ...init, redirect: 'manual' });
  await response.arrayBuffer();
  if (response.status !== status) throw new Error(`${url}: expected ${status}, got ${response.status}`);
  return response;
}

function row(subject: string, name: string, times: readonly number[], extra: Record<string, number | string | null> = {}): BenchRow {
  return { subject, case: name, values: { median: median(times), p95: percentiles(times).p95, n: times.length, ...extra } };
}

const CHILD = `
const started = performance.now();
const module = await import(process.argv[2]);
const imported = performance.now();
const events = JSON.parse(process.argv[3]);
const context = { getRemainingTimeInMillis: () => 29000 };
const first = await module.handler(events[0], context);
const firstDone = performance.now();
const second = await module.handler(events[1], context);
const secondDone = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: imported - started, firstMs: firstDone - imported, secondMs: secondDone - firstDone, totalMs: firstDone, statuses: [first.statusCode, second.statusCode] }));
`;

interface ColdSample {
  readonly importMs: number;
  readonly firstMs: number;
  readonly secondMs: number;
  readonly totalMs: number;
  readonly statuses: readonly number[];
}

function gatewayEvent(path: string, token: string, host: string): unknown {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host, authorization: `Bearer ${token}`, 'x-forwarded-proto': 'http' },
    requestContext: {
      accountId: 'bench', apiId: 'bench', domainName: host, domainPrefix: 'bench',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench', routeKey: '$default', stage: '$default', time: '25/Nov/2026:10:00:00 +0000', timeEpoch: 1795600800000,
    },
    isBase64Encoded: false,
  };
}

function coldStart(childFile: string, bundle: string, events: unknown[], env: Record<string, string>): Promise<ColdSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childFile, bundle, JSON.stringify(events)], {
      env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`cold start exited ${String(code)}: ${output.slice(-1000)}`));
        return;
      }
      resolve(JSON.parse(last) as ColdSample);
    });
  });
}

export const serviceSection: BenchSection = {
  name: 'service',
  description: 'The local stack over HTTP (auth on): cache-hit latency against the embedded S3 floor, info.json, and the built bundle\u2019s cold start',
  async run(context: BenchContext): Promise<SectionResult> {
    const dataDir = await mkdtemp(join(tmpdir(), 'recto-bench-service-'));
    const [port, s3Port] = [await freePort(), await freePort()];
    const stackEnv = { PORT: String(port), S3_PORT: String(s3Port), DATA_DIR: dataDir, IIIF_AUTH: 'on' };
    let stack = await startStack(context, stackEnv);
    const base = `http://127.0.0.1:${port}`;
    try {
      const keys = await ensureDevKeys(dataDir);
      const token = await mintDevToken(keys, { scopes: ['iiif:read', 'iiif:render'], ttlSeconds: 3600 });
      const init = { headers: { authorization: `Bearer ${token}` } };
      context.log(`service: rendering ${DISTINCT} derivatives, then restarting the stack so none is known to it`);
      const paths = Array.from({ length: DISTINCT }, (_, i) => `/iiif/3/${IDENTIFIER}/full/${200 + i},/0/default.jpg`);
      for (const path of paths) await expectStatus(`${base}${path}`, init, 302);
      await stopStack(stack);
      stack = await startStack(context, stackEnv);
      await expectStatus(`${base}${INFO_PATH}`, init, 200); // JWKS and source record into memory
      const locations: string[] = [];
      const firstHits: number[] = [];
      for (const path of paths) {
        const started = performance.now();
        locations.push((await expectStatus(`${base}${path}`, init, 302)).headers.get('location') ?? '');
        firstHits.push(performance.now() - started);
      }
      const floorDistinct: number[] = [];
      for (const location of locations) {
        const started = performance.now();
        await expectStatus(location, {}, 200);
        floorDistinct.push(performance.now() - started);
      }
      const location = locations[0] ?? '';
      const repeatPath = paths[0] ?? IMAGE_PATH;
      const hits = await timeEach(REQUESTS, async () => {
        await expectStatus(`${base}${repeatPath}`, init, 302);
      });
      const floor = await timeEach(REQUESTS, async () => {
        await expectStatus(location, {}, 200);
      });
      const infos = await timeEach(REQUESTS, async () => {
        await expectStatus(`${base}${INFO_PATH}`, init, 200);
      });

      context.log('service: building the IIIF bundle for this machine and timing cold starts');
      const outdir = join(dataDir, 'dist');
      const built = await buildFunctions({ entries: { iiif: 'functions/iiif/handler.ts' }, outdir, architecture: process.arch === 'arm64' ? 'arm64' : 'x64', log: () => undefined });
      const bundle = built.functions[0]?.bundle;
      if (bundle === undefined) throw new Error('the build produced no IIIF bundle');
      const childFile = join(dataDir, 'cold-start.mjs');
      await writeFile(childFile, CHILD);
      const host = `127.0.0.1:${port}`;
      const events = [gatewayEvent(INFO_PATH, token, host), gatewayEvent(repeatPath, token, host)];
      // The function's environment as the scripts build it for a running `npm start`.
      const local = scriptEnvironment({ PORT: String(port), S3_PORT: String(s3Port), DATA_DIR: dataDir, SOURCE_CACHE_DIR: join(dataDir, 'cold-cache') }).env;
      const env = Object.fromEntries(Object.entries(local).filter((entry): entry is [string, string] => entry[1] !== undefined));
      const samples: ColdSample[] = [];
      for (let i = 0; i < COLD_STARTS; i++) samples.push(await coldStart(childFile, bundle, events, env));
      const statuses = [...new Set(samples.flatMap((sample) => sample.statuses))];

      const ratio = median(hits) / median(floor);
      const firstRatio = median(firstHits) / median(floorDistinct);
      return {
        columns: [
          { key: 'median', title: 'median ms' },
          { key: 'p95', title: 'p95 ms' },
          { key: 'n', title: 'n', digits: 0 },
          { key: 'ratio', title: 'vs floor', digits: 2 },
        ],
        rows: [
          row('local stack', 'first hit of a key in this process: GET → 302 (JWT, HEAD on S3, presign)', firstHits, { ratio: firstRatio }),
          row('embedded S3', 'floor: GET of each of those objects by its presigned URL', floorDistinct, { ratio: 1 }),
          row('local stack', 'repeated hit of one key: GET → 302 (JWT, key known stored, URL signed)', hits, { ratio }),
          row('embedded S3', 'floor: GET of that object by its presigned URL', floor, { ratio: 1 }),
          row('local stack', 'info.json (warm, record in memory)', infos),
          row('IIIF bundle', 'cold start: import dist/iiif/index.mjs', samples.map((s) => s.importMs)),
          row('IIIF bundle', 'cold start: first request (info.json: JWKS fetch, record GET)', samples.map((s) => s.firstMs)),
          row('IIIF bundle', 'cold start: second request (a cache hit)', samples.map((s) => s.secondMs)),
          row('IIIF bundle', 'cold start: process start → first answer', samples.map((s) => s.totalMs)),
        ],
        targets: [
          { description: `first cache hit of a key within ${MAX_HIT_OVER_FLOOR}x of a plain GET from the embedded S3`, measured: `${firstRatio.toFixed(2)}x (${median(firstHits).toFixed(1)} vs ${median(floorDistinct).toFixed(1)} ms)`, met: firstRatio <= MAX_HIT_OVER_FLOOR },
          { description: `repeated cache hit within ${MAX_HIT_OVER_FLOOR}x of a plain GET from the embedded S3`, measured: `${ratio.toFixed(2)}x (${median(hits).toFixed(1)} vs ${median(floor).toFixed(1)} ms)`, met: ratio <= MAX_HIT_OVER_FLOOR },
          { description: 'the cold-started bundle answers 200 (info.json) then 302 (hit)', measured: statuses.join(', '), met: statuses.length === 2 && statuses.includes(200) && statuses.includes(302) },
        ],
        notes: [
          `Bundle: ${((built.functions[0]?.bundleBytes ?? 0) / 1024).toFixed(0)} KiB of JavaScript for ${built.architecture}, AWS SDK bundled; cold starts are ${COLD_STARTS} fresh node processes on this machine, not Lambda.`,
        ],
      };
    } finally {
      await stopStack(stack);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
