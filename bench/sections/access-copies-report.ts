/**
 * The access-copies section's report: its rows (builds; tiles before and after ingest against
 * the pyramid; a viewer's requests against iiif-processor, with geometric means), the targets it
 * checks and the notes that say how the figures were made. Measuring is
 * bench/sections/access-copies.ts.
 */
import { cpus } from 'node:os';
import { DEFAULTS } from '../../lib/config.js';
import { IIIF_PROCESSOR_VERSION } from '../iiif-processor.js';
import type { ProcessorTiming } from '../iiif-processor-worker.js';
import { median, type BenchRow, type BenchTarget, type SectionResult } from '../section.js';
import type { StackSample } from '../stack-client.js';
import type { TileCoding } from '../tiff-tiles.js';
import { MIX } from '../viewer-mix.js';
import type { AfterIngest, Build, Comparison, Master, Masters, MixSamples, Sampled } from './access-copies.js';

const TARGET_VS_PYRAMID = 1.5;
const TARGET_SPEEDUP = 2;
const MIB = 1024 * 1024;

/** What the section measured, and how. */
export interface Measured {
  readonly masters: Masters;
  readonly builds: readonly Build[];
  readonly before: MixSamples;
  readonly after: AfterIngest;
  readonly comparison: Comparison;
  /** How the pyramidal TIFF's full-resolution tiles are coded, beside the copies'. */
  readonly pyramidCoding: TileCoding;
  /** Load average (1 min) when the section started and ended. */
  readonly load: { readonly start: number; readonly end: number };
  /** Requests of each kind, and the ACCESS_COPY_MIN_SIDE of the "before" stack. */
  readonly settings: { readonly runs: number; readonly noCopiesMinSide: string };
}

type Key = 'buildS' | 'copyMib' | 'peakRssMb' | 'ms' | 'redirectMs' | 'rectoMs' | 'serverMs' | 'renderMs' | 'uploadMs' | 'readMib' | 'vsPyramid' | 'ipMs' | 'ipDimsMs' | 'speedup' | 'speedupDims' | 'runs';

const COLUMNS: readonly { key: Key; title: string; digits: number }[] = [
  { key: 'buildS', title: 'build s', digits: 2 },
  { key: 'copyMib', title: 'copy MiB', digits: 1 },
  { key: 'peakRssMb', title: 'peak RSS MB', digits: 0 },
  { key: 'ms', title: 'ms', digits: 2 },
  { key: 'redirectMs', title: 'redirect GET ms', digits: 1 },
  { key: 'rectoMs', title: 'Recto ms', digits: 1 },
  { key: 'serverMs', title: 'server ms', digits: 0 },
  { key: 'renderMs', title: 'render ms', digits: 0 },
  { key: 'uploadMs', title: 'upload ms', digits: 0 },
  { key: 'readMib', title: 'read MiB', digits: 3 },
  { key: 'vsPyramid', title: 'vs pyramid', digits: 2 },
  { key: 'ipMs', title: 'iiif-processor ms', digits: 1 },
  { key: 'ipDimsMs', title: 'i-p +dims ms', digits: 1 },
  { key: 'speedup', title: 'speedup', digits: 2 },
  { key: 'speedupDims', title: 'speedup +dims', digits: 2 },
  { key: 'runs', title: 'runs', digits: 0 },
];

function values(given: Partial<Record<Key, number | null>>): Record<string, number | null> {
  return { ...Object.fromEntries(COLUMNS.map((column) => [column.key, null])), ...given };
}

function mib(bytes: number): number {
  return bytes / MIB;
}

function buildRows(builds: readonly Build[]): BenchRow[] {
  return builds.flatMap(({ master: of, conversion, ingest: ingested }) => {
    const subject = `${of.label} (${mib(of.bytes).toFixed(1)} MiB), access copy`;
    const rows: BenchRow[] = [{ subject, case: 'conversion: buildAccessCopy, local file to local file (child process)', values: values({ buildS: conversion.ms / 1000, copyMib: conversion.bytes === undefined ? null : mib(conversion.bytes), peakRssMb: conversion.peakRssMb, runs: 1 }) }];
    if (ingested !== undefined) {
      rows.push({ subject, case: 'npx recto ingest: GET the master, convert, PUT the copy, update the record (child process)', values: values({ buildS: ingested.ms / 1000, copyMib: ingested.copyBytes === null ? null : mib(ingested.copyBytes), peakRssMb: ingested.peakRssMb, runs: 1 }) });
    }
    return rows;
  });
}

