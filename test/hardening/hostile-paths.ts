/**
 * The hostile-paths corpus: request paths as they arrive on the wire, each
 * with the answer it must get. Two parts:
 *
 * - generated (test/fixtures/hostile-paths.json): every grammar part broken alone, pairs and
 *   triples of parts broken together, the router's shapes, 10 KB paths and identifiers that are
 *   hostile but well-formed, for 2.1, 3.0 and the unversioned prefix. Written by this module
 *   (`npx tsx test/hardening/hostile-paths.ts`); a test checks the file is what it generates, so
 *   the rules below are the reviewable source and the JSON cannot drift from them.
 * - hand-written (test/fixtures/hostile-paths-hand.txt): attacks as people write them (XSS,
 *   header injection, path traversal in its many spellings, SQL and template injection, log
 *   forging), one per line: `STATUS CODE S3 PATH`.
 *
 * Every expected status is 400 or 404. `s3` says what storage may see: `none` for a request
 * that fails before it names an image (a malformed request makes no S3 call at all), `read` for
 * a well-formed request that must look the identifier up (reads only, keys inside the
 * configured prefixes). Paths are printable ASCII without `?` or `#`: exactly the bytes sent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const S3_EXPECTATIONS = ['none', 'read'] as const;
export type S3Expectation = (typeof S3_EXPECTATIONS)[number];

export interface HostileCase {
  readonly path: string;
  readonly status: 400 | 404;
  /** The stable error code of the JSON body. */
  readonly code: string;
  readonly s3: S3Expectation;
  /** What the case is about, for failure messages. */
  readonly why: string;
}

export interface HostileCorpus {
  readonly description: string;
  /** The identifier every well-formed part refers to: it exists in the test stack. */
  readonly identifier: string;
  readonly cases: readonly HostileCase[];
}

/** An existing source of the test stack (a 1000x1000 grid). */
export const KNOWN_IDENTIFIER = 'grid';

export const GENERATED_FILE = fileURLToPath(new URL('../fixtures/hostile-paths.json', import.meta.url));
export const HAND_WRITTEN_FILE = fileURLToPath(new URL('../fixtures/hostile-paths-hand.txt', import.meta.url));

/** The prefixes the router knows, with the API version each means (unversioned is 2.1 by default). */
const PREFIXES = [
  { prefix: '/iiif/3', version: '3' },
  { prefix: '/iiif/2', version: '2' },
  { prefix: '/iiif', version: '2' },
] as const;
type Version = (typeof PREFIXES)[number]['version'];

const PARTS = ['identifier', 'region', 'size', 'rotation', 'qualityFormat'] as const;
type Part = (typeof PARTS)[number];

/** A broken value for one part and the code it must produce. */
interface Broken {
  readonly value: string;
  readonly code: string;
}

const valid = (version: Version): Record<Part, string> => ({
  identifier: KNOWN_IDENTIFIER,
  region: 'full',
  size: version === '3' ? 'max' : 'full',
  rotation: '0',
  qualityFormat: 'default.jpg',
});

const TEN_KB = 10 * 1024;

const BAD_IDENTIFIERS: readonly string[] = [
  '%00', 'a%00b', '%0A', '%0D', '%09', '%1B%5B31m', '%7F', '%C2%85', '%C2%9F', '%E2%80%A8', '%E2%80%A9',
  'grid%0D%0ASet-Cookie:%20session=stolen', '%0D%0ALocation:%20http:%2F%2Fevil.example%2F', 'grid%0ALevel:%20ERROR',
  '.', '..', '%2E', '%2e%2E', '.%2E', 'a%2F..', '..%2Fgrid', '..%2F..%2F..%2Fetc%2Fpasswd', 'a%2F.%2Fb', '%2E%2E%2F%2E%2E%2Fsecret',
  'masters%2F..%2Fother', 'iiif%2F..%2F..%2Fsource.json', '%2F..%2F', 'a%2F..%2F',
  '%', '%2', '%G1', '%%32%65', '%E0%A4%A', '%C0%AE%C0%AE', '%C0%AF', '%ED%A0%80', '%ED%BF%BF', '%F4%90%80%80', '%FF', '%FE%FF', '%E2%82', '%80',
  'a'.repeat(513), '%2F'.repeat(171), '%E2%82%AC'.repeat(58), `x${'%00'.repeat(100)}`,
];

