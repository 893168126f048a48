/**
 * What to render for one image: the viewer URLs of its tile pyramid and sizes (both API
 * versions, as viewers build them from Recto's own info.json), its presets, and explicit
 * paths, each parsed and resolved exactly as the IIIF function would resolve the request, and
 * deduplicated by storage key. Pure: no S3, no sharp.
 */
import { RectoError } from '../errors.js';
import {
  VERSIONS,
  VIEWERS,
  encodeIdentifier,
  parseImagePath,
  readInfo,
  resolve,
  storageKey,
  viewerUrls,
  type ApiVersion,
  type ImageRequest,
  type Limits,
  type Plan,
  type SourceImage,
  type Viewer,
} from '../iiif/index.js';
import type { ApiChoice } from '../queue/index.js';
import { presetRequest, type Preset } from './presets.js';

/** What to render for an image. */
export interface Selection {
  /** The tile pyramid of info.json, in every viewer's URL forms. */
  readonly tiles: boolean;
  /** Every `sizes` entry of info.json, in every viewer's URL forms. */
  readonly sizes: boolean;
  readonly presets: readonly Preset[];
  /** Explicit derivatives, as 3.0 paths `{region}/{size}/{rotation}/{quality}.{format}`. */
  readonly paths: readonly string[];
  /** Whose viewer URLs to cover: 2.1's, 3.0's or both (tiles and sizes only). */
  readonly api: ApiChoice;
  /** Default: every viewer Recto knows (see lib/iiif/viewer-urls.ts). */
  readonly viewers?: readonly Viewer[];
}

/** The image and the deployment's settings that decide info.json and the keys. */
export interface PlanContext {
  readonly identifier: string;
  readonly source: SourceImage;
  readonly limits: Limits;
  readonly tileSize: number;
  readonly prefix: string;
}

/** One derivative to make: its key, its pixels, and what asked for it. */
export interface Job {
  readonly key: string;
  readonly plan: Plan;
  /** E.g. `tile`, `size`, `preset thumbnail`, `path`. */
  readonly origins: readonly string[];
}

/** A request that does not apply to this image (a preset larger than it, say): nothing to render. */
export interface Unavailable {
  readonly origin: string;
  /** The request as written (a viewer URL's path, a preset's path). */
  readonly request: string;
  readonly code: string;
  readonly reason: string;
}

export interface JobPlan {
  /** Distinct derivatives, in the order first asked for. */
  readonly jobs: readonly Job[];
  readonly unavailable: readonly Unavailable[];
  /** Requests considered (viewer URLs, presets, paths) before deduplication. */
  readonly requests: number;
}

/** The base of the info.json `id` viewers are given here; only the path after it matters. */
const PLANNING_BASE = 'https://recto.invalid';

/** The versions an API choice covers. */
function apiVersions(api: ApiChoice): ApiVersion[] {
  return api === 'both' ? ['2', '3'] : [api];
}

/**
 * Every derivative the selection names for this image, deduplicated by storage key.
 * @throws TypeError only for a bug (Recto's own info.json unreadable).
 */
export function planJobs(context: PlanContext, selection: Selection): JobPlan {
  const jobs = new Map<string, { plan: Plan; origins: Set<string> }>();
  const unavailable: Unavailable[] = [];
  let requests = 0;
  const add = (origin: string, written: string, parse: () => ImageRequest): void => {
    requests += 1;
    let plan: Plan;
    try {
      plan = resolve(parse(), context.source, context.limits);
    } catch (error) {
      if (!(error instanceof RectoError)) throw error;
      unavailable.push({ origin, request: written, code: error.code, reason: error.message });
      return;
    }
    const key = storageKey(plan, context.prefix);
    const existing = jobs.get(key);
    if (existing === undefined) jobs.set(key, { plan, origins: new Set([origin]) });
    else existing.origins.add(origin);
  };
  const encoded = encodeIdentifier(context.identifier);

  if (selection.tiles || selection.sizes) {
    for (const version of apiVersions(selection.api)) {
      const id = `${PLANNING_BASE}/iiif/${version}/${encoded}`;
      const info = readInfo(VERSIONS[version].infoDocument(context.source, { id, limits: context.limits, tileSize: context.tileSize }));
      for (const { kind, url } of viewerUrls(info, { tiles: selection.tiles, sizes: selection.sizes }, selection.viewers ?? VIEWERS)) {
        const path = url.slice(id.length + 1);
        add(kind, path, () => parseImagePath(version, path, context.identifier));
      }
    }
  }
  for (const preset of selection.presets) {
    add(`preset ${preset.name}`, preset.path, () => presetRequest(preset, context.identifier));
  }
  for (const path of selection.paths) {
    add('path', path, () => parseImagePath('3', path, context.identifier));
  }
  return {
    jobs: [...jobs].map(([key, { plan, origins }]) => ({ key, plan, origins: [...origins] })),
    unavailable,
    requests,
  };
}