function medianOf(samples: readonly Sampled[], of: (sample: StackSample) => number | null | undefined): number | null {
  const present = samples.flatMap(({ sample }) => {
    const value = of(sample);
    return value === null || value === undefined ? [] : [value];
  });
  return present.length === 0 ? null : median(present);
}

/** The stack's side of a row: client and server times, bytes read. */
function stackValues(samples: readonly Sampled[]): Partial<Record<Key, number | null>> {
  return {
    ms: medianOf(samples, (sample) => sample.ms),
    redirectMs: medianOf(samples, (sample) => sample.redirectMs),
    rectoMs: medianOf(samples, (sample) => sample.ms + (sample.redirectMs ?? 0)),
    serverMs: medianOf(samples, (sample) => sample.line.totalMs),
    renderMs: medianOf(samples, (sample) => sample.line.renderMs),
    uploadMs: medianOf(samples, (sample) => sample.line.uploadMs),
    readMib: medianOf(samples, (sample) => mib(sample.line.sourceBytes)),
    runs: samples.length,
  };
}

/** Bytes the first of these requests read from storage. */
function firstRead(samples: readonly Sampled[] | undefined): number {
  return samples?.[0]?.sample.line.sourceBytes ?? 0;
}

interface TileFigures {
  readonly before: number | null;
  readonly after: number | null;
  readonly pyramid: number | null;
}

function tileRows(before: MixSamples, after: AfterIngest): { rows: BenchRow[]; figures: TileFigures } {
  const pyramid = medianOf(after.pyramid.tile ?? [], (sample) => sample.ms);
  const row = (name: string, samples: readonly Sampled[]): BenchRow => {
    const own = stackValues(samples);
    return { subject: 'full-resolution 512 tile, a miss (render, store, 302)', case: name, values: values({ ...own, vsPyramid: own.ms === null || own.ms === undefined || pyramid === null ? null : own.ms / pyramid }) };
  };
  const rows = [
    row(`75 MP JPEG before ingest (decoded from the master; the first downloads it, ${mib(firstRead(before.tile)).toFixed(1)} MiB, into the source cache the others read)`, before.tile ?? []),
    row('75 MP JPEG after ingest (from its copy)', after.jpeg.tile ?? []),
    ...(after.jp2 === undefined ? [] : [row('75 MP JPEG 2000 after ingest (from its copy)', after.jp2.tile ?? [])]),
    row('75 MP pyramidal TIFF (the master, by ranges)', after.pyramid.tile ?? []),
  ];
  return { rows, figures: { before: medianOf(before.tile ?? [], (sample) => sample.ms), after: medianOf(after.jpeg.tile ?? [], (sample) => sample.ms), pyramid } };
}

function geometricMean(ratios: readonly number[]): number | null {
  return ratios.length === 0 ? null : Math.exp(ratios.reduce((total, ratio) => total + Math.log(ratio), 0) / ratios.length);
}

/** iiif-processor's time over Recto's, per request: end to end (library defaults, pages' sizes given), and against Recto's render alone. */
interface Speedups {
  readonly plain: number[];
  readonly dims: number[];
  readonly render: number[];
}

function timingMedian(timings: readonly ProcessorTiming[], of: (timing: ProcessorTiming) => number | null): number | null {
  const present = timings.flatMap((timing) => {
    const value = of(timing);
    return value === null ? [] : [value];
  });
  return present.length === timings.length && present.length > 0 ? median(present) : null;
}

/** One source's requests, Recto beside iiif-processor, and the source's geometric mean. */
function comparisonRows(of: Master, samples: MixSamples, comparison: Comparison, speedups: Speedups): BenchRow[] {
  const subject = `vs iiif-processor: ${of.label}${of.key === 'jpeg' ? ' after ingest' : ''}, end to end`;
  const own: Speedups = { plain: [], dims: [], render: [] };
  const rows = MIX.map(({ kind, label }): BenchRow => {
    const sampled = samples[kind] ?? [];
    const recto = medianOf(sampled, (sample) => sample.ms + (sample.redirectMs ?? 0));
    const timings = 'result' in comparison ? comparison.result.timings.filter((timing) => timing.id === of.id && sampled.some((s) => s.path === timing.path)) : [];
    const failed = timings.find((timing) => timing.error !== undefined)?.error ?? ('failed' in comparison ? comparison.failed : undefined);
    const ip = timingMedian(timings, (timing) => timing.defaultMs);
    const ipDims = timingMedian(timings, (timing) => timing.dimsMs);
    const speedup = recto === null || ip === null ? null : ip / recto;
    const speedupDims = recto === null || ipDims === null ? null : ipDims / recto;
    if (speedup !== null) own.plain.push(speedup);
    if (speedupDims !== null) own.dims.push(speedupDims);
    const render = medianOf(sampled, (sample) => sample.line.renderMs);
    if (render !== null && ip !== null) own.render.push(ip / render);
    return { subject, case: failed === undefined ? label : `${label} (iiif-processor failed: ${failed})`, values: values({ ...stackValues(sampled), ipMs: ip, ipDimsMs: ipDims, speedup, speedupDims }) };
  });
  speedups.plain.push(...own.plain);
  speedups.dims.push(...own.dims);
  speedups.render.push(...own.render);
  rows.push({ subject, case: `geometric mean over the ${MIX.length} requests`, values: values({ speedup: geometricMean(own.plain), speedupDims: geometricMean(own.dims) }) });
  return rows;
}