const BAD_REGIONS: readonly string[] = [
  'ful', 'FULL', 'Full', 'full%20', '%20full', 'full%00', 'full%2F', '%66ul', 'squares', 'Square', 'square!', 'full;jsessionid=1', 'full..',
  'pct:', 'pct:10,10,10', 'pct:10,10,10,10,10', 'pct:-10,0,10,10', 'pct:1e1,0,10,10', 'pct:0x1,0,1,1', 'pct:10,10,0,10', 'pct:%2D1,0,1,1',
  'PCT:10,10,10,10', 'pct%3A', '0,0,0,0', '0,0,10', '0,0,10,10,', ',0,10,10', '-0,0,10,10', '+1,0,10,10', '1.5,0,10,10', '1e2,0,10,10',
  '0x10,0,10,10', 'NaN,0,10,10', 'Infinity,0,1,1', '9999999999999999,0,1,1', '%EF%BC%91,0,10,10', '0,0,10,10%0D%0A', '%3Cscript%3E',
  '0%2C0%2C10', 'pct:10,10,10,10%00', '1,1,1,1,', '0;0;10;10',
];

/** Size values broken in both versions. */
const BAD_SIZES: readonly string[] = [
  'MAX', 'Max', 'max%20', 'maxx', 'max%00', 'pct:', 'pct:-1', 'pct:1e2', 'pct:0', 'pct:0.0', 'pct:abc', 'pct:50%25', '100%25',
  '0,', ',0', '0,0', '!0,10', '!10,', '!,10', ',', '-1,', '1e3,', '0x10,', '1.5,', '10,10,10', '!!10,10', '%EF%BC%91%EF%BC%90,',
  '9999999999999999,', ',9999999999999999', '10,-10', '%C2%B90,', 'max,', '%2C%2C', `${'9'.repeat(100)},`,
];
const BAD_SIZES_3: readonly string[] = ['full', '^^max', 'max^', '^', '^full', '^pct:0'];
const BAD_SIZES_2: readonly string[] = ['^max', '^100,', '^pct:50', '^!10,10', '^,100', 'max^'];

const BAD_ROTATIONS: readonly string[] = [
  '-0', '-90', '+90', '361', '360.0001', '1e2', '0x5A', '90deg', '%2090', '90%20', '!!90', '!', '!-0', 'NaN', 'Infinity',
  '9999999999999999', '90.5.5', '%EF%BC%99%EF%BC%90', '!%2D1', '0,0', '45%2F', '.', '..5', '%00', '90%0D%0A', '360.5', '400',
];

const BAD_QUALITIES: readonly string[] = [
  'Default.jpg', 'DEFAULT.jpg', 'native.jpg', 'grey.jpg', 'colour.jpg', '.jpg', 'default%00.jpg', '%2E.jpg', 'default%20.jpg', 'gray%2Fcolor.jpg',
];
const BAD_FORMATS: readonly string[] = [
  'default', 'default.', 'default.JPG', 'default.jpeg', 'default.jpg.png', 'default.svg', 'default.exe', 'default.jpg%00', 'default.jpg%20',
  'default.tiff', 'default.bmp', 'default.jpg;.png', 'default.jpg%0D%0A', 'default.%3Cb%3E', 'default.png%2F',
];

