/**
 * Big masters read by byte ranges:
 * - on the local stack (`npm start` in a child process, default configuration, auth on), each
 *   master in fresh stack processes that have never seen it: info.json, the first full-resolution
 *   tile, two more tiles and a `!400,400` thumbnail, each with its time and the bytes it read from
 *   the source bucket (the `sourceBytes` of its request log line, parsed from the stack's stdout),
 *   beside the master's size and what the whole-file path would read first (a GET of the whole
 *   master from the same embedded S3);
 * - in this process, one grid-aligned 256-pixel tile of a pyramid with 256-pixel JPEG tiles:
 *   render() with a RangedInput over the master in memory (the stored tile passed through), the
 *   same tile through decode and re-encode (mirrored, or at 255x255), and render() from the file.
 * The masters: 30000x22500 (675 MP) written by libvips (sharp) from a photo-like image, the
 * same size from test/support/pyramids.ts, and 54000x40000 (2.2 GP) from test/support/pyramids.ts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import sharp from 'sharp';
import { scriptServices } from '../../infra/cli/storage-script.js';
import { ensureDevKeys, mintDevToken } from '../../infra/local/dev-keys.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_SOURCE_BUCKET } from '../../infra/local/local-constants.js';
import { DEFAULTS } from '../../lib/config.js';
import { RectoError } from '../../lib/errors.js';
import type { Plan, Rect, Size } from '../../lib/iiif/types.js';
import { probe, render, route, type RenderOptions, type SourceProbe } from '../../lib/render/index.js';
import { passthroughIndex } from '../../lib/render/render.js';
import { describeTiff } from '../../lib/render/tiff/describe.js';
import type { ReadRange, ReadStats } from '../../lib/render/tiff/ranges.js';
import { readTiffStructure } from '../../lib/render/tiff/structure.js';
import { purgeIdentifier } from '../../lib/service/purge.js';
import { createS3Client } from '../../lib/store/index.js';
import { syntheticPyramid } from '../../test/support/pyramids.js';
import { freePort, startStack, stopStack } from '../local-stack.js';
import { requestLog, type RequestLine } from '../request-log.js';
import { median, type BenchContext, type BenchRow, type BenchSection, type BenchTarget, type SectionResult } from '../section.js';
import { benchSourceFile, cachedFile } from '../sources.js';

const VERSION = 'v1';
const MIB = 1024 * 1024;
const TILE = 256;
/** The target for the 675 MP masters: info.json, three tiles and a thumbnail read under this. */
const TARGET_READ_BYTES = 4 * MIB;
const TARGET_PASSTHROUGH_MS = 2;
/** The whole-master GET (the whole-file path's first step) is abandoned after this. */
const WHOLE_GET_TIMEOUT_MS = 60_000;
const RUNS = { structure: 20, passthrough: 200, decode: 40, wholeFile: 15 } as const;
/** Fresh processes timed loading lib/render (the first render's one-off cost). */
const LOAD_RUNS = 3;
/** Fresh stack processes per master. */
const REPEATS = 3;

interface Master {
  readonly id: string;
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly file: string;
  /** Also timed in this process (passthrough against decode and the whole-file path). */
  readonly inProcess: boolean;
  /** Held to the 4 MiB target (the 675 MP masters). */
  readonly readTarget: boolean;
  readonly make: (path: string, context: BenchContext) => Promise<void>;
}

async function synthetic(path: string, width: number, height: number): Promise<void> {
  await writeFile(path, (await syntheticPyramid({ width, height })).file);
}

