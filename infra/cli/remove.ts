/**
 * `npx recto remove ID… [--file F] [--dry-run]` (also `npm run remove -- …`): take sources out
 * of the local stack. Each identifier's source object goes from the source bucket, then its
 * derivatives and source record from the derivative bucket (what `purge` deletes), so the page
 * stops listing it. `npm start` uploads samples/ and $LOCAL_IMAGES_DIR again on every start, so
 * a file still there comes back: the command says which.
 *
 * The local stack's buckets only. Masters in a real bucket are deleted with the tools of that
 * bucket (and a deployment's purge function then drops their derivatives), not from here.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { RectoError } from '../../lib/errors.js';
import type { ServiceOverrides, Services } from '../../lib/entry/wiring.js';
import { scriptEnvironment } from '../local/script-env.js';
import { imageFilesFor } from '../local/sources.js';
import { runAsScript } from './script.js';
import { EXIT, identifiersFrom, parseIdentifierArgs, withScriptServices, type CliStreams } from './storage-script.js';
import { purgeOne, sourceExists, unknownIdentifier } from './purge.js';

/** How `npm run remove` is invoked; `npx recto remove` passes its own words. */
export const REMOVE_SCRIPT = 'npm run remove --';

const SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');

export function usage(command = REMOVE_SCRIPT): string {
  return `Usage: ${command} IDENTIFIER… [options]

Removes sources from the local stack (npm start): each identifier's source from the source
bucket, then its derivatives and source record from the derivative bucket (as purge does), so
the page no longer lists it. npm start uploads samples/ and $LOCAL_IMAGES_DIR again on every
start: delete or move the file too, or it comes back (this command names it).

  IDENTIFIER…      identifiers (decoded: ms/0001, not ms%2F0001)
  --file PATH      one identifier per line (# comments, blank lines skipped; - for stdin)
  --dry-run        list what would be deleted; delete nothing
  -h, --help       this text

Storage: the local stack's buckets only (PORT, S3_PORT, DATA_DIR as for npm start). With
S3_ENDPOINT, SOURCE_BUCKET, DERIVATIVE_BUCKET or AWS credentials set it refuses: delete masters
in a real bucket with that bucket's own tools.
Exit status: 0 done, 1 a deletion failed or an identifier is unknown, 2 bad usage.
`;
}

type Env = Readonly<Record<string, string | undefined>>;

export async function main(argv: readonly string[], env: Env = process.env, io: CliStreams = process, overrides: { readonly services?: ServiceOverrides } = {}): Promise<number> {
  const command = io.command ?? REMOVE_SCRIPT;
  const args = parseIdentifierArgs(argv, { ...io, command }, usage);
  if (typeof args === 'number') return args;
  if (!scriptEnvironment(env).local && overrides.services?.s3 === undefined) {
    io.stderr.write('remove works on the local stack only, but S3_ENDPOINT, SOURCE_BUCKET, DERIVATIVE_BUCKET or AWS credentials name other storage: delete masters there with that storage\'s own tools\n');
    return EXIT.usage;
  }
  const { dryRun } = args;
  const imageDirs = [SAMPLES_DIR, ...(env.LOCAL_IMAGES_DIR === undefined || env.LOCAL_IMAGES_DIR === '' ? [] : [path.resolve(env.LOCAL_IMAGES_DIR)])];
  return withScriptServices({ env, io, overrides: overrides.services }, async (services) => {
    let failed = 0;
    let unknown = 0;
    for await (const identifier of identifiersFrom(args.identifiers, args.file, io.stdin)) {
      try {
        if (!(await removeOne(services, identifier, { dryRun, imageDirs }, io))) {
          unknown += 1;
          io.stderr.write(`${unknownIdentifier(identifier)}\n`);
        }
      } catch (error) {
        if (!(error instanceof RectoError)) throw error;
        failed += 1;
        io.stderr.write(`${identifier}: ${error.code}: ${error.message}\n`);
      }
    }
    return failed === 0 && unknown === 0 ? EXIT.ok : EXIT.failure;
  });
}

/** Remove one identifier's source and derivatives; false when it had neither. */
async function removeOne(services: Services, identifier: string, options: { readonly dryRun: boolean; readonly imageDirs: readonly string[] }, io: CliStreams): Promise<boolean> {
  const { dryRun } = options;
  const hadSource = await sourceExists(services, identifier);
  const key = services.sources.keyFor(identifier);
  if (hadSource) {
    if (dryRun) io.stdout.write(`${services.config.sourceBucket}/${key}\n`);
    else await services.s3.send(new DeleteObjectCommand({ Bucket: services.config.sourceBucket, Key: key }));
  }
  const result = await purgeOne(services, identifier, dryRun, io);
  if (!hadSource && result.count === 0) return false;
  const verb = dryRun ? 'would be deleted' : 'deleted';
  io.stdout.write(`${identifier}: ${hadSource ? `source ${verb}` : 'no source'}, ${result.count} derivative object(s) ${verb}\n`);
  for (const file of await imageFilesFor(options.imageDirs, identifier)) {
    io.stderr.write(`${identifier}: ${file} is still there: the next npm start uploads it again (delete or move it to keep ${identifier} out)\n`);
  }
  return true;
}

runAsScript(import.meta.filename, (argv) => main(argv));
