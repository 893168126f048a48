/**
 * iiif-processor (the engine of samvera's serverless-iiif), for comparison: installed at bench
 * time into the cache directory, never a dependency of Recto, and run in a worker process of its
 * own (bench/iiif-processor-worker.ts): it brings its own sharp and libvips, which must not share
 * a process with Recto's.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runWorker } from './child.js';
import type { ProcessorRequest, ProcessorWorkerResult } from './iiif-processor-worker.js';
import type { BenchContext } from './section.js';

export const IIIF_PROCESSOR_VERSION = '7.0.0';

export type Installed = { readonly entry: string; readonly sharp: string } | { readonly failed: string };

async function versionAt(packageDir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** iiif-processor at its pinned version in `.data/bench/iiif-processor/`, installed unless it is there. */
export async function installIiifProcessor(context: BenchContext): Promise<Installed> {
  const prefix = join(context.cacheDir, 'iiif-processor');
  const modules = join(prefix, 'node_modules');
  if ((await versionAt(join(modules, 'iiif-processor'))) !== IIIF_PROCESSOR_VERSION) {
    context.log(`installing iiif-processor@${IIIF_PROCESSOR_VERSION} into ${prefix}`);
    const installed = spawnSync('npm', ['install', '--prefix', prefix, `iiif-processor@${IIIF_PROCESSOR_VERSION}`, '--no-save', '--no-audit', '--no-fund'], { encoding: 'utf8' });
    if (installed.error !== undefined || installed.status !== 0) return { failed: `npm install iiif-processor@${IIIF_PROCESSOR_VERSION} failed: ${(installed.error?.message ?? installed.stderr).slice(-500)}` };
  }
  const version = await versionAt(join(modules, 'iiif-processor'));
  if (version !== IIIF_PROCESSOR_VERSION) return { failed: `iiif-processor ${IIIF_PROCESSOR_VERSION} is not in ${modules} after npm install (found ${String(version)})` };
  return { entry: join(modules, 'iiif-processor', 'dist', 'index.mjs'), sharp: (await versionAt(join(modules, 'sharp'))) ?? 'unknown' };
}

/** The requests through Processor.execute(), in order, in a fresh worker process. */
export function runIiifProcessor(context: BenchContext, entry: string, requests: readonly ProcessorRequest[]): Promise<ProcessorWorkerResult> {
  return runWorker<ProcessorWorkerResult>(context, 'iiif-processor-worker.ts', [entry, JSON.stringify(requests)]);
}
