/**
 * `npm run build`: one esbuild bundle per Lambda function under `dist/<name>/index.mjs`, with
 * sharp's native closure for the Lambda architecture beside each bundle that imports it, and the
 * packages the code loads itself at run time (RUNTIME_PACKAGES) beside each bundle that holds
 * the module that loads them. template.yaml points at these directories (CodeUri: dist/<name>,
 * Handler: index.handler).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build as esbuild, type BuildOptions as EsbuildOptions, type Message, type Metafile } from 'esbuild';
import { type Architecture, BuildError, copyClosure, directoryBytes, stageSharp, type StagedSharp } from './sharp.js';

/** The repository root (two levels above infra/build). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Lambda functions and their entry points; the names are the `dist/` directories. */
export const FUNCTIONS = {
  iiif: 'functions/iiif/handler.ts',
  prewarm: 'functions/prewarm/handler.ts',
  purge: 'functions/purge/handler.ts',
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

/**
 * `bundle`: the AWS SDK v3 is compiled into each bundle (the version we test against, and the
 * faster cold start measured by infra/build/measure-cold-start.ts). `external`: imports of
 * `@aws-sdk/*` and `@smithy/*` are left for the copy the Lambda Node.js runtime ships.
 */
export const AWS_SDK_MODES = ['bundle', 'external'] as const;
export type AwsSdkMode = (typeof AWS_SDK_MODES)[number];

/**
 * Packages a module loads at run time through createRequire, which esbuild cannot follow: each
 * is copied (only the files listed) to `<dir>/node_modules/<name>` of every bundle that contains
 * `loadedBy`. OpenJPEG's decoder is JavaScript glue and WebAssembly, the same on every
 * architecture; the IIIF and pre-warm functions decode JPEG 2000, the purge function does not.
 */
export const RUNTIME_PACKAGES = [
  {
    name: '@cornerstonejs/codec-openjpeg',
    loadedBy: 'lib/render/jp2/codec.ts',
    files: ['package.json', 'dist/openjpegwasm_decode.js', 'dist/openjpegwasm_decode.wasm'],
  },
] as const;

/** The Node.js version Lambda runs (nodejs22.x); the build machine may run an older one. */
export const NODE_TARGET = 'node22';

/**
 * Bundled CommonJS code calls `require` (for Node built-ins, for example), which an ES module
 * does not have; esbuild's shim throws "Dynamic require is not supported" without this.
 */
export const REQUIRE_BANNER =
  "import { createRequire as __rectoCreateRequire } from 'node:module'; const require = __rectoCreateRequire(import.meta.url);";

export interface BuildFunctionsOptions {
  /** Function name → entry file (relative to `repoRoot`, or absolute). Defaults to FUNCTIONS. */
  readonly entries?: Readonly<Record<string, string>>;
  /** Output directory; each function gets `<outdir>/<name>/`. Default `<repoRoot>/dist`. */
  readonly outdir?: string;
  readonly architecture?: Architecture;
  readonly awsSdk?: AwsSdkMode;
  readonly minify?: boolean;
  readonly repoRoot?: string;
  /** Staged sharp closures are cached here. Default `<repoRoot>/node_modules/.cache/recto-build`. */
  readonly cacheDir?: string;
  /** Compute each function's deflated (zip) size as well: about a second for sharp's 20 MB. */
  readonly zipSizes?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuiltFunction {
  readonly name: string;
  readonly entry: string;
  /** The function's directory: the template's CodeUri. */
  readonly dir: string;
  readonly bundle: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  /** The names the bundle exports (`handler` for a Lambda entry point). */
  readonly exports: readonly string[];
  /** Packages left as imports: resolved from `<dir>/node_modules` or the runtime. */
  readonly externalImports: readonly string[];
  readonly usesSharp: boolean;
  /** RUNTIME_PACKAGES copied beside the bundle, by name. */
  readonly runtimePackages: readonly string[];
  /** Size of `<dir>/node_modules` (sharp's closure, runtime packages), 0 when the bundle needs none. */
  readonly nodeModulesBytes: number;
  /** Every file of the directory deflated, as a zip would hold it (when zipSizes was asked). */
  readonly zipBytes?: number;
  readonly warnings: readonly Message[];
}

export interface BuildResult {
  readonly outdir: string;
  readonly architecture: Architecture;
  readonly awsSdk: AwsSdkMode;
  readonly sharp?: StagedSharp;
  readonly functions: readonly BuiltFunction[];
  readonly milliseconds: number;
}

/** What is written to `<outdir>/build-info.json`, so tools can check the build matches the stack. */
export interface BuildInfo {
  readonly architecture: Architecture;
  /** The same, in Lambda's spelling, as the template's Architecture parameter takes it. */
  readonly lambdaArchitecture: 'arm64' | 'x86_64';
  readonly awsSdk: AwsSdkMode;
  readonly nodeTarget: string;
  readonly sharpVersion?: string;
  readonly functions: Readonly<Record<string, { readonly handler: string; readonly usesSharp: boolean }>>;
}

/** The esbuild options for one function: the whole packaging policy in one literal. */
export function esbuildOptions(entry: string, outdir: string, awsSdk: AwsSdkMode, minify: boolean): EsbuildOptions {
  return {
    entryPoints: { index: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    // ES module builds of dependencies first (the SDK's dist-es tree-shakes; dist-cjs does not).
    mainFields: ['module', 'main'],
    minify,
    // Minified class names would make logged errors read "a: …"; names cost a few kilobytes.
    keepNames: true,
    sourcemap: 'linked',
    // Line mappings are all a stack trace needs; embedding every source triples the map.
    sourcesContent: false,
    legalComments: 'linked',
    banner: { js: REQUIRE_BANNER },
    external: ['sharp', ...(awsSdk === 'external' ? ['@aws-sdk/*', '@smithy/*'] : [])],
    metafile: true,
    logLevel: 'silent',
    // The renderer (and with it sharp) is imported on first use: a split chunk keeps libvips
    // out of a cold start that only answers info.json and hits.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: true,
  };
}

/** Bundle every function, stage sharp for the architecture, copy it where needed, report sizes. */
export async function buildFunctions(options: BuildFunctionsOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const entries = options.entries ?? FUNCTIONS;
  const outdir = resolve(repoRoot, options.outdir ?? 'dist');
  const architecture = options.architecture ?? 'arm64';
  const awsSdk = options.awsSdk ?? 'bundle';
  const minify = options.minify ?? true;
  const cacheDir = options.cacheDir ?? join(repoRoot, 'node_modules', '.cache', 'recto-build');
  const log = options.log ?? (() => undefined);

  for (const [name, entry] of Object.entries(entries)) {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) {
      throw new BuildError(`Expected a function name of lowercase letters, digits and dashes but received ${JSON.stringify(name)}`);
    }
    if (!existsSync(resolve(repoRoot, entry))) {
      throw new BuildError(`Expected the entry point of ${name} at ${JSON.stringify(entry)} but received nothing: the file does not exist`);
    }
  }

  // Bundles build in parallel; sharp is staged afterwards, and only if one of them imports it.
  const bundling = Object.entries(entries).map(async ([name, entry]) => {
    const dir = join(outdir, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const result = await esbuild({
      ...esbuildOptions(resolve(repoRoot, entry), dir, awsSdk, minify),
      absWorkingDir: repoRoot,
      // Entries outside the repository (tests build throwaway ones in the temp directory)
      // still resolve packages from the project's node_modules.
      nodePaths: [join(repoRoot, 'node_modules')],
    });
    return { name, entry, dir, result };
  });
  const bundles = await Promise.all(bundling);
  const needsSharp = bundles.some(({ result }) => importsOf(result.metafile).includes('sharp'));
  const sharp = needsSharp ? await stageSharp({ repoRoot, architecture, cacheDir, log }) : undefined;

  const functions: BuiltFunction[] = [];
  for (const { name, entry, dir, result } of bundles) {
    const externalImports = importsOf(result.metafile);
    const usesSharp = externalImports.includes('sharp');
    if (usesSharp && sharp !== undefined) await copyClosure(sharp.nodeModules, join(dir, 'node_modules'), sharp.packages);
    const runtimePackages = await copyRuntimePackages(result.metafile, repoRoot, join(dir, 'node_modules'));
    const bundle = join(dir, 'index.mjs');
    const output = outputOf(result.metafile, bundle, repoRoot);
    const zipBytes = options.zipSizes === true ? await deflatedBytes(dir) : undefined;
    functions.push({
      name,
      entry,
      dir,
      bundle,
      bundleBytes: (await stat(bundle)).size,
      sourceMapBytes: (await stat(`${bundle}.map`)).size,
      exports: output.exports,
      externalImports,
      usesSharp,
      runtimePackages,
      nodeModulesBytes: existsSync(join(dir, 'node_modules')) ? await directoryBytes(join(dir, 'node_modules')) : 0,
      ...(zipBytes === undefined ? {} : { zipBytes }),
      warnings: result.warnings,
    });
  }

  const info: BuildInfo = {
    architecture,
    lambdaArchitecture: architecture === 'x64' ? 'x86_64' : 'arm64',
    awsSdk,
    nodeTarget: NODE_TARGET,
    ...(sharp === undefined ? {} : { sharpVersion: sharp.version }),
    functions: Object.fromEntries(functions.map((fn) => [fn.name, { handler: 'index.handler', usesSharp: fn.usesSharp }])),
  };
  await writeFile(join(outdir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);

  return {
    outdir,
    architecture,
    awsSdk,
    ...(sharp === undefined ? {} : { sharp }),
    functions,
    milliseconds: performance.now() - started,
  };
}

/** Copy each RUNTIME_PACKAGES entry whose loader the bundle holds; answers their names. */
async function copyRuntimePackages(metafile: Metafile | undefined, repoRoot: string, nodeModules: string): Promise<string[]> {
  const inputs = new Set(Object.keys(metafile?.inputs ?? {}).map((path) => resolve(repoRoot, path)));
  const copied: string[] = [];
  for (const runtime of RUNTIME_PACKAGES) {
    if (!inputs.has(resolve(repoRoot, runtime.loadedBy))) continue;
    const from = join(repoRoot, 'node_modules', runtime.name);
    for (const file of runtime.files) {
      if (!existsSync(join(from, file))) throw new BuildError(`Expected ${file} in ${from} for ${runtime.loadedBy} but received nothing: is ${runtime.name} installed?`);
      await mkdir(dirname(join(nodeModules, runtime.name, file)), { recursive: true });
      await copyFile(join(from, file), join(nodeModules, runtime.name, file));
    }
    copied.push(runtime.name);
  }
  return copied;
}

/** Bare package names the bundle leaves as imports (external), sorted and unique. */
function importsOf(metafile: Metafile | undefined): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile?.outputs ?? {})) {
    for (const imported of output.imports) {
      if (imported.external && !imported.path.startsWith('node:')) names.add(packageName(imported.path));
    }
  }
  return [...names].sort();
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function outputOf(metafile: Metafile | undefined, bundle: string, repoRoot: string): { exports: string[] } {
  const outputs = metafile?.outputs ?? {};
  const match = Object.entries(outputs).find(([path]) => resolve(repoRoot, path) === bundle);
  if (match === undefined) throw new BuildError(`Expected esbuild to report ${JSON.stringify(bundle)} but received ${JSON.stringify(Object.keys(outputs))}`);
  return { exports: [...match[1].exports].sort() };
}

async function deflatedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    total += deflateRawSync(await readFile(join(entry.parentPath, entry.name))).length;
  }
  return total;
}

/** A fixed-width table of what was built, for the console. */
export function formatBuildReport(result: BuildResult): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const rows = result.functions.map((fn) => [
    fn.name,
    kib(fn.bundleBytes),
    kib(fn.sourceMapBytes),
    fn.nodeModulesBytes > 0 ? mib(fn.nodeModulesBytes) : '-',
    fn.zipBytes === undefined ? '' : mib(fn.zipBytes),
    fn.externalImports.join(' ') || '-',
  ]);
  const header = ['function', 'index.mjs', 'map', 'node_modules', result.functions.some((fn) => fn.zipBytes !== undefined) ? 'zipped' : '', 'external'];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const sharp = result.sharp === undefined
    ? 'sharp: not needed by any bundle'
    : `sharp ${result.sharp.version} for linux-${result.sharp.architecture} (glibc), from ${result.sharp.source === 'local' ? 'node_modules' : 'the npm registry'}`;
  return [
    line(header),
    ...rows.map(line),
    '',
    `${sharp}; AWS SDK ${result.awsSdk === 'bundle' ? 'bundled' : 'from the Lambda runtime'}; ${Math.round(result.milliseconds)} ms`,
  ].join('\n');
}