const MASTERS: readonly Master[] = [
  {
    id: 'libvips-675mp', label: '675 MP libvips', width: 30_000, height: 22_500, file: `big-libvips-30000x22500-${VERSION}.tif`, inProcess: true, readTarget: true,
    // The 10000x7500 photo-like bench JPEG repeated 3x3 (libvips' embed, extend "repeat"), saved
    // by libvips as a tiled pyramid: real JPEG tiles sharing JPEGTables, a level per page.
    make: async (path, context) => {
      const photo = await benchSourceFile(context.cacheDir, 'photo-75mp', context.log);
      await sharp(photo)
        .extend({ right: 20_000, bottom: 15_000, extendWith: 'repeat' })
        .tiff({ tile: true, tileWidth: TILE, tileHeight: TILE, pyramid: true, compression: 'jpeg', quality: 85 })
        .toFile(path);
    },
  },
  {
    id: 'synthetic-675mp', label: '675 MP synthetic', width: 30_000, height: 22_500, file: `big-synthetic-30000x22500-${VERSION}.tif`, inProcess: true, readTarget: true,
    make: (path) => synthetic(path, 30_000, 22_500),
  },
  {
    id: 'synthetic-2gp', label: '2.2 GP synthetic', width: 54_000, height: 40_000, file: `big-synthetic-54000x40000-${VERSION}.tif`, inProcess: false, readTarget: false,
    make: (path) => synthetic(path, 54_000, 40_000),
  },
];

interface ViewerRequest {
  readonly name: string;
  readonly path: string;
}

/** The grid-aligned tile holding a point at (fx, fy) of the image, in full-resolution pixels. */
function tileAt(master: Master, fx: number, fy: number, size: number): Rect {
  const x = Math.floor((master.width * fx) / TILE) * TILE;
  const y = Math.floor((master.height * fy) / TILE) * TILE;
  return { x, y, width: Math.min(size, master.width - x), height: Math.min(size, master.height - y) };
}

function regionPath(rect: Rect): string {
  return `${rect.x},${rect.y},${rect.width},${rect.height}/${rect.width},${rect.height}/0/default.jpg`;
}

/** A reader of a file's ranges through a file handle (the master is never read whole). */
async function fileReader(path: string): Promise<{ read: ReadRange; bytes: number; close: () => Promise<void> }> {
  const handle = await open(path);
  const { size } = await handle.stat();
  return {
    bytes: size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

/** Whether a full-resolution tile request of this master is a stored tile passed through, as render() routes it. */
function passesThrough(master: Master, ranged: SourceProbe, rect: Rect): boolean {
  const plan = tilePlan(master, rect, { width: rect.width, height: rect.height }, false);
  return passthroughIndex(plan, route(plan, ranged, { inputIsPath: false }), ranged) !== undefined;
}

/**
 * What a viewer asks first of a master: info.json, full-resolution tiles, a thumbnail; each tile
 * named by the route render() takes for it (its probe read from the master's directories).
 */
async function viewerRequests(master: Master, path: string): Promise<ViewerRequest[]> {
  const file = await fileReader(path);
  let ranged: SourceProbe | undefined;
  try {
    ranged = describeTiff((await readTiffStructure(file.read, file.bytes)).structure);
  } finally {
    await file.close();
  }
  if (ranged === undefined) throw new Error(`${master.label}: not readable by ranges`);
  const probe = ranged;
  const base = `/iiif/3/${master.id}`;
  const tile = (name: string, rect: Rect): ViewerRequest => ({
    name: `${name} (${passesThrough(master, probe, rect) ? 'stored tile passed through' : `${Math.ceil(rect.width / TILE) * Math.ceil(rect.height / TILE)} stored tiles decoded, re-encoded`})`,
    path: `${base}/${regionPath(rect)}`,
  });
  return [
    { name: 'info.json', path: `${base}/info.json` },
    tile('first tile: 256 at the centre', tileAt(master, 0.5, 0.5, TILE)),
    tile('tile: 256 elsewhere', tileAt(master, 0.8, 0.7, TILE)),
    tile('tile: 512 region', tileAt(master, 0.1, 0.9, 2 * TILE)),
    { name: 'thumbnail full/!400,400', path: `${base}/full/!400,400/0/default.jpg` },
  ];
}

interface RequestSample {
  /** As the client saw it: request to answer. */
  readonly ms: number;
  readonly line: RequestLine;
}

interface StackMeasurement {
  readonly master: Master;
  readonly bytes: number;
  readonly requests: readonly ViewerRequest[];
  /** One list per fresh process: a sample per request, in order. */
  readonly runs: readonly (readonly RequestSample[])[];
  /** The whole master by GET from the embedded S3 into a file, or null when it ran out of time. */
  readonly wholeGetMs: number | null;
}

/** An S3 client for the embedded S3 that can move a master in one request. */
function bulkClient(s3Port: string): S3Client {
  return createS3Client({ endpoint: new URL(`http://127.0.0.1:${s3Port}`), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 300_000, maxAttempts: 1 });
}

async function wholeGet(s3: S3Client, key: string, into: string): Promise<number | null> {
  const started = performance.now();
  const signal = AbortSignal.timeout(WHOLE_GET_TIMEOUT_MS);
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: LOCAL_SOURCE_BUCKET, Key: key }), { abortSignal: signal });
    if (!(answer.Body instanceof Readable)) throw new Error('GetObject answered without a stream');
    await pipeline(answer.Body, createWriteStream(into), { signal });
    return performance.now() - started;
  } catch (error) {
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return null;
    throw error;
  } finally {
    await rm(into, { force: true });
  }
}

