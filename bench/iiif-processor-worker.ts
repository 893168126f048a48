/**
 * iiif-processor's Processor.execute() timed in this process, as serverless-iiif's function runs
 * it but with the master on local disk (no network: the most generous setting for it). Each
 * request twice: with the library's default (its dimension function reads the master's header
 * from a second stream of the file), and with a dimension function that returns every pyramid
 * page's size from memory (what its README recommends, found once, untimed). Run by the
 * access-copies section: `bench/iiif-processor-worker.ts ENTRY REQUESTS_JSON`; prints `RESULT {json}`.
 * Imports nothing of Recto's renderer: iiif-processor brings its own sharp.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { printResult } from './child.js';

/** One request: a source, its file, the path after the identifier. */
export interface ProcessorRequest {
  readonly id: string;
  readonly file: string;
  readonly path: string;
}

export interface ProcessorTiming {
  readonly id: string;
  readonly path: string;
  /** Library defaults: stream resolver only. */
  readonly defaultMs: number | null;
  /** With the pages' sizes given by a dimension function. */
  readonly dimsMs: number | null;
  readonly bytes: number | null;
  /** Why it could not answer (an error result or a throw), when it could not. */
  readonly error?: string;
}

export interface ProcessorWorkerResult {
  readonly timings: readonly ProcessorTiming[];
  /** Why a source could not be described (no dimensions: every request of it failed). */
  readonly failures: Readonly<Record<string, string>>;
}

interface ProcessorResult {
  readonly type: string;
  readonly body?: Buffer | string;
  readonly message?: string;
}

type Resolver = (request: { id: string }) => Promise<Readable>;
type Dimensions = unknown;

interface ProcessorLike {
  execute(): Promise<ProcessorResult>;
  dimensions(): Promise<Dimensions>;
}

type ProcessorClass = new (url: string, resolver: Resolver, options?: { dimensionFunction?: () => Promise<Dimensions> }) => ProcessorLike;

const BASE = 'http://bench.local/iiif/3';

/** One execute(): its wall time and body size, or why it failed. */
async function timed(make: () => ProcessorLike): Promise<{ ms: number; bytes: number } | { error: string }> {
  const started = performance.now();
  try {
    const result = await make().execute();
    const ms = performance.now() - started;
    if (result.type !== 'content' || result.body === undefined) return { error: `${result.type}: ${result.message ?? 'no body'}` };
    return { ms, bytes: Buffer.byteLength(result.body) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Every source's pages' sizes, found once, untimed (the dimension function's answers). */
async function describeAll(Processor: ProcessorClass, requests: readonly ProcessorRequest[], failures: Record<string, string>): Promise<Map<string, Dimensions>> {
  const dims = new Map<string, Dimensions>();
  for (const { id, file } of requests) {
    if (dims.has(id) || id in failures) continue;
    try {
      dims.set(id, await new Processor(`${BASE}/${id}/info.json`, () => Promise.resolve(createReadStream(file))).dimensions());
    } catch (error) {
      failures[id] = error instanceof Error ? error.message : String(error);
    }
  }
  return dims;
}

/** One request both ways, defaults then the pages' sizes given. */
async function timeRequest(Processor: ProcessorClass, request: ProcessorRequest, dims: Dimensions): Promise<ProcessorTiming> {
  const resolver: Resolver = () => Promise.resolve(createReadStream(request.file));
  const url = `${BASE}/${request.id}/${request.path}`;
  const plain = await timed(() => new Processor(url, resolver));
  const given = await timed(() => new Processor(url, resolver, { dimensionFunction: () => Promise.resolve(dims) }));
  return {
    id: request.id,
    path: request.path,
    defaultMs: 'ms' in plain ? plain.ms : null,
    dimsMs: 'ms' in given ? given.ms : null,
    bytes: 'bytes' in plain ? plain.bytes : null,
    ...('error' in plain ? { error: plain.error } : 'error' in given ? { error: given.error } : {}),
  };
}

const [entry = '', requestsJson = '[]'] = process.argv.slice(2);
const { Processor } = (await import(pathToFileURL(entry).href)) as { Processor: ProcessorClass };
// In the order given: the order the stack was asked in, so both warm up alike.
const requests = JSON.parse(requestsJson) as ProcessorRequest[];
const failures: Record<string, string> = {};
const dims = await describeAll(Processor, requests, failures);
// Warm: libvips loaded and its first pipeline built before anything is timed.
const warm = requests[0];
if (warm !== undefined) await timed(() => new Processor(`${BASE}/${warm.id}/full/64,/0/default.jpg`, () => Promise.resolve(createReadStream(warm.file))));
const timings: ProcessorTiming[] = [];
for (const request of requests) {
  if (!(request.id in failures)) timings.push(await timeRequest(Processor, request, dims.get(request.id)));
}
printResult({ timings, failures } satisfies ProcessorWorkerResult);
