/**
 * Every example URL in the documentation works against the local stack as it starts by default
 * (auth on, default limits): each is requested with a token, its redirect followed, and the
 * answer decoded: info.json as the version's JSON, images as the format the URL names, with the
 * pixel size lib/iiif resolves the request to.
 *
 * The examples are the paths in the first fenced block of README.md's "## URLs" section, every
 * `/iiif/{ID}/…` path line in a fenced block of docs/*.md (tried on a generated sample), and
 * every `http://127.0.0.1:3000/iiif/…` URL in a fenced block of README.md or docs/*.md whose
 * identifier is one of the local stack's samples in samples/ (tried on that sample). URLs naming
 * other identifiers (CLI output, a deployment's images) are not requested.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFollowing } from '../../infra/cli/recto-http.js';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { decodeIdentifier, encodeIdentifier, parseImageRequest, resolve, type ApiVersion } from '../../lib/iiif/index.js';
import { rotatedCanvas } from '../../lib/render/geometry.js';
import { gridImage } from '../support/fixtures.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES_DIR = path.join(REPO_ROOT, 'samples');
const DOCS_DIR = path.join(REPO_ROOT, 'docs');
/** The sample the `{ID}` examples are tried on: large enough for the README's pixel regions. */
const SAMPLE = { id: 'readme-sample', width: 1600, height: 1200 } as const;
/** The old system's examples, which docs/migration.md promises work unchanged. */
const OLD_SYSTEM_EXAMPLES = [
  '/iiif/{ID}/full/max/0/default.png',
  '/iiif/{ID}/square/max/0/default.jpg',
  '/iiif/{ID}/full/400,/0/default.jpg',
  '/iiif/{ID}/full/!400,300/0/default.tif',
  '/iiif/{ID}/100,150,900,600/300,/0/default.png',
  '/iiif/{ID}/full/max/0/gray.jpg',
  '/iiif/{ID}/info.json',
];
/**
 * An example whose render Recto defers (503 + Retry-After, e.g. an upscale to the 100-megapixel
 * default limit) is waited out, as a client would: give it time on a shared two-core machine.
 */
