/**
 * `npm run purge -- ID… [--file F] [--dry-run]`: delete identifiers' derivatives and source
 * records (what the purge function does when a source changes). `npx recto purge` runs this
 * same main().
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import { NotFoundError, RectoError } from '../../lib/errors.js';
import type { ServiceOverrides, Services } from '../../lib/entry/wiring.js';
import { purgeIdentifier, purgePrefixes } from '../../lib/service/purge.js';
import { runAsScript } from './script.js';
import { EXIT, identifiersFrom, parseIdentifierArgs, withScriptServices, type CliStreams } from './storage-script.js';

/** How `npm run purge` is invoked; `npx recto purge` passes its own words. */
export const PURGE_SCRIPT = 'npm run purge --';

export function usage(command = PURGE_SCRIPT): string {
  return `Usage: ${command} IDENTIFIER… [options]

Deletes every derivative of each identifier, and its source record, from the derivative bucket
(everything under its prefix, page by page). Sources are not touched. The next request, or a
pre-warm, renders from the source as it is now. An identifier with no source and nothing stored
is reported as unknown (a typo, or an encoded ms%2F0001 for ms/0001).

  IDENTIFIER…      identifiers (decoded: ms/0001, not ms%2F0001)
  --file PATH      one identifier per line (# comments, blank lines skipped; - for stdin)
  --dry-run        count what would be deleted; delete nothing
  -h, --help       this text

Storage: the local stack (npm start) unless S3_ENDPOINT, SOURCE_BUCKET, DERIVATIVE_BUCKET or AWS
credentials are set (with DERIVATIVE_PREFIX as the deployment has it).
Exit status: 0 done, 1 a deletion failed or an identifier is unknown, 2 bad usage.
`;
}

export const USAGE = usage();

type Env = Readonly<Record<string, string | undefined>>;

/** What purging one identifier found. */
export interface PurgeResult {
  /** Objects deleted (or, in a dry run, that would be). */
  readonly count: number;
  /** True when the identifier has no source and nothing was stored for it. */
  readonly unknown: boolean;
}

/**
 * Purge one identifier (or list what would go, with `dryRun`, each key on `io.stdout`).
 * @throws RectoError from storage.
 */
export async function purgeOne(services: Services, identifier: string, dryRun: boolean, io: Pick<CliStreams, 'stdout'>): Promise<PurgeResult> {
  const { derivatives, config, records } = services;
  let count = 0;
  if (dryRun) {
    for (const prefix of purgePrefixes(identifier, config.derivativePrefix)) {
      for await (const object of derivatives.list(prefix)) {
        count += 1;
        io.stdout.write(`${object.key}\n`);
      }
    }
  } else {
    count = await purgeIdentifier({ derivatives, prefix: config.derivativePrefix, records }, identifier);
  }
  return { count, unknown: count === 0 && !(await sourceExists(services, identifier)) };
}

/** Whether the source bucket holds the identifier's source. */
export async function sourceExists(services: Services, identifier: string): Promise<boolean> {
  try {
    await services.sources.head(identifier);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** The line for an identifier nobody knows. */
export function unknownIdentifier(identifier: string): string {
  return `${identifier}: unknown identifier: there is no source ${JSON.stringify(identifier)} and nothing stored for it (identifiers are decoded: ms/0001, not ms%2F0001)`;
}

export async function main(argv: readonly string[], env: Env = process.env, io: CliStreams = process, overrides: { readonly services?: ServiceOverrides } = {}): Promise<number> {
  const command = io.command ?? PURGE_SCRIPT;
  const args = parseIdentifierArgs(argv, { ...io, command }, usage);
  if (typeof args === 'number') return args;
  const { dryRun } = args;
  return withScriptServices({ env, io, overrides: overrides.services }, async (services) => {
    let failed = 0;
    let unknown = 0;
    let total = 0;
    for await (const identifier of identifiersFrom(args.identifiers, args.file, io.stdin)) {
      try {
        const result = await purgeOne(services, identifier, dryRun, io);
        total += result.count;
        if (result.unknown) {
          unknown += 1;
          io.stderr.write(`${unknownIdentifier(identifier)}\n`);
        } else {
          io.stdout.write(`${identifier}: ${result.count} object(s) ${dryRun ? 'would be deleted' : 'deleted'}\n`);
        }
      } catch (error) {
        if (!(error instanceof RectoError)) throw error;
        failed += 1;
        io.stderr.write(`${identifier}: ${error.code}: ${error.message}\n`);
      }
    }
    const problems = [...(failed === 0 ? [] : [`${failed} identifier(s) failed`]), ...(unknown === 0 ? [] : [`${unknown} identifier(s) unknown`])];
    io.stdout.write(`${dryRun ? 'Would delete' : 'Deleted'} ${total} object(s)${problems.length === 0 ? '' : `; ${problems.join(', ')}`}\n`);
    return failed === 0 && unknown === 0 ? EXIT.ok : EXIT.failure;
  });
}

runAsScript(import.meta.filename, (argv) => main(argv));
