/**
 * The environment a storage-touching script (prewarm, purge, invoke, the recto CLI) runs with:
 * the caller's own S3/AWS settings when it gives any, else the local stack's (the same PORT,
 * S3_PORT and .data/ as `npm start`), so these scripts work against a running `npm start` with
 * no flags.
 */
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