function jp2ComparisonRow(jp2: Master | undefined, comparison: Comparison): BenchRow[] {
  if (jp2 === undefined || !('result' in comparison)) return [];
  const failure = comparison.result.failures[jp2.id] ?? comparison.result.timings.find((timing) => timing.id === jp2.id && timing.error !== undefined)?.error;
  return [{ subject: `vs iiif-processor: ${jp2.label}`, case: failure === undefined ? 'iiif-processor read it (see details)' : `iiif-processor cannot read it: ${failure}`, values: values({}) }];
}

function targets(tiles: TileFigures, speedups: Speedups, comparison: Comparison): BenchTarget[] {
  const vsPyramid = tiles.after === null || tiles.pyramid === null ? null : tiles.after / tiles.pyramid;
  const overall = geometricMean(speedups.plain);
  return [
    {
      description: `after ingest, the 75 MP JPEG's full-resolution 512 tile (a miss) within ${TARGET_VS_PYRAMID}x the pyramidal TIFF's (medians)`,
      measured: vsPyramid === null ? 'not measured' : `${tiles.after?.toFixed(1) ?? ''} ms against ${tiles.pyramid?.toFixed(1) ?? ''} ms: ${vsPyramid.toFixed(2)}x (before ingest ${tiles.before?.toFixed(1) ?? '—'} ms)`,
      met: vsPyramid === null ? null : vsPyramid <= TARGET_VS_PYRAMID,
    },
    {
      description: `a viewer's requests end to end at least ${TARGET_SPEEDUP}x faster than iiif-processor ${IIIF_PROCESSOR_VERSION} (geometric mean, JPEG after ingest and pyramidal TIFF)`,
      measured: overall === null ? `not measured: ${'failed' in comparison ? comparison.failed : 'no iiif-processor timings'}` : `${overall.toFixed(2)}x over ${speedups.plain.length} requests (${geometricMean(speedups.dims)?.toFixed(2) ?? '—'}x against iiif-processor with the pages' sizes given)`,
      met: overall === null ? null : overall >= TARGET_SPEEDUP,
    },
  ];
}

function describeCoding(coding: TileCoding | undefined): string {
  return coding === undefined ? 'not read' : `${coding.compression} ${coding.colour}, ${(coding.meanTileBytes / 1024).toFixed(1)} KiB a tile on average (${coding.tiles} tiles)`;
}

/** The copies' full-resolution tiles beside the pyramid's: their bytes are what a render fetches and decodes. */
function codingNote(builds: readonly Build[], pyramid: TileCoding): string {
  const copies = builds.map((build) => `the ${build.master.label}'s copy: ${describeCoding(build.conversion.coding)}`);
  return `Full-resolution tiles: ${copies.join('; ')}; the pyramidal TIFF: ${describeCoding(pyramid)}.`;
}

function firstMs(samples: readonly Sampled[] | undefined): string {
  return samples?.[0]?.sample.ms.toFixed(1) ?? '—';
}

/** Where an end-to-end image request's time goes, over the mix of both sources (medians). */
function timeShares(after: AfterIngest): string {
  const images = [after.jpeg, after.pyramid].flatMap((samples) => MIX.filter(({ kind }) => kind !== 'info').flatMap(({ kind }) => samples[kind] ?? []));
  const part = (of: (sample: StackSample) => number | null | undefined): string => medianOf(images, of)?.toFixed(1) ?? '—';
  const other = (sample: StackSample): number => sample.line.totalMs - (sample.line.renderMs ?? 0) - (sample.line.uploadMs ?? 0);
  return `Where an image request's time goes (medians over the ${images.length} image requests of the two mixes): client to 302 ${part((s) => s.ms)} ms, of which the server's ${part((s) => s.line.totalMs)} ms: render ${part((s) => s.line.renderMs)} ms (ranged reads included), upload ${part((s) => s.line.uploadMs)} ms, the rest ${part(other)} ms (the record, the HEAD that finds the miss, signing the redirect); then the redirect's GET ${part((s) => s.redirectMs)} ms.`;
}

