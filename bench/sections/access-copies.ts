/**
 * Access copies: what converting a master once into a tiled pyramid costs, and what it buys.
 * - The build of the 75 MP photo-like JPEG's copy and of a JPEG 2000 made from it: the conversion
 *   alone (buildAccessCopy, local file to local file) and `npx recto ingest` against the local
 *   stack, each in a child process (time, copy size, peak RSS).
 * - A full-resolution 512 tile of the JPEG over HTTP before its copy exists (decoded from the
 *   master) and after ingest (from the copy), beside the same tile of the JPEG 2000's copy and of
 *   the 10000x7500 pyramidal TIFF: each request a miss (render, store, 302), with the bytes its
 *   request log line says it read.
 * - A viewer's requests of the JPEG (after ingest) and of the pyramidal TIFF, end to end (the
 *   302, then the stored image from the embedded S3), against iiif-processor, the engine of
 *   samvera's serverless-iiif, running in a process of its own on the same files from local disk.
 * The stack runs in a child process (`npm start`, auth off) on a data directory of its own, the
 * masters put into its source bucket beforehand, where no upload event announces them: nothing
 * builds a copy but the ingest measured here.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, LOCAL_DERIVATIVE_BUCKET, LOCAL_REGION, LOCAL_SOURCE_BUCKET } from '../../infra/local/local-constants.js';
import { startLocalS3 } from '../../infra/local/s3.js';
import { createS3Client } from '../../lib/store/index.js';
import type { CopyWorkerResult } from '../access-copy-worker.js';
import { runWorker } from '../child.js';
import { installIiifProcessor, IIIF_PROCESSOR_VERSION, runIiifProcessor } from '../iiif-processor.js';
import type { ProcessorRequest, ProcessorWorkerResult } from '../iiif-processor-worker.js';
import { jp2Master } from '../jp2-master.js';
import { freePort, startStack, stopStack } from '../local-stack.js';
import { requestLog, type RequestLog } from '../request-log.js';
import type { BenchContext, BenchSection, SectionResult } from '../section.js';
import { benchSourceFile } from '../sources.js';
import { stackRequest, type StackSample } from '../stack-client.js';
import { tileCoding } from '../tiff-tiles.js';
import { MIX, mixPath, tilePath, type MixKind } from '../viewer-mix.js';
import { accessCopiesReport } from './access-copies-report.js';

/** Distinct requests per kind (each a miss), medians of these. */
const RUNS = 9;
/** Where the full-resolution tiles are taken (0 to 1 of the width): before ingest, and after. */
const BEFORE_COLUMN = 0.25;
const AFTER_COLUMN = 0.6;
/** ACCESS_COPY_MIN_SIDE's largest value: no JPEG gets a copy, so none is built behind a "before" tile. */
const NO_COPIES_MIN_SIDE = '1000000';
const SIZE = { width: 10_000, height: 7_500 };

type MasterKey = 'jpeg' | 'jp2' | 'pyramid';

export interface Master {
  readonly key: MasterKey;
  readonly id: string;
  readonly label: string;
  readonly path: string;
  readonly bytes: number;
  readonly contentType: string;
}

export interface Masters {
  readonly jpeg: Master;
  readonly pyramid: Master;
  readonly jp2?: Master;
  /** Why there is no JPEG 2000 master, or which tool wrote it. */
  readonly jp2Note: string;
}

async function master(key: MasterKey, label: string, path: string, contentType: string): Promise<Master> {
  return { key, id: `access-copies-${key}`, label, path, bytes: (await stat(path)).size, contentType };
}

async function findMasters(context: BenchContext): Promise<Masters> {
  const jpeg = await master('jpeg', '75 MP JPEG', await benchSourceFile(context.cacheDir, 'photo-75mp', context.log), 'image/jpeg');
  const pyramid = await master('pyramid', '75 MP pyramidal TIFF', await benchSourceFile(context.cacheDir, 'pyramid-75mp', context.log), 'image/tiff');
  const jp2 = await jp2Master(context);
  if ('skipped' in jp2) return { jpeg, pyramid, jp2Note: jp2.skipped };
  return { jpeg, pyramid, jp2: await master('jp2', '75 MP JPEG 2000', jp2.path, 'image/jp2'), jp2Note: `written by ${jp2.writer}, 1024-pixel tiles, Q 45` };
}

function all(masters: Masters): Master[] {
  return [masters.jpeg, ...(masters.jp2 === undefined ? [] : [masters.jp2]), masters.pyramid];
}

/**
 * The masters into the stack's source bucket through an embedded S3 of this process's own on
 * the stack's data directory: `npm start` would take an upload for an event and build the
 * copy at once, and this section times that build itself.
 */