function brokenValues(part: Part, version: Version): readonly Broken[] {
  switch (part) {
    case 'identifier':
      return BAD_IDENTIFIERS.map((value) => ({ value, code: 'IIIF_INVALID_IDENTIFIER' }));
    case 'region':
      return BAD_REGIONS.map((value) => ({ value, code: 'IIIF_INVALID_REGION' }));
    case 'size':
      return [...BAD_SIZES, ...(version === '3' ? BAD_SIZES_3 : BAD_SIZES_2)].map((value) => ({ value, code: 'IIIF_INVALID_SIZE' }));
    case 'rotation':
      return BAD_ROTATIONS.map((value) => ({ value, code: 'IIIF_INVALID_ROTATION' }));
    case 'qualityFormat':
      return [
        ...BAD_QUALITIES.map((value) => ({ value, code: 'IIIF_INVALID_QUALITY' })),
        ...BAD_FORMATS.map((value) => ({ value, code: 'IIIF_INVALID_FORMAT' })),
      ];
  }
}

/** Identifiers that are well-formed however odd: the answer is a 404 after a lookup inside the prefixes. */
const ODD_VALID_IDENTIFIERS: readonly string[] = [
  '%252e%252e', '%252F..%252F', '%E2%80%AE%E2%80%ADgrid', '%E2%80%8Bgrid', '%F0%9F%92%A3', 'e%CC%81', '%C3%A9', 'a%5C..%5Cb', '..%5C..%5Cwindows',
  'a..b', '...', '.hidden', 'grid%2F', '%2Fetc%2Fpasswd', 'a%2F%2Fb', 'con', 'nul', 'source.json', 'grid%2Fsource.json', '%24%7Bjndi:ldap:%2F%2Fx%2Fa%7D',
  // Long but legal. (Up to 512 bytes is legal; the embedded S3 of the local stack keeps keys as
  // file names, which stop at 255 bytes a segment, so these stay under that.)
  'a'.repeat(200), '%2F'.repeat(60),
];

function imagePath(prefix: string, parts: Record<Part, string>): string {
  return `${prefix}/${parts.identifier}/${parts.region}/${parts.size}/${parts.rotation}/${parts.qualityFormat}`;
}

