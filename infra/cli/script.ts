/**
 * What the scripts (prewarm, purge, remove, ingest, invoke) share around their main():
 * reading their options the same way, and running as a script when they are the file node was
 * given.
 */
import path from 'node:path';

/** The streams a script's main() writes to, and the words it was invoked with. */
export interface ScriptIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The command as typed (`npx recto purge`), for help and hints. */
  readonly command: string;
}

/**
 * Options read by `parse` (node:util parseArgs), or the exit status to return now: --help prints
 * the usage (0); an option parseArgs refuses is said with a pointer to --help (2).
 */
export function parseOrExit<T extends { readonly values: { readonly help?: boolean | undefined } }>(parse: () => T, io: ScriptIo, usage: (command: string) => string): T | number {
  let parsed: T;
  try {
    parsed = parse();
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${helpHint(io.command)}\n`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout.write(usage(io.command));
    return 0;
  }
  return parsed;
}

/** The line that sends a user who got something wrong to the help. */
export function helpHint(command: string): string {
  return `Run \`${command} --help\` for the options.`;
}

/**
 * When `file` (a script's import.meta.filename) is what node was asked to run: run `main` on the
 * command line's arguments, and exit with its status; a failure it did not handle prints its
 * message (not a stack: the scripts' own errors say what to do) and exits 1.
 */
export function runAsScript(file: string, main: (argv: readonly string[]) => Promise<number>, options: { readonly metrics?: boolean } = {}): void {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== path.resolve(file)) return;
  // EMF metrics are for CloudWatch; printed locally they would bury the output (invoke keeps
  // them: it shows what the function prints, as sam local invoke does).
  if (options.metrics !== true) process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
