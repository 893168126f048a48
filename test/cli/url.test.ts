/**
 * `recto url`: the exact URL for each way of asking, and exit 2 with the service's own message
 * for what the service would refuse. Run in this process (the same run() the bin calls), and
 * once through `npx recto` to prove the path from the shell.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileNameFor, run } from '../../infra/cli/recto.js';
import { parseImageRequest } from '../../lib/iiif/index.js';
import { loadPresets } from '../../lib/service/presets.js';
import { capture, recto } from './support.js';

async function url(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ code: number; out: string; err: string }> {
  const io = capture(env);
  const code = await run(['url', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('recto url', () => {
  let directory: string;
  let presetsFile: string;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'recto-cli-url-'));
    presetsFile = path.join(directory, 'presets.json');
    await writeFile(presetsFile, JSON.stringify({ square: { path: 'square/250,250/0/default.webp', api: '3' }, legacy: { path: 'full/full/0/gray.png', api: '2' } }));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it.each([
    [['grid'], {}, 'http://127.0.0.1:3000/iiif/3/grid/full/max/0/default.jpg'],
    [['grid', '--size', '!400,400'], { PORT: '8080' }, 'http://127.0.0.1:8080/iiif/3/grid/full/!400,400/0/default.jpg'],
    [['grid', '--size', '^1200,', '--rotation', '22.5', '--quality', 'color', '--format', 'png'], { RECTO_ENDPOINT: 'https://iiif.example.org/' }, 'https://iiif.example.org/iiif/3/grid/full/^1200,/22.5/color.png'],
    [['folder/page 1', '--api', '2', '--region', 'pct:10,10,50,50', '--rotation', '!90', '--quality', 'gray', '--format', 'tif'], {}, 'http://127.0.0.1:3000/iiif/2/folder%2Fpage%201/pct:10,10,50,50/max/!90/gray.tif'],
    [['grid', '--api', '2', '--size', 'full'], {}, 'http://127.0.0.1:3000/iiif/2/grid/full/full/0/default.jpg'],
    [['grid', '--region', 'square', '--endpoint', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod'], { RECTO_ENDPOINT: 'https://ignored.example' }, 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/iiif/3/grid/square/max/0/default.jpg'],
  ])('prints the URL for %j with %j', async (args, env, expected) => {
    // Act
    const result = await url(args, env);

    // Assess
    expect(result).toEqual({ code: 0, out: `${expected}\n`, err: '' });
  });

  it('prints a preset of the built-in presets.json in its own API version', async () => {
    // Prepare: the expectation from the same file the service loads.
    const thumbnail = loadPresets({}).get('thumbnail');
    expect(thumbnail).toBeDefined();

    // Act
    const result = await url(['grid', '--preset', 'thumbnail']);

    // Assess
    expect(result).toEqual({ code: 0, out: `http://127.0.0.1:3000/iiif/${thumbnail?.api ?? ''}/grid/${thumbnail?.path ?? ''}\n`, err: '' });
  });

  it.each([
    ['square', [], 'http://127.0.0.1:3000/iiif/3/a%20b/square/250,250/0/default.webp'],
    ['legacy', ['--api', '2'], 'http://127.0.0.1:3000/iiif/2/a%20b/full/full/0/gray.png'],
  ])('prints preset %s of PRESETS_FILE', async (name, extra, expected) => {
    // Act
    const result = await url(['a b', '--preset', name, ...extra], { PRESETS_FILE: presetsFile });

    // Assess
    expect(result).toEqual({ code: 0, out: `${expected}\n`, err: '' });
  });

  it.each([
    ['3', ['grid', '--size', 'bogus'], { size: 'bogus' }],
    ['2', ['grid', '--api', '2', '--size', '^max'], { size: '^max' }],
    ['3', ['grid', '--rotation', '361'], { rotation: '361' }],
    ['3', ['grid', '--quality', 'sepia'], { qualityFormat: 'sepia.jpg' }],
  ] as const)('refuses what the %s.x service would refuse (%j) with exit 2 and the service\'s own message', async (version, args, part) => {
    // Prepare: the message lib/iiif gives the service for the same request.
    const segments = { identifier: 'grid', region: 'full', size: 'max', rotation: '0', qualityFormat: 'default.jpg', ...part };
    const message = messageOf(() => parseImageRequest(version, segments));

    // Act
    const result = await url(args);

    // Assess
    expect(message).toMatch(/^Expected .* but received ".*"$/);
    expect(result).toEqual({ code: 2, out: '', err: `recto url: ${message}\nRun \`npx recto url --help\` for usage.\n` });
  });

  it.each([
    [['grid', '--api', '4'], 'recto url: Expected one of 2, 3 for --api but received "4"'],
    [['grid', '--preset', 'thumbnail', '--size', '100,'], 'recto url: Expected either --preset or region/size/rotation/quality/format options for the image but received "--preset with --size"'],
    [['grid', '--preset', 'nope'], `recto url: Expected one of the presets ${[...loadPresets({}).keys()].join(', ')} for the preset but received "nope"`],
    [['grid', '--endpoint', 'ftp://example.org'], 'recto url: Expected an http(s) URL for --endpoint but received "ftp://example.org"'],
    [[], 'recto url: Expected exactly one image for recto url but received "none"'],
    [['a', 'b'], 'recto url: Expected exactly one image for recto url but received "a b"'],
  ])('refuses %j with exit 2 and says why', async (args, message) => {
    // Act
    const result = await url(args);

    // Assess
    expect(result).toEqual({ code: 2, out: '', err: `${message}\nRun \`npx recto url --help\` for usage.\n` });
  });

  it('refuses a preset written for the other API version than --api', async () => {
    // Act
    const result = await url(['grid', '--preset', 'legacy', '--api', '3'], { PRESETS_FILE: presetsFile });

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toBe('recto url: Expected --api 2 (preset legacy is written in IIIF 2) or no --api for --api but received "3"\nRun `npx recto url --help` for usage.\n');
  });

  it('prints the same through npx recto, alone on stdout', async () => {
    // Act
    const ran = await recto(['url', 'grid', '--size', '!400,400'], { env: { RECTO_ENDPOINT: 'https://iiif.example.org' } });

    // Assess
    expect([ran.code, ran.text]).toEqual([0, 'https://iiif.example.org/iiif/3/grid/full/!400,400/0/default.jpg\n']);
  });
});

function messageOf(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('Expected the request to be refused but it parsed');
}

describe('the file names recto get gives the images it writes into a directory', () => {
  it.each([
    ['/iiif/3/grid/full/!400,400/0/default.jpg', 'grid_full_fit400x400_0_default.jpg'],
    ['/iiif/3/grid/full/max/!90/gray.png', 'grid_full_max_mirror90_gray.png'],
    ['/iiif/3/ms%2F0001/pct:10,10,50,50/^!800,800/22.5/default.webp', 'ms-0001_pct10-10-50-50_upfit800x800_22.5_default.webp'],
    ['/iiif/2/box%201%3Apage/0,0,100,100/,200/0/bitonal.gif', 'box-1-page_0-0-100-100_x200_0_bitonal.gif'],
    ['/iiif/3/a/square/^max/0/default.jpg', 'a_square_upmax_0_default.jpg'],
    ['/iiif/3/a_b/full/^pct:150/0/default.tif', 'a-b_full_uppct150_0_default.tif'],
  ])('%s is written as %s', (urlPath, name) => {
    // Act
    const written = fileNameFor(`http://127.0.0.1:3000${urlPath}`);

    // Assess: the mapping of docs/cli.md, and nothing a shell would want quoted.
    expect(written).toBe(name);
    expect(written).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});
