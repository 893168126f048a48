/**
 * The whole malformed-paths corpus (test/fixtures/malformed-paths.json) over real HTTP, for each
 * version it lists: every path answers its status (400 or 501) with a JSON error naming the
 * part, and none of them writes to S3. Requests that fail while parsing make no S3 call at all;
 * those that need the source's size (out of bounds, limits, upscaling, unsupported formats) read
 * only its cached record.
 *
 * The stack runs with auth on and every request carries a token with both scopes, so nothing
 * but the request itself stands between it and a render.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridImage } from '../support/fixtures.js';
import { startTestStack, wirePath, type Answer, type TestStack } from '../support/stack.js';

interface CorpusCase {
  readonly path: string;
  readonly versions: readonly ('2' | '3')[];
  readonly status: number;
  readonly code: string;
  readonly part: string;
}

interface Corpus {
  readonly source: { readonly width: number; readonly height: number };
  readonly limits: { readonly maxWidth: number; readonly maxArea: number };
  readonly cases: readonly CorpusCase[];
}

/** Codes raised after parsing, by resolving against the source's size and the limits. */
const RESOLUTION_CODES = new Set(['IIIF_REGION_OUT_OF_BOUNDS', 'IIIF_SIZE_TOO_SMALL', 'IIIF_UPSCALE_NOT_ALLOWED', 'IIIF_LIMIT_EXCEEDED', 'FORMAT_NOT_SUPPORTED']);
/** How many requests are in flight at once: enough to be quick, few enough for two cores. */
const CONCURRENCY = 8;

const corpus = JSON.parse(await readFile(new URL('../fixtures/malformed-paths.json', import.meta.url), 'utf8')) as Corpus;

/** One request of the corpus: a case for one version. */
interface Probe {
  readonly version: '2' | '3';
  readonly case: CorpusCase;
}

const probes: Probe[] = corpus.cases.flatMap((c) => c.versions.map((version) => ({ version, case: c })));
const parsing = probes.filter((probe) => !RESOLUTION_CODES.has(probe.case.code));
const resolving = probes.filter((probe) => RESOLUTION_CODES.has(probe.case.code));

let t: TestStack;
let token: string;

beforeAll(async () => {
  // The corpus is resolved against a 300x200 source under identifier abcd1234, with its limits.
  const source = await gridImage({ width: corpus.source.width, height: corpus.source.height, cols: 3, rows: 2 });
  t = await startTestStack({
    sources: { 'abcd1234.png': await sharp(source.png).png().toBuffer() },
    env: { IIIF_MAX_WIDTH: String(corpus.limits.maxWidth), IIIF_MAX_AREA: String(corpus.limits.maxArea) },
  });
  token = await t.token();
  // Build the source record first (its one write), so that what follows is the corpus alone.
  const info = await t.request('/iiif/3/abcd1234/info.json', { token });
  expect(info.status).toBe(200);
});

afterAll(async () => {
  await t.close();
});

/** Run the probes, CONCURRENCY at a time, and return each answer beside its probe. */
async function runAll(list: readonly Probe[]): Promise<{ probe: Probe; answer: Answer }[]> {
  const results: { probe: Probe; answer: Answer }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < list.length; index = next++) {
      const probe = list[index]!;
      const answer = await t.send(`/iiif/${probe.version}/${wirePath(probe.case.path)}`, { token });
      results.push({ probe, answer });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

/** What went wrong with one answer, or undefined when it is as the corpus says. */
function mismatch({ probe, answer }: { probe: Probe; answer: Answer }): string | undefined {
  const { path, status, code, part } = probe.case;
  const where = `${probe.version} ${JSON.stringify(path)}`;
  if (answer.status !== status) return `${where}: status ${answer.status}, expected ${status} (${answer.text().slice(0, 200)})`;
  if (answer.headers['content-type'] !== 'application/json') return `${where}: content-type ${String(answer.headers['content-type'])}`;
  if (answer.headers['access-control-allow-origin'] !== '*' || answer.headers['x-content-type-options'] !== 'nosniff') return `${where}: CORS or nosniff missing`;
  let body: { error?: unknown; detail?: unknown };
  try {
    body = answer.json() as { error?: unknown; detail?: unknown };
  } catch {
    return `${where}: body is not JSON: ${answer.text().slice(0, 200)}`;
  }
  if (Object.keys(body).join(',') !== 'error,detail') return `${where}: body keys ${Object.keys(body).join(',')}`;
  if (body.error !== code) return `${where}: code ${String(body.error)}, expected ${code}`;
  const detail = String(body.detail);
  if (!detail.startsWith('Expected ') || !detail.includes(` for ${part} but received `)) return `${where}: detail does not name ${part}: ${detail}`;
  // Messages never echo raw input: no markup, no control characters.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  if (/[<>\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(detail)) return `${where}: detail echoes raw input: ${JSON.stringify(detail)}`;
  return undefined;
}

describe('the malformed-paths corpus over HTTP', () => {
  it(`covers ${corpus.cases.length} cases, ${probes.length} requests in all`, () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(350);
    expect(parsing.length + resolving.length).toBe(probes.length);
    expect(resolving.length).toBeGreaterThan(0);
  });

  it('answers every request that fails while parsing with its status, code and part, and makes no S3 call', async () => {
    // Prepare
    const objectsBefore = await t.listDerivatives();
    t.s3Calls.length = 0;

    // Act
    const results = await runAll(parsing);

    // Assess
    expect(results).toHaveLength(parsing.length);
    expect(results.map(mismatch).filter((problem) => problem !== undefined)).toEqual([]);
    expect(t.s3Calls).toEqual([]);
    expect(t.engine.count).toBe(0);
    expect(await t.listDerivatives()).toEqual(objectsBefore);
  });

  it('answers every request that fails against the source size or limits with its status, code and part, and writes nothing', async () => {
    // Prepare
    const objectsBefore = await t.listDerivatives();
    t.s3Calls.length = 0;

    // Act
    const results = await runAll(resolving);

    // Assess
    expect(results).toHaveLength(resolving.length);
    expect(results.map(mismatch).filter((problem) => problem !== undefined)).toEqual([]);
    // At most a read of the source record (when the warm-memory copy has expired); never a write.
    expect(t.s3Calls.filter((call) => call !== `GetObjectCommand ${t.derivativeBucket}/!recto/records/abcd1234/source.json`)).toEqual([]);
    expect(t.engine.count).toBe(0);
    expect(await t.listDerivatives()).toEqual(objectsBefore);
  });

  it('still serves the source after the whole corpus (the process stayed healthy)', async () => {
    // Act
    const answer = await t.request('/iiif/3/abcd1234/full/max/0/default.png', { token });

    // Assess
    expect(answer.status).toBe(302);
    expect(t.engine.count).toBe(1);
  });
});