function notes(measured: Measured, speedups: Speedups): string[] {
  const { masters, comparison, load, after, settings } = measured;
  return [
    `Masters: the 10000x7500 photo-like bench JPEG (q85), the pyramidal TIFF made from it (256-pixel JPEG tiles, q85) and a JPEG 2000 made from it (${masters.jp2Note}). Copies with the service's defaults: ACCESS_COPY_TILE ${DEFAULTS.ACCESS_COPY_TILE}, ACCESS_COPY_QUALITY ${DEFAULTS.ACCESS_COPY_QUALITY}.`,
    `The stack: \`npm start\` in a child process (auth off), data directory of its own; "before ingest" in a first stack process with ACCESS_COPY_MIN_SIDE=${settings.noCopiesMinSide} (so no copy is requested or built meanwhile), ingest and everything after in a second with the defaults. Every image request is a distinct derivative, a miss: render, conditional PUT, 302. "Recto ms" adds the redirect's GET of the stored image from the embedded S3, as a viewer fetches it.`,
    'Full-resolution tiles go down the image run by run (a baseline JPEG is decoded from its top to the tile\u2019s rows); before ingest at a quarter of the width, after ingest at 0.6 of it, the same rows. The thumbnail and the 1024 view move by a pixel or two a run, so each is a new derivative.',
    `info.json: the first of each master in the second stack process reads its record (the JPEG's, with its copy, stored by ingest: ${firstMs(after.jpeg.info)} ms; the pyramid's built from its directories by ranges: ${firstMs(after.pyramid.info)} ms); the other ${settings.runs - 1} answer from the record in memory, so the median is a warm info.json.`,
    'Each stack process renders two sample thumbnails before anything is measured (its first render loads lib/render and sharp); iiif-processor\u2019s worker likewise runs one request first.',
    'failed' in comparison
      ? `iiif-processor: not measured: ${comparison.failed}`
      : `iiif-processor ${IIIF_PROCESSOR_VERSION} (its own sharp ${comparison.sharp}, libvips cache as it ships) in a worker process of its own, master read from local disk through a file stream resolver, no network: Processor.execute() timed in-process. "iiif-processor ms": the library's defaults (a dimension function that reads the master through a second stream); "i-p +dims ms": the pages' sizes given by a dimension function from memory. speedup = iiif-processor ms / Recto ms.`,
    codingNote(measured.builds, measured.pyramidCoding),
    timeShares(after),
    `iiif-processor's execute() against Recto's render alone (the log line's renderMs: no HTTP, no store, no redirect), over the ${speedups.render.length} image requests: ${geometricMean(speedups.render)?.toFixed(2) ?? '—'}x (geometric mean).`,
    `Load average (1 min): ${load.start.toFixed(2)} when the section started, ${load.end.toFixed(2)} when it ended, on ${cpus().length} cores.`,
  ];
}

export function accessCopiesReport(measured: Measured): SectionResult {
  const { masters, builds, before, after, comparison } = measured;
  const tiles = tileRows(before, after);
  const speedups: Speedups = { plain: [], dims: [], render: [] };
  const rows = [
    ...buildRows(builds),
    ...tiles.rows,
    ...comparisonRows(masters.jpeg, after.jpeg, comparison, speedups),
    ...comparisonRows(masters.pyramid, after.pyramid, comparison, speedups),
    { subject: 'vs iiif-processor: both masters', case: `geometric mean over the ${speedups.plain.length} requests`, values: values({ speedup: geometricMean(speedups.plain), speedupDims: geometricMean(speedups.dims) }) },
    ...jp2ComparisonRow(masters.jp2, comparison),
  ];
  return {
    columns: COLUMNS,
    rows,
    targets: targets(tiles.figures, speedups, comparison),
    notes: [...(masters.jp2 === undefined ? [`JPEG 2000 rows skipped: ${masters.jp2Note}`] : []), ...notes(measured, speedups)],
    details: {
      masters: [masters.jpeg, masters.jp2, masters.pyramid].flatMap((of) => (of === undefined ? [] : [{ id: of.id, label: of.label, bytes: of.bytes }])),
      builds,
      before,
      after,
      iiifProcessor: comparison,
    },
  };
}
