/**
 * docs/deploy.md stays true to template.yaml: every parameter is in its table with the
 * template's default, and every output is described.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/build/bundle.js';
import { loadTemplate, text } from './template.js';

/** The deploy manual, whole. */
const doc = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
const template = loadTemplate();

/** Rows of the parameters table: each named parameter with the default cell of its row. */
function documentedDefaults(): Map<string, string> {
  const section = doc.slice(doc.indexOf('\n## Parameters\n'), doc.indexOf('\n### Memory, CPU and time\n'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const [, names, defaultCell] = cells;
    if (names === undefined || defaultCell === undefined || !names.startsWith('`')) continue;
    const value = defaultCell === '*(empty)*' ? '' : defaultCell.replace(/^`|`$/g, '');
    for (const match of names.matchAll(/`([A-Za-z0-9]+)`/g)) rows.set(match[1] ?? '', value);
  }
  return rows;
}

describe('docs/deploy.md', () => {
  it('lists every template parameter with the default the template gives it', () => {
    const documented = documentedDefaults();
    const expected = Object.entries(template.Parameters).map(([name, p]) => [name, text(p['Default'], `${name}.Default`)]);
    expect(expected.map(([name]) => [name, documented.get(name ?? '')])).toEqual(expected);
    expect([...documented.keys()].filter((name) => !(name in template.Parameters))).toEqual([]);
  });

  it('describes every stack output', () => {
    const missing = Object.keys(template.Outputs ?? {}).filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('covers the sections a deployment needs: prerequisites, build, deploy, buckets, domain, tokens, cost', () => {
    const headings = [...doc.matchAll(/^##+ (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(expect.arrayContaining([
      'Prerequisites', 'Build: `npm run build`', 'Deploy: `sam deploy --guided`', 'Parameters',
      'Serving an existing bucket of masters', 'Custom domain and `PUBLIC_BASE_URL`', 'Tokens', 'What it costs',
    ]));
    // Each provider's claim names, which differ: Okta uses scp (an array), the others scope.
    expect(doc).toMatch(/\| Amazon Cognito \|.*\| `scope`, string \|/);
    expect(doc).toMatch(/\| Auth0 \|.*\| `scope`, string/);
    expect(doc).toMatch(/\| Okta \(custom authorization server\) \|.*\| `scp`, array \|/);
  });

  it('states the prices of "What it costs" as assumptions, without dating itself', () => {
    // The section, to the next heading of its level or above.
    const start = doc.indexOf('\n## What it costs\n');
    const end = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, end < 0 ? undefined : end);
    expect(start).toBeGreaterThan(0);
    expect(section).toMatch(/assumed prices/i);
    // No year, no "as of", no "this draft": a reader cannot tell from a date whether it is stale.
    expect(section.match(/\b(?:19|20)\d\d\b|\bas of\b|\bthis draft\b|\bwritten in\b/gi) ?? []).toEqual([]);
  });
});
