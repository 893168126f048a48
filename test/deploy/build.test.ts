/**
 * `npm run build` on throwaway entry points in the temp directory: the bundle format, sharp
 * packaged for the Lambda architecture whatever this machine is, the AWS SDK choice, the
 * JPEG 2000 decoder (loaded at run time) copied beside the bundles that decode, and bundles that
 * answer an event in a fresh Node process using only what dist/ holds.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildFunctions, REPO_ROOT, REQUIRE_BANNER, RUNTIME_PACKAGES } from '../../infra/build/bundle.js';
import { decodeJp2 } from '../../lib/render/jp2/decode.js';
import { readJp2Header } from '../../lib/render/jp2/header.js';
import { bufferRange } from '../../lib/render/jp2/reader.js';
import { BuildError, ELF_MACHINES, elfMachine, isRuntimeFile, lockedSharpVersion } from '../../infra/build/sharp.js';

const execFileAsync = promisify(execFile);

/** Renders a 3x2 red PNG with sharp and reports what it decoded, like a tiny IIIF render. */
const SHARP_ENTRY = `
import sharp from 'sharp';
import legacyLength from './legacy.cjs';
export async function handler(event: { readonly colour: string }) {
  const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: event.colour } }).png().toBuffer();
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { statusCode: 200, width: info.width, height: info.height, pixel: [...data.subarray(0, 3)], legacyLength };
}
`;

/** CommonJS that calls require() on a built-in: only works in the ESM bundle with the banner. */
const LEGACY_CJS = `module.exports = require('node:path').sep.length;`;

/** Decodes the JPEG 2000 it is given with lib/render/jp2, whose codec is loaded at run time. */
const JP2_ENTRY = `
import { decodeJp2 } from ${JSON.stringify(join(REPO_ROOT, 'lib', 'render', 'jp2', 'decode.ts'))};
import { readJp2Header } from ${JSON.stringify(join(REPO_ROOT, 'lib', 'render', 'jp2', 'header.ts'))};
import { bufferRange } from ${JSON.stringify(join(REPO_ROOT, 'lib', 'render', 'jp2', 'reader.ts'))};
export async function handler(event: { readonly jp2: string }) {
  const read = bufferRange(Buffer.from(event.jp2, 'base64'));
  const image = await decodeJp2(read, await readJp2Header(read), { reduce: 1, maxBytes: 1 << 20 });
  return { statusCode: 200, width: image.width, height: image.height, channels: image.channels, sha256: (await import('node:crypto')).createHash('sha256').update(image.data).digest('hex') };
}
`;

const SDK_ENTRY = `
import { S3Client } from '@aws-sdk/client-s3';
export const handler = async () => ({ statusCode: 200, client: typeof S3Client });
`;

let work: string;
let arm64: BuildResult;
let x64: BuildResult;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'recto-build-test-'));
  await writeFile(join(work, 'sharp-entry.ts'), SHARP_ENTRY);
  await writeFile(join(work, 'legacy.cjs'), LEGACY_CJS);
  await writeFile(join(work, 'sdk-entry.ts'), SDK_ENTRY);
  await writeFile(join(work, 'jp2-entry.ts'), JP2_ENTRY);
  const entries = { render: join(work, 'sharp-entry.ts'), plain: join(work, 'sdk-entry.ts'), jp2: join(work, 'jp2-entry.ts') };
  // arm64 is the default; on a fresh machine this installs sharp's linux-arm64 packages once.
  arm64 = await buildFunctions({ entries, outdir: join(work, 'arm64') });
  x64 = await buildFunctions({ entries, outdir: join(work, 'x64'), architecture: 'x64' });
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function built(result: BuildResult, name: string): BuildResult['functions'][number] {
  const fn = result.functions.find((candidate) => candidate.name === name);
  if (fn === undefined) throw new Error(`Expected ${name} in the build result`);
  return fn;
}