/** The viewer's requests in one fresh stack process, each with its request log line. */
async function freshProcess(context: BenchContext, viewer: readonly ViewerRequest[], env: Record<string, string>, dataDir: string, after: () => Promise<void>): Promise<RequestSample[]> {
  const stack = await startStack(context, env);
  const log = requestLog(stack);
  try {
    const token = await mintDevToken(await ensureDevKeys(dataDir), { scopes: ['iiif:read', 'iiif:render'], ttlSeconds: 3600 });
    const samples: RequestSample[] = [];
    for (const request of viewer) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${env.PORT ?? ''}${request.path}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
      await response.arrayBuffer();
      const ms = performance.now() - started;
      const wanted = request.name === 'info.json' ? 200 : 302;
      if (response.status !== wanted) throw new Error(`${request.path}: expected ${wanted}, got ${response.status}`);
      samples.push({ ms, line: await log.wait(request.path) });
    }
    await after();
    return samples;
  } finally {
    await stopStack(stack);
  }
}

/**
 * The master in `REPEATS` fresh stack processes, each finding it as new: between two, its
 * derivatives and source record are purged (as `npm run purge` does), the source stays.
 */
async function measureOnStack(context: BenchContext, master: Master, path: string, bytes: number, env: Record<string, string>, dataDir: string): Promise<StackMeasurement> {
  const requests = await viewerRequests(master, path);
  const runs: RequestSample[][] = [];
  let wholeGetMs: number | null = null;
  for (let run = 0; run < REPEATS; run++) {
    context.log(`big-masters: ${master.label} in a fresh stack process (${run + 1} of ${REPEATS})`);
    runs.push(await freshProcess(context, requests, env, dataDir, async () => {
      if (run === 0) {
        const s3 = bulkClient(env.S3_PORT ?? '');
        try {
          wholeGetMs = await wholeGet(s3, master.id, join(dataDir, `${master.id}.download`));
        } finally {
          s3.destroy();
        }
      }
      const services = scriptServices(env);
      try {
        await purgeIdentifier({ derivatives: services.derivatives, prefix: services.config.derivativePrefix }, master.id);
      } finally {
        services.s3.destroy();
      }
    }));
  }
  return { master, bytes, requests, runs, wholeGetMs };
}

const ENCODE = { jpegQuality: DEFAULTS.JPEG_QUALITY, webpQuality: DEFAULTS.WEBP_QUALITY, webpEffort: DEFAULTS.WEBP_EFFORT, pngCompressionLevel: DEFAULTS.PNG_COMPRESSION_LEVEL };
const OPTIONS: RenderOptions = { encode: ENCODE, maxInputPixels: DEFAULTS.RENDER_MAX_INPUT_PIXELS };

function tilePlan(master: Master, region: Rect, size: Size, mirror: boolean): Plan {
  return { identifier: master.id, source: { width: master.width, height: master.height }, limits: {}, region, size, mirror, rotation: 0, quality: 'default', format: 'jpg' };
}

interface Timed {
  readonly medianMs: number;
  readonly runs: number;
  /** Bytes read from the master per render. */
  readonly readBytes: number;
  readonly outputBytes: number;
}

