/**
 * `npx recto <command> …`: the staff CLI. One table (COMMANDS) says what each command accepts;
 * its parser and its `--help` are both made from it, so help and behaviour cannot drift (and
 * test/cli checks that they do not). `prewarm`, `purge` and `token` run the very code of their
 * npm scripts.
 *
 * Endpoint and token: `--endpoint` / `--token`, else RECTO_ENDPOINT / RECTO_TOKEN, else the local
 * stack (http://127.0.0.1:$PORT, PORT defaulting to 3000) and no token.
 *
 * Exit codes: 0 done, 1 failed (an HTTP error, a file that cannot be written), 2 bad usage.
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../lib/config.js';
import { RectoError, expected } from '../../lib/errors.js';
import { API_VERSIONS, QUALITIES, RENDERABLE_FORMATS, encodeIdentifier, type ApiVersion } from '../../lib/iiif/index.js';
import { loadPresets, presetRequest, selectPresets } from '../../lib/service/presets.js';
import { IMAGE_REQUEST_DEFAULTS, imageRequestPath, infoRequestPath } from './iiif-url.js';
import type { CliStreams } from './storage-script.js';
import { fetchFollowing, HttpError } from './recto-http.js';
import { LOCAL_PORT } from '../local/local-constants.js';

/** Exit codes, as documented above. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Where the CLI talks to when neither --endpoint nor RECTO_ENDPOINT says: `npm start`. */
export const LOCAL_ENDPOINT_PORT = LOCAL_PORT;

// ---- the table ----------------------------------------------------------------------------

/** One option: how it parses, and its line in --help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in --help (`--region REGION`); string options only. */
  readonly value?: string;
  readonly description: string;
}

type Options = Readonly<Record<string, OptionSpec>>;

/** What a command that runs here receives. */
interface Invocation {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly io: CliIo;
}

/** A command implemented in this file, with the options it accepts. */
export interface LocalCommand {
  readonly kind: 'local';
  readonly summary: string;
  /** After `npx recto`: `url ID [options]`. */
  readonly usage: string;
  readonly description: string;
  readonly options: Options;
  /** How many positional arguments: exactly one, or one or more. */
  readonly positionals: 'one' | 'many';
  readonly examples: readonly string[];
  readonly run: (invocation: Invocation) => Promise<ExitCode>;
}

/**
 * A command that is an npm script's own code: its arguments and --help are passed through, and
 * its help and hints name the command as invoked (`npx recto prewarm`, not `npm run prewarm`).
 */
export interface DelegatedCommand {
  readonly kind: 'delegated';
  readonly summary: string;
  /** The npm script it is (`npm run prewarm`). */
  readonly script: string;
  /** The file whose code runs, relative to the repository root. */
  readonly file: string;
  readonly run: (argv: readonly string[], io: CliIo & { readonly command: string }) => Promise<number>;
}

export type CommandSpec = LocalCommand | DelegatedCommand;

const CONNECTION_OPTIONS = {
  endpoint: { type: 'string', value: 'URL', description: `Recto's base URL, before /iiif (default $RECTO_ENDPOINT, else http://127.0.0.1:$PORT, PORT ${LOCAL_PORT})` },
  token: { type: 'string', value: 'TOKEN', description: 'bearer token (default $RECTO_TOKEN; for the local stack: RECTO_TOKEN=$(npx recto token))' },
} as const satisfies Options;

const IMAGE_OPTIONS = {
  region: { type: 'string', value: 'REGION', description: `full, square, x,y,w,h or pct:x,y,w,h (default ${IMAGE_REQUEST_DEFAULTS.region})` },
  size: { type: 'string', value: 'SIZE', description: `max, w,, ,h, pct:n, w,h or !w,h; 3.0: ^ to upscale; 2.1: full (default ${IMAGE_REQUEST_DEFAULTS.size})` },
  rotation: { type: 'string', value: 'DEGREES', description: `0 to 360 clockwise, ! first to mirror: !90 (default ${IMAGE_REQUEST_DEFAULTS.rotation})` },
  quality: { type: 'string', value: 'QUALITY', description: `${QUALITIES.join(', ')} (default ${IMAGE_REQUEST_DEFAULTS.quality})` },
  format: { type: 'string', value: 'FORMAT', description: `${RENDERABLE_FORMATS.join(', ')} (default ${IMAGE_REQUEST_DEFAULTS.format})` },
  preset: { type: 'string', value: 'NAME', description: 'a named preset (presets.json, or $PRESETS_FILE) instead of region … format' },
  api: { type: 'string', value: '2|3', description: `IIIF Image API version of the URL (default ${IMAGE_REQUEST_DEFAULTS.version}; a preset has its own)` },
} as const satisfies Options;

