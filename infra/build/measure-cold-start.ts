/**
 * `npx tsx infra/build/measure-cold-start.ts [--runs 20] [--entry FILE]`
 *
 * Measures what the AWS SDK packaging choice costs at cold start: the probe (or `--entry`) is
 * bundled twice, once with the SDK compiled in and once importing it from node_modules (as it
 * would import the Lambda runtime's copy), and each bundle is loaded in a fresh `node` process
 * many times. Each process reports the time to import the bundle and the time of its first
 * call (a HEAD against a local HTTP server standing in for S3, and a presign). A third variant
 * runs the bundled build with --enable-source-maps to price that flag. Medians are printed.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../../bench/section.js';
import { buildFunctions, REPO_ROOT } from './bundle.js';

interface Sample {
  readonly status?: number;
  readonly importMs: number;
  readonly firstCallMs: number;
  /** From process start (performance.timeOrigin) to the end of the first call. */
  readonly totalMs: number;
}

const CHILD = `
const started = performance.now();
const module = await import(process.argv[2]);
const imported = performance.now();
const answer = await module.handler(JSON.parse(process.argv[3]), { awsRequestId: 'measure', functionName: 'measure', getRemainingTimeInMillis: () => 29000 });
const called = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: imported - started, firstCallMs: called - imported, totalMs: called, status: answer?.statusCode ?? answer?.status }));
`;

/** A first request as API Gateway sends it: info.json, which a real handler looks up in S3. */
const EVENT = {
  version: '2.0',
  routeKey: 'GET /iiif/{proxy+}',
  rawPath: '/iiif/3/sample/info.json',
  rawQueryString: '',
  headers: { host: 'measure.execute-api.us-east-1.amazonaws.com' },
  requestContext: {
    accountId: '123456789012', apiId: 'measure', domainName: 'measure.execute-api.us-east-1.amazonaws.com', domainPrefix: 'measure',
    http: { method: 'GET', path: '/iiif/3/sample/info.json', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'measure' },
    requestId: 'measure', routeKey: 'GET /iiif/{proxy+}', stage: '$default', time: '25/Nov/2026:08:00:00 +0000', timeEpoch: 1795593600000,
  },
  pathParameters: { proxy: '3/sample/info.json' },
  isBase64Encoded: false,
};

function runOnce(bundle: string, endpoint: string, nodeArgs: readonly string[], childFile: string): Promise<Sample> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, childFile, bundle, JSON.stringify(EVENT)], {
      env: {
        PATH: process.env['PATH'] ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDPROBE',
        AWS_SECRET_ACCESS_KEY: 'probe-secret',
        S3_ENDPOINT: endpoint,
        // What a real handler's configuration needs; S3 here is the local stand-in (404s).
        SOURCE_BUCKET: 'sources',
        DERIVATIVE_BUCKET: 'derivatives',
        IIIF_AUTH: 'off',
        // The SDK's Node 20 end-of-support notice is noise here; Lambda runs Node 22.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`Expected exit code 0 from the probe but received ${String(code)}: ${err}`));
      else resolvePromise(JSON.parse(out.trim().split('\n').at(-1) ?? '') as Sample);
    });
  });
}


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      entry: { type: 'string', default: 'infra/build/cold-start-probe.ts' },
    },
  });
  const runs = Number(values.runs);
  // The external build must sit under the repository so that its imports resolve from
  // node_modules, as the runtime's would from /var/runtime.
  const work = await mkdtemp(join(REPO_ROOT, 'node_modules', '.cache', 'recto-measure-'));
  const server = createServer((request, response) => {
    response.writeHead(request.method === 'HEAD' ? 404 : 400, { 'content-type': 'application/xml' }).end();
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const childFile = join(work, 'child.mjs');
    await writeFile(childFile, CHILD);
    const entries = { probe: values.entry };
    const bundled = await buildFunctions({ entries, outdir: join(work, 'bundle'), awsSdk: 'bundle', architecture: 'x64' });
    const external = await buildFunctions({ entries, outdir: join(work, 'external'), awsSdk: 'external', architecture: 'x64' });
    const variants = [
      { name: 'SDK bundled', bundle: join(work, 'bundle', 'probe', 'index.mjs'), bytes: bundled.functions[0]?.bundleBytes ?? 0, nodeArgs: [] },
      { name: 'SDK from node_modules', bundle: join(work, 'external', 'probe', 'index.mjs'), bytes: external.functions[0]?.bundleBytes ?? 0, nodeArgs: [] },
      { name: 'SDK bundled, --enable-source-maps', bundle: join(work, 'bundle', 'probe', 'index.mjs'), bytes: bundled.functions[0]?.bundleBytes ?? 0, nodeArgs: ['--enable-source-maps'] },
    ] as const;
    const samples = new Map<string, Sample[]>(variants.map((variant) => [variant.name, []]));
    // Warm the page cache once, then interleave the variants so drift hits them all alike.
    for (const variant of variants) await runOnce(variant.bundle, endpoint, variant.nodeArgs, childFile);
    for (let run = 0; run < runs; run += 1) {
      for (const variant of variants) samples.get(variant.name)?.push(await runOnce(variant.bundle, endpoint, variant.nodeArgs, childFile));
    }
    console.log(`node ${process.version} ${process.arch}, ${runs} fresh processes per variant, medians:`);
    console.log(`entry ${values.entry}; first call answered ${String(samples.get(variants[0].name)?.[0]?.status ?? 'no status')}`);
    console.log('variant                              bundle      import   first call   process start to first answer');
    for (const variant of variants) {
      const list = samples.get(variant.name) ?? [];
      console.log(
        `${variant.name.padEnd(36)} ${`${(variant.bytes / 1024).toFixed(0)} KiB`.padStart(8)}  ${median(list.map((s) => s.importMs)).toFixed(1).padStart(6)} ms  ${median(list.map((s) => s.firstCallMs)).toFixed(1).padStart(8)} ms  ${median(list.map((s) => s.totalMs)).toFixed(1).padStart(8)} ms`,
      );
    }
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