/** One unmeasured call, then `runs` timed ones. */
async function time(runs: number, call: () => Promise<{ data: Buffer }>, counter: { bytes: number }): Promise<Timed> {
  await call();
  const times: number[] = [];
  counter.bytes = 0;
  let outputBytes = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    outputBytes = (await call()).data.length;
    times.push(performance.now() - started);
  }
  return { medianMs: median(times), runs, readBytes: counter.bytes / runs, outputBytes };
}

interface InProcessMeasurement {
  readonly master: Master;
  readonly bytes: number;
  readonly tile: Rect;
  /** readTiffStructure + describeTiff: what info.json reads of a master seen for the first time. */
  readonly structure: Timed;
  readonly structureStats: ReadStats;
  readonly passesThrough: boolean;
  readonly passthrough: Timed;
  readonly mirrored: Timed;
  readonly resized: Timed;
  readonly wholeFile: Timed;
  /** What render() from the file says with the default RENDER_MAX_INPUT_PIXELS. */
  readonly wholeFileDefault: string;
}

async function measureInProcess(context: BenchContext, master: Master, path: string): Promise<InProcessMeasurement> {
  context.log(`big-masters: ${master.label}, one tile in this process (ranged passthrough, decode, whole file)`);
  const file = await readFile(path);
  const counter = { bytes: 0 };
  const read: ReadRange = (offset, length) => {
    counter.bytes += length;
    return Promise.resolve(file.subarray(offset, offset + length));
  };
  // What info.json reads of a master no process has described: its directories.
  const structureTimes: number[] = [];
  let described: { probe: SourceProbe | undefined; stats: ReadStats } | undefined;
  for (let i = 0; i < RUNS.structure; i++) {
    const started = performance.now();
    const { structure, stats } = await readTiffStructure(read, file.length);
    described = { probe: describeTiff(structure), stats };
    structureTimes.push(performance.now() - started);
  }
  const ranged = described?.probe;
  if (described === undefined || ranged === undefined) throw new Error(`${master.label}: not readable by ranges`);
  const tile = tileAt(master, 0.5, 0.5, TILE);
  const plan = tilePlan(master, tile, { width: TILE, height: TILE }, false);
  const input = { read };
  const passthrough = await time(RUNS.passthrough, () => render(input, plan, ranged, OPTIONS), counter);
  const mirrored = await time(RUNS.decode, () => render(input, tilePlan(master, tile, { width: TILE, height: TILE }, true), ranged, OPTIONS), counter);
  const resized = await time(RUNS.decode, () => render(input, tilePlan(master, tile, { width: TILE - 1, height: TILE - 1 }, false), ranged, OPTIONS), counter);
  // The whole-file path: libvips opens the master from a local file. It is over the default
  // pixel limit, which bounds the whole master on this path, so the limit is raised to time it.
  let wholeFileDefault = 'rendered';
  try {
    await render(path, plan, await probe(path, { maxInputPixels: 10_000_000_000 }), OPTIONS);
  } catch (error) {
    wholeFileDefault = error instanceof RectoError ? `refused: ${error.code}` : `failed: ${String(error)}`;
  }
  const raised = { ...OPTIONS, maxInputPixels: 10_000_000_000 };
  const whole: SourceProbe = await probe(path, raised);
  const wholeFile = await time(RUNS.wholeFile, () => render(path, plan, whole, raised), counter);
  return {
    master,
    bytes: file.length,
    tile,
    structure: { medianMs: median(structureTimes), runs: RUNS.structure, readBytes: described.stats.bytes, outputBytes: 0 },
    structureStats: described.stats,
    passesThrough: passesThrough(master, ranged, tile),
    passthrough,
    mirrored,
    resized,
    wholeFile: { ...wholeFile, readBytes: file.length },
    wholeFileDefault,
  };
}

function mib(bytes: number): number {
  return bytes / MIB;
}

function share(read: number, master: number): number {
  return (100 * read) / master;
}

