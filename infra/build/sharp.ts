/**
 * sharp for the Lambda architecture, whatever the build machine. sharp is a native addon: its
 * JavaScript loads `@img/sharp-<platform>-<arch>/sharp.node`, which links libvips from
 * `@img/sharp-libvips-<platform>-<arch>`. npm installs only the pair for the machine it runs on,
 * so a Mac or an x64 laptop building for arm64 Lambda must fetch the linux-arm64 glibc pair
 * itself. We stage that closure once per (version, architecture) and copy it beside each bundle
 * that imports sharp.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Lambda architectures, in Node's spelling (`process.arch`); Lambda calls x64 `x86_64`. */
export const ARCHITECTURES = ['arm64', 'x64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Where the staged closure came from: the repository's own node_modules, or the registry. */
export const SHARP_SOURCES = ['local', 'npm'] as const;
export type SharpSource = (typeof SHARP_SOURCES)[number];

/** A staged copy of sharp and its runtime dependencies for one architecture. */
export interface StagedSharp {
  readonly version: string;
  readonly architecture: Architecture;
  readonly source: SharpSource;
  /** A node_modules directory holding exactly the runtime closure. */
  readonly nodeModules: string;
  /** Package names in the closure, sorted (for example `@img/sharp-linux-arm64`, `sharp`). */
  readonly packages: readonly string[];
}

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

async function readPackageJson(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The sharp version pinned by package-lock.json: the one tests ran against. */
export async function lockedSharpVersion(repoRoot: string): Promise<string> {
  const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string } | undefined>;
  };
  const version = lock.packages?.['node_modules/sharp']?.version;
  if (version === undefined) {
    throw new BuildError('Expected node_modules/sharp in package-lock.json but received nothing: is sharp a dependency?');
  }
  return version;
}

/** Names of the two platform packages sharp needs on Lambda (glibc Linux). */
export function platformPackages(architecture: Architecture): readonly [string, string] {
  return [`@img/sharp-linux-${architecture}`, `@img/sharp-libvips-linux-${architecture}`];
}

/**
 * The package names sharp needs at run time for `architecture`: its dependencies and the one
 * matching platform pair, found by walking package.json files under `nodeModules`. Other
 * platforms' optional packages (darwin, musl, wasm) are never part of it.
 */
export async function sharpClosure(nodeModules: string, architecture: Architecture): Promise<string[]> {
  const wanted = new Set(platformPackages(architecture));
  const seen = new Set<string>();
  const queue = ['sharp'];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    const dir = join(nodeModules, name);
    if (!existsSync(join(dir, 'package.json'))) {
      throw new BuildError(`Expected ${name} in ${nodeModules} for sharp's runtime closure but received nothing`);
    }
    seen.add(name);
    const pkg = await readPackageJson(dir);
    queue.push(...Object.keys(pkg.dependencies ?? {}));
    for (const optional of Object.keys(pkg.optionalDependencies ?? {})) {
      // Only the exact linux-<arch> glibc pair: the others are for other machines.
      if (wanted.has(optional)) queue.push(optional);
    }
  }
  for (const name of wanted) {
    if (!seen.has(name)) throw new BuildError(`Expected ${name} in sharp's closure but received nothing`);
  }
  return [...seen].sort();
}

