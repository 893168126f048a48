/**
 * Pre-warm throughput: the full tile pyramid of the 10000x7500 sources (the pyramidal TIFF with
 * 256-pixel tiles, and the same image as a JPEG), in every viewer's URL forms for both API
 * versions, rendered and uploaded to the local stack, as `npm start` and `npm run prewarm` run on
 * one machine: the stack (HTTP server and embedded S3) in its own process, the pre-warm in this
 * one, tiles only (`--tiles --api both`), one image at a time, at the CLI's default per-image
 * concurrency. The time counts everything a run does: read (or build) the
 * source record, list what is stored, download the source, render, upload. A second run of each,
 * with everything stored, shows what resuming a finished run costs.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { scriptServices } from '../../infra/cli/storage-script.js';
import type { ImageReport } from '../../lib/service/prewarm.js';
import { PRODUCE_DEFAULTS } from '../../lib/service/produce.js';
import type { BenchContext, BenchRow, BenchSection, BenchTarget, SectionResult } from '../section.js';
import { benchSources } from '../sources.js';
import { freePort, startStack, stopStack } from '../local-stack.js';

/** The target, uploads included, on this 2-core machine. */
const TARGET_TILES_PER_SECOND = 100;
const SOURCES = ['pyramid-75mp', 'photo-75mp'] as const;


function row(label: string, caseName: string, report: ImageReport, seconds: number): BenchRow {
  return {
    subject: label,
    case: caseName,
    values: {
      planned: report.planned,
      rendered: report.rendered,
      skipped: report.skipped,
      failed: report.failed.length + (report.error === undefined ? 0 : 1),
      seconds,
      tilesPerSecond: report.rendered > 0 ? report.rendered / seconds : null,
      storedMb: report.bytes / 1024 / 1024,
    },
  };
}

export const prewarmSection: BenchSection = {
  name: 'prewarm',
  description: 'pre-warm throughput: full tile pyramids of 10000x7500 sources, rendered and uploaded to the local stack',
  async run(context: BenchContext): Promise<SectionResult> {
    const all = await benchSources(context.cacheDir, context.log);
    const sources = SOURCES.map((id) => all.find((source) => source.id === id) ?? (() => { throw new Error(`bench source ${id} is missing`); })());
    const work = await mkdtemp(join(tmpdir(), 'recto-bench-prewarm-'));
    const images = join(work, 'images');
    await mkdir(images);
    for (const source of sources) await copyFile(source.path, join(images, `${source.id}${extname(source.path)}`));
    const env = { PORT: String(await freePort()), S3_PORT: String(await freePort()), DATA_DIR: join(work, 'data'), LOCAL_IMAGES_DIR: images };
    context.log(`starting the local stack (PORT ${env.PORT}, S3_PORT ${env.S3_PORT})`);
    const stack = await startStack(context, env);
    const rows: BenchRow[] = [];
    const targets: BenchTarget[] = [];
    // What `npm run prewarm -- --tiles --api both ID` builds: the local stack's settings from PORT, S3_PORT, DATA_DIR.
    const services = scriptServices(env);
    try {
      const { prewarmer } = services;
      for (const source of sources) {
        for (const caseName of ['full pyramid, both APIs', 're-run (all stored)']) {
          context.log(`${source.label}: ${caseName}`);
          const started = performance.now();
          const report = await prewarmer.run({ identifier: source.id, tiles: true, api: 'both' }, { concurrency: PRODUCE_DEFAULTS.concurrency });
          const seconds = (performance.now() - started) / 1000;
          if (report.status !== 'done') throw new Error(`pre-warm of ${source.id} ended ${report.status}: ${JSON.stringify(report.error ?? report.failed[0])}`);
          rows.push(row(source.label, caseName, report, seconds));
          if (source.id === 'pyramid-75mp' && caseName.startsWith('full')) {
            const rate = report.rendered / seconds;
            targets.push({
              description: `at least ${TARGET_TILES_PER_SECOND} tiles/s from the 10000x7500 pyramidal TIFF, uploads included`,
              measured: `${rate.toFixed(0)} tiles/s (${report.rendered} derivatives in ${seconds.toFixed(1)} s)`,
              met: rate >= TARGET_TILES_PER_SECOND,
            });
          }
        }
      }
    } finally {
      services.s3.destroy();
      await stopStack(stack);
      await rm(work, { recursive: true, force: true });
    }
    return {
      columns: [
        { key: 'planned', title: 'planned', digits: 0 },
        { key: 'rendered', title: 'rendered', digits: 0 },
        { key: 'skipped', title: 'skipped', digits: 0 },
        { key: 'failed', title: 'failed', digits: 0 },
        { key: 'seconds', title: 's', digits: 1 },
        { key: 'tilesPerSecond', title: 'tiles/s', digits: 0 },
        { key: 'storedMb', title: 'stored MB', digits: 1 },
      ],
      rows,
      targets,
      notes: [
        `npm start in a child process, the pre-warm in this one (--concurrency ${PRODUCE_DEFAULTS.concurrency}), sharing this machine's cores; seconds include the source record, the listing, the source download, rendering and uploading.`,
        'The derivatives are the distinct keys of every tile URL OpenSeadragon (current and legacy), Mirador and Leaflet-IIIF build from info.json in 2.1 and 3.0.',
      ],
    };
  },
};
