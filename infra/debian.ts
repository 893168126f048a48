/**
 * Debian packages the scripts that need them install themselves (Ceph for the real-S3 suite,
 * OpenJPEG and libvips tools for JPEG 2000 fixtures and acceptance runs), with apt-get, only when
 * a command they provide is missing, as root or through sudo.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

type Log = (line: string) => void;

/** Where a command is on PATH (daemons live in /usr/sbin; searched too), or undefined. */
export async function which(command: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter((dir) => dir !== '');
  for (const dir of dirs) {
    try {
      await access(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The commands that are not installed. */
export async function missingCommands(commands: readonly string[]): Promise<string[]> {
  const found = await Promise.all(commands.map(async (command) => ({ command, path: await which(command) })));
  return found.filter((each) => each.path === undefined).map((each) => each.command);
}

/**
 * Install `packages` with apt-get when any of `commands` is missing; afterwards every command
 * must be there.
 * @throws Error saying what failed and the command to run by hand.
 */
export async function ensureDebianPackages(packages: readonly string[], commands: readonly string[], log: Log): Promise<void> {
  const missing = await missingCommands(commands);
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  const prefix = root ? [] : ['sudo'];
  log(`Installing ${packages.join(' ')} with apt-get (missing: ${missing.join(', ')})…`);
  const started = performance.now();
  const apt = async (args: string[]): Promise<void> => {
    const [command, ...rest] = [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
    await runCommand(command ?? 'env', rest, { timeoutMs: 20 * 60_000, what: `apt-get ${args[0] ?? ''}` });
  };
  try {
    await apt(['update', '-qq']);
    await apt(['install', '-y', '-qq', ...packages]);
  } catch (error) {
    throw new Error(`Could not install ${packages.join(' ')} (${error instanceof Error ? error.message : String(error)}). Install them by hand and run again: ${root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`);
  }
  log(`Installed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const still = await missingCommands(commands);
  if (still.length > 0) throw new Error(`apt-get installed ${packages.join(' ')} but ${still.join(', ')} is still not on PATH: check the packages' contents with dpkg -L`);
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Named in errors. */
  readonly what: string;
  readonly track?: (child: ReturnType<typeof execFile>) => void;
}

/** Run a command to its end; its stdout, or an error with the tail of its stderr. */
export function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${options.what} failed (${error.message.split('\n')[0] ?? ''})${stderr.trim() === '' ? '' : `:\n${stderr.trimEnd().split('\n').slice(-20).join('\n')}`}`));
    });
    options.track?.(child);
  });
}
