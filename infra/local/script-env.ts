/**
 * The environment a storage-touching script (prewarm, purge, invoke, the recto CLI) runs with:
 * the caller's own S3/AWS settings when it gives any, else the local stack's (the same PORT,
 * S3_PORT and .data/ as `npm start`), so these scripts work against a running `npm start` with
 * no flags.
 */
import { connect } from 'node:net';
import path from 'node:path';
import { resolveDataDir, DEV_AUDIENCE, DEV_ISSUER } from './dev-keys.js';
import { LOCAL_DERIVATIVE_BUCKET, LOCAL_PORT, LOCAL_S3_PORT, LOCAL_SOURCE_BUCKET, localS3Environment } from './local-constants.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Variables that say "I am talking to real AWS (or my own S3), not the local stack". */
const REMOTE_SIGNALS = ['S3_ENDPOINT', 'SOURCE_BUCKET', 'DERIVATIVE_BUCKET', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE'] as const;

export interface ScriptEnvironment {
  /** The function environment to load the configuration from. */
  readonly env: Env;
  /** True when it points at the local stack. */
  readonly local: boolean;
}

/** Fill the environment with the local stack's settings unless the caller chose its own storage. */
export function scriptEnvironment(env: Env = process.env): ScriptEnvironment {
  if (REMOTE_SIGNALS.some((name) => (env[name] ?? '') !== '')) return { env, local: false };
  const port = env.PORT !== undefined && env.PORT !== '' ? env.PORT : String(LOCAL_PORT);
  const s3Port = env.S3_PORT !== undefined && env.S3_PORT !== '' ? env.S3_PORT : String(LOCAL_S3_PORT);
  const dataDir = resolveDataDir(env);
  return {
    local: true,
    env: {
      ...env,
      SOURCE_BUCKET: LOCAL_SOURCE_BUCKET,
      DERIVATIVE_BUCKET: LOCAL_DERIVATIVE_BUCKET,
      ...localS3Environment(new URL(`http://127.0.0.1:${s3Port}`)),
      SOURCE_CACHE_DIR: env.SOURCE_CACHE_DIR ?? path.join(dataDir, 'cache'),
      JWT_JWKS_URL: env.JWT_JWKS_URL ?? `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: env.JWT_ISSUER ?? DEV_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE ?? DEV_AUDIENCE,
    },
  };
}

/** How long a port of the local stack gets to accept a connection before it counts as down. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Why a script that targets the local stack cannot reach it, or undefined when it can (or when
 * the environment names other storage: then the storage's own errors speak). Both of `npm
 * start`'s ports are tried, the embedded S3 (S3_PORT) and the API with its JWKS (PORT), so the
 * script says "not running, start it" instead of a storage error that says "try again later".
 */
export async function localStackUnreachable(env: Env = process.env): Promise<string | undefined> {
  if (!scriptEnvironment(env).local) return undefined;
  const ports = [
    { name: 'S3_PORT', what: 'its embedded S3', port: Number(env.S3_PORT !== undefined && env.S3_PORT !== '' ? env.S3_PORT : LOCAL_S3_PORT) },
    { name: 'PORT', what: 'its API and keys', port: Number(env.PORT !== undefined && env.PORT !== '' ? env.PORT : LOCAL_PORT) },
  ];
  for (const { name, what, port } of ports) {
    if (await accepts(port)) continue;
    return `The local stack is not running: nothing answers on 127.0.0.1:${port} (${name}, ${what}).
Start it in another terminal with \`npm start\` (with the same PORT, S3_PORT and DATA_DIR as here), then run this again.
To use other storage instead, set S3_ENDPOINT or AWS credentials, SOURCE_BUCKET and DERIVATIVE_BUCKET.`;
  }
  return undefined;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: PROBE_TIMEOUT_MS });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      done(true);
    });
    socket.once('timeout', () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