type Values = Partial<Record<'ms' | 'serverMs' | 'renderMs' | 'uploadMs' | 'readMib' | 'ofMaster' | 'runs', number | null>>;

function values(given: Values): Record<string, number | null> {
  return { ms: null, serverMs: null, renderMs: null, uploadMs: null, readMib: null, ofMaster: null, runs: null, ...given };
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

function medianOf(samples: readonly RequestSample[], field: 'renderMs' | 'uploadMs'): number | null {
  const present = samples.flatMap((sample) => (sample.line[field] === undefined ? [] : [sample.line[field]]));
  return present.length === 0 ? null : median(present);
}

/** Per fresh process, the sum over some of its requests; the median of those sums. */
function medianSum(measured: StackMeasurement, count: number, of: (sample: RequestSample) => number): number {
  return median(measured.runs.map((samples) => sum(samples.slice(0, count), of)));
}

function stackRows(measured: StackMeasurement): BenchRow[] {
  const { master, bytes, requests, runs } = measured;
  const subject = `${master.label} (${mib(bytes).toFixed(0)} MiB), fresh stack`;
  const read = (total: number): Values => ({ readMib: mib(total), ofMaster: share(total, bytes) });
  const rows: BenchRow[] = requests.map((request, index) => {
    const samples = runs.flatMap((run) => (run[index] === undefined ? [] : [run[index]]));
    return {
      subject,
      case: request.name,
      values: values({
        ms: median(samples.map((sample) => sample.ms)),
        serverMs: median(samples.map((sample) => sample.line.totalMs)),
        renderMs: medianOf(samples, 'renderMs'),
        uploadMs: medianOf(samples, 'uploadMs'),
        ...read(median(samples.map((sample) => sample.line.sourceBytes))),
        runs: samples.length,
      }),
    };
  });
  const totals = (count: number): Values => ({
    ms: medianSum(measured, count, (sample) => sample.ms),
    serverMs: medianSum(measured, count, (sample) => sample.line.totalMs),
    ...read(medianSum(measured, count, (sample) => sample.line.sourceBytes)),
    runs: runs.length,
  });
  rows.push({ subject, case: 'time to first tile: info.json + first tile', values: values(totals(2)) });
  rows.push({ subject, case: 'total: info.json + 3 tiles + thumbnail', values: values(totals(requests.length)) });
  rows.push({ subject, case: 'whole-file path, first step: GET the whole master from the embedded S3', values: values({ ms: measured.wholeGetMs, ...read(bytes), runs: 1 }) });
  return rows;
}

function inProcessRows(measured: InProcessMeasurement, wholeGetMs: number | null): BenchRow[] {
  const { master, bytes, tile } = measured;
  const subject = `${master.label} (${mib(bytes).toFixed(0)} MiB), in-process`;
  const row = (name: string, timed: Timed): BenchRow => ({ subject, case: name, values: values({ ms: timed.medianMs, readMib: mib(timed.readBytes), ofMaster: share(timed.readBytes, bytes), runs: timed.runs }) });
  const { rounds, requests } = measured.structureStats;
  return [
    row(`structure (what info.json reads): ${requests} reads in ${rounds} sequential rounds`, measured.structure),
    row(`passthrough: ${tile.x},${tile.y},256,256/256,256 by ranges (stored JPEG tile, no decode)`, measured.passthrough),
    row('decode + re-encode by ranges: the same tile mirrored (!0)', measured.mirrored),
    row('decode + re-encode by ranges: the same tile at 255,255', measured.resized),
    row('whole-file path: the same tile from the master on local disk (limit raised; all of it downloaded first)', measured.wholeFile),
    { subject, case: 'whole-file path in the service: GET the master + render the tile', values: values({ ms: wholeGetMs === null ? null : wholeGetMs + measured.wholeFile.medianMs, readMib: mib(bytes), ofMaster: 100 }) },
  ];
}

const LOAD_RENDERER = `
const started = performance.now();
const renderer = await import(process.argv[1]);
renderer.configureSharp();
process.stdout.write(String(performance.now() - started));
`;

/**
 * What the first render in a fresh stack process pays once: importing lib/render (and with it
 * sharp and libvips) as `npm start` runs it, through tsx; median of `runs` fresh processes.
 */
async function rendererLoadMs(context: BenchContext, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LOAD_RENDERER, join(context.root, 'lib', 'render', 'index.js')], { cwd: context.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`loading lib/render in a fresh process exited ${String(code)}: ${output.slice(-1000)}`);
    times.push(Number(output.trim()));
  }
  return median(times);
}

