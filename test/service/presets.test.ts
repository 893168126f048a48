/**
 * Presets are validated at load: each must parse in the API version it declares, and every bad
 * file fails with a message naming the source, the preset and the part.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { RectoError } from '../../lib/errors.js';
import { loadPresets, parsePresets, presetRequest, selectPresets } from '../../lib/service/presets.js';

function failure(run: () => unknown): { name: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof Error) return { name: error.name, message: error.message };
  }
  throw new Error('Expected a failure but the call succeeded');
}

describe('parsePresets', () => {
  it('reads the object form and the string shorthand (API 3.0), in file order', () => {
    // Act
    const presets = parsePresets(
      {
        thumbnail: { path: 'full/!400,400/0/default.jpg', api: '3', description: 'small' },
        legacy: { path: 'full/150,/0/default.jpg', api: '2' },
        square: 'square/200,200/0/default.webp',
      },
      'PRESETS_FILE',
    );

    // Assess
    expect([...presets.values()]).toEqual([
      { name: 'thumbnail', api: '3', path: 'full/!400,400/0/default.jpg', description: 'small' },
      { name: 'legacy', api: '2', path: 'full/150,/0/default.jpg' },
      { name: 'square', api: '3', path: 'square/200,200/0/default.webp' },
    ]);
  });

  it.each([
    ['an array', [], 'PRESETS_FILE: Expected a JSON object of preset name → preset for the presets but received "an array"'],
    ['a bad name', { 'bad name': 'full/max/0/default.jpg' }, 'PRESETS_FILE: Expected a name of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit for a preset name but received "bad name"'],
    ['an unknown field', { thumb: { path: 'full/max/0/default.jpg', aip: '3' } }, 'PRESETS_FILE: Expected only path, api, description for preset "thumb" fields but received "aip"'],
    ['a missing path', { thumb: { api: '3' } }, 'PRESETS_FILE: Expected a string {region}/{size}/{rotation}/{quality}.{format} for preset "thumb" path but received "nothing"'],
    ['an unknown API version', { thumb: { path: 'full/max/0/default.jpg', api: 3 } }, 'PRESETS_FILE: Expected one of "2", "3" for preset "thumb" api but received "number 3"'],
    ['a 2.1-only size in a 3.0 preset', { thumb: { path: 'full/full/0/default.jpg', api: '3' } }, 'PRESETS_FILE: preset "thumb" (API 3): Expected one of max, ^max, w,, ^w,, ,h, ^,h, pct:n, ^pct:n, w,h, ^w,h, !w,h or ^!w,h ("full" is 2.1 only; use "max") for size but received "full"'],
    ['a 3.0-only size in a 2.1 preset', { thumb: { path: 'full/^max/0/default.jpg', api: '2' } }, 'PRESETS_FILE: preset "thumb" (API 2): Expected one of full, max, w,, ,h, pct:n, w,h or !w,h ("^" is 3.0 only) for size but received "^max"'],
    ['three segments', { thumb: 'full/max/default.jpg' }, 'PRESETS_FILE: preset "thumb" (API 3): Expected four segments {region}/{size}/{rotation}/{quality}.{format} for the path but received "full/max/default.jpg"'],
    ['a bad rotation', { thumb: 'full/max/400/default.jpg' }, 'PRESETS_FILE: preset "thumb" (API 3): Expected n or !n with 0 ≤ n ≤ 360 for rotation but received "400"'],
    ['a format Recto does not write', { thumb: 'full/max/0/default.jp2' }, 'PRESETS_FILE: Expected one of the formats Recto writes (jpg, png, webp, tif, gif) for preset "thumb" format but received "jp2"'],
  ])('refuses %s with a message naming it', (_what, document, message) => {
    // Act
    const error = failure(() => parsePresets(document, 'PRESETS_FILE'));

    // Assess
    expect(error).toEqual({ name: 'ConfigError', message });
  });
});

describe('loadPresets', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recto-presets-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without PRESETS_FILE gives the built-in presets.json: thumbnail, web and print-gray', () => {
    // Act
    const presets = loadPresets({});

    // Assess
    expect([...presets.keys()]).toEqual(['thumbnail', 'web', 'print-gray']);
    expect(presets.get('thumbnail')).toMatchObject({ api: '3', path: 'full/!400,400/0/default.jpg' });
  });

  it('reads PRESETS_FILE', async () => {
    // Prepare
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ tiny: 'full/!64,64/0/default.png' }));

    // Act
    const presets = loadPresets({ presetsFile: file });

    // Assess
    expect([...presets.values()]).toEqual([{ name: 'tiny', api: '3', path: 'full/!64,64/0/default.png' }]);
  });

  it('fails on a file that is not JSON, naming PRESETS_FILE and the file', async () => {
    // Prepare
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "thumbnail": ');

    // Act
    const error = failure(() => loadPresets({ presetsFile: file }));

    // Assess
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(new RegExp(`^PRESETS_FILE: Expected valid JSON for the file ${JSON.stringify(file).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} but received "\\{ \\\\"thumbnail\\\\": "`));
  });

  it('fails on a file that does not exist, with its error code', () => {
    // Act
    const error = failure(() => loadPresets({ presetsFile: join(dir, 'missing.json') }));

    // Assess
    expect(error).toEqual({ name: 'ConfigError', message: `PRESETS_FILE: Expected a readable presets file for the file but received ${JSON.stringify(`${join(dir, 'missing.json')} (ENOENT)`)}` });
  });
});

describe('selectPresets and presetRequest', () => {
  const presets = parsePresets({ thumbnail: 'full/!400,400/0/default.jpg', web: 'full/1600,/0/default.jpg' }, 'test');

  it('refuses an unknown name with PRESET_NOT_FOUND, listing the known ones', () => {
    // Act
    let caught: unknown;
    try {
      selectPresets(presets, ['thumbnail', 'poster']);
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(RectoError);
    expect({ code: (caught as RectoError).code, status: (caught as RectoError).status, message: (caught as RectoError).message }).toEqual({
      code: 'PRESET_NOT_FOUND',
      status: 404,
      message: 'Expected one of the presets thumbnail, web for the preset but received "poster"',
    });
  });

  it('parses a preset for an identifier with a slash, encoding it once', () => {
    // Act
    const request = presetRequest(presets.get('thumbnail') ?? expect.fail('thumbnail'), 'ms/0001');

    // Assess
    expect(request).toMatchObject({ version: '3', identifier: 'ms/0001', size: { kind: 'fit', width: 400, height: 400, upscale: false }, format: 'jpg' });
  });

  it('throws ConfigError, not a generic Error, for the built-in file too', () => {
    // Act
    const error = failure(() => parsePresets({ x: 'nope' }, 'presets.json'));

    // Assess
    expect(error.name).toBe(new ConfigError('presets.json', '').name);
    expect(error.message.startsWith('presets.json: preset "x" (API 3): ')).toBe(true);
  });
});
