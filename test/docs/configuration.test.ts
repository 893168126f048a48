/**
 * docs/configuration.md's table of environment variables names exactly the variables
 * lib/config.ts reads, with the defaults lib/config.ts uses: documentation and code cannot drift
 * apart.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../lib/config.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const manual = readFileSync(path.join(REPO, 'docs', 'configuration.md'), 'utf8');
const configSource = readFileSync(path.join(REPO, 'lib', 'config.ts'), 'utf8');

/** `| \`NAME\` | default | meaning |` rows of the "## Environment variables" section's table. */
function documented(): Map<string, string> {
  const start = manual.indexOf('\n## Environment variables\n');
  if (start < 0) throw new Error('Expected a "## Environment variables" section in docs/configuration.md but found none');
  const end = manual.indexOf('\n## ', start + 1);
  const section = manual.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const match = /^\| `([A-Z][A-Z0-9_]*)` \| ([^|]+) \|/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) rows.set(match[1], match[2].trim());
  }
  return rows;
}

/** Every variable name lib/config.ts passes to one of its typed getters. */
function read(): string[] {
  return [...new Set([...configSource.matchAll(/read\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((match) => match[1] ?? ''))].sort();
}

describe('docs/configuration.md, Environment variables', () => {
  it('documents every variable lib/config.ts reads, and no other', () => {
    // Act
    const names = [...documented().keys()].sort();

    // Assess
    expect(read().length).toBeGreaterThan(30);
    expect(names).toEqual(read());
  });

  it('gives the defaults lib/config.ts uses', () => {
    // Prepare: the configuration with nothing but the two required buckets and auth off
    const config = loadConfig({ SOURCE_BUCKET: 's', DERIVATIVE_BUCKET: 'd', IIIF_AUTH: 'off' });
    const rows = documented();
    const cell = (name: string): string => (rows.get(name) ?? '').replace(/`/g, '');

    // Assess
    expect(cell('SOURCE_KEY_TEMPLATE')).toBe(config.sourceKeyTemplate);
    expect(cell('PRESIGN_TTL_SECONDS')).toBe(String(config.presignTtlSeconds));
    expect(cell('IIIF_MAX_AREA')).toBe(String(config.limits.maxArea));
    expect(cell('IIIF_TILE_SIZE')).toBe(String(config.tileSize));
    expect(cell('IIIF_DEFAULT_VERSION')).toBe(config.defaultVersion);
    expect(cell('IIIF_READ_SCOPE')).toBe(config.auth.readScope);
    expect(cell('IIIF_RENDER_SCOPE')).toBe(config.auth.renderScope);
    expect(cell('JWT_ALGORITHMS')).toBe(config.auth.algorithms.join(','));
    expect(cell('JWT_CLOCK_TOLERANCE_SECONDS')).toBe(String(config.auth.clockToleranceSeconds));
    expect(cell('JWT_MAX_TOKEN_AGE_SECONDS')).toBe(String(config.auth.maxTokenAgeSeconds));
    expect(cell('RENDER_MAX_INPUT_PIXELS')).toBe(String(config.render.maxInputPixels));
    expect(cell('RENDER_BUDGET_SECONDS')).toBe(String(config.render.budgetSeconds));
    expect(cell('RENDER_RATE_PER_MINUTE')).toBe(String(config.renderRate.perMinute));
    expect(cell('SOURCE_CACHE_DIR')).toBe(config.sourceCache.dir);
    expect(cell('SOURCE_CACHE_MAX_BYTES')).toBe(String(config.sourceCache.maxBytes));
    expect(cell('JPEG_QUALITY')).toBe(String(config.render.encode.jpegQuality));
    expect(cell('WEBP_QUALITY')).toBe(String(config.render.encode.webpQuality));
    expect(cell('WEBP_EFFORT')).toBe(String(config.render.encode.webpEffort));
    expect(cell('PNG_COMPRESSION_LEVEL')).toBe(String(config.render.encode.pngCompressionLevel));
    expect(cell('RENDER_MEMORY_MB')).toContain(String(DEFAULTS.RENDER_MEMORY_MB));
  });
});
