/**
 * Presets: named IIIF parameter sets ("repurpose configs"), e.g. `thumbnail` =
 * `full/!400,400/0/default.jpg` in API 3.0. They come from `presets.json` at the repository root
 * (bundled into the functions), or from the file PRESETS_FILE names, and are validated once, at
 * load: a preset that does not parse in the API version it declares fails the cold start with a
 * message naming the preset and the part.
 *
 * The file is one JSON object, preset name → preset:
 *
 * ```json
 * {
 *   "thumbnail": { "path": "full/!400,400/0/default.jpg", "api": "3", "description": "optional" },
 *   "web": "full/1600,/0/default.jpg"
 * }
 * ```
 *
 * - `path` is `{region}/{size}/{rotation}/{quality}.{format}` in the grammar of `api` ("2" or "3");
 *   the format must be one Recto writes (jpg, png, webp, tif, gif).
 * - A string alone is short for `{ "path": string, "api": "3" }`.
 * - Names are 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit (they are
 *   typed on command lines and appear in URLs).
 *
 * Whether a preset applies to a given image (a region inside it, no upscaling in 3.0) is only
 * known with the image: see `presetRequest` and the callers' handling of its 400s.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config.js';
import { RectoError, expected, quote } from '../errors.js';
import { API_VERSIONS, RENDERABLE_FORMATS, parseImagePath, type ApiVersion, type ImageRequest } from '../iiif/index.js';
import BUILTIN_PRESETS from '../../presets.json' with { type: 'json' };

export interface Preset {
  readonly name: string;
  /** The API version whose grammar `path` is written in. */
  readonly api: ApiVersion;
  /** `{region}/{size}/{rotation}/{quality}.{format}` as written in the file. */
  readonly path: string;
  readonly description?: string;
}

/** Presets by name, in file order. */
export type Presets = ReadonlyMap<string, Preset>;

/** Where presets came from, for messages: the variable (PRESETS_FILE) or the built-in file. */
export const BUILTIN_PRESETS_SOURCE = 'presets.json';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENTRY_KEYS = ['path', 'api', 'description'] as const;
/** A preset file larger than this is not a list of presets. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Validate a parsed presets document.
 * @param source names the origin in messages: `PRESETS_FILE` or `presets.json`.
 * @throws ConfigError naming the source, the preset and what is wrong.
 */
export function parsePresets(document: unknown, source: string): Presets {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ConfigError(source, expected('a JSON object of preset name → preset', 'the presets', describe(document)));
  }
  const presets = new Map<string, Preset>();
  for (const [name, entry] of Object.entries(document as Record<string, unknown>)) {
    if (!NAME.test(name)) {
      throw new ConfigError(source, expected('a name of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit', 'a preset name', name));
    }
    presets.set(name, parseEntry(name, entry, source));
  }
  return presets;
}

function parseEntry(name: string, entry: unknown, source: string): Preset {
  const part = (what: string): string => `preset ${quote(name)} ${what}`;
  let path: unknown;
  let api: unknown = '3';
  let description: unknown;
  if (typeof entry === 'string') {
    path = entry;
  } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const fields = entry as Record<string, unknown>;
    const unknown = Object.keys(fields).find((key) => !(ENTRY_KEYS as readonly string[]).includes(key));
    if (unknown !== undefined) throw new ConfigError(source, expected(`only ${ENTRY_KEYS.join(', ')}`, part('fields'), unknown));
    ({ path, description } = fields);
    if ('api' in fields) api = fields.api;
  } else {
    throw new ConfigError(source, expected('a path string or an object { path, api, description }', part('entry'), describe(entry)));
  }
  if (typeof path !== 'string') throw new ConfigError(source, expected('a string {region}/{size}/{rotation}/{quality}.{format}', part('path'), describe(path)));
  if (typeof api !== 'string' || !(API_VERSIONS as readonly string[]).includes(api)) {
    throw new ConfigError(source, expected(`one of ${API_VERSIONS.map((v) => `"${v}"`).join(', ')}`, part('api'), describe(api)));
  }
  if (description !== undefined && typeof description !== 'string') {
    throw new ConfigError(source, expected('a string', part('description'), describe(description)));
  }
  const version = api as ApiVersion;
  let request: ImageRequest;
  try {
    request = parseImagePath(version, path, 'preset');
  } catch (error) {
    if (error instanceof RectoError) throw new ConfigError(source, `preset ${quote(name)} (API ${version}): ${error.message}`);
    throw error;
  }
  if (!(RENDERABLE_FORMATS as readonly string[]).includes(request.format)) {
    throw new ConfigError(source, expected(`one of the formats Recto writes (${RENDERABLE_FORMATS.join(', ')})`, part('format'), request.format));
  }
  return { name, api: version, path, ...(description === undefined ? {} : { description }) };
}

/**
 * The request a preset makes of one image (not yet resolved against its size).
 * @throws IiifRequestError (cannot, for validated presets, but for a malformed identifier).
 */
export function presetRequest(preset: Preset, identifier: string): ImageRequest {
  return parseImagePath(preset.api, preset.path, identifier);
}

/**
 * The presets a deployment uses: PRESETS_FILE when set, else the built-in presets.json.
 * @throws ConfigError (PRESETS_FILE or presets.json) for a file that cannot be read, is not
 *   JSON, or holds an invalid preset.
 */
export function loadPresets(config: Pick<Config, 'presetsFile'>): Presets {
  if (config.presetsFile === undefined) return parsePresets(BUILTIN_PRESETS, BUILTIN_PRESETS_SOURCE);
  return parsePresets(readPresetsFile(config.presetsFile), 'PRESETS_FILE');
}

function readPresetsFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigError('PRESETS_FILE', expected('a readable presets file', 'the file', `${file} (${typeof code === 'string' ? code : 'unreadable'})`));
  }
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    throw new ConfigError('PRESETS_FILE', expected(`a presets file of at most ${MAX_FILE_BYTES} bytes`, 'the file', file));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError('PRESETS_FILE', `${expected('valid JSON', `the file ${quote(file)}`, text.slice(0, 40))}: ${error instanceof Error ? error.message : 'parse error'}`);
  }
}

/**
 * The presets asked for by name.
 * @throws RectoError PRESET_NOT_FOUND naming the unknown preset and the known ones.
 */
export function selectPresets(presets: Presets, names: readonly string[]): Preset[] {
  return names.map((name) => {
    const preset = presets.get(name);
    if (preset === undefined) {
      const known = [...presets.keys()];
      throw new RectoError('PRESET_NOT_FOUND', expected(known.length === 0 ? 'a preset, but none are configured' : `one of the presets ${known.join(', ')}`, 'the preset', name));
    }
    return preset;
  });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'string' ? value : `${typeof value} ${JSON.stringify(value)}`;
}