/** The generated corpus, deterministic. */
export function generateHostilePaths(): HostileCorpus {
  const cases: HostileCase[] = [];
  const add = (entry: HostileCase): void => {
    cases.push(entry);
  };

  for (const { prefix, version } of PREFIXES) {
    const base = valid(version);
    // Each part broken alone.
    for (const part of PARTS) {
      for (const broken of brokenValues(part, version)) {
        add({ path: imagePath(prefix, { ...base, [part]: broken.value }), status: 400, code: broken.code, s3: 'none', why: `${part} broken alone` });
      }
    }
    // Parts broken together: the first broken part (in parse order) names the error.
    for (let a = 0; a < PARTS.length; a++) {
      for (let b = a + 1; b < PARTS.length; b++) {
        const first = PARTS[a] as Part;
        const second = PARTS[b] as Part;
        const firsts = brokenValues(first, version);
        const seconds = brokenValues(second, version);
        for (let i = 0; i < 6; i++) {
          const x = firsts[(i * 7 + a) % firsts.length] as Broken;
          const y = seconds[(i * 5 + b) % seconds.length] as Broken;
          add({ path: imagePath(prefix, { ...base, [first]: x.value, [second]: y.value }), status: 400, code: x.code, s3: 'none', why: `${first} and ${second} broken` });
        }
      }
    }
    for (let i = 0; i < 8; i++) {
      const all = Object.fromEntries(PARTS.map((part, p) => {
        const list = brokenValues(part, version);
        return [part, (list[(i * 3 + p) % list.length] as Broken).value];
      })) as Record<Part, string>;
      const code = (brokenValues('identifier', version)[(i * 3) % BAD_IDENTIFIERS.length] as Broken).code;
      add({ path: imagePath(prefix, all), status: 400, code, s3: 'none', why: 'every part broken' });
    }
    // info.json and the base URI with a broken identifier.
    for (const value of BAD_IDENTIFIERS) {
      add({ path: `${prefix}/${value}/info.json`, status: 400, code: 'IIIF_INVALID_IDENTIFIER', s3: 'none', why: 'info.json of a broken identifier' });
    }
    for (const value of BAD_IDENTIFIERS.slice(0, 24)) {
      add({ path: `${prefix}/${value}`, status: 400, code: 'IIIF_INVALID_IDENTIFIER', s3: 'none', why: 'base URI of a broken identifier' });
    }
    // Well-formed but odd identifiers: looked up (reads only, inside the prefixes), not found.
    for (const value of ODD_VALID_IDENTIFIERS) {
      add({ path: imagePath(prefix, { ...base, identifier: value }), status: 404, code: 'SOURCE_NOT_FOUND', s3: 'read', why: 'odd but well-formed identifier' });
      add({ path: `${prefix}/${value}/info.json`, status: 404, code: 'SOURCE_NOT_FOUND', s3: 'read', why: 'info.json of an odd but well-formed identifier' });
    }
    // Shapes no route takes.
    const shapes = [
      `${prefix}/grid/full/max/0`, `${prefix}/grid/full/max/0/default.jpg/extra`, `${prefix}/grid/full/max//0/default.jpg`,
      `${prefix}/grid/info.json/extra`, `${prefix}/grid/info`, `${prefix}/grid/INFO.JSON`, `${prefix}/grid/info.json%00`, `${prefix}/grid/info.json.`,
      `${prefix}/grid/info%2Ejson`, `${prefix}/grid/`, `${prefix}/grid//`, `${prefix}/grid/full`, `${prefix}/grid/full/max`,
      `${prefix}/grid/full/max/0/default.jpg/`, `${prefix}/grid/full/max/0/default.jpg//`, `${prefix}/grid/..`, `${prefix}/grid/%2e%2e/%2e%2e`,
      `${prefix}/a/b/c/d/e/f/g`, `${prefix}//full/max/0`, `${prefix}/grid/full/max/0/default.jpg/..%2F..%2F`,
    ];
    for (const path of shapes) add({ path, status: 404, code: 'NOT_FOUND', s3: 'none', why: 'a shape no route takes' });
    // 10 KB: past the router's 8 KB cap, refused before any parsing.
    for (const part of PARTS) {
      add({ path: imagePath(prefix, { ...base, [part]: 'a'.repeat(TEN_KB) }), status: 404, code: 'NOT_FOUND', s3: 'none', why: `a 10 KB ${part}` });
    }
    add({ path: `${prefix}/${'%2E'.repeat(TEN_KB / 3)}/info.json`, status: 404, code: 'NOT_FOUND', s3: 'none', why: 'a 10 KB encoded identifier' });
    // Long but under the cap: each part's parser refuses it.
    add({ path: imagePath(prefix, { ...base, identifier: 'b'.repeat(8000) }), status: 400, code: 'IIIF_INVALID_IDENTIFIER', s3: 'none', why: 'an 8000-byte identifier' });
    add({ path: imagePath(prefix, { ...base, region: `${'1'.repeat(2000)},0,1,1` }), status: 400, code: 'IIIF_INVALID_REGION', s3: 'none', why: 'an overlong number in the region' });
    add({ path: imagePath(prefix, { ...base, size: `${'1'.repeat(4000)},` }), status: 400, code: 'IIIF_INVALID_SIZE', s3: 'none', why: 'an overlong number in the size' });
    add({ path: imagePath(prefix, { ...base, rotation: '9'.repeat(7000) }), status: 400, code: 'IIIF_INVALID_ROTATION', s3: 'none', why: 'an overlong rotation' });
    add({ path: imagePath(prefix, { ...base, qualityFormat: `default.${'j'.repeat(7000)}` }), status: 400, code: 'IIIF_INVALID_FORMAT', s3: 'none', why: 'an overlong format' });
  }
  // Prefixes that are not the router's.
  for (const path of [
    '/iiif', '/iiif/3', '/iiif/2', '/IIIF/3/grid/info.json', '/iiif3/grid/info.json', '//iiif/3/grid/info.json', '/iiif/4/grid/info.json',
    '/iiif/%33/grid/info.json', '/iiif/presets', '/iiif/presets/grid/extra', '/iiif/presets/grid/', '/iif/3/grid/info.json', '/iiif%2F3/grid/info.json',
    '/api/iiif/3/grid/info.json', '/.env', '/etc/passwd', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/favicon.ico', '/robots.txt',
    '/iiif/3/grid/full/max/0/default.jpg%2F..%2F..%2F..%2Fsource.json/x', '/wp-admin/', '/iiif/../iiif/3/grid/info.json/x',
  ]) {
    add({ path, status: 404, code: 'NOT_FOUND', s3: 'none', why: 'not a IIIF prefix' });
  }
  for (const value of BAD_IDENTIFIERS.slice(0, 30)) {
    add({ path: `/iiif/presets/${value}`, status: 400, code: 'IIIF_INVALID_IDENTIFIER', s3: 'none', why: 'presets of a broken identifier' });
  }
  for (const entry of cases) assertWireSafe(entry.path);
  return {
    description: 'Generated by test/hardening/hostile-paths.ts: hostile request paths as sent on the wire, each with its status (400 or 404), error code and what storage may see (none: no S3 call at all; read: lookups inside the configured prefixes, no write). Do not edit: change the generator and run `npx tsx test/hardening/hostile-paths.ts`.',
    identifier: KNOWN_IDENTIFIER,
    cases,
  };
}

