/**
 * What every conformance test works with: the server under test, its info.json features, the
 * HTTP client, image requests in the validator's shape, and the recorder of check results.
 */
import type { FollowedAnswer, HttpClient } from './http.js';
import { decodeImage, type DecodedImage } from './pixels.js';
import { PythonRandom, VALIDATOR_SEED } from './python-random.js';

export const API_VERSIONS = ['2', '3'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** The spec version each path version stands for, as reports print it. */
export const VERSION_LABELS = { '2': '2.1', '3': '3.0' } as const satisfies Record<ApiVersion, string>;

/** The server under test. */
export interface Target {
  /** Service base without a trailing slash, e.g. http://127.0.0.1:3000/iiif/3. */
  readonly base: string;
  /** Identifier of the validation image, exactly as it goes into URLs. */
  readonly identifier: string;
  readonly version: ApiVersion;
  /**
   * Optionally, an identifier of the same image that holds characters which must be escaped in
   * a path segment (`:` and `/`), given unescaped: the suite percent-encodes it.
   */
  readonly escapedIdentifier?: string;
}

/** The validator's compliance levels; OPTIONAL is above level 2. */
export const LEVELS = { level0: 0, level1: 1, level2: 2, optional: 3 } as const;
export type Level = (typeof LEVELS)[keyof typeof LEVELS];

/** What info.json says the server supports (validator: `ServerFeatures.from_info_json`). */
export interface Features {
  readonly level: Level;
  readonly extraQualities: readonly string[];
  readonly extraFormats: readonly string[];
  readonly extraFeatures: readonly string[];
  /** maxWidth, maxHeight, maxArea when given. */
  readonly limits: { readonly maxWidth?: number; readonly maxHeight?: number; readonly maxArea?: number };
}

/**
 * Read the features from an info.json document.
 * @throws Error when the profile names no known compliance level
 */
export function featuresOf(info: Record<string, unknown>): Features {
  const profile = info.profile;
  const first: unknown = Array.isArray(profile) ? profile[0] : profile;
  const levelName = typeof first === 'string' ? /level([012])(\.json)?$/.exec(first)?.[1] : undefined;
  if (levelName === undefined) throw new Error(`Expected a IIIF compliance level in info.json "profile" but received ${JSON.stringify(first)}`);
  const level = Number(levelName) as Level;
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const extraQualities: string[] = [];
  const extraFormats: string[] = [];
  const extraFeatures: string[] = [];
  let limitSource: Record<string, unknown> = info;
  if ('id' in info) {
    extraQualities.push(...strings(info.extraQualities));
    extraFormats.push(...strings(info.extraFormats));
    extraFeatures.push(...strings(info.extraFeatures));
  } else if (Array.isArray(profile)) {
    for (const entry of profile.slice(1)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const description = entry as Record<string, unknown>;
      extraQualities.push(...strings(description.qualities));
      extraFormats.push(...strings(description.formats));
      extraFeatures.push(...strings(description.supports));
      limitSource = { ...description, ...info };
    }
  }
  const limit = (name: string): Record<string, number> => {
    const value = limitSource[name];
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? { [name]: value } : {};
  };
  return { level, extraQualities, extraFormats, extraFeatures, limits: { ...limit('maxWidth'), ...limit('maxHeight'), ...limit('maxArea') } };
}

/** The validator's `ImageAPIRequest`: the five parameters, defaulting to the full image. */
export interface ImageRequest {
  readonly region: string;
  readonly size: string;
  readonly rotation: string;
  readonly quality: string;
  readonly format: string;
}

/** `ImageAPIRequest.of()`: full, max, 0, default, jpg unless given. */
export function imageRequest(parts: Partial<ImageRequest> = {}): ImageRequest {
  return { region: 'full', size: 'max', rotation: '0', quality: 'default', format: 'jpg', ...parts };
}

/** One check inside a test. `extra` marks checks beyond the validator's own. */
export interface CheckResult {
  readonly ok: boolean;
  readonly details: string;
  readonly expected?: string;
  readonly received?: string;
  readonly url?: string;
  readonly extra: boolean;
  /** Informational: printed, never a failure. */
  readonly note?: boolean;
}

/** Collects the checks of one test. */
export class Recorder {
  readonly results: CheckResult[] = [];

  pass(details: string, extra = false): void {
    this.results.push({ ok: true, details, extra });
  }

  fail(details: string, expected: string, received: string, url: string | undefined, extra = false): void {
    this.results.push({ ok: false, details, expected, received, ...(url === undefined ? {} : { url }), extra });
  }

  /** Pass or fail on a condition; returns it. */
  check(ok: boolean, details: string, expected: string, received: string, url: string | undefined, extra = false): boolean {
    if (ok) this.pass(details, extra);
    else this.fail(details, expected, received, url, extra);
    return ok;
  }

  /** A line for the report that is neither a pass nor a failure. */
  note(details: string): void {
    this.results.push({ ok: true, details, extra: true, note: true });
  }
}

/** An image answer: the followed HTTP exchange and, when it was a 200 image, its pixels. */
export interface ImageAnswer {
  readonly url: string;
  readonly answer: FollowedAnswer;
  readonly image?: DecodedImage;
  /** Why there is no image (status, or a decoding error). */
  readonly problem?: string;
}

export class TestContext {
  constructor(
    readonly target: Target,
    readonly client: HttpClient,
    readonly info: Record<string, unknown>,
    readonly features: Features,
  ) {}

  get version(): ApiVersion {
    return this.target.version;
  }

  /** A fresh generator seeded as the validator seeds its tests (`random.seed(31337)`). */
  random(): PythonRandom {
    return new PythonRandom(VALIDATOR_SEED);
  }

  infoUrl(identifier = this.target.identifier): string {
    return `${this.target.base}/${identifier}/info.json`;
  }

  /** `ImageAPIRequest.url()`: 2.x requests say `full` where 3.0 says `max`. */
  imageUrl(request: ImageRequest, identifier = this.target.identifier): string {
    const size = this.version === '2' && request.size === 'max' ? 'full' : request.size;
    return `${this.target.base}/${identifier}/${request.region}/${size}/${request.rotation}/${request.quality}.${request.format}`;
  }

  /** The validator's `get_image`: follow redirects, expect 200, decode. */
  async image(request: ImageRequest | string): Promise<ImageAnswer> {
    const url = typeof request === 'string' ? request : this.imageUrl(request);
    const answer = await this.client.follow(url);
    if (answer.status !== 200) return { url, answer, problem: `HTTP status ${answer.status}: ${preview(answer.body)}` };
    try {
      return { url, answer, image: await decodeImage(answer.body) };
    } catch (error) {
      return { url, answer, problem: `not an image (${error instanceof Error ? error.message : String(error)})` };
    }
  }
}

/** The start of a body, for failure messages, JSON-escaped so no raw input reaches a terminal. */
export function preview(body: Buffer): string {
  const text = body.subarray(0, 200).toString('utf8');
  return text === '' ? '(empty body)' : JSON.stringify(text);
}

/** Any JSON value as text for a report; `undefined` (a missing field) says so. */
export function show(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}
