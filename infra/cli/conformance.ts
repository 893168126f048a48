/**
 * `npm run conformance`: an independent IIIF Image API conformance run, a TypeScript port of
 * the IIIF image validator's tests (see infra/cli/conformance/tests.ts and
 * docs/conformance.md), against any server, or against a throwaway local stack.
 *
 *   npm run conformance                      # local stack, IIIF_AUTH=off, 2.1 and 3.0
 *   npm run conformance -- --base http://127.0.0.1:3000/iiif/3 --id IDENTIFIER [--token T]
 *   npm run conformance -- --write-image grid.png   # the validation image, to upload
 *
 * Exit status: 0 when every test that applies passed, 1 when one failed, 2 when the run could
 * not start (bad arguments, no info.json).
 */
// First: the local tools' runtime settings (quiet-runtime.ts).
import '../local/quiet-runtime.js';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { API_VERSIONS, type ApiVersion, type Target, VERSION_LABELS } from './conformance/context.js';
import { validationPng } from './conformance/grid.js';
import { HttpClient } from './conformance/http.js';
import { ESCAPED_VALIDATION_ID, VALIDATION_ID, startConformanceStack } from './conformance/local.js';
import { formatReport, reportData } from './conformance/report.js';
import { type SuiteOptions, type SuiteResult, SuiteSetupError, runSuite } from './conformance/suite.js';
import { CONFORMANCE_TESTS } from './conformance/tests.js';

const USAGE = `Usage: npm run conformance -- [--base URL --id IDENTIFIER] [options]

An independent IIIF Image API conformance run: the IIIF validator's tests, ported, with
pixels checked against the validator's 10 x 10 grid of coloured squares.

Without --base, starts a throwaway local stack (IIIF_AUTH=off, temporary data, free ports)
serving the validation image and runs the suite for 2.1 and 3.0. With --base, runs it against
that service for an identifier that serves the validation image (write it with --write-image).

Options:
  --base URL          service base, e.g. http://127.0.0.1:3000/iiif/3 (no trailing slash)
  --id IDENTIFIER     identifier of the validation image, as it appears in URLs
  --escaped-id ID     the same image under an identifier with ":" or "/" (given unescaped)
  --token TOKEN       bearer token for the IIIF server (never sent on to the storage redirect)
  --version 2|3       API version (default: the base's last path segment, else info.json)
  --all               also run optional tests the server does not advertise
  --only a,b,…        run only these tests (${CONFORMANCE_TESTS.length} ids, e.g. size_wc,linkheader_canonical)
  --concurrency N     tests at once (default 2)
  --timeout SECONDS   per request (default 30)
  --verbose           print every check, not only failures
  --json              print the results as JSON instead of the report
  --write-image FILE  write the validation image (1000 x 1000 PNG) to FILE and exit
  --help              this text
`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A server given on the command line; its version may still be unknown. */
interface Remote {
  readonly base: string;
  readonly identifier: string;
  readonly escapedIdentifier?: string;
  readonly version?: ApiVersion;
}

interface Arguments {
  readonly remote?: Remote;
  readonly suite: SuiteOptions;
  readonly verbose: boolean;
  readonly json: boolean;
  readonly writeImage?: string;
  readonly help: boolean;
}

