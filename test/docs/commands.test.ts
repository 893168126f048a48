/**
 * The shell commands in the documentation can be pasted as they are: no `curl` that writes a
 * file (`-o`) also writes the headers into it (`-i`), and every URL holding `!` (a `!w,h` size,
 * a mirrored rotation) is in single quotes, since an interactive bash takes `!` in an unquoted
 * or double-quoted word for history expansion.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGES = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`), 'bench/README.md'];

/** Lines of the fenced blocks of a page that run curl, `$ ` prompts removed. */
function curlLines(file: string): string[] {
  const markdown = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)]
    .flatMap((match) => (match[1] ?? '').split('\n'))
    .map((line) => line.replace(/^\$ /, '').trim())
    .filter((line) => /(^|[\s($])curl\s/.test(line));
}

/** What is wrong with one curl command line, or undefined. */
function curlProblem(line: string): string | undefined {
  const withoutComment = line.replace(/\s#\s.*$/, '');
  const options = withoutComment.match(/(?<=\s)-[A-Za-z]+\b|--[a-z-]+/g) ?? [];
  const includesHeaders = options.some((option) => option === '--include' || (/^-[A-Za-z]+$/.test(option) && option.includes('i')));
  const writesFile = options.some((option) => option === '--output' || (/^-[A-Za-z]+$/.test(option) && option.endsWith('o')));
  if (includesHeaders && writesFile) return `${line}: -i writes the headers into the file -o names (use -D - to see them)`;
  // Words holding "!" outside single quotes.
  const unquoted = withoutComment.replace(/'[^']*'/g, "''");
  if (unquoted.includes('!')) return `${line}: a "!" outside single quotes starts history expansion in an interactive bash`;
  return undefined;
}

describe('curl commands in README.md and docs/', () => {
  it('finds the problems it looks for', () => {
    expect(curlProblem(`curl -iL -H "Authorization: Bearer $TOKEN" 'http://h/iiif/3/a/full/!400,400/0/default.jpg' -o a.jpg`)).toMatch(/-i writes the headers/);
    expect(curlProblem('curl -L http://h/iiif/3/a/full/!400,400/0/default.jpg -o a.jpg')).toMatch(/history expansion/);
    expect(curlProblem('curl -L "http://h/iiif/3/a/full/!400,400/0/default.jpg" -o a.jpg')).toMatch(/history expansion/);
    expect(curlProblem(`curl -L -D - -o a.jpg 'http://h/iiif/3/a/full/!400,400/0/default.jpg'`)).toBeUndefined();
    expect(curlProblem(`curl -i -H "Authorization: Bearer $TOKEN" 'http://h/iiif/3/a/info.json'`)).toBeUndefined();
  });

  it.each(PAGES)('%s: every curl can be pasted into a terminal as it is', (file) => {
    expect(curlLines(file).map(curlProblem).filter((problem) => problem !== undefined)).toEqual([]);
  });
});