/** Import a bundle in a fresh node (cwd: the temp directory, so nothing resolves from the repo). */
async function invokeFresh(bundle: string, event: unknown): Promise<unknown> {
  const script = `const m = await import(${JSON.stringify(bundle)}); process.stdout.write(JSON.stringify(await m.handler(${JSON.stringify(event)})));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, env: { PATH: process.env['PATH'] ?? '' } });
  return JSON.parse(stdout) as unknown;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('npm run build bundles', () => {
  it('writes one minified ES module per function that exports its handler, with a linked source map', async () => {
    const render = built(arm64, 'render');
    const text = await readFile(render.bundle, 'utf8');
    expect(render.bundle).toBe(join(work, 'arm64', 'render', 'index.mjs'));
    expect(render.exports).toEqual(['handler']);
    expect(text.startsWith(REQUIRE_BANNER)).toBe(true);
    expect(text.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    expect(JSON.parse(await readFile(`${render.bundle}.map`, 'utf8'))).toMatchObject({ version: 3 });
    // Minified: a handful of long lines, not one per statement.
    expect(text.split('\n').length).toBeLessThan(50);
  });

  it('bundles the AWS SDK by default and leaves only sharp as an import', () => {
    expect(built(arm64, 'plain').externalImports).toEqual([]);
    expect(built(arm64, 'render').externalImports).toEqual(['sharp']);
    expect(arm64.awsSdk).toBe('bundle');
  });

  it('leaves @aws-sdk imports to the Lambda runtime with awsSdk: external', async () => {
    const result = await buildFunctions({ entries: { plain: join(work, 'sdk-entry.ts') }, outdir: join(work, 'external'), awsSdk: 'external' });
    expect(built(result, 'plain').externalImports).toEqual(['@aws-sdk/client-s3']);
    expect(built(result, 'plain').bundleBytes).toBeLessThan(built(arm64, 'plain').bundleBytes / 10);
  });

  it('produces byte-identical bundles from the same sources', async () => {
    const again = await buildFunctions({ entries: { render: join(work, 'sharp-entry.ts') }, outdir: join(work, 'again') });
    expect(await sha256(built(again, 'render').bundle)).toBe(await sha256(built(arm64, 'render').bundle));
  });

  it('records the architecture, in Lambda spelling, and each handler in build-info.json', async () => {
    const info = JSON.parse(await readFile(join(work, 'x64', 'build-info.json'), 'utf8')) as unknown;
    expect(info).toEqual({
      architecture: 'x64',
      lambdaArchitecture: 'x86_64',
      awsSdk: 'bundle',
      nodeTarget: 'node22',
      sharpVersion: await lockedSharpVersion(REPO_ROOT),
      functions: { render: { handler: 'index.handler', usesSharp: true }, plain: { handler: 'index.handler', usesSharp: false }, jp2: { handler: 'index.handler', usesSharp: false } },
    });
  });

  it('fails with the missing entry named when an entry point does not exist', async () => {
    const missing = join(work, 'nope.ts');
    await expect(buildFunctions({ entries: { nope: missing }, outdir: join(work, 'nope') })).rejects.toThrow(BuildError);
    await expect(buildFunctions({ entries: { nope: missing }, outdir: join(work, 'nope') })).rejects.toThrow(
      `Expected the entry point of nope at ${JSON.stringify(missing)} but received nothing: the file does not exist`,
    );
  });
});

describe('npm run build packages sharp', () => {
  it('copies sharp with the linux-arm64 glibc binaries (AArch64 ELF) beside a bundle that imports it, by default', async () => {
    const render = built(arm64, 'render');
    const version = await lockedSharpVersion(REPO_ROOT);
    const modules = join(render.dir, 'node_modules');
    expect(render.usesSharp).toBe(true);
    expect((await readdir(join(modules, '@img'))).sort()).toEqual(['colour', 'sharp-libvips-linux-arm64', 'sharp-linux-arm64']);
    expect(JSON.parse(await readFile(join(modules, 'sharp', 'package.json'), 'utf8'))).toMatchObject({ name: 'sharp', version });
    const addon = join(modules, '@img', 'sharp-linux-arm64', 'lib', `sharp-linux-arm64-${version}.node`);
    expect(await elfMachine(addon)).toBe(ELF_MACHINES.arm64);
    const libvips = (await readdir(join(modules, '@img', 'sharp-libvips-linux-arm64', 'lib'))).find((name) => name.startsWith('libvips-cpp.so'));
    expect(libvips).toBeDefined();
    expect(await elfMachine(join(modules, '@img', 'sharp-libvips-linux-arm64', 'lib', libvips ?? ''))).toBe(ELF_MACHINES.arm64);
    expect(arm64.sharp?.packages).toEqual(['@img/colour', '@img/sharp-libvips-linux-arm64', '@img/sharp-linux-arm64', 'detect-libc', 'semver', 'sharp']);
  });

  it('copies the x86-64 binaries instead when built for x64', async () => {
    const modules = join(built(x64, 'render').dir, 'node_modules', '@img');
    const version = await lockedSharpVersion(REPO_ROOT);
    expect((await readdir(modules)).sort()).toEqual(['colour', 'sharp-libvips-linux-x64', 'sharp-linux-x64']);
    expect(await elfMachine(join(modules, 'sharp-linux-x64', 'lib', `sharp-linux-x64-${version}.node`))).toBe(ELF_MACHINES.x64);
  });

  it('gives a bundle that does not import sharp no node_modules at all', () => {
    expect(built(arm64, 'plain').usesSharp).toBe(false);
    expect(existsSync(join(built(arm64, 'plain').dir, 'node_modules'))).toBe(false);
  });

  it('leaves out C++ sources, headers, type declarations and docs', async () => {
    const files = await readdir(join(built(arm64, 'render').dir, 'node_modules'), { recursive: true });
    expect(files.filter((file) => /\.(d\.[cm]?ts|cc|h)$|README|CHANGELOG/.test(file))).toEqual([]);
    // Licences stay: they are the condition of shipping the binaries.
    expect(files).toContain(join('sharp', 'LICENSE'));
    expect(isRuntimeFile(join('src', 'pipeline.cc'))).toBe(false);
    expect(isRuntimeFile(join('dist', 'index.mjs'))).toBe(true);
    expect(built(arm64, 'render').nodeModulesBytes).toBeLessThan(40 * 1024 * 1024);
  });
});

describe('npm run build packages the JPEG 2000 decoder', () => {
  it('copies only the decoder\'s glue, WebAssembly and package.json beside a bundle that decodes JPEG 2000, and nothing beside one that does not', async () => {
    // Assess
    const jp2 = built(arm64, 'jp2');
    const codec = RUNTIME_PACKAGES[0];
    expect(jp2.runtimePackages).toEqual([codec.name]);
    expect(built(arm64, 'render').runtimePackages).toEqual([]);
    const files = await readdir(join(jp2.dir, 'node_modules', codec.name), { recursive: true, withFileTypes: true });
    expect(files.filter((file) => file.isFile()).map((file) => join(file.parentPath, file.name).slice(join(jp2.dir, 'node_modules', codec.name).length + 1)).sort()).toEqual([...codec.files].sort());
    // WebAssembly is the same on every architecture: the x64 build carries the same bytes.
    const wasm = 'dist/openjpegwasm_decode.wasm';
    expect(await sha256(join(built(x64, 'jp2').dir, 'node_modules', codec.name, wasm))).toBe(await sha256(join(jp2.dir, 'node_modules', codec.name, wasm)));
  });
});

describe('a built bundle in a fresh Node process', () => {
  it('decodes a JPEG 2000 with the decoder from its own node_modules', async () => {
    // Prepare: the fixture, and what decoding it here gives.
    const bytes = await readFile(join(REPO_ROOT, 'test', 'fixtures', 'jp2', 'tiled.jp2'));
    const read = bufferRange(bytes);
    const image = await decodeJp2(read, await readJp2Header(read), { reduce: 1, maxBytes: 1 << 20 });
    const expected = { statusCode: 200, width: image.width, height: image.height, channels: image.channels, sha256: createHash('sha256').update(image.data).digest('hex') };

    // Act
    const answer = await invokeFresh(built(arm64, 'jp2').bundle, { jp2: bytes.toString('base64') });

    // Assess
    expect(answer).toEqual(expected);
    expect(expected).toMatchObject({ width: 60, height: 45, channels: 3 });
  });

  it('answers an event with sharp from its own node_modules and bundled CommonJS calling require()', async () => {
    // Prepare: the x64 build matches this machine; the process starts in the temp directory.
    const bundle = built(x64, 'render').bundle;

    // Act
    const answer = await invokeFresh(bundle, { colour: '#ff0000' });

    // Assess
    expect(answer).toEqual({ statusCode: 200, width: 3, height: 2, pixel: [255, 0, 0], legacyLength: 1 });
  });

  it('answers with the AWS SDK compiled in and nothing installed beside it', async () => {
    expect(await invokeFresh(built(x64, 'plain').bundle, {})).toEqual({ statusCode: 200, client: 'function' });
  });
});

describe('the npm run build command', () => {
  it('refuses an unknown architecture with the accepted values', async () => {
    const run = execFileAsync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'infra', 'build', 'build.ts'), '--arch', 'sparc'], { cwd: REPO_ROOT });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('build: Expected one of arm64, x64 (or x86_64) for --arch but received "sparc"') as unknown,
    });
  });
});
