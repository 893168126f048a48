/**
 * The real functions, built as `npm run build` builds them (for this machine's architecture, so
 * they can run here), checked against template.yaml: each function's CodeUri and Handler name a
 * file in the build output that exports the handler, and each bundle loads in a fresh Node
 * process with only dist/ beside it. Until functions/{iiif,prewarm,purge}/handler.ts exist,
 * these tests fail with the missing entry point named.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildFunctions, FUNCTIONS, type FunctionName } from '../../infra/build/bundle.js';
import { loadTemplate, text } from './template.js';

const execFileAsync = promisify(execFile);
const template = loadTemplate();

let work: string;
/** Each function built on its own, so one missing entry point fails only its own tests. */
const builds = new Map<string, BuiltFunction | Error>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'recto-handlers-test-'));
  for (const [name, entry] of Object.entries(FUNCTIONS)) {
    try {
      const result = await buildFunctions({ entries: { [name]: entry }, outdir: join(work, 'dist'), architecture: process.arch === 'arm64' ? 'arm64' : 'x64' });
      builds.set(name, result.functions[0] ?? new Error(`Expected ${name} in the build result`));
    } catch (error) {
      builds.set(name, error instanceof Error ? error : new Error(String(error)));
    }
  }
}, 120_000);

function built(name: string): BuiltFunction {
  const fn = builds.get(name);
  if (fn === undefined) throw new Error(`Expected a build of ${name}`);
  if (fn instanceof Error) throw fn;
  return fn;
}

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Environment of a cold start: the local-stack style config, no network needed for the events below. */
const ENV = {
  PATH: process.env['PATH'] ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDTEST',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_LAMBDA_FUNCTION_NAME: 'recto-test',
  SOURCE_BUCKET: 'recto-sources',
  DERIVATIVE_BUCKET: 'recto-derivatives',
  // Nothing listens on port 9 (discard): a request that reached S3 would fail, not hang.
  S3_ENDPOINT: 'http://127.0.0.1:9',
  IIIF_AUTH: 'off',
};

/** Load `bundle` in a fresh node and call its handler with `event` and a Lambda-like context. */
async function invokeFresh(bundle: string, event: unknown): Promise<unknown> {
  const script = `
    const { handler } = await import(${JSON.stringify(bundle)});
    const context = {
      functionName: 'recto-test', functionVersion: '$LATEST', awsRequestId: 'test-request',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:recto-test',
      memoryLimitInMB: '2048', logGroupName: '/recto/test', logStreamName: 'test', callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 29000, done() {}, fail() {}, succeed() {},
    };
    process.stdout.write(JSON.stringify(await handler(${JSON.stringify(event)}, context)));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, env: ENV });
  // Structured logs may share stdout: the answer is the last line.
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as unknown;
}

async function exportsOf(bundle: string): Promise<Record<string, string>> {
  const script = `const m = await import(${JSON.stringify(bundle)}); process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, env: ENV });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, string>;
}

describe('the functions in template.yaml', () => {
  const functions = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
    .map(([logicalId, r]) => {
      const codeUri = text(r.Properties?.['CodeUri'], `${logicalId}.CodeUri`);
      const handler = text(r.Properties?.['Handler'] ?? template.Globals?.Function?.['Handler'], `${logicalId}.Handler`);
      return { logicalId, codeUri, handler, name: codeUri.replace(/^dist\//, '') as FunctionName };
    });

  it('are exactly the functions npm run build builds', () => {
    expect(functions.map((fn) => fn.name).sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  it.each(functions)('$logicalId has its Handler $handler in the build output under $codeUri', ({ codeUri, handler, name }) => {
    // Prepare: Lambda resolves "index.handler" to index.mjs (or .js, .cjs) in the code directory.
    const [file, exported] = handler.split('.');
    const fn = built(name);

    // Assess
    expect(fn.bundle).toBe(join(work, codeUri, `${file ?? ''}.mjs`));
    expect(existsSync(fn.bundle)).toBe(true);
    expect(fn.exports).toContain(exported);
  });

  it('carries sharp only in the functions that render: the purge bundle has none', () => {
    // Assess
    expect(Object.fromEntries(Object.keys(FUNCTIONS).map((name) => [name, built(name).usesSharp]))).toEqual({ iiif: true, prewarm: true, purge: false });
    expect(built('purge').nodeModulesBytes).toBe(0);
  });

  it('carries the JPEG 2000 decoder in the functions that decode: the purge bundle has none', () => {
    // Assess
    expect(Object.fromEntries(Object.keys(FUNCTIONS).map((name) => [name, built(name).runtimePackages]))).toEqual({
      iiif: ['@cornerstonejs/codec-openjpeg'],
      prewarm: ['@cornerstonejs/codec-openjpeg'],
      purge: [],
    });
  });

  it.each(Object.keys(FUNCTIONS))('%s loads in a fresh Node process and exports handler as a function', async (name) => {
    expect(await exportsOf(built(name).bundle)).toMatchObject({ handler: 'function' });
  });

  it('the IIIF bundle answers a CORS preflight with 204 and Access-Control-Allow-Origin: *', async () => {
    // Prepare: an HTTP API (payload 2.0) OPTIONS request, as API Gateway sends it.
    const event = {
      version: '2.0',
      routeKey: 'OPTIONS /iiif/{proxy+}',
      rawPath: '/iiif/3/sample/info.json',
      rawQueryString: '',
      headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', origin: 'https://viewer.example.org', 'access-control-request-method': 'GET' },
      requestContext: {
        accountId: '123456789012', apiId: 'abc123', domainName: 'abc123.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc123',
        http: { method: 'OPTIONS', path: '/iiif/3/sample/info.json', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
        requestId: 'test-request', routeKey: 'OPTIONS /iiif/{proxy+}', stage: '$default', time: '25/Nov/2026:08:00:00 +0000', timeEpoch: 1795593600000,
      },
      pathParameters: { proxy: '3/sample/info.json' },
      isBase64Encoded: false,
    };

    // Act
    const answer = (await invokeFresh(built('iiif').bundle, event)) as { statusCode?: number; headers?: Record<string, string> };

    // Assess
    expect(answer.statusCode).toBe(204);
    const headers = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
    expect(headers['access-control-allow-origin']).toBe('*');
  });
});
