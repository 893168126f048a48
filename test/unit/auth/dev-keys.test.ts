/** The local stack's dev keys and `npm run token`, checked against lib/auth itself. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../../../lib/auth/index.js';
import type { AuthConfig } from '../../../lib/config.js';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_KEY_FILE, ensureDevKeys, mintDevToken, type DevKeys } from '../../../infra/local/dev-keys.js';
import { startJwksServer, type JwksServer } from '../../support/jwt.js';
import { BASE_CONFIG } from './helpers.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MINTED_AT = new Date('2030-01-01T00:00:00Z');

let dataDir: string;
const servers: JwksServer[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'recto-dev-keys-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

/** An Authenticator configured as the local stack configures the function. */
async function localStackAuthenticator(keys: DevKeys, now: Date): Promise<Authenticator> {
  const server = await startJwksServer(keys.publicJwks.keys);
  servers.push(server);
  const config: AuthConfig = { ...BASE_CONFIG, jwksUrl: server.url, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
  return new Authenticator(config, { currentDate: () => now });
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run -s token -- ...args` with DATA_DIR pointing at the test's directory. */
function runToken(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'token', '--', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, DATA_DIR: dataDir, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('ensureDevKeys', () => {
  it('creates an ES256 key pair with a kid, the private JWK readable by its owner only', async () => {
    // Act
    const keys = await ensureDevKeys(dataDir);

    // Assess
    const file = path.join(dataDir, DEV_KEY_FILE);
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(keys.created).toBe(true);
    expect(keys.keyFile).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Object.keys(stored).sort()).toEqual(['alg', 'crv', 'd', 'kid', 'kty', 'use', 'x', 'y']);
    expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: keys.kid });
    expect(keys.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys.publicJwks).toEqual({
      keys: [{ kty: 'EC', crv: 'P-256', x: stored.x, y: stored.y, kid: keys.kid, alg: 'ES256', use: 'sig' }],
    });
    expect([keys.issuer, keys.audience]).toEqual(['recto-local', 'recto']);
  });

  it('reuses the key pair on later starts', async () => {
    // Prepare
    const first = await ensureDevKeys(dataDir);
    const before = await readFile(first.keyFile, 'utf8');

    // Act
    const second = await ensureDevKeys(dataDir);

    // Assess
    expect(second.created).toBe(false);
    expect(second.kid).toBe(first.kid);
    expect(second.publicJwks).toEqual(first.publicJwks);
    expect(await readFile(second.keyFile, 'utf8')).toBe(before);
  });

  it('gives processes starting at the same moment one and the same key', async () => {
    // Act
    const all = await Promise.all(Array.from({ length: 6 }, () => ensureDevKeys(dataDir)));

    // Assess
    expect(new Set(all.map((keys) => keys.kid)).size).toBe(1);
    expect(all.filter((keys) => keys.created)).toHaveLength(1);
  });

  it('refuses a key file that holds something else, naming the file', async () => {
    // Prepare
    const keys = await ensureDevKeys(dataDir);
    await writeFile(keys.keyFile, JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }));

    // Act
    const attempt = ensureDevKeys(dataDir);

    // Assess
    await expect(attempt).rejects.toThrow(`Expected an ES256 private JWK with a kid in ${keys.keyFile} but it holds something else; delete the file to generate a new key pair`);
  });
});

describe('mintDevToken', () => {
  it('mints a token the local stack configuration accepts, with the requested scopes and lifetime', async () => {
    // Prepare
    const keys = await ensureDevKeys(dataDir);
    const auth = await localStackAuthenticator(keys, MINTED_AT);

    // Act
    const token = await mintDevToken(keys, { scopes: ['iiif:read', 'iiif:render'], ttlSeconds: 600, now: MINTED_AT });
    const principal = await auth.authenticate(`Bearer ${token}`);

    // Assess
    const claims = decodeJwt(token);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: keys.kid, typ: 'JWT' });
    expect(claims).toEqual({
      scope: 'iiif:read iiif:render',
      iss: 'recto-local',
      aud: 'recto',
      sub: 'recto-local-developer',
      iat: MINTED_AT.getTime() / 1000,
      exp: MINTED_AT.getTime() / 1000 + 600,
    });
    expect([...principal.scopes].sort()).toEqual(['iiif:read', 'iiif:render']);
    expect(auth.can(principal, 'render')).toBe(true);
  });

  it('refuses a zero ttl and a scope with a space in it', async () => {
    // Prepare
    const keys = await ensureDevKeys(dataDir);

    // Act
    const zero = mintDevToken(keys, { scopes: [], ttlSeconds: 0 });
    const spaced = mintDevToken(keys, { scopes: ['iiif:read iiif:render'], ttlSeconds: 60 });

    // Assess
    await expect(zero).rejects.toThrow('Expected a whole number of seconds ≥ 1 for ttlSeconds but received 0');
    await expect(spaced).rejects.toThrow('Expected scope names without spaces for scopes but received "iiif:read iiif:render"');
  });
});

describe('npm run token', () => {
  it('prints only a token on stdout, which verifies against the dev JWKS, and creates the keys when absent', async () => {
    // Act
    const run = await runToken([]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    expect(run.stderr).toContain(`Created dev signing keys in ${path.join(dataDir, DEV_KEY_FILE)}`);
    const token = run.stdout.trim();
    const keys = await ensureDevKeys(dataDir);
    const issuedAt = new Date((decodeJwt(token).iat ?? 0) * 1000);
    const principal = await (await localStackAuthenticator(keys, issuedAt)).authenticate(`Bearer ${token}`);
    expect(keys.created).toBe(false);
    expect([...principal.scopes].sort()).toEqual(['iiif:read', 'iiif:render']);
    expect((decodeJwt(token).exp ?? 0) - (decodeJwt(token).iat ?? 0)).toBe(3600);
  });

  it('honours --scope and --ttl, and reuses existing keys', async () => {
    // Prepare
    const keys = await ensureDevKeys(dataDir);

    // Act
    const run = await runToken(['--scope', 'iiif:read', '--ttl', '120']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('Created dev signing keys');
    const token = run.stdout.trim();
    const claims = decodeJwt(token);
    expect(decodeProtectedHeader(token).kid).toBe(keys.kid);
    expect(claims.scope).toBe('iiif:read');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    const auth = await localStackAuthenticator(keys, new Date((claims.iat ?? 0) * 1000));
    expect(auth.can(await auth.authenticate(`Bearer ${token}`), 'render')).toBe(false);
  });

  it('refuses a ttl longer than the max token age with exit code 2 and nothing on stdout', async () => {
    // Act
    const run = await runToken(['--ttl', '90000']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('token: --ttl: expected a whole number of seconds from 1 to 86400 (JWT_MAX_TOKEN_AGE_SECONDS) but received "90000"\nRun `npm run -s token -- --help` for usage.\n');
  });

  it('prints its usage for --help and mints nothing', async () => {
    // Act
    const run = await runToken(['--help']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('Usage: npm run -s token -- [--scope "SCOPES"] [--ttl SECONDS]');
    expect(run.stderr).toBe('');
    await expect(stat(path.join(dataDir, DEV_KEY_FILE))).rejects.toThrow(/ENOENT/);
  });
});
