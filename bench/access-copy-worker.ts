/**
 * One access copy made in this process, timed, with the process's peak RSS (which is why it is a
 * process of its own). Run by the access-copies section in one of two ways:
 * - `build MASTER OUTPUT`: lib/render's buildAccessCopy from a local file to a local file, with
 *   the service's default settings (the conversion alone);
 * - `ingest IDENTIFIER`: what `npx recto ingest IDENTIFIER` runs, against the local stack named
 *   by PORT, S3_PORT and DATA_DIR (the master downloaded, converted, the copy PUT, the record
 *   updated).
 * Prints `RESULT {json}`.
 */
import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { main as ingest } from '../infra/cli/ingest.js';
import { loadConfig } from '../lib/config.js';
import { buildAccessCopy, probe, renderMemoryBudget } from '../lib/render/index.js';
import { peakRssMb, printResult } from './child.js';
import { tileCoding, type TileCoding } from './tiff-tiles.js';

export interface CopyWorkerResult {
  readonly ms: number;
  /** The copy's size: build only (ingest reports it in `output`). */
  readonly bytes?: number;
  readonly peakRssMb: number;
  /** How the copy's full-resolution tiles are coded: build only. */
  readonly coding?: TileCoding;
  /** What ingest printed (its summary and per-image line), to tell built from skipped. */
  readonly output?: string;
}

async function build(master: string, output: string): Promise<CopyWorkerResult> {
  // The settings the service builds copies with (nothing set: the defaults).
  const config = loadConfig({ SOURCE_BUCKET: 'unused', DERIVATIVE_BUCKET: 'unused', IIIF_AUTH: 'off' });
  const maxInputPixels = config.render.maxInputPixels;
  const described = await probe(master, { maxInputPixels });
  const started = performance.now();
  await buildAccessCopy(master, described, output, { tile: config.accessCopy.tile, quality: config.accessCopy.quality, maxInputPixels, memoryBudgetBytes: renderMemoryBudget(config.render.memoryMb) });
  const ms = performance.now() - started;
  // The peak first: reading the copy's structure below loads the whole copy into memory.
  const peak = peakRssMb();
  return { ms, bytes: (await stat(output)).size, peakRssMb: peak, coding: await tileCoding(output) };
}

async function ingestOne(identifier: string): Promise<CopyWorkerResult> {
  let output = '';
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { output += chunk.toString(); done(); } });
  const started = performance.now();
  const code = await ingest([identifier], process.env, { stdout: sink, stderr: sink, command: 'npx recto ingest' });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`ingest ${identifier} exited ${code}: ${output}`);
  return { ms, peakRssMb: peakRssMb(), output };
}

const [mode, first = '', second = ''] = process.argv.slice(2);
printResult(mode === 'build' ? await build(first, second) : await ingestOne(first));
