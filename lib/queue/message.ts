/**
 * The pre-warm queue's message: one image, and what to make for it: its access copy (`ingest`),
 * derivatives, or both (the copy first). Sent by `npm run prewarm -- --queue`, `npx recto ingest
 * --queue`, the purge function after an upload (ingest), and the IIIF function when it defers a
 * render too long for a request or asks for a master's copy. With none of `ingest`, `paths`,
 * `presets`, `tiles` or `sizes`, the worker renders the tiles and sizes.
 */
import { RectoError, expected } from '../errors.js';

/** Whose viewer URL forms a job covers: 2.1's, 3.0's or both. */
export const API_CHOICES = ['2', '3', 'both'] as const;
export type ApiChoice = (typeof API_CHOICES)[number];

export interface PrewarmMessage {
  readonly identifier: string;
  /** Explicit derivatives, as 3.0 canonical paths `{region}/{size}/{rotation}/{quality}.{format}`. */
  readonly paths?: readonly string[];
  /** Preset names. */
  readonly presets?: readonly string[];
  /** The tile pyramid viewers request from info.json. */
  readonly tiles?: boolean;
  /** Every `sizes` entry of info.json. */
  readonly sizes?: boolean;
  /** Which API versions' viewer URL forms to cover (default both). */
  readonly api?: ApiChoice;
  /** Render again even when the derivative exists. */
  readonly force?: boolean;
  /** Build the master's access copy first, when it needs one and has none. */
  readonly ingest?: boolean;
}

const FIELDS = ['identifier', 'paths', 'presets', 'tiles', 'sizes', 'api', 'force', 'ingest'] as const;
/** SQS allows 256 KiB a message; anything near that is not a pre-warm request. */
const MAX_LIST = 10_000;

/**
 * Read and check a message body (JSON text, or an already parsed value).
 * @throws RectoError PREWARM_INVALID_MESSAGE naming the field and what it must be. Unknown
 *   fields are refused, so a typo (`"tile": true`) is an error, not a silent no-op.
 */
export function parsePrewarmMessage(body: unknown): PrewarmMessage {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      throw invalid('a JSON object', 'the message body', body);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('a JSON object', 'the message body', show(value));
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined) throw invalid(`only the fields ${FIELDS.join(', ')}`, 'the message', unknown);
  const { identifier, paths, presets, tiles, sizes, api, force, ingest } = fields;
  if (typeof identifier !== 'string' || identifier === '') throw invalid('a non-empty string', 'identifier', show(identifier));
  return {
    identifier,
    ...optionalList('paths', paths),
    ...optionalList('presets', presets),
    ...optionalBoolean('tiles', tiles),
    ...optionalBoolean('sizes', sizes),
    ...optionalBoolean('force', force),
    ...optionalBoolean('ingest', ingest),
    ...(api === undefined ? {} : { api: apiValue(api) }),
  };
}

function apiValue(value: unknown): ApiChoice {
  const found = API_CHOICES.find((choice) => choice === value);
  if (found === undefined) throw invalid(`one of ${API_CHOICES.map((v) => `"${v}"`).join(', ')}`, 'api', show(value));
  return found;
}

function optionalList<K extends 'paths' | 'presets'>(name: K, value: unknown): { [P in K]?: readonly string[] } {
  if (value === undefined) return {};
  if (!Array.isArray(value) || value.length > MAX_LIST || !value.every((item): item is string => typeof item === 'string' && item !== '')) {
    throw invalid(`a list of at most ${MAX_LIST} non-empty strings`, name, show(value));
  }
  const list: readonly string[] = value;
  return { [name]: list } as { [P in K]: readonly string[] };
}

function optionalBoolean<K extends 'tiles' | 'sizes' | 'force' | 'ingest'>(name: K, value: unknown): { [P in K]?: boolean } {
  if (value === undefined) return {};
  if (typeof value !== 'boolean') throw invalid('true or false', name, show(value));
  return { [name]: value } as { [P in K]: boolean };
}

function invalid(what: string, part: string, received: string): RectoError {
  return new RectoError('PREWARM_INVALID_MESSAGE', expected(what, part, received));
}

/** A value for a message: JSON, or "nothing" for a missing one (JSON.stringify gives undefined). */
function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
