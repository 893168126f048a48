/**
 * `npm run invoke -- events/NAME.json [--function iiif|prewarm|purge] [--timeout SECONDS]`
 *
 * Runs a function's handler on an event file in this process, as `sam local invoke` would: the
 * function's logs go to stderr, its response alone to stdout. Storage is the local stack's (a
 * running `npm start`) unless S3 or AWS settings are in the environment, in which case it is
 * theirs. `${TOKEN}` in an event is replaced by $TOKEN, else by a fresh local dev token.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { DEFAULTS } from '../../lib/config.js';
import { ensureDevKeys, mintDevToken, resolveDataDir } from '../local/dev-keys.js';
import { localStackUnreachable, scriptEnvironment } from '../local/script-env.js';
import { runAsScript } from './script.js';

export const FUNCTIONS = ['iiif', 'prewarm', 'purge'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

const USAGE = `Usage: npm run invoke -- EVENT.json [--function iiif|prewarm|purge] [--timeout SECONDS]

Runs a Recto function on an event, as \`sam local invoke\` does, and prints its response.
The function is chosen from the event's shape unless --function says:
  API Gateway (HTTP API 2.0 or REST 1.0) → iiif; SQS or S3 Batch Operations → prewarm;
  S3 ObjectCreated/ObjectRemoved → purge.
Storage: the local stack (npm start: PORT, S3_PORT, DATA_DIR) unless S3_ENDPOINT, SOURCE_BUCKET,
DERIVATIVE_BUCKET or AWS credentials are set in the environment.
"\${TOKEN}" in the event becomes $TOKEN, or a local dev token with both scopes.

Options:
  --function NAME   iiif, prewarm or purge
  --timeout SECONDS the invocation's time limit (default 30)
  --help            this text
`;

/** Which function an event is for, from its shape. */
export function functionFor(event: unknown): FunctionName | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const shape = event as { requestContext?: unknown; httpMethod?: unknown; Records?: unknown; invocationSchemaVersion?: unknown };
  if (shape.requestContext !== undefined || shape.httpMethod !== undefined) return 'iiif';
  if (shape.invocationSchemaVersion !== undefined) return 'prewarm';
  if (Array.isArray(shape.Records)) {
    const source = (shape.Records[0] as { eventSource?: unknown } | undefined)?.eventSource;
    if (source === 'aws:sqs') return 'prewarm';
    if (source === 'aws:s3') return 'purge';
  }
  return undefined;
}

function lambdaContext(name: FunctionName, timeoutMs: number): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `recto-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:recto-${name}`,
    memoryLimitInMB: '2048',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/recto-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    // The Context type still declares the callback-era methods; handlers here never call them.
    /* eslint-disable @typescript-eslint/no-deprecated */
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    /* eslint-enable @typescript-eslint/no-deprecated */
  };
}

async function tokenFor(env: Readonly<Record<string, string | undefined>>, local: boolean): Promise<string> {
  const given = env.TOKEN ?? env.RECTO_TOKEN;
  if (given !== undefined && given !== '') return given;
  if (!local) throw new Error('The event contains ${TOKEN}: set TOKEN (or RECTO_TOKEN) to a token your deployment accepts');
  const keys = await ensureDevKeys(resolveDataDir(env));
  return mintDevToken(keys, { scopes: [DEFAULTS.IIIF_READ_SCOPE, DEFAULTS.IIIF_RENDER_SCOPE], ttlSeconds: 600 });
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

async function loadHandler(name: FunctionName): Promise<Handler> {
  const module = (await import(`../../functions/${name}/handler.js`)) as { handler: Handler };
  return module.handler;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { function: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [file] = positionals;
  if (file === undefined || positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const timeoutSeconds = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 900) {
    process.stderr.write(`--timeout: expected whole seconds from 1 to 900, got ${JSON.stringify(values.timeout)}\n`);
    return 2;
  }
  const down = await localStackUnreachable(process.env);
  if (down !== undefined) {
    process.stderr.write(`${down}\n`);
    return 1;
  }
  const { env, local } = scriptEnvironment(process.env);
  let text = await readFile(path.resolve(file), 'utf8');
  if (text.includes('${TOKEN}')) text = text.replaceAll('${TOKEN}', await tokenFor(env, local));
  const event = JSON.parse(text) as unknown;
  const chosen = values.function ?? functionFor(event);
  if (chosen === undefined || !(FUNCTIONS as readonly string[]).includes(chosen)) {
    process.stderr.write(`Cannot tell which function ${file} is for: pass --function ${FUNCTIONS.join('|')}\n`);
    return 2;
  }
  const name = chosen as FunctionName;
  // The handlers read their configuration from process.env at their cold start, as on Lambda.
  Object.assign(process.env, env);
  const handler = await loadHandler(name);
  const result = await withStdoutToStderr(() => handler(event, lambdaContext(name, timeoutSeconds * 1000)));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

/** Like `sam local invoke`: what the function logs goes to stderr, so stdout is the response alone. */
async function withStdoutToStderr<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr);
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}

runAsScript(import.meta.filename, main, { metrics: true });