function parseArguments(argv: readonly string[]): Arguments {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      base: { type: 'string' },
      id: { type: 'string' },
      'escaped-id': { type: 'string' },
      token: { type: 'string' },
      version: { type: 'string' },
      all: { type: 'boolean' },
      only: { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean' },
      json: { type: 'boolean' },
      'write-image': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`Expected a positive integer for --${name} but received ${JSON.stringify(raw)}`);
    return value;
  };
  const only = values.only?.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const unknown = only?.filter((id) => !CONFORMANCE_TESTS.some((test) => test.id === id)) ?? [];
  if (unknown.length > 0) throw new UsageError(`Expected test ids from: ${CONFORMANCE_TESTS.map((test) => test.id).join(', ')} but received ${JSON.stringify(unknown.join(','))}`);
  if (values.version !== undefined && !(API_VERSIONS as readonly string[]).includes(values.version)) {
    throw new UsageError(`Expected 2 or 3 for --version but received ${JSON.stringify(values.version)}`);
  }
  if ((values.base === undefined) !== (values.id === undefined)) throw new UsageError('Expected --base and --id together (or neither, for a local run)');
  let remote: Remote | undefined;
  if (values.base !== undefined && values.id !== undefined) {
    const base = values.base.replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+/.test(base)) throw new UsageError(`Expected an http:// or https:// URL for --base but received ${JSON.stringify(values.base)}`);
    remote = {
      base,
      identifier: values.id,
      ...(values['escaped-id'] === undefined ? {} : { escapedIdentifier: values['escaped-id'] }),
      ...(values.version === undefined ? {} : { version: values.version as ApiVersion }),
    };
  }
  return {
    ...(remote === undefined ? {} : { remote }),
    suite: {
      ...(values.token === undefined ? {} : { token: values.token }),
      ...(only === undefined ? {} : { only }),
      all: values.all === true,
      concurrency: positive('concurrency', values.concurrency, 2),
      timeoutMs: positive('timeout', values.timeout, 30) * 1000,
    },
    verbose: values.verbose === true,
    json: values.json === true,
    ...(values['write-image'] === undefined ? {} : { writeImage: values['write-image'] }),
    help: values.help === true,
  };
}

/**
 * The version of a service: the base's last segment (`/iiif/3`), else info.json's @context.
 * @throws UsageError when neither tells
 */
async function detectVersion(target: Remote, suite: SuiteOptions): Promise<ApiVersion> {
  if (target.version !== undefined) return target.version;
  const last = target.base.split('/').pop();
  if (last === '2' || last === '3') return last;
  const client = new HttpClient({ timeoutMs: suite.timeoutMs ?? 30_000, ...(suite.token === undefined ? {} : { token: suite.token, tokenOrigin: new URL(target.base).origin }) });
  try {
    const answer = await client.follow(`${target.base}/${target.identifier}/info.json`);
    const context = answer.status === 200 ? (JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>)['@context'] : undefined;
    const text = context === undefined ? '' : JSON.stringify(context);
    if (text.includes('iiif.io/api/image/3/')) return '3';
    if (text.includes('iiif.io/api/image/2/')) return '2';
    throw new UsageError(`Could not tell the API version of ${target.base} (HTTP ${answer.status}, @context ${text || 'missing'}): give --version 2 or 3`);
  } finally {
    client.close();
  }
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.writeImage !== undefined) {
    await writeFile(args.writeImage, await validationPng());
    process.stderr.write(`Wrote the validation image (1000 x 1000 PNG) to ${args.writeImage}: upload it as a source and pass its identifier with --id.\n`);
    return 0;
  }
  const results: SuiteResult[] = [];
  if (args.remote !== undefined) {
    const target: Target = { ...args.remote, version: await detectVersion(args.remote, args.suite) };
    results.push(await runSuite(target, args.suite));
  } else {
    // The local stack logs a line per request; a report should not drown in them.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.stderr.write('Starting a local stack (IIIF_AUTH=off, temporary data directory)…\n');
    const local = await startConformanceStack();
    try {
      for (const version of API_VERSIONS) {
        results.push(await runSuite({ base: local.bases[version], identifier: VALIDATION_ID, escapedIdentifier: ESCAPED_VALIDATION_ID, version }, args.suite));
      }
    } finally {
      await local.close();
    }
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(results.map(reportData), null, 2)}\n`);
  } else {
    const colour = process.stdout.isTTY && process.env.NO_COLOR === undefined;
    process.stdout.write(`${results.map((result) => formatReport(result, { verbose: args.verbose, colour })).join('\n\n')}\n`);
    if (results.length > 1) {
      const line = results.map((result) => `${VERSION_LABELS[result.target.version]} ${result.outcomes.some((outcome) => outcome.outcome === 'fail') ? 'FAILED' : 'passed'}`).join(', ');
      process.stdout.write(`\n${line}\n`);
    }
  }
  return results.some((result) => result.outcomes.some((outcome) => outcome.outcome === 'fail')) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    let message: string;
    if (error instanceof UsageError) message = `${error.message}\n\n${USAGE}`;
    else if (error instanceof SuiteSetupError) message = `${error.message}\n(no test can run without info.json: check --base, --id and --token)`;
    else message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${message}\n`);
    process.exitCode = 2;
  },
);