async function uploadMasters(context: BenchContext, masters: readonly { master: Master; path: string }[], env: Record<string, string>): Promise<void> {
  context.log('big-masters: uploading the masters to the embedded S3 (then a fresh stack process for each)');
  const stack = await startStack(context, env);
  const s3 = bulkClient(env.S3_PORT ?? '');
  try {
    for (const { master, path } of masters) {
      // Straight into the source bucket (identifier = key): `npm start` would render each new
      // source's thumbnail at start, and this measures a process that has never seen the master.
      await s3.send(new PutObjectCommand({ Bucket: LOCAL_SOURCE_BUCKET, Key: master.id, Body: createReadStream(path), ContentLength: (await stat(path)).size, ContentType: 'image/tiff' }));
    }
  } finally {
    s3.destroy();
    await stopStack(stack);
  }
}

export const bigMastersSection: BenchSection = {
  name: 'big-masters',
  description: '675 MP and 2.2 GP pyramidal TIFFs read by byte ranges: bytes read and time to first tile in a fresh local stack, passthrough against decode and the whole file',
  async run(context: BenchContext): Promise<SectionResult> {
    const masters: { master: Master; path: string; bytes: number }[] = [];
    for (const master of MASTERS) {
      const path = await cachedFile(context.cacheDir, master.file, `${master.label} ${master.width}x${master.height} pyramid`, (into) => master.make(into, context), context.log);
      masters.push({ master, path, bytes: (await stat(path)).size });
    }
    const load = loadavg()[0] ?? 0;
    const dataDir = await mkdtemp(join(tmpdir(), 'recto-bench-big-'));
    // npm start's defaults, auth on; the request log at its default level (the bench's stack
    // helper silences it), since its lines carry sourceBytes.
    const env = { PORT: String(await freePort()), S3_PORT: String(await freePort()), DATA_DIR: dataDir, IIIF_AUTH: 'on', POWERTOOLS_LOG_LEVEL: 'INFO' };
    const onStack: StackMeasurement[] = [];
    try {
      await uploadMasters(context, masters, env);
      for (const { master, path, bytes } of masters) onStack.push(await measureOnStack(context, master, path, bytes, env, dataDir));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    context.log(`big-masters: loading lib/render in ${LOAD_RUNS} fresh processes`);
    const loadMs = await rendererLoadMs(context, LOAD_RUNS);
    const inProcess: InProcessMeasurement[] = [];
    for (const { master, path } of masters) if (master.inProcess) inProcess.push(await measureInProcess(context, master, path));

    const rows: BenchRow[] = [];
    const targets: BenchTarget[] = [];
    for (const measured of onStack) rows.push(...stackRows(measured));
    rows.push({ subject: 'fresh stack process', case: 'in each first tile above: loading lib/render and sharp (tsx, as npm start; apart)', values: values({ ms: loadMs, runs: LOAD_RUNS }) });
    for (const measured of onStack) {
      // Bytes: the largest of the fresh processes (they should all read the same).
      const total = Math.max(...measured.runs.map((samples) => sum(samples, (sample) => sample.line.sourceBytes)));
      const firstRead = Math.max(...measured.runs.map((samples) => sum(samples.slice(0, 2), (sample) => sample.line.sourceBytes)));
      const firstMs = medianSum(measured, 2, (sample) => sample.ms);
      if (measured.master.readTarget) {
        targets.push({
          description: `${measured.master.label}: info.json + 3 tiles + thumbnail read under ${mib(TARGET_READ_BYTES)} MiB from the source bucket, fresh process`,
          measured: `${mib(total).toFixed(2)} MiB of ${mib(measured.bytes).toFixed(0)} MiB (${share(total, measured.bytes).toFixed(2)} %), at most, in ${measured.runs.length} fresh processes`,
          met: total < TARGET_READ_BYTES,
        });
      } else {
        targets.push({
          description: `${measured.master.label}: time to first tile and bytes read, fresh process (reported)`,
          measured: `info.json + first tile ${firstMs.toFixed(0)} ms (median of ${measured.runs.length}), ${mib(firstRead).toFixed(2)} MiB; all 5 requests ${mib(total).toFixed(2)} MiB of ${mib(measured.bytes).toFixed(0)} MiB`,
          met: true,
        });
      }
    }
    for (const measured of inProcess) {
      rows.push(...inProcessRows(measured, onStack.find((stack) => stack.master.id === measured.master.id)?.wholeGetMs ?? null));
      targets.push({
        description: `${measured.master.label}: a grid-aligned 256 tile passed through in at most ${TARGET_PASSTHROUGH_MS} ms (median, ranged render from memory)`,
        measured: `${measured.passthrough.medianMs.toFixed(2)} ms (${measured.passesThrough ? 'passthrough route' : 'NOT the passthrough route'}; decode + re-encode ${measured.mirrored.medianMs.toFixed(2)} ms, whole file ${measured.wholeFile.medianMs.toFixed(2)} ms)`,
        met: measured.passesThrough && measured.passthrough.medianMs <= TARGET_PASSTHROUGH_MS,
      });
    }
    const notes = [
      'Masters: 675 MP libvips = the 10000x7500 photo-like bench JPEG repeated 3x3, written by libvips (sharp 0.35 / libvips 8.18: tiff, tile 256, pyramid, JPEG q85); synthetic = test/support/pyramids.ts (noisy palette tiles, JPEG q85, one copy per tile).',
      `Fresh stack: \`npm start\` (auth on, default configuration) started anew ${REPEATS} times per master (medians shown), the master PUT straight into the source bucket beforehand and its derivatives and source record purged between processes, so each finds it new; read MiB is the sourceBytes of the request log line (bytes read from the source bucket, small reads widened to the 64 KiB blocks of the range cache).`,
      'The first tile of a fresh process also loads lib/render and sharp (the "loading" row, timed apart in fresh processes); the local stack runs TypeScript through tsx, the Lambda bundle loads faster (service section).',
      `Machine load average (1 min) when the section started: ${load.toFixed(1)} on ${cpus().length} cores.`,
      'Storage is the embedded S3 on loopback with the master in the page cache: times show Recto\u2019s own work, not S3 latency (a ranged GET in AWS adds tens of ms a round).',
      ...inProcess.map((measured) => `${measured.master.label}: render() from the file with the default RENDER_MAX_INPUT_PIXELS (${DEFAULTS.RENDER_MAX_INPUT_PIXELS}): ${measured.wholeFileDefault}; the whole-file rows raise the limit to time it.`),
    ];
    return {
      columns: [
        { key: 'ms', title: 'ms', digits: 2 },
        { key: 'serverMs', title: 'server ms', digits: 0 },
        { key: 'renderMs', title: 'render ms', digits: 0 },
        { key: 'uploadMs', title: 'upload ms', digits: 0 },
        { key: 'readMib', title: 'read MiB', digits: 3 },
        { key: 'ofMaster', title: '% master', digits: 3 },
        { key: 'runs', title: 'runs', digits: 0 },
      ],
      rows,
      targets,
      notes,
      details: {
        masters: masters.map(({ master, bytes }) => ({ id: master.id, width: master.width, height: master.height, bytes })),
        stack: onStack.map((measured) => ({ master: measured.master.id, wholeGetMs: measured.wholeGetMs, runs: measured.runs.map((samples) => samples.map(({ ms, line }) => ({ ms, ...line }))) })),
        inProcess: inProcess.map(({ master, tile, structure, structureStats, passesThrough: passed, passthrough, mirrored, resized, wholeFile }) => ({ master: master.id, tile, structure, structureStats, passesThrough: passed, passthrough, mirrored, resized, wholeFile })),
      },
    };
  },
};