const RENDER_WAIT_MS = 180_000;
/** sharp's name for each IIIF format. */
const SHARP_FORMAT: Readonly<Record<string, string>> = { jpg: 'jpeg', png: 'png', tif: 'tiff', webp: 'webp', gif: 'gif' };
/** A IIIF URL on the local stack's default port, as the manuals write them in commands. */
const LOCAL_URL = /http:\/\/127\.0\.0\.1:3000(\/iiif\/[^\s'"`)]+)/g;
/** The identifiers the local stack serves from samples/: file names without extension. */
const SAMPLE_IDS = new Set(readdirSync(SAMPLES_DIR).map((file) => path.parse(file).name));

/** One example: the path to request, with `{ID}` or a sample's identifier, and where it is written. */
interface Example {
  readonly path: string;
  readonly file: string;
}

function read(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

/** The contents of every fenced block of a Markdown text. */
function fencedBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? '');
}

/** The paths in the first fenced block of README.md's "## URLs" section. */
function readmeExamples(): string[] {
  const readme = read('README.md');
  const start = readme.indexOf('\n## URLs\n');
  if (start < 0) throw new Error('Expected a "## URLs" section in README.md but found none');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const block = /\n```[^\n]*\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (block === undefined) throw new Error('Expected a fenced block of paths in README.md "## URLs" but found none');
  return block.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('/'));
}

/** The identifier segment of a IIIF path (after the optional version prefix), still encoded. */
function identifierOf(urlPath: string): string | undefined {
  return /^\/iiif\/(?:[23]\/)?([^/]+)\/(?:info\.json$|[^/]+\/[^/]+\/[^/]+\/[^/]+\.[a-z0-9]+$)/.exec(urlPath)?.[1];
}

/** `{ID}` path lines and local-stack URLs of samples in the fenced blocks of one file. */
function examplesIn(file: string): Example[] {
  const found: Example[] = [];
  for (const block of fencedBlocks(read(file))) {
    for (const line of block.split('\n').map((text) => text.trim())) {
      if (line.startsWith('/iiif/') && line.includes('{ID}')) found.push({ path: line, file });
    }
    for (const match of block.matchAll(LOCAL_URL)) {
      const urlPath = match[1] ?? '';
      const identifier = identifierOf(urlPath);
      if (identifier !== undefined && SAMPLE_IDS.has(decodeIdentifier(identifier))) found.push({ path: urlPath, file });
    }
  }
  return found;
}

/** Every example, README first, each path once. */
function allExamples(): Example[] {
  const files = ['README.md', ...readdirSync(DOCS_DIR).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
  const examples = [...readmeExamples().map((urlPath) => ({ path: urlPath, file: 'README.md' })), ...files.flatMap(examplesIn)];
  const byPath = new Map<string, Example>();
  for (const example of examples) if (!byPath.has(example.path)) byPath.set(example.path, example);
  return [...byPath.values()];
}

const readme = readmeExamples();
const examples = allExamples();

/** The version a path asks for: its prefix, or the default (2) for the unversioned form. */
function versionOf(urlPath: string): ApiVersion {
  const match = /^\/iiif\/([23])\//.exec(urlPath);
  return match?.[1] === '3' ? '3' : '2';
}

describe('the example URLs of README.md and docs/', () => {
  it('README.md "## URLs" lists the old system\'s examples, with the {ID} placeholder', () => {
    expect(readme).toEqual(expect.arrayContaining(OLD_SYSTEM_EXAMPLES));
    expect(readme.filter((example) => !example.includes('{ID}'))).toEqual([]);
  });

  it('finds the manuals\' examples too', () => {
    expect(examples.filter((example) => example.file !== 'README.md').length).toBeGreaterThan(0);
  });

  describe('against the local stack', () => {
    let stack: LocalStack;
    let directory: string;
    let token: string;
    /** Each identifier's size, as the stack serves it: the generated sample's and samples/' (oriented). */
    const sizes = new Map<string, { width: number; height: number }>([[SAMPLE.id, SAMPLE]]);

    beforeAll(async () => {
      directory = await mkdtemp(path.join(tmpdir(), 'recto-readme-'));
      const images = path.join(directory, 'images');
      await mkdir(images);
      await writeFile(path.join(images, `${SAMPLE.id}.png`), (await gridImage({ width: SAMPLE.width, height: SAMPLE.height })).png);
      for (const file of readdirSync(SAMPLES_DIR)) {
        const { autoOrient } = await sharp(path.join(SAMPLES_DIR, file)).metadata();
        sizes.set(path.parse(file).name, { width: autoOrient.width, height: autoOrient.height });
      }
      stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: path.join(directory, 'data'), imageDirs: [images, SAMPLES_DIR] });
      token = await stack.token();
    });

    afterAll(async () => {
      await stack.close();
      await rm(directory, { recursive: true, force: true });
    });

    /** The example's path with `{ID}` filled in, and the size of the image it names. */
    function target(example: Example): { urlPath: string; source: { width: number; height: number } } {
      const urlPath = example.path.replace('{ID}', encodeIdentifier(SAMPLE.id));
      const source = sizes.get(decodeIdentifier(identifierOf(urlPath) ?? ''));
      if (source === undefined) throw new Error(`Expected a sample for ${urlPath} (${example.file}) but found none`);
      return { urlPath, source };
    }

    it.each(examples.filter((example) => example.path.endsWith('/info.json')))('$path ($file) answers the info.json of its version, its id the URL asked for', async (example) => {
      // Prepare
      const { urlPath, source } = target(example);
      const version = versionOf(urlPath);

      // Act
      const fetched = await fetchFollowing(`${stack.url}${urlPath}`, { token, accept: 'application/json' });

      // Assess
      const info = JSON.parse(fetched.body.toString('utf8')) as Record<string, unknown>;
      const id = `${stack.url}${urlPath.slice(0, -'/info.json'.length)}`;
      expect([info['@context'], version === '3' ? info.id : info['@id'], info.width, info.height]).toEqual([
        `http://iiif.io/api/image/${version}/context.json`,
        id,
        source.width,
        source.height,
      ]);
    });

    it.each(examples.filter((example) => !example.path.endsWith('/info.json')))('$path ($file) answers an image of that format and size', async (example) => {
      // Prepare: what lib/iiif says the request means for the sample.
      const { urlPath, source } = target(example);
      const version = versionOf(urlPath);
      const [identifier = '', region = '', size = '', rotation = '', qualityFormat = ''] = urlPath.split('/').slice(-5);
      const plan = resolve(parseImageRequest(version, { identifier, region, size, rotation, qualityFormat }), source, stack.config.limits);
      const turned = plan.rotation % 90 === 0 ? (plan.rotation % 180 === 0 ? plan.size : { width: plan.size.height, height: plan.size.width }) : rotatedCanvas(plan.size, plan.rotation);

      // Act: as a client would, following the 302 to storage.
      const fetched = await fetchFollowing(`${stack.url}${urlPath}`, { token, accept: 'image/*' });

      // Assess
      const { format } = await sharp(fetched.body).metadata();
      const { data, info } = await sharp(fetched.body).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      expect(format).toBe(SHARP_FORMAT[plan.format]);
      const slack = plan.rotation % 90 === 0 ? 0 : 1;
      expect(Math.abs(info.width - turned.width)).toBeLessThanOrEqual(slack);
      expect(Math.abs(info.height - turned.height)).toBeLessThanOrEqual(slack);
      const { chroma, extremes } = tones(data, info.channels);
      if (plan.quality === 'gray' || plan.quality === 'bitonal') expect(chroma).toBeLessThanOrEqual(8);
      if (plan.quality === 'bitonal') expect(extremes).toBeGreaterThan(0.95);
      if (plan.quality === 'default' || plan.quality === 'color') expect(chroma).toBeGreaterThan(50);
    }, RENDER_WAIT_MS);
  });
});

/**
 * The largest spread between a pixel's channels (0 for grey), and the share of pixels near black
 * or white (1 for bitonal).
 */
function tones(data: Buffer, channels: number): { chroma: number; extremes: number } {
  let chroma = 0;
  let extremes = 0;
  const pixels = data.length / channels;
  for (let i = 0; i < data.length; i += channels) {
    const r = data[i] ?? 0;
    const g = data[i + 1] ?? r;
    const b = data[i + 2] ?? r;
    chroma = Math.max(chroma, Math.max(r, g, b) - Math.min(r, g, b));
    if (Math.max(r, g, b) <= 24 || Math.min(r, g, b) >= 231) extremes += 1;
  }
  return { chroma, extremes: extremes / pixels };
}