const HELP_OPTION = { help: { type: 'boolean', short: 'h', description: 'this text' } } as const satisfies Options;

/** Every command `npx recto` knows, in the order --help lists them. */
export const COMMANDS = {
  url: {
    kind: 'local',
    summary: 'print the IIIF URL of an image (no request is made)',
    usage: 'url ID [options]',
    description: 'Print the IIIF Image API URL for image ID, built from the options (or a preset) and checked\nwith the service\'s own grammar: a value it would refuse is refused here, with its message.\nID is the identifier as stored (a "/" in it is encoded as %2F).',
    options: { ...IMAGE_OPTIONS, endpoint: CONNECTION_OPTIONS.endpoint, ...HELP_OPTION },
    positionals: 'one',
    examples: ['npx recto url grid --size \'!400,400\'', 'npx recto url grid --region 0,0,500,500 --rotation 90 --format png --api 2', 'npx recto url grid --preset thumbnail'],
    run: runUrl,
  },
  get: {
    kind: 'local',
    summary: 'fetch images (following the redirect to storage) into files',
    usage: 'get URL|ID… [-o PATH] [options]',
    description: 'Fetch each image with the token, follow Recto\'s redirect to the stored derivative, and write\nits bytes. A URL is fetched as it is (a path such as /iiif/3/ID/full/max/0/default.jpg is\nread against the endpoint); an ID is made into a URL with the options, as `url` does.\nWith one image, -o names the file (- for stdout; stdout is the default when it is not a\nterminal); with several, -o names a directory, and each file is named after its request.',
    options: { output: { type: 'string', short: 'o', value: 'PATH', description: 'file to write (- for stdout), or a directory for several images' }, ...IMAGE_OPTIONS, ...CONNECTION_OPTIONS, ...HELP_OPTION },
    positionals: 'many',
    examples: ['npx recto get grid --size \'!800,800\' -o grid.jpg', 'npx recto get http://127.0.0.1:3000/iiif/3/grid/full/max/0/gray.png -o gray.png', 'npx recto get grid photo --preset thumbnail -o thumbnails/'],
    run: runGet,
  },
  info: {
    kind: 'local',
    summary: "print an image's info.json",
    usage: 'info ID|URL [options]',
    description: 'Print the info.json of image ID (or of a URL ending in /info.json), as served, indented.',
    options: { api: { ...IMAGE_OPTIONS.api, description: 'which version\'s info.json (default 3)' }, ...CONNECTION_OPTIONS, ...HELP_OPTION },
    positionals: 'one',
    examples: ['npx recto info grid', 'npx recto info grid --api 2'],
    run: runInfo,
  },
  prewarm: {
    kind: 'delegated',
    summary: 'render derivatives ahead of requests (as npm run prewarm)',
    script: 'npm run prewarm',
    file: 'infra/cli/prewarm.ts',
    run: runPrewarm,
  },
  ingest: {
    kind: 'delegated',
    summary: 'build the access copies of masters that need one (as npm run ingest)',
    script: 'npm run ingest',
    file: 'infra/cli/ingest.ts',
    run: runIngest,
  },
  purge: {
    kind: 'delegated',
    summary: "drop a source's derivatives (as npm run purge)",
    script: 'npm run purge',
    file: 'infra/cli/purge.ts',
    run: runPurge,
  },
  remove: {
    kind: 'delegated',
    summary: 'remove sources and their derivatives from the local stack (as npm run remove)',
    script: 'npm run remove',
    file: 'infra/cli/remove.ts',
    run: runRemove,
  },
  token: {
    kind: 'delegated',
    summary: 'print a token the local stack accepts (as npm run token)',
    script: 'npm run token',
    file: 'infra/local/token.ts',
    run: runToken,
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

// ---- help ---------------------------------------------------------------------------------

/** `npx recto --help`. */
export function mainHelp(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length));
  return `Usage: npx recto <command> [options]

Recto's staff CLI: IIIF URLs, images and info.json from a Recto endpoint, pre-warming and purging
derivatives, and tokens for the local stack.

Commands:
${names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`).join('\n')}

