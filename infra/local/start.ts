/**
 * `npm start`: the local stack on 127.0.0.1:${PORT:-3000}, embedded S3 on ${S3_PORT:-4569}, data
 * under .data/ (DATA_DIR). Honours the function's environment variables (IIIF_AUTH=off, limits,
 * …) and LOCAL_IMAGES_DIR. Ctrl-C stops everything.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import './quiet-runtime.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../lib/config.js';
import { resolveDataDir } from './dev-keys.js';
import { encodeIdentifier } from '../../lib/iiif/index.js';
import { checkSources, unreadableWarning, type SourceCheck } from './check-sources.js';
import { startLocalStack, type LocalStack } from './stack.js';
import { LOCAL_PORT, LOCAL_S3_PORT } from './local-constants.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: npm start

Runs Recto locally: the IIIF API on http://127.0.0.1:$PORT (default ${LOCAL_PORT}), an embedded S3 on
127.0.0.1:$S3_PORT (default ${LOCAL_S3_PORT}) keeping its data under $DATA_DIR (default .data/), the images
in samples/ and $LOCAL_IMAGES_DIR uploaded as sources (identifier = file name without extension).
Until it is ready it answers 503 with Retry-After. Each source is then asked for its gallery
thumbnail through the service, and those it cannot read are named on stderr with its error.
Sources stay in $DATA_DIR when LOCAL_IMAGES_DIR changes: \`npx recto remove ID…\` takes them out.
As in a deployment, a source uploaded or replaced has its derivatives purged, and a large one
that is not a tiled pyramid (or any JPEG 2000) gets its access copy built in the background.

Environment: PORT, S3_PORT, DATA_DIR, LOCAL_IMAGES_DIR, LOCAL_CORS_ORIGINS (pages elsewhere whose
scripts may read the embedded S3, comma-separated), and every variable the Lambda function
reads (IIIF_AUTH=off to run without tokens, IIIF_MAX_AREA, IIIF_DEFAULT_VERSION, …; see docs/configuration.md).
With S3_ENDPOINT set, no embedded S3 is started: that S3 is used with AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION, SOURCE_BUCKET and DERIVATIVE_BUCKET, missing buckets are
created (docs/testing.md).
`;

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(name, `expected a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The line each example command of the banner is: a `curl` with its URL in single quotes. */
function curl(options: string, url: string): string {
  // Single quotes: `!` (in !400,400) would start history expansion in an interactive bash.
  return `curl ${options}'${url}'`;
}

/** The banner `npm start` prints once it is ready. */
function banner(stack: LocalStack, token: string, checks: readonly SourceCheck[], dataDir: string): string {
  const { identifiers, uploaded, skipped } = stack.uploaded;
  const readable = checks.filter((check) => check.outcome === 'ok').map((check) => check.identifier);
  const unreadable = checks.filter((check) => check.outcome === 'unreadable').length;
  // The examples name a source the service could read (the first, alphabetically).
  const example = readable[0] ?? identifiers[0] ?? 'IDENTIFIER';
  const id = encodeIdentifier(example);
  const auth = stack.config.auth.enabled;
  const bearer = auth ? '-H "Authorization: Bearer $TOKEN" ' : '';
  return `
Recto is running at ${stack.url}/   (${stack.storage === 'embedded' ? 'embedded S3' : `S3 from S3_ENDPOINT, buckets ${stack.config.sourceBucket} and ${stack.config.derivativeBucket},`} at ${stack.s3Endpoint.href}, data in ${dataDir})
Sources: ${identifiers.join(', ') || '(none)'}  (${uploaded} uploaded, ${skipped} already there${unreadable === 0 ? '' : `; ${unreadable} cannot be read, see the warning`})
Auth: ${auth ? 'on' : 'OFF (IIIF_AUTH=off)'}
${stack.storage === 'embedded' ? '' : `Uploads to ${stack.config.sourceBucket} are not seen here: after replacing or adding a large master, run npx recto purge ID and npx recto ingest ID.\n`}${auth ? `
A token with both scopes (valid 1 hour; more with: TOKEN=$(npm run -s token)):

TOKEN=${token}
` : ''}
Try:
  ${curl(bearer, `${stack.url}/iiif/3/${id}/info.json`)}
  ${curl(`-L -D - ${bearer}-o thumbnail.jpg `, `${stack.url}/iiif/3/${id}/full/!400,400/0/default.jpg`)}
(-L follows the redirect to storage, -D - shows each answer's headers, -o keeps only the image.)

Press Ctrl-C to stop.
`;
}

/** What to say when a port is taken, or undefined when the error is something else. */
function portTakenMessage(error: unknown, ports: { readonly http: number; readonly s3: number }): string | undefined {
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') return undefined;
  const port = (error as { port?: unknown }).port;
  const which = port === ports.s3 ? 'S3_PORT, the embedded S3' : port === ports.http ? 'PORT, the IIIF API and its page' : 'PORT or S3_PORT';
  const http = (ports.http === 0 ? LOCAL_PORT : ports.http) + 1;
  const s3 = (ports.s3 === 0 ? LOCAL_S3_PORT : ports.s3) + 1;
  return `npm start: port ${typeof port === 'number' ? port : '?'} on 127.0.0.1 is already in use (${which}).
Is another \`npm start\` running? Stop it (Ctrl-C in its terminal), or start this one on other ports:
  PORT=${http} S3_PORT=${s3} npm start
`;
}

async function main(): Promise<number> {
  // EMF metrics are for CloudWatch; locally they would only bury the request log.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const imageDirs = [path.join(REPO_ROOT, 'samples')];
  if (process.env.LOCAL_IMAGES_DIR !== undefined && process.env.LOCAL_IMAGES_DIR !== '') imageDirs.push(path.resolve(process.env.LOCAL_IMAGES_DIR));
  const ports = { http: port('PORT', LOCAL_PORT), s3: port('S3_PORT', LOCAL_S3_PORT) };
  const dataDir = resolveDataDir();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: ports.http,
      s3Port: ports.s3,
      dataDir,
      env: process.env,
      imageDirs,
      // As a deployment: an upload is purged and, when large, copied (access copy) at once.
      sourceEvents: true,
      corsOrigins: (process.env.LOCAL_CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
      onListening: (url) => {
        process.stdout.write(`Starting Recto at ${url}/ (it answers 503 with Retry-After until it is ready)…\n`);
      },
    });
  } catch (error) {
    const taken = portTakenMessage(error, ports);
    if (taken === undefined) throw error;
    process.stderr.write(taken);
    return 1;
  }
  // Every source through the service, as the page will ask for it: unreadable ones are named now.
  const checks = await checkSources(stack, stack.uploaded.identifiers);
  process.stderr.write(unreadableWarning(checks, stack.uploaded.files));
  process.stdout.write(banner(stack, await stack.token(), checks, dataDir));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping…\n');
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return 0;
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
    process.exit(1);
  },
);
