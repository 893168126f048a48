/**
 * `npm run purge -- ID… [--file F] [--dry-run]`: delete identifiers' derivatives and source
 * records (what the purge function does when a source changes). `npx recto purge` runs this
 * same main().
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../lib/config.js';
import { RectoError } from '../../lib/errors.js';
import { identifierPrefix } from '../../lib/iiif/index.js';
import type { ServiceOverrides, Services } from '../../lib/entry/wiring.js';
import { purgeIdentifier } from '../../lib/service/purge.js';
import { EXIT, identifiersFrom, scriptServices, type CliStreams } from './prewarm.js';

export const USAGE = `Usage: npm run purge -- IDENTIFIER… [options]

Deletes every derivative of each identifier, and its source record, from the derivative bucket
(everything under its prefix, page by page). Sources are not touched. The next request, or a
pre-warm, renders from the source as it is now.

  IDENTIFIER…      identifiers (decoded: ms/0001, not ms%2F0001)
  --file PATH      one identifier per line (# comments, blank lines skipped; - for stdin)
  --dry-run        count what would be deleted; delete nothing
  -h, --help       this text

Storage: the local stack (npm start) unless S3_ENDPOINT, SOURCE_BUCKET, DERIVATIVE_BUCKET or AWS
credentials are set (with DERIVATIVE_PREFIX as the deployment has it).
Exit status: 0 done, 1 a deletion failed, 2 bad usage.
`;

type Env = Readonly<Record<string, string | undefined>>;

export async function main(argv: readonly string[], env: Env = process.env, io: CliStreams = process, overrides: { readonly services?: ServiceOverrides } = {}): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, file: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    }));
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\nRun with --help for the options.\n`);
    return EXIT.usage;
  }
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length === 0 && values.file === undefined) {
    io.stderr.write('Give identifiers or --file PATH\nRun with --help for the options.\n');
    return EXIT.usage;
  }
  let services: Services | undefined;
  try {
    services = scriptServices(env, overrides.services);
    const { derivatives, config, records } = services;
    let failed = 0;
    let total = 0;
    for await (const identifier of identifiersFrom(positionals, values.file, io.stdin)) {
      try {
        if (values['dry-run'] === true) {
          let count = 0;
          for await (const object of derivatives.list(identifierPrefix(identifier, config.derivativePrefix))) {
            count += 1;
            io.stdout.write(`${object.key}\n`);
          }
          io.stdout.write(`${identifier}: ${count} object(s) would be deleted\n`);
          total += count;
        } else {
          const deleted = await purgeIdentifier({ derivatives, prefix: config.derivativePrefix, records }, identifier);
          io.stdout.write(`${identifier}: ${deleted} object(s) deleted\n`);
          total += deleted;
        }
      } catch (error) {
        if (!(error instanceof RectoError)) throw error;
        failed += 1;
        io.stderr.write(`${identifier}: ${error.code}: ${error.message}\n`);
      }
    }
    io.stdout.write(`${values['dry-run'] === true ? 'Would delete' : 'Deleted'} ${total} object(s)${failed === 0 ? '' : `; ${failed} identifier(s) failed`}\n`);
    return failed === 0 ? EXIT.ok : EXIT.failure;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  } finally {
    if (overrides.services?.s3 === undefined) services?.s3.destroy();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