Endpoint and token: --endpoint and --token, else $RECTO_ENDPOINT and $RECTO_TOKEN, else the local
stack (http://127.0.0.1:$PORT, PORT 3000) without a token.

Run \`npx recto <command> --help\` for a command's options.
Exit codes: 0 done, 1 failed, 2 bad usage.
`;
}

/** `npx recto <command> --help` for a command implemented here, generated from its options. */
export function commandHelp(command: LocalCommand): string {
  const lines = Object.entries(command.options).map(([option, spec]) => {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
    return [`${short}--${option}${spec.value === undefined ? '' : ` ${spec.value}`}`, spec.description] as const;
  });
  const width = Math.max(...lines.map(([left]) => left.length));
  return `Usage: npx recto ${command.usage}

${command.description}

Options:
${lines.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n')}

Examples:
${command.examples.map((example) => `  ${example}`).join('\n')}
`;
}

// ---- running ------------------------------------------------------------------------------

/** Where the CLI reads and writes: the process's streams, or a test's. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** For commands that read identifiers from stdin (prewarm --file -). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** A mistake in the command line: exit 2, with a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Run `npx recto` with these arguments (without `node` and the script).
 * @returns the exit code; never throws for a usage error or a failed request (it says why on stderr).
 */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(mainHelp());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    io.stdout.write(mainHelp());
    return EXIT.ok;
  }
  const name = first === 'help' ? rest[0] : first;
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  if (command === undefined || name === undefined) {
    io.stderr.write(`recto: ${expected(`one of ${Object.keys(COMMANDS).join(', ')}`, 'the command', name ?? '')}\nRun \`npx recto --help\` for usage.\n`);
    return EXIT.usage;
  }
  const args = first === 'help' ? ['--help'] : rest;
  if (command.kind === 'delegated') {
    try {
      return await command.run(args, { ...io, command: `npx recto ${name}` });
    } catch (error) {
      // As the npm scripts end: the message, exit 1.
      io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failure;
    }
  }
  try {
    const parsed = parse(name, command, args);
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    return await command.run({ ...parsed, io });
  } catch (error) {
    // A request the service would refuse as written (400) or an unknown preset is the command
    // line's fault, as much as an unknown option.
    if (error instanceof UsageError || error instanceof ConfigError || (error instanceof RectoError && (error.status === 400 || error.code === 'PRESET_NOT_FOUND'))) {
      io.stderr.write(`recto ${name}: ${error.message}\nRun \`npx recto ${name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    io.stderr.write(`recto ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

function parse(name: string, command: LocalCommand, args: readonly string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([option, spec]) => [option, spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }]),
  );
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'unreadable arguments');
  }
  if (parsed.values.help === true) return parsed;
  const count = parsed.positionals.length;
  if (command.positionals === 'one' && count !== 1) {
    throw new UsageError(expected('exactly one image', `recto ${name}`, count === 0 ? 'none' : parsed.positionals.join(' ')));
  }
  if (command.positionals === 'many' && count === 0) throw new UsageError(expected('at least one image URL or ID', `recto ${name}`, 'none'));
  return parsed;
}

function processIo(): CliIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

// ---- url ----------------------------------------------------------------------------------

