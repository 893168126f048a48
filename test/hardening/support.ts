/**
 * Shared checks for the hardening tests: what storage saw (every S3 command's bucket
 * and key against the configured prefixes, and whether anything was written), what an error
 * answer must look like, what every stored derivative must be, and a bounded worker pool.
 */
import sharp from 'sharp';
import { rotatedCanvas } from '../../lib/render/geometry.js';
import type { Config } from '../../lib/config.js';
import { INTERNAL_ROOT } from '../../lib/iiif/index.js';

/** One S3 command as the service sent it. */
export interface S3Call {
  readonly command: string;
  readonly bucket: string;
  readonly key: string;
}

/** The only commands that do not change storage. Anything else is a write. */
export const READ_COMMANDS: ReadonlySet<string> = new Set(['HeadObjectCommand', 'GetObjectCommand', 'ListObjectsV2Command']);

/** A line of TestStack.s3Calls ("HeadObjectCommand bucket/key") as its parts. */
export function parseS3Call(line: string): S3Call {
  const space = line.indexOf(' ');
  const rest = line.slice(space + 1);
  const slash = rest.indexOf('/');
  return { command: line.slice(0, space), bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

/** The part of the configuration that says where keys may be. */
export type KeyRules = Pick<Config, 'sourceBucket' | 'derivativeBucket' | 'derivativePrefix' | 'sourceKeyTemplate'>;

/** Characters encodeIdentifier leaves in a key segment. */
const ENCODED_SEGMENT = /^[A-Za-z0-9\-_.~%]+$/;

/**
 * Why a call's key is outside the configured prefixes, or undefined when it is inside:
 * - derivative bucket: `{DERIVATIVE_PREFIX}!recto/records/{encoded identifier}/source.json` (a
 *   source record; nothing else under the internal root `!recto/`) or
 *   `{DERIVATIVE_PREFIX}{encoded identifier}/{region}/{w,h}/{rotation}/{quality}.{format}`, the
 *   identifier one encoded segment;
 * - source bucket: SOURCE_KEY_TEMPLATE with `{id}` replaced by an identifier that has no `.` or
 *   `..` segment and no control character (what would let a key name another object).
 */
export function keyProblem(call: S3Call, rules: KeyRules): string | undefined {
  const where = `${call.command} ${JSON.stringify(call.bucket)} ${JSON.stringify(call.key.slice(0, 120))}`;
  if (call.bucket === rules.derivativeBucket) {
    if (!call.key.startsWith(rules.derivativePrefix)) return `${where}: outside DERIVATIVE_PREFIX ${JSON.stringify(rules.derivativePrefix)}`;
    const inside = call.key.slice(rules.derivativePrefix.length);
    if (inside.startsWith(INTERNAL_ROOT)) {
      const [area, record = '', file, ...more] = inside.slice(INTERNAL_ROOT.length).split('/');
      if (area !== 'records' || file !== 'source.json' || more.length > 0) return `${where}: inside the internal root but not a source record`;
      if (!ENCODED_SEGMENT.test(record) || record === '.' || record === '..') return `${where}: the record's identifier is not one encoded segment`;
      return undefined;
    }
    const [identifier = '', ...rest] = inside.split('/');
    if (!ENCODED_SEGMENT.test(identifier) || identifier === '.' || identifier === '..') return `${where}: the identifier is not one encoded segment`;
    const tail = rest.join('/');
    if (rest.length !== 4 || !/^(full|\d+,\d+,\d+,\d+)\/\d+,\d+\/!?\d+(\.\d+)?\/(default|color|gray|bitonal)\.(jpg|png|webp|tif|gif)$/.test(tail)) {
      return `${where}: not a derivative or record key`;
    }
    return undefined;
  }
  if (call.bucket === rules.sourceBucket) {
    const [before = '', after = ''] = rules.sourceKeyTemplate.split('{id}');
    if (!call.key.startsWith(before) || !call.key.endsWith(after) || call.key.length < before.length + after.length) {
      return `${where}: does not match SOURCE_KEY_TEMPLATE ${JSON.stringify(rules.sourceKeyTemplate)}`;
    }
    const identifier = call.key.slice(before.length, call.key.length - after.length);
    if (identifier === '') return `${where}: an empty identifier`;
    if (identifier.split('/').some((segment) => segment === '.' || segment === '..')) return `${where}: a "." or ".." segment`;
    // eslint-disable-next-line no-control-regex -- control characters are what is looked for
    if (/[\u0000-\u001f\u007f-\u009f]/.test(identifier)) return `${where}: a control character`;
    if (Buffer.byteLength(call.key, 'utf8') > 1024) return `${where}: longer than S3 allows`;
    return undefined;
  }
  return `${where}: a bucket the service was not given`;
}

/** Every problem with a list of calls: keys outside the prefixes, and writes when none are allowed. */
export function callProblems(calls: readonly S3Call[], rules: KeyRules, options: { readonly writes: boolean }): string[] {
  const problems: string[] = [];
  for (const call of calls) {
    const problem = keyProblem(call, rules);
    if (problem !== undefined) problems.push(problem);
    if (!options.writes && !READ_COMMANDS.has(call.command)) problems.push(`${call.command} ${call.bucket}/${call.key.slice(0, 120)}: a write`);
  }
  return problems;
}

/** An HTTP answer, reduced to what the checks read. Header names lower-case. */
export interface PlainAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** Raw input that must never appear in an error message: markup and control characters. */
// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const UNESCAPED = /[<>&\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * What is wrong with an answer every response must satisfy (nosniff, CORS), and, for an error,
 * with its JSON body (HEAD: the headers only): `{ error, detail }` exactly, the detail free of raw markup and controls.
 */
export function answerProblems(answer: PlainAnswer, method = 'GET'): string[] {
  const problems: string[] = [];
  if (answer.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
  if (answer.headers['access-control-allow-origin'] !== '*') problems.push('no Access-Control-Allow-Origin: *');
  if (answer.status < 400) return problems;
  if (method === 'HEAD') {
    // As GET without the body.
    if (answer.headers['content-type'] !== 'application/json') problems.push(`content-type ${String(answer.headers['content-type'])}`);
    return problems;
  }
  if (answer.headers['content-type'] !== 'application/json') problems.push(`content-type ${String(answer.headers['content-type'])}`);
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    problems.push(`a body that is not JSON: ${JSON.stringify(answer.body.slice(0, 120))}`);
    return problems;
  }
  const fields = body as { error?: unknown; detail?: unknown };
  if (typeof body !== 'object' || body === null || Object.keys(body).join(',') !== 'error,detail') {
    problems.push(`body keys ${JSON.stringify(body)}`);
  } else if (typeof fields.error !== 'string' || !/^[A-Z_]+$/.test(fields.error) || typeof fields.detail !== 'string') {
    problems.push(`body fields ${JSON.stringify(body).slice(0, 200)}`);
  } else if (UNESCAPED.test(fields.detail)) {
    problems.push(`a detail echoing raw input: ${JSON.stringify(fields.detail.slice(0, 200))}`);
  }
  return problems;
}

/** The width and height an image stored under `key` must have (rotation grows the canvas). */
export function dimensionsOfKey(key: string): { width: number; height: number } | undefined {
  const parts = key.split('/');
  const size = parts.at(-3);
  const rotation = parts.at(-2);
  const match = size === undefined ? null : /^(\d+),(\d+)$/.exec(size);
  if (match === null || rotation === undefined) return undefined;
  const degrees = Number(rotation.replace(/^!/, ''));
  return rotatedCanvas({ width: Number(match[1]), height: Number(match[2]) }, degrees);
}

/** Check stored derivatives: each decodes whole, in its key's format, at its key's dimensions. */
export async function storedImageProblems(objects: readonly { key: string; body: Buffer }[]): Promise<string[]> {
  const problems: string[] = [];
  const formats: Readonly<Record<string, string>> = { jpg: 'jpeg', png: 'png', webp: 'webp', tif: 'tiff', gif: 'gif' };
  for (const { key, body } of objects) {
    const expected = dimensionsOfKey(key);
    if (expected === undefined) {
      problems.push(`${key}: not a derivative key`);
      continue;
    }
    try {
      // Decoding every pixel (failOn 'error') is what catches a body cut short.
      const { info } = await sharp(body, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
      const format = (await sharp(body).metadata()).format;
      const wanted = formats[key.slice(key.lastIndexOf('.') + 1)];
      if (format !== wanted) problems.push(`${key}: format ${format}, expected ${wanted ?? 'a known format'}`);
      if (info.width !== expected.width || info.height !== expected.height) {
        problems.push(`${key}: ${info.width}x${info.height}, expected ${expected.width}x${expected.height}`);
      }
    } catch (error) {
      problems.push(`${key}: does not decode (${error instanceof Error ? error.message : 'unknown error'})`);
    }
  }
  return problems;
}

/** Run `work` over `items`, at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