/** True when `nodeModules` holds sharp at `version` with the platform pair sharp pins for it. */
async function hasMatchingSharp(nodeModules: string, version: string, architecture: Architecture): Promise<boolean> {
  try {
    const sharp = await readPackageJson(join(nodeModules, 'sharp'));
    if (sharp.version !== version) return false;
    for (const name of platformPackages(architecture)) {
      const pinned = sharp.optionalDependencies?.[name];
      const installed = await readPackageJson(join(nodeModules, name));
      if (pinned === undefined || installed.version !== pinned) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Files no Lambda ever reads: C++ sources, headers, type declarations, install scripts, docs. */
export function isRuntimeFile(pathInPackage: string): boolean {
  const parts = pathInPackage.split(sep);
  const name = basename(pathInPackage);
  if (/\.d\.[cm]?ts$/.test(name)) return false;
  if (/^(README|CHANGELOG|HISTORY)(\.md)?$/i.test(name)) return false;
  if (parts[0] === 'src' || parts[0] === 'install' || parts[0] === 'test' || parts[0] === 'docs') return false;
  if (parts.includes('include')) return false;
  return true;
}

/** Copy the closure's packages from `from` (a node_modules) to `to`, runtime files only. */
export async function copyClosure(from: string, to: string, packages: readonly string[]): Promise<void> {
  for (const name of packages) {
    const source = join(from, name);
    await cp(source, join(to, name), {
      recursive: true,
      filter: (path) => {
        const inPackage = relative(source, path);
        return inPackage === '' || isRuntimeFile(inPackage);
      },
    });
  }
}

export interface StageSharpOptions {
  readonly repoRoot: string;
  readonly architecture: Architecture;
  /** Staged closures are kept here, one directory per version and architecture. */
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
}

/**
 * Stage sharp's runtime closure for linux-<arch> glibc at the locked version. Uses the
 * repository's node_modules when it already holds that exact set (an x64 Linux build machine
 * building for x64), else `npm install --os=linux --cpu=<arch> --libc=glibc` into a scratch
 * directory. The result is cached under `cacheDir` and reused by later builds; staging writes
 * to a temporary directory and renames it into place, so parallel builds never see half a copy.
 */
export async function stageSharp(options: StageSharpOptions): Promise<StagedSharp> {
  const { repoRoot, architecture, cacheDir, log = () => undefined } = options;
  const version = await lockedSharpVersion(repoRoot);
  const target = join(cacheDir, `sharp-${version}-linux-${architecture}-glibc`);
  const staged = join(target, 'node_modules');
  if (existsSync(join(target, 'complete.json'))) {
    const meta = JSON.parse(await readFile(join(target, 'complete.json'), 'utf8')) as { source: SharpSource };
    return { version, architecture, source: meta.source, nodeModules: staged, packages: await sharpClosure(staged, architecture) };
  }

  await mkdir(cacheDir, { recursive: true });
  const scratch = await mkdtemp(join(cacheDir, '.staging-'));
  try {
    const localModules = join(repoRoot, 'node_modules');
    let source: SharpSource;
    let from: string;
    if (await hasMatchingSharp(localModules, version, architecture)) {
      source = 'local';
      from = localModules;
    } else {
      source = 'npm';
      from = join(scratch, 'install', 'node_modules');
      log(`sharp: installing sharp@${version} for linux-${architecture} (glibc) from the npm registry`);
      const prefix = join(scratch, 'install');
      await mkdir(prefix, { recursive: true });
      // A package.json of its own anchors npm here: without it npm walks up to the repository
      // (the cache lives under its node_modules) and would install into the project.
      await writeJson(join(prefix, 'package.json'), { name: 'recto-sharp-staging', private: true });
      // --ignore-scripts: sharp's install script checks for a binary for *this* machine and
      // would try to compile one; the prebuilt packages are all we want.
      await execFileAsync(
        'npm',
        [
          'install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund',
          '--os=linux', `--cpu=${architecture}`, '--libc=glibc', `--prefix=${prefix}`, `sharp@${version}`,
        ],
        { cwd: prefix, maxBuffer: 16 * 1024 * 1024 },
      );
      if (!(await hasMatchingSharp(from, version, architecture))) {
        throw new BuildError(`Expected sharp@${version} with ${platformPackages(architecture).join(' and ')} after npm install but received a different set in ${from}`);
      }
    }
    const packages = await sharpClosure(from, architecture);
    const out = join(scratch, 'out');
    await copyClosure(from, join(out, 'node_modules'), packages);
    await writeJson(join(out, 'complete.json'), { version, architecture, source, packages });
    try {
      await rename(out, target);
    } catch (error) {
      // Another build staged the same closure first: theirs is as good as ours.
      if (!existsSync(join(target, 'complete.json'))) throw error;
    }
    return { version, architecture, source, nodeModules: staged, packages };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The ELF machine of a shared object (e_machine at offset 18): 183 is AArch64, 62 is x86-64. */
export const ELF_MACHINES = { arm64: 183, x64: 62 } as const satisfies Record<Architecture, number>;

/** Read the ELF e_machine of a file; throws when it is not an ELF file. */
export async function elfMachine(path: string): Promise<number> {
  const bytes = await readFile(path);
  if (bytes.length < 20 || bytes.readUInt32BE(0) !== 0x7f454c46) {
    throw new BuildError(`Expected an ELF shared object for ${JSON.stringify(path)} but received another kind of file`);
  }
  // EI_DATA (byte 5): 1 little-endian, 2 big-endian.
  return bytes[5] === 2 ? bytes.readUInt16BE(18) : bytes.readUInt16LE(18);
}

/** Total size in bytes of every file under `dir`. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