/** Printable ASCII, no space, `?` or `#`: what is stored is exactly what is sent. */
export function assertWireSafe(path: string): void {
  if (!/^\/[\x21-\x7e]*$/.test(path) || path.includes('?') || path.includes('#')) {
    throw new TypeError(`Expected a wire-safe path (printable ASCII, no ? or #) but received ${JSON.stringify(path.slice(0, 80))}`);
  }
}

/** Parse the hand-written corpus: `STATUS CODE S3 PATH` per line, `#` comments. */
export function parseHandWritten(text: string): HostileCase[] {
  const cases: HostileCase[] = [];
  let comment = 'hand-written';
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      comment = line.replace(/^#+\s*/, '') || comment;
      continue;
    }
    const match = /^(400|404) ([A-Z_]+) (none|read) (\/\S*)$/.exec(line);
    if (match === null) throw new TypeError(`hostile-paths-hand.txt line ${index + 1}: expected "STATUS CODE S3 PATH" but received ${JSON.stringify(line.slice(0, 80))}`);
    const [, status, code, s3, path] = match as unknown as [string, '400' | '404', string, S3Expectation, string];
    assertWireSafe(path);
    cases.push({ path, status: status === '400' ? 400 : 404, code, s3, why: comment });
  }
  return cases;
}

export function readGenerated(): HostileCorpus {
  return JSON.parse(readFileSync(GENERATED_FILE, 'utf8')) as HostileCorpus;
}

export function readHandWritten(): HostileCase[] {
  return parseHandWritten(readFileSync(HAND_WRITTEN_FILE, 'utf8'));
}

/** The whole corpus: generated and hand-written. */
export function readHostileCorpus(): HostileCase[] {
  return [...readGenerated().cases, ...readHandWritten()];
}

/** The JSON text the generated file must hold. */
export function generatedText(): string {
  const corpus = generateHostilePaths();
  // One case per line: reviewable diffs, and still valid JSON.
  const lines = corpus.cases.map((entry) => `    ${JSON.stringify(entry)}`);
  return `{\n  "description": ${JSON.stringify(corpus.description)},\n  "identifier": ${JSON.stringify(corpus.identifier)},\n  "cases": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED_FILE, generatedText());
  console.error(`Wrote ${generateHostilePaths().cases.length} cases to ${GENERATED_FILE}`);
}
