/**
 * Signing keys for the local stack: one ES256 key pair kept under `.data/keys/`, created on the
 * first start and reused afterwards, so tokens minted by `npm run token` keep working across
 * restarts of `npm start`. The stack serves the public half at `/.well-known/jwks.json`.
 *
 * These keys only ever sign tokens for a stack on 127.0.0.1; they are not secrets worth a
 * vault, but the private key file is still written 0600.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';

/** The `iss` of dev tokens; the local stack sets JWT_ISSUER to it. */
export const DEV_ISSUER = 'recto-local';
/** The `aud` of dev tokens; the local stack sets JWT_AUDIENCE to it. */
export const DEV_AUDIENCE = 'recto';
/** The `sub` of dev tokens, so logs show where a request's token came from. */
export const DEV_SUBJECT = 'recto-local-developer';
export const DEV_ALGORITHM = 'ES256';
/** The private JWK, relative to the data directory. */
export const DEV_KEY_FILE = path.join('keys', 'dev-signing-key.jwk.json');

/** The repository root, two levels above this file (infra/local/). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `DATA_DIR` when set, else `<repo>/.data`: the directory the local stack keeps its state in. */
export function resolveDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.DATA_DIR?.trim();
  return configured === undefined || configured === '' ? path.join(REPO_ROOT, '.data') : path.resolve(configured);
}

export interface DevKeys {
  readonly privateKey: CryptoKey;
  /** The JWKS the local stack serves: the public key with its kid, alg and use. */
  readonly publicJwks: JSONWebKeySet;
  readonly kid: string;
  readonly issuer: typeof DEV_ISSUER;
  readonly audience: typeof DEV_AUDIENCE;
  /** Where the private JWK lives. */
  readonly keyFile: string;
  /** True when this call generated the pair (first start), false when it reused one. */
  readonly created: boolean;
}

/**
 * The dev key pair under `${dataDir}/keys/`, created on first use and reused afterwards.
 * Safe to call from two processes at once (`npm start` and `npm run token`): the file appears
 * atomically, and the loser of the race reads the winner's key.
 *
 * @throws Error naming the file when it exists but does not hold an ES256 private JWK.
 */
export async function ensureDevKeys(dataDir: string): Promise<DevKeys> {
  const keyFile = path.join(dataDir, DEV_KEY_FILE);
  let created = false;
  let jwk = await readKeyFile(keyFile);
  if (jwk === undefined) {
    created = await createKeyFile(keyFile);
    jwk = await readKeyFile(keyFile);
    if (jwk === undefined) throw new Error(`Expected ${keyFile} to exist after creating it, but it is gone`);
  }
  return loadKeys(jwk, keyFile, created);
}

export interface MintOptions {
  /** Scope names, each without spaces; joined into the `scope` claim. Empty: no scope claim. */
  readonly scopes: readonly string[];
  /** Seconds until `exp`, a whole number ≥ 1. */
  readonly ttlSeconds: number;
  /** `iat` (and the base of `exp`); default now. */
  readonly now?: Date;
}

/**
 * A token the local stack accepts: ES256, `kid` of the dev key, `iss` recto-local, `aud` recto,
 * `sub`, `iat`, `exp` and the `scope` claim.
 *
 * @throws RangeError for a ttl that is not a whole number ≥ 1 or a scope containing spaces.
 */
export async function mintDevToken(keys: DevKeys, options: MintOptions): Promise<string> {
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
    throw new RangeError(`Expected a whole number of seconds ≥ 1 for ttlSeconds but received ${JSON.stringify(options.ttlSeconds)}`);
  }
  const bad = options.scopes.find((scope) => scope === '' || /\s/.test(scope));
  if (bad !== undefined) throw new RangeError(`Expected scope names without spaces for scopes but received ${JSON.stringify(bad)}`);
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT(options.scopes.length === 0 ? {} : { scope: options.scopes.join(' ') })
    .setProtectedHeader({ alg: DEV_ALGORITHM, kid: keys.kid, typ: 'JWT' })
    .setIssuer(keys.issuer)
    .setAudience(keys.audience)
    .setSubject(DEV_SUBJECT)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSeconds)
    .sign(keys.privateKey);
}

// ---- files -------------------------------------------------------------------------------

async function readKeyFile(keyFile: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as JWK;
  } catch {
    throw new Error(`Expected a JWK (JSON) in ${keyFile} but it is not valid JSON; delete the file to generate a new key pair`);
  }
}

/** Write a new private JWK, atomically and only if none exists. Returns false if another process won. */
async function createKeyFile(keyFile: string): Promise<boolean> {
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(DEV_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  // The thumbprint (RFC 7638) of the public half: stable, and a new pair gets a new kid.
  const kid = await calculateJwkThumbprint(publicPart(jwk));
  const content = `${JSON.stringify({ ...jwk, kid, alg: DEV_ALGORITHM, use: 'sig' }, null, 2)}\n`;
  // Write a private temporary file, then link it into place: link() fails if the target
  // exists, so two processes starting at once never overwrite each other's key, and nobody
  // ever reads a half-written file.
  const temporary = `${keyFile}.${randomUUID()}.tmp`;
  await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, keyFile);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlink(temporary);
  }
}

async function loadKeys(jwk: JWK, keyFile: string, created: boolean): Promise<DevKeys> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new Error(`Expected an ES256 private JWK with a kid in ${keyFile} but it holds something else; delete the file to generate a new key pair`);
  }
  const privateKey = await importJWK(jwk, DEV_ALGORITHM);
  if (privateKey instanceof Uint8Array) throw new Error(`Expected an EC key in ${keyFile} but it imported as a secret`);
  const publicJwk: JWK = { ...publicPart(jwk), kid: jwk.kid, alg: DEV_ALGORITHM, use: 'sig' };
  return {
    privateKey,
    publicJwks: { keys: [publicJwk] },
    kid: jwk.kid,
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    keyFile,
    created,
  };
}

/** The public members of an EC JWK: never let `d` into the JWKS. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { ...definedOnly({ kty, crv, x, y }) };
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