async function seedMasters(dataDir: string, masters: readonly Master[]): Promise<void> {
  const s3 = await startLocalS3({ port: 0, directory: join(dataDir, 's3'), buckets: [LOCAL_SOURCE_BUCKET, LOCAL_DERIVATIVE_BUCKET] });
  const client = createS3Client({ endpoint: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 300_000, maxAttempts: 1 });
  try {
    for (const { id, path, bytes, contentType } of masters) {
      await client.send(new PutObjectCommand({ Bucket: LOCAL_SOURCE_BUCKET, Key: id, Body: createReadStream(path), ContentLength: bytes, ContentType: contentType }));
    }
  } finally {
    client.destroy();
    await s3.close();
  }
}

export interface Build {
  readonly master: Master;
  /** buildAccessCopy alone, local file to local file. */
  readonly conversion: CopyWorkerResult;
  /** `npx recto ingest ID` against the stack, and the size of the copy it stored. */
  ingest?: CopyWorkerResult & { readonly copyBytes: number | null };
}

async function convert(context: BenchContext, of: Master, dataDir: string): Promise<Build> {
  context.log(`access-copies: converting the ${of.label} (buildAccessCopy in a child process)`);
  const output = join(dataDir, `${of.id}.copy.tif`);
  try {
    return { master: of, conversion: await runWorker<CopyWorkerResult>(context, 'access-copy-worker.ts', ['build', of.path, output]) };
  } finally {
    await rm(output, { force: true });
  }
}

async function ingest(context: BenchContext, build: Build, env: Record<string, string>): Promise<void> {
  context.log(`access-copies: npx recto ingest ${build.master.id} (child process)`);
  const result = await runWorker<CopyWorkerResult>(context, 'access-copy-worker.ts', ['ingest', build.master.id], { ...process.env, ...env });
  const output = result.output ?? '';
  if (!output.includes('copy built in')) throw new Error(`ingest ${build.master.id} built no copy: ${output}`);
  const bytes = /\((\d+) bytes\)/.exec(output)?.[1];
  build.ingest = { ...result, copyBytes: bytes === undefined ? null : Number(bytes) };
}

export interface Sampled {
  readonly path: string;
  readonly sample: StackSample;
}

export type MixSamples = Partial<Record<MixKind, Sampled[]>>;

/** The samples `npm start` uploads, a JPEG read whole and a pyramid read by ranges. */
const WARM_SAMPLES = ['photo', 'pyramid'];

/**
 * `npm start` in a child process for the length of `work`, with its request log. First, one
 * render of each kind of sample at a size no earlier process stored (`warm`): the first render
 * of a process loads lib/render and sharp, a one-off no request measured here should carry.
 */
async function withStack<T>(context: BenchContext, env: Record<string, string>, warm: number, work: (base: string, log: RequestLog) => Promise<T>): Promise<T> {
  const stack = await startStack(context, env);
  try {
    const base = `http://127.0.0.1:${env.PORT ?? ''}`;
    const log = requestLog(stack);
    for (const sample of WARM_SAMPLES) await stackRequest(base, `/iiif/3/${sample}/full/!${warm},${warm}/0/default.jpg`, log);
    return await work(base, log);
  } finally {
    await stopStack(stack);
  }
}

/** A master and the kinds of the mix asked of it. */
interface Asked {
  readonly of: Master;
  readonly kinds: readonly MixKind[];
}

/**
 * The mix, `RUNS` times, a run at a time as a viewer goes, the masters taking turns within each
 * run: a process gets quicker over its first requests (its code compiled, its range cache
 * filled), and no master should be measured on a warmer process than another.
 */
async function viewerMixes(base: string, log: RequestLog, asked: readonly Asked[], column: number): Promise<MixSamples[]> {
  const samples = asked.map((): MixSamples => ({}));
  for (let run = 0; run < RUNS; run++) {
    for (const [index, { of, kinds }] of asked.entries()) {
      for (const kind of kinds) {
        const path = mixPath(kind, SIZE, column, run, RUNS);
        const sampled = { path, sample: await stackRequest(base, `/iiif/3/${of.id}/${path}`, log) };
        const own = samples[index] ?? {};
        (own[kind] ??= []).push(sampled);
      }
    }
  }
  return samples;
}

/** The JPEG's tiles before its copy exists (this stack gives no JPEG a copy). */
function beforeIngest(context: BenchContext, env: Record<string, string>, jpeg: Master): Promise<MixSamples> {
  context.log('access-copies: the JPEG\u2019s tiles before ingest (decoded from the master)');
  return withStack(context, { ...env, ACCESS_COPY_MIN_SIDE: NO_COPIES_MIN_SIDE }, 97, async (base, log) => {
    await stackRequest(base, `/iiif/3/${jpeg.id}/info.json`, log);
    const [tiles = {}] = await viewerMixes(base, log, [{ of: jpeg, kinds: ['tile'] }], BEFORE_COLUMN);
    return tiles;
  });
}

