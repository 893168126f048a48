/**
 * `npm run token -- [--scope "iiif:read iiif:render"] [--ttl 3600] [--help]`
 *
 * Mints a JWT the local stack accepts with the dev keys under `.data/keys/` (DATA_DIR, else
 * `<repo>/.data`; created when absent). The token alone goes to stdout and everything else to
 * stderr, so `TOKEN=$(npm run -s token)` works.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../../lib/config.js';
import { DEV_AUDIENCE, DEV_ISSUER, ensureDevKeys, mintDevToken, resolveDataDir } from './dev-keys.js';

const DEFAULT_SCOPE = `${DEFAULTS.IIIF_READ_SCOPE} ${DEFAULTS.IIIF_RENDER_SCOPE}`;
const DEFAULT_TTL_SECONDS = 3600;

/** How `npm run token` is invoked (-s: npm's own lines would land in $(…)); `npx recto token` passes its own words. */
const TOKEN_SCRIPT = 'npm run -s token --';

function usage(command = TOKEN_SCRIPT): string {
  return `Usage: ${command} [--scope "SCOPES"] [--ttl SECONDS]

Print a JWT that the local stack (npm start) accepts, alone on stdout:
  TOKEN=$(${command.replace(/ --$/, '')})
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/iiif/3/<id>/info.json

Options:
  --scope "SCOPES"  space-separated scopes (default "${DEFAULT_SCOPE}"; "" for none)
  --ttl SECONDS     lifetime, 1 to JWT_MAX_TOKEN_AGE_SECONDS (default ${DEFAULT_TTL_SECONDS})
  --help            this text

Keys: DATA_DIR/keys/ (default <repo>/.data/keys/), created when absent.
Claims: iss "${DEV_ISSUER}", aud "${DEV_AUDIENCE}", sub, iat, exp, scope; ES256 with the key's kid.
`;
}

/** Exit codes: 0 token printed, 1 failure, 2 bad usage. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the command writes: the process's own streams, or the staff CLI's (`npx recto token`). */
export interface TokenIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The command as the user typed it, for help and hints (default: the npm script's words). */
  readonly command?: string;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: TokenIo): Promise<number> {
  let values: { scope?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { scope: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'unreadable arguments');
  }
  if (values.help === true) {
    io.stdout.write(usage(io.command));
    return EXIT.ok;
  }
  const maxTtl = maxTokenAge(env);
  const ttlSeconds = parseTtl(values.ttl, maxTtl);
  const scopes = (values.scope ?? DEFAULT_SCOPE).split(/\s+/).filter((scope) => scope !== '');

  const dataDir = resolveDataDir(env);
  const keys = await ensureDevKeys(dataDir);
  if (keys.created) io.stderr.write(`Created dev signing keys in ${keys.keyFile}\n`);
  const token = await mintDevToken(keys, { scopes, ttlSeconds });
  io.stderr.write(`Token for ${scopes.length === 0 ? 'no scopes' : JSON.stringify(scopes.join(' '))}, valid ${ttlSeconds} s (kid ${keys.kid})\n`);
  io.stdout.write(`${token}\n`);
  return EXIT.ok;
}

/** The stack refuses tokens that live longer than its max age, so do not mint them. */
function maxTokenAge(env: NodeJS.ProcessEnv): number {
  const raw = env.JWT_MAX_TOKEN_AGE_SECONDS?.trim();
  if (raw === undefined || raw === '') return DEFAULTS.JWT_MAX_TOKEN_AGE_SECONDS;
  if (!/^\d+$/.test(raw)) throw new UsageError(`JWT_MAX_TOKEN_AGE_SECONDS: expected a whole number of seconds but received ${JSON.stringify(raw)}`);
  return Number(raw);
}

function parseTtl(raw: string | undefined, max: number): number {
  if (raw === undefined) return Math.min(DEFAULT_TTL_SECONDS, max);
  const ttl = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > max) {
    throw new UsageError(`--ttl: expected a whole number of seconds from 1 to ${max} (JWT_MAX_TOKEN_AGE_SECONDS) but received ${JSON.stringify(raw)}`);
  }
  return ttl;
}

/**
 * Run the command: `npm run token` and `npx recto token` both call this. Resolves to the exit
 * code (usage errors and failures are reported on `io.stderr`, never thrown).
 */
export async function runToken(argv: readonly string[], env: NodeJS.ProcessEnv, io: TokenIo = process): Promise<number> {
  try {
    return await main(argv, env, io);
  } catch (error) {
    const misused = error instanceof UsageError;
    io.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n${misused ? `Run \`${io.command ?? TOKEN_SCRIPT} --help\` for usage.\n` : ''}`);
    return misused ? EXIT.usage : EXIT.failure;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  void runToken(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
