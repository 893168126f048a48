/**
 * The hostile-paths corpus (test/fixtures/hostile-paths.json, generated, and
 * hostile-paths-hand.txt, hand-written) over real HTTP against the local stack, with a
 * DERIVATIVE_PREFIX and a SOURCE_KEY_TEMPLATE set so that "inside the prefixes" means something,
 * auth on and a token with both scopes (nothing but the request itself stands between it and a
 * render). Every path answers its status (400 or 404) and code as a JSON error with nosniff and
 * CORS; a malformed request makes no S3 call at all; a well-formed odd one only reads, inside the
 * prefixes; nothing renders, nothing is written, and the process serves images afterwards.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_ID, startTestStack, type Answer, type TestStack } from '../support/stack.js';
import { GENERATED_FILE, KNOWN_IDENTIFIER, generatedText, readGenerated, readHandWritten, type HostileCase } from './hostile-paths.js';
import { answerProblems, callProblems, parseS3Call, pool } from './support.js';

/** Requests in flight at once: quick, yet light on two shared cores. */
const CONCURRENCY = 8;

const generated = readGenerated().cases;
const handWritten = readHandWritten();
const corpus: readonly HostileCase[] = [...generated, ...handWritten];

let t: TestStack;
let token: string;

beforeAll(async () => {
  t = await startTestStack({ env: { DERIVATIVE_PREFIX: 'iiif/', SOURCE_KEY_TEMPLATE: 'masters/{id}.png' } });
  token = await t.token();
  // The grid's record is built first (its one write), so what follows is the corpus alone.
  expect((await t.request(`/iiif/3/${GRID_ID}/info.json`, { token })).status).toBe(200);
});

afterAll(async () => {
  await t.close();
});

function mismatch(entry: HostileCase, answer: Answer): string | undefined {
  const problems = answerProblems({ status: answer.status, headers: answer.headers, body: answer.text() });
  if (answer.status !== entry.status) problems.unshift(`status ${answer.status}, expected ${entry.status}`);
  let code: unknown;
  try {
    code = (answer.json() as { error?: unknown }).error;
  } catch {
    code = undefined;
  }
  if (code !== entry.code) problems.push(`code ${String(code)}, expected ${entry.code}`);
  return problems.length === 0 ? undefined : `${entry.path.slice(0, 160)} (${entry.why}): ${problems.join('; ')} ${answer.text().slice(0, 160)}`;
}

async function run(cases: readonly HostileCase[]): Promise<string[]> {
  const answers = await pool(cases, CONCURRENCY, (entry) => t.send(entry.path, { token }));
  return cases.flatMap((entry, index) => mismatch(entry, answers[index] as Answer) ?? []);
}

describe('the hostile-paths corpus', () => {
  it('holds over 1,000 paths, generated and hand-written, each expecting 400 or 404, and the generated file is what its generator writes', () => {
    // Assess
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    expect(handWritten.length).toBeGreaterThanOrEqual(100);
    expect(new Set(corpus.map((entry) => entry.status))).toEqual(new Set([400, 404]));
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(generatedText());
    expect(readGenerated().identifier).toBe(KNOWN_IDENTIFIER);
    expect(new Set(corpus.map((entry) => entry.path)).size).toBeGreaterThan(corpus.length * 0.95);
  });

  it('answers every malformed path with its status and code as a JSON error, and makes no S3 call at all', async () => {
    // Prepare
    const malformed = corpus.filter((entry) => entry.s3 === 'none');
    const before = await t.listDerivatives();
    t.s3Calls.length = 0;

    // Act
    const problems = await run(malformed);

    // Assess
    expect(malformed.length).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    expect(t.s3Calls).toEqual([]);
    expect(t.engine.count).toBe(0);
    expect(await t.listDerivatives()).toEqual(before);
  });

  it('answers well-formed odd identifiers with 404 and odd sizes with 400, reading only inside the prefixes and writing nothing', async () => {
    // Prepare
    const lookups = corpus.filter((entry) => entry.s3 === 'read');
    const before = await t.listDerivatives();
    t.s3Calls.length = 0;

    // Act
    const problems = await run(lookups);

    // Assess
    expect(lookups.length).toBeGreaterThan(50);
    expect(problems).toEqual([]);
    const calls = t.s3Calls.map(parseS3Call);
    expect(calls.length).toBeGreaterThan(0);
    expect(callProblems(calls, t.stack.config, { writes: false })).toEqual([]);
    expect(new Set(calls.map((call) => call.command))).toEqual(new Set(['GetObjectCommand', 'HeadObjectCommand']));
    expect(t.engine.count).toBe(0);
    expect(await t.listDerivatives()).toEqual(before);
  });

  it('logs one well-formed JSON line per request, whatever the path held, and keeps serving images', async () => {
    // Act
    const lines = t.logger.lines;
    const answer = await t.request(`/iiif/3/${GRID_ID}/full/96,/0/default.png`, { token });

    // Assess
    // A CR, LF or forged JSON in a path stays inside its own line's string: nothing forged.
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.filter((entry) => entry.message === 'request')).toHaveLength(corpus.length + 2);
    expect(parsed.filter((entry) => entry.message === 'forged')).toEqual([]);
    expect(answer.status).toBe(302);
    expect(t.engine.count).toBe(1);
    expect(await t.derivativeExists(`iiif/${GRID_ID}/full/96,96/0/default.png`)).toBe(true);
  });
});