export interface AfterIngest {
  readonly jpeg: MixSamples;
  readonly pyramid: MixSamples;
  readonly jp2?: MixSamples;
}

/** Ingest, then the viewer's requests: the JPEG (now from its copy), the pyramid, the JPEG 2000's tiles, in turns. */
function afterIngest(context: BenchContext, env: Record<string, string>, masters: Masters, builds: readonly Build[]): Promise<AfterIngest> {
  return withStack(context, env, 98, async (base, log) => {
    for (const build of builds) await ingest(context, build, env);
    context.log('access-copies: a viewer\u2019s requests of the JPEG (from its copy), the pyramidal TIFF and the JPEG 2000 (from its copy), in turns');
    const kinds = MIX.map((entry) => entry.kind);
    const asked: Asked[] = [{ of: masters.jpeg, kinds }, { of: masters.pyramid, kinds }, ...(masters.jp2 === undefined ? [] : [{ of: masters.jp2, kinds: ['info', 'tile'] as const }])];
    const [jpeg = {}, pyramid = {}, jp2] = await viewerMixes(base, log, asked, AFTER_COLUMN);
    return { jpeg, pyramid, ...(jp2 === undefined ? {} : { jp2 }) };
  });
}

export type Comparison = { readonly result: ProcessorWorkerResult; readonly sharp: string } | { readonly failed: string };

/** The requests of the mixes in the order the stack got them: run by run, the masters in turns. */
function inStackOrder(mixes: readonly { of: Master; samples: MixSamples }[]): ProcessorRequest[] {
  const requests: ProcessorRequest[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const { of, samples } of mixes) {
      for (const { kind } of MIX) {
        const sampled = samples[kind]?.[run];
        if (sampled !== undefined) requests.push({ id: of.id, file: of.path, path: sampled.path });
      }
    }
  }
  return requests;
}

/** iiif-processor on the same masters and paths as the stack got, in the same order (and the JPEG 2000's info.json and a tile). */
async function compare(context: BenchContext, masters: Masters, after: AfterIngest): Promise<Comparison> {
  const installed = await installIiifProcessor(context);
  if ('failed' in installed) return installed;
  const { jp2 } = masters;
  const requests = [
    ...inStackOrder([{ of: masters.jpeg, samples: after.jpeg }, { of: masters.pyramid, samples: after.pyramid }]),
    ...(jp2 === undefined ? [] : ['info.json', tilePath(SIZE, AFTER_COLUMN, 0, RUNS)].map((path) => ({ id: jp2.id, file: jp2.path, path }))),
  ];
  context.log(`access-copies: iiif-processor ${IIIF_PROCESSOR_VERSION} on the same requests (worker process)`);
  try {
    return { result: await runIiifProcessor(context, installed.entry, requests), sharp: installed.sharp };
  } catch (error) {
    return { failed: error instanceof Error ? error.message : String(error) };
  }
}

export const accessCopiesSection: BenchSection = {
  name: 'access-copies',
  description: 'access copies of a 75 MP JPEG and JPEG 2000: build time, size and RSS; tiles before and after ingest against a pyramid; a viewer\u2019s requests against iiif-processor',
  async run(context: BenchContext): Promise<SectionResult> {
    const masters = await findMasters(context);
    const start = loadavg()[0] ?? 0;
    const dataDir = await mkdtemp(join(tmpdir(), 'recto-bench-copies-'));
    const env = { PORT: String(await freePort()), S3_PORT: String(await freePort()), DATA_DIR: dataDir, POWERTOOLS_LOG_LEVEL: 'INFO', ACCESS_COPY_WORK_DIR: join(dataDir, 'copies') };
    let before: MixSamples;
    let after: AfterIngest;
    const builds: Build[] = [];
    try {
      for (const of of [masters.jpeg, ...(masters.jp2 === undefined ? [] : [masters.jp2])]) builds.push(await convert(context, of, dataDir));
      await seedMasters(dataDir, all(masters));
      before = await beforeIngest(context, env, masters.jpeg);
      after = await afterIngest(context, env, masters, builds);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    const comparison = await compare(context, masters, after);
    const load = { start, end: loadavg()[0] ?? 0 };
    const pyramidCoding = await tileCoding(masters.pyramid.path);
    return accessCopiesReport({ masters, builds, before, after, comparison, pyramidCoding, load, settings: { runs: RUNS, noCopiesMinSide: NO_COPIES_MIN_SIDE } });
  },
};