/** Recto's base URL, without a trailing slash. */
export function endpointOf(values: Invocation['values'], env: CliIo['env']): string {
  const flag = values.endpoint;
  const raw = typeof flag === 'string' ? flag : env.RECTO_ENDPOINT !== undefined && env.RECTO_ENDPOINT !== '' ? env.RECTO_ENDPOINT : `http://127.0.0.1:${env.PORT !== undefined && env.PORT !== '' ? env.PORT : LOCAL_ENDPOINT_PORT}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(expected('an http(s) URL', typeof flag === 'string' ? '--endpoint' : 'RECTO_ENDPOINT', raw));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(expected('an http(s) URL', typeof flag === 'string' ? '--endpoint' : 'RECTO_ENDPOINT', raw));
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function tokenOf(values: Invocation['values'], env: CliIo['env']): string | undefined {
  const flag = values.token;
  const token = typeof flag === 'string' ? flag : env.RECTO_TOKEN;
  return token === undefined || token.trim() === '' ? undefined : token.trim();
}

function apiOf(values: Invocation['values']): ApiVersion | undefined {
  const api = values.api;
  if (api === undefined || typeof api === 'boolean') return undefined;
  if ((API_VERSIONS as readonly string[]).includes(api)) return api as ApiVersion;
  throw new UsageError(expected(`one of ${API_VERSIONS.join(', ')}`, '--api', api));
}

const PART_OPTIONS = ['region', 'size', 'rotation', 'quality', 'format'] as const;

/**
 * The request path (`/iiif/3/ID/…`) for image ID from the image options or a preset.
 * @throws UsageError for --preset with part options or a conflicting --api; IiifRequestError
 *   (400) for a part the service would refuse; ConfigError for an unreadable PRESETS_FILE;
 *   RectoError PRESET_NOT_FOUND for an unknown preset.
 */
export function imagePathFor(identifier: string, values: Invocation['values'], env: CliIo['env']): string {
  const part = (name: (typeof PART_OPTIONS)[number]): string => {
    const value = values[name];
    return typeof value === 'string' ? value : IMAGE_REQUEST_DEFAULTS[name];
  };
  const api = apiOf(values);
  const presetName = values.preset;
  if (typeof presetName !== 'string') {
    return imageRequestPath({ identifier, version: api ?? IMAGE_REQUEST_DEFAULTS.version, region: part('region'), size: part('size'), rotation: part('rotation'), quality: part('quality'), format: part('format') });
  }
  const given = PART_OPTIONS.filter((name) => values[name] !== undefined);
  if (given.length > 0) throw new UsageError(expected('either --preset or region/size/rotation/quality/format options', 'the image', `--preset with --${given.join(', --')}`));
  const presetsFile = env.PRESETS_FILE?.trim();
  const [preset] = selectPresets(loadPresets(presetsFile === undefined || presetsFile === '' ? {} : { presetsFile }), [presetName]);
  if (preset === undefined) throw new UsageError(expected('a preset', '--preset', presetName));
  if (api !== undefined && api !== preset.api) {
    throw new UsageError(expected(`--api ${preset.api} (preset ${presetName} is written in IIIF ${preset.api}) or no --api`, '--api', api));
  }
  presetRequest(preset, identifier); // an identifier the service would refuse fails here too
  return `/iiif/${preset.api}/${encodeIdentifier(identifier)}/${preset.path}`;
}

function runUrl({ values, positionals, io }: Invocation): Promise<ExitCode> {
  const [identifier = ''] = positionals;
  io.stdout.write(`${endpointOf(values, io.env)}${imagePathFor(identifier, values, io.env)}\n`);
  return Promise.resolve(EXIT.ok);
}

// ---- info ---------------------------------------------------------------------------------

async function runInfo({ values, positionals, io }: Invocation): Promise<ExitCode> {
  const [target = ''] = positionals;
  const url = isUrl(target) ? target : `${endpointOf(values, io.env)}${infoRequestPath(target, apiOf(values) ?? IMAGE_REQUEST_DEFAULTS.version)}`;
  const fetched = await request(url, tokenOf(values, io.env), 'application/ld+json, application/json', io);
  let document: unknown;
  try {
    document = JSON.parse(fetched.body.toString('utf8'));
  } catch {
    throw new Error(expected('a JSON info.json', url, fetched.body.toString('utf8', 0, 40)));
  }
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return EXIT.ok;
}

// ---- get ----------------------------------------------------------------------------------

async function runGet({ values, positionals, io }: Invocation): Promise<ExitCode> {
  const endpoint = endpointOf(values, io.env);
  const token = tokenOf(values, io.env);
  const targets = positionals.map((target) => {
    if (isUrl(target)) return target;
    if (target.startsWith('/')) return `${endpoint}${target}`;
    return `${endpoint}${imagePathFor(target, values, io.env)}`;
  });
  const urlsGiven = positionals.filter((target) => isUrl(target) || target.startsWith('/'));
  const partsGiven = [...PART_OPTIONS, 'preset', 'api'].filter((name) => values[name] !== undefined);
  if (urlsGiven.length > 0 && partsGiven.length > 0) {
    throw new UsageError(expected('image options with IDs only (a URL already says what it wants)', `--${partsGiven.join(', --')}`, urlsGiven[0] ?? ''));
  }
  const output = typeof values.output === 'string' ? values.output : undefined;
  const destinations = await destinationsFor(targets, output, io);
  for (const [index, url] of targets.entries()) {
    const destination = destinations[index] ?? '-';
    const fetched = await request(url, token, 'image/*', io);
    if (destination === '-') {
      io.stdout.write(fetched.body);
    } else {
      await writeFile(destination, fetched.body);
    }
    io.stderr.write(`${shownPath(destination, io.cwd)}: ${fetched.contentType ?? 'unknown type'}, ${fetched.body.length} bytes (${url})\n`);
  }
  return EXIT.ok;
}

/** A destination as the user would write it: relative inside the working directory, else absolute. */
function shownPath(destination: string, cwd: string): string {
  if (destination === '-') return 'stdout';
  const relative = path.relative(cwd, destination);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? destination : relative;
}

/** Where each image goes: `-` for stdout, else an absolute file path. */
async function destinationsFor(urls: readonly string[], output: string | undefined, io: CliIo): Promise<string[]> {
  if (urls.length === 1) {
    if (output === undefined) {
      if (io.stdout.isTTY === true) throw new UsageError(expected('-o FILE (or a pipe) when stdout is a terminal', 'the output', 'a terminal'));
      return ['-'];
    }
    if (output === '-') return ['-'];
    const existing = await stat(path.resolve(io.cwd, output)).catch(() => undefined);
    return [existing?.isDirectory() === true ? path.resolve(io.cwd, output, fileNameFor(urls[0] ?? '')) : path.resolve(io.cwd, output)];
  }
  if (output === undefined || output === '-') throw new UsageError(expected('-o DIRECTORY for several images', 'the output', output ?? 'none'));
  const directory = path.resolve(io.cwd, output);
  await mkdir(directory, { recursive: true });
  const names = urls.map(fileNameFor);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new UsageError(expected('different images', 'the images', `${duplicate} twice`));
  return names.map((name) => path.join(directory, name));
}

/**
 * A file name for a IIIF image URL that needs no quoting in a shell: the identifier and the four
 * parameters joined by `_`, each of letters, digits, `.` and `-` only (docs/cli.md lists the
 * mapping): `!` before a size is `fit`, before a rotation `mirror`; `^` is `up`; `pct:` is
 * `pct`; `,` is `x` in a size and `-` in a region; anything else (`/` and `:` of an identifier)
 * is `-`. `grid/full/!400,400/!90/gray.png` → `grid_full_fit400x400_mirror90_gray.png`.
 */
export function fileNameFor(url: string): string {
  const segments = new URL(url).pathname.split('/').filter((segment) => segment !== '').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  const [identifier, region, size, rotation, file] = segments.slice(-5);
  if (identifier === undefined || region === undefined || size === undefined || rotation === undefined || file === undefined) {
    return safeName(segments.join('_')) || 'image';
  }
  const parts = [
    identifier,
    region.replace(/^pct:/, 'pct').replaceAll(',', '-'),
    size.replace(/^\^/, 'up').replace(/^(up)?!/, '$1fit').replace(/pct:/, 'pct').replaceAll(',', 'x'),
    rotation.replace(/^!/, 'mirror'),
    file,
  ];
  return parts.map(safeName).join('_');
}

/** Letters, digits, `.` and `-` stay; anything else becomes `-`. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '-');
}

async function request(url: string, token: string | undefined, accept: string, io: CliIo): Promise<Awaited<ReturnType<typeof fetchFollowing>>> {
  try {
    return await fetchFollowing(url, {
      ...(token === undefined ? {} : { token }),
      accept,
      onWait: (seconds) => {
        io.stderr.write(`Recto is rendering it; asking again in ${seconds} s…\n`);
      },
    });
  } catch (error) {
    if (error instanceof HttpError && error.status === 401 && token === undefined) {
      throw new Error(`${error.message}\nThis endpoint wants a token: --token TOKEN or RECTO_TOKEN (for the local stack: export RECTO_TOKEN=$(npx recto token)).`, { cause: error });
    }
    if (error instanceof HttpError && error.status === 401 && error.code === 'AUTH_INVALID_TOKEN') {
      const renew = isLoopback(url) ? 'the local stack mints one with: export RECTO_TOKEN=$(npx recto token)' : 'ask your identity provider (docs/deploy.md, Tokens)';
      throw new Error(`${error.message}\nThe token was refused; get a new one: ${renew}.`, { cause: error });
    }
    if (error instanceof TypeError) {
      // fetch's "fetch failed": the cause says why (ECONNREFUSED: is `npm start` running?).
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : error.message;
      throw new Error(`Expected an answer from ${new URL(url).origin} but received ${why}${why === 'ECONNREFUSED' ? ' (is the endpoint right, and `npm start` running?)' : ''}`, { cause: error });
    }
    throw error;
  }
}

/** Whether a URL names this machine (the local stack), where `npx recto token` mints tokens. */
function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

// ---- delegated commands ------------------------------------------------------------------

/** The streams prewarm's, purge's and remove's main() write to (and read identifiers from, with --file -). */
function scriptStreams(io: CliIo & { readonly command: string }): CliStreams {
  return { stdout: io.stdout, stderr: io.stderr, command: io.command, ...(io.stdin === undefined ? {} : { stdin: io.stdin }) };
}

/**
 * `npm run prewarm`'s main(), run as that script runs it: metrics off (EMF is for CloudWatch),
 * the first Ctrl-C lets the renders in flight finish, the second quits (exit 130). Loaded on
 * demand: it brings the AWS SDK, which `url` and `get` have no use for.
 */
async function runPrewarm(argv: readonly string[], io: CliIo & { readonly command: string }): Promise<number> {
  const [prewarm, { EXIT }] = await Promise.all([import('./prewarm.js'), import('./storage-script.js')]);
  // Powertools reads this from the process environment, as the script sets it.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const controller = new AbortController();
  const interrupt = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    io.stderr.write('\nStopping after the renders in flight (Ctrl-C again to quit now)…\n');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  try {
    return await prewarm.main(argv, io.env, scriptStreams(io), { signal: controller.signal });
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** `npm run purge`'s main(), run as that script runs it (metrics off). */
async function runPurge(argv: readonly string[], io: CliIo & { readonly command: string }): Promise<number> {
  const purge = await import('./purge.js');
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return purge.main(argv, io.env, scriptStreams(io));
}

/** `npm run ingest`'s main(), run as that script runs it (metrics off). */
async function runIngest(argv: readonly string[], io: CliIo & { readonly command: string }): Promise<number> {
  const ingest = await import('./ingest.js');
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return ingest.main(argv, io.env, scriptStreams(io));
}

/** `npm run remove`'s main(), run as that script runs it (metrics off). */
async function runRemove(argv: readonly string[], io: CliIo & { readonly command: string }): Promise<number> {
  const remove = await import('./remove.js');
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return remove.main(argv, io.env, scriptStreams(io));
}

/** `npm run token`'s own code, in this process. */
async function runToken(argv: readonly string[], io: CliIo & { readonly command: string }): Promise<number> {
  const token = await import('../local/token.js');
  return token.runToken(argv, io.env, io);
}
