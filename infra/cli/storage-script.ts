/**
 * What the storage scripts (prewarm, purge, remove, ingest) do around their work: build the
 * services from the environment (the local stack's unless S3 or AWS settings are given), say so
 * when the local stack is down, read the identifiers they are given, turn a configuration error
 * into a usage error, and let go of the S3 client's sockets when done.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError, loadConfig, type Config } from '../../lib/config.js';
import { createServices, type ServiceOverrides, type Services } from '../../lib/entry/wiring.js';
import { localStackUnreachable, scriptEnvironment } from '../local/script-env.js';
import { helpHint, parseOrExit } from './script.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

type Env = Readonly<Record<string, string | undefined>>;

export interface CliStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stdin?: NodeJS.ReadableStream;
  /**
   * The command as the user typed it, for help and hints: `npx recto prewarm`; the npm script's
   * own words (`npm run prewarm --`) when absent.
   */
  readonly command?: string;
}

/** The configuration and S3 client a storage script uses (the local stack's unless told otherwise). */
export function scriptServices(env: Env, overrides: ServiceOverrides = {}): Services {
  const script = scriptEnvironment(env);
  // These scripts authenticate nobody: the JWT settings the function needs do not apply.
  const config: Config = loadConfig({ ...script.env, IIIF_AUTH: 'off' });
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = script.env;
  const region = script.env.AWS_REGION ?? script.env.AWS_DEFAULT_REGION;
  return createServices(config, {
    deferral: 'never',
    // Powertools would print JSON lines on stdout, where the summary goes.
    logger: new Logger({ serviceName: 'recto-cli', logLevel: 'ERROR' }),
    // From the given environment (not necessarily this process's): the local stack's keys.
    ...(region === undefined ? {} : { region }),
    ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) } }),
    ...overrides,
  });
}

export interface ScriptRun {
  readonly env: Env;
  readonly io: CliStreams;
  /** Given services (tests): no local-stack check, and their S3 client is left open. */
  readonly overrides?: ServiceOverrides | undefined;
  /** False when the work needs no storage of the local stack (sending given identifiers to a queue). */
  readonly needsLocalStack?: boolean;
  /** Errors besides ConfigError that mean the user asked for something that cannot be (exit 2). */
  readonly isUsageError?: (error: unknown) => boolean;
}

/** Run `work` with the script's services; returns its exit status, or the one its setup ended with. */
export async function withScriptServices(run: ScriptRun, work: (services: Services) => Promise<number>): Promise<number> {
  const { env, io, overrides } = run;
  const given = overrides?.s3 !== undefined;
  // The local stack down is not a storage outage to retry: say so, and how to start it.
  const down = given || run.needsLocalStack === false ? undefined : await localStackUnreachable(env);
  if (down !== undefined) {
    io.stderr.write(`${down}\n`);
    return EXIT.failure;
  }
  let services: Services | undefined;
  try {
    services = scriptServices(env, overrides);
    return await work(services);
  } catch (error) {
    if (error instanceof ConfigError || run.isUsageError?.(error) === true) {
      io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.usage;
    }
    throw error;
  } finally {
    // Idle keep-alive sockets would hold the process open for seconds after the summary.
    if (!given) services?.s3.destroy();
  }
}

/** Identifiers from arguments or a file, each once, in order. */
export async function* identifiersFrom(positionals: readonly string[], file: string | undefined, stdin?: NodeJS.ReadableStream): AsyncGenerator<string> {
  const seen = new Set<string>();
  for (const identifier of positionals) {
    if (seen.has(identifier)) continue;
    seen.add(identifier);
    yield identifier;
  }
  if (file === undefined) return;
  const input = file === '-' ? (stdin ?? process.stdin) : createReadStream(path.resolve(file), 'utf8');
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const identifier = line.trim();
    if (identifier === '' || identifier.startsWith('#') || seen.has(identifier)) continue;
    seen.add(identifier);
    yield identifier;
  }
}

/** `IDENTIFIER… [--file PATH] [--dry-run]`, as purge and remove read them. */
export interface IdentifierArgs {
  readonly identifiers: readonly string[];
  readonly file: string | undefined;
  readonly dryRun: boolean;
}

/** The identifier arguments, or the exit status to return now (--help, a bad option, none given). */
export function parseIdentifierArgs(argv: readonly string[], io: CliStreams & { readonly command: string }, usage: (command: string) => string): IdentifierArgs | number {
  const parsed = parseOrExit(() => parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, file: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  }), io, usage);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length === 0 && values.file === undefined) {
    io.stderr.write(`Give identifiers or --file PATH\n${helpHint(io.command)}\n`);
    return EXIT.usage;
  }
  return { identifiers: positionals, file: values.file, dryRun: values['dry-run'] === true };
}
