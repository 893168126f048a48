/**
 * The documentation holds together: every relative link in README.md, docs/*.md and
 * bench/README.md points at a file that exists and, with a #fragment, at a heading of that file;
 * the README links every manual; each manual opens with a paragraph saying what it covers; the
 * README stays a front door; and no page cites documents that live outside the repository.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MANUALS = readdirSync(path.join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`);
const PAGES = ['README.md', ...MANUALS, 'bench/README.md'];
/** The README is the front door: longer than this, it is a manual again. */
const README_MAX_LINES = 250;

function read(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

/** The text outside fenced blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a Markdown file's headings give, with GitHub's -1, -2 … for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(match[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** `[text](target)` and `![alt](target)` targets that are not URLs with a scheme. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** What is wrong with one link from `file`, or undefined when it works. */
function brokenLink(file: string, target: string): string | undefined {
  const [pathPart = '', fragment] = target.split('#', 2);
  const resolved = pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
  if (resolved.startsWith('..') || !existsSync(path.join(REPO_ROOT, resolved))) return `${file}: ${target} (no file ${resolved})`;
  if (fragment === undefined) return undefined;
  if (!resolved.endsWith('.md')) return `${file}: ${target} (an anchor in a file that is not Markdown)`;
  return anchors(read(resolved)).has(fragment) ? undefined : `${file}: ${target} (no heading #${fragment} in ${resolved})`;
}

describe('links in README.md, docs/*.md and bench/README.md', () => {
  it.each(PAGES)('%s links only to files and headings that exist', (file) => {
    const links = relativeLinks(read(file));
    expect(links.map((target) => brokenLink(file, target)).filter((problem) => problem !== undefined)).toEqual([]);
  });

  it('README.md links every manual in docs/', () => {
    const linked = new Set(relativeLinks(read('README.md')).map((target) => target.split('#')[0]));
    expect(MANUALS.filter((manual) => !linked.has(manual))).toEqual([]);
  });

  it('finds the links it checks (the slugs and the link pattern still match the pages)', () => {
    expect(slug('Custom domain and `PUBLIC_BASE_URL`')).toBe('custom-domain-and-public_base_url');
    expect(slug('Memory, CPU and time')).toBe('memory-cpu-and-time');
    expect(relativeLinks(read('README.md')).length).toBeGreaterThan(MANUALS.length);
  });
});

describe('the pages themselves', () => {
  it(`README.md is a front door: at most ${README_MAX_LINES} lines, with the two commands a fresh machine needs`, () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(README_MAX_LINES + 1);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });

  it.each(MANUALS)('%s opens with its title, then a paragraph saying what it covers', (file) => {
    const [title, blank, first] = read(file).split('\n');
    expect(title).toMatch(/^# \S/);
    expect(blank).toBe('');
    expect(first).toMatch(/^[A-Za-z`*[]/);
  });

  it.each(PAGES)('%s cites no document outside the repository', (file) => {
    const text = read(file);
    const outside = [...text.matchAll(/\b(?:DESIGN|IIIF|STYLE)\.md\b|\.\.\/shared\b|\bissues? #?\d+|(?<![\w&/])#\d+\b/gi)].map((match) => match[0]);
    expect(outside).toEqual([]);
  });
});
