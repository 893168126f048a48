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
import { startLocalStack } from './stack.js';
import { LOCAL_PORT, LOCAL_S3_PORT } from './local-constants.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: npm start

Runs Recto locally: the IIIF API on http://127.0.0.1:$PORT (default ${LOCAL_PORT}), an embedded S3 on
127.0.0.1:$S3_PORT (default ${LOCAL_S3_PORT}) keeping its data under $DATA_DIR (default .data/), the images
in samples/ and $LOCAL_IMAGES_DIR uploaded as sources (identifier = file name without extension).

Environment: PORT, S3_PORT, DATA_DIR, LOCAL_IMAGES_DIR, and every variable the Lambda function
reads (IIIF_AUTH=off to run without tokens, IIIF_MAX_AREA, IIIF_DEFAULT_VERSION, …; see docs/configuration.md).
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

async function main(): Promise<void> {
  // EMF metrics are for CloudWatch; locally they would only bury the request log.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  const imageDirs = [path.join(REPO_ROOT, 'samples')];
  if (process.env.LOCAL_IMAGES_DIR !== undefined && process.env.LOCAL_IMAGES_DIR !== '') imageDirs.push(path.resolve(process.env.LOCAL_IMAGES_DIR));
  const stack = await startLocalStack({
    port: port('PORT', LOCAL_PORT),
    s3Port: port('S3_PORT', LOCAL_S3_PORT),
    dataDir: resolveDataDir(),
    env: process.env,
    imageDirs,
  });
  const token = await stack.token();
  const first = stack.uploaded.identifiers[0] ?? 'IDENTIFIER';
  const auth = stack.config.auth.enabled;
  process.stdout.write(`
Recto is running at ${stack.url}/   (embedded S3 at ${stack.s3Endpoint.href}, data in ${resolveDataDir()})
Sources: ${stack.uploaded.identifiers.join(', ') || '(none)'}  (${stack.uploaded.uploaded} uploaded, ${stack.uploaded.skipped} already there)
Auth: ${auth ? 'on' : 'OFF (IIIF_AUTH=off)'}
${auth ? `
A token with both scopes (valid 1 hour; more with: TOKEN=$(npm run -s token)):

TOKEN=${token}
` : ''}
Try:
  curl -i ${auth ? '-H "Authorization: Bearer $TOKEN" ' : ''}${stack.url}/iiif/3/${first}/info.json
  curl -iL ${auth ? '-H "Authorization: Bearer $TOKEN" ' : ''}${stack.url}/iiif/3/${first}/full/!400,400/0/default.jpg -o thumbnail.jpg

Press Ctrl-C to stop.
`);
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
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
});
