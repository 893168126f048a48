/**
 * `npm run build [-- --arch arm64|x64] [--aws-sdk bundle|external] [--outdir dist] [--only iiif,purge]`
 *
 * Bundles each Lambda function into dist/<name>/ for template.yaml. The architecture must match
 * the stack's Architecture parameter (arm64 by default): `--arch x64` (or RECTO_BUILD_ARCH=x64)
 * for x86_64 stacks. Prints a size table; exits 1 with the reason on any error.
 */
import { parseArgs } from 'node:util';
import { AWS_SDK_MODES, type AwsSdkMode, buildFunctions, FUNCTIONS, formatBuildReport } from './bundle.js';
import { ARCHITECTURES, type Architecture, BuildError } from './sharp.js';

const USAGE = `Usage: npm run build -- [--arch arm64|x64] [--aws-sdk bundle|external] [--outdir DIR] [--only NAME,...] [--no-minify]
  --arch      Lambda architecture for sharp's native packages (default arm64, or RECTO_BUILD_ARCH).
              Lambda's x86_64 is x64 here; either spelling is accepted.
  --aws-sdk   bundle the AWS SDK (default) or leave it to the Lambda runtime's copy
              (or RECTO_BUILD_AWS_SDK).
  --outdir    output directory (default dist).
  --only      build only these functions (${Object.keys(FUNCTIONS).join(', ')}).
  --no-minify readable bundles, for debugging (the default is minified).`;

function parseArchitecture(raw: string): Architecture {
  const value = raw === 'x86_64' ? 'x64' : raw === 'aarch64' ? 'arm64' : raw;
  if ((ARCHITECTURES as readonly string[]).includes(value)) return value as Architecture;
  throw new BuildError(`Expected one of ${ARCHITECTURES.join(', ')} (or x86_64) for --arch but received ${JSON.stringify(raw)}`);
}

function parseAwsSdk(raw: string): AwsSdkMode {
  if ((AWS_SDK_MODES as readonly string[]).includes(raw)) return raw as AwsSdkMode;
  throw new BuildError(`Expected one of ${AWS_SDK_MODES.join(', ')} for --aws-sdk but received ${JSON.stringify(raw)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: process.env['RECTO_BUILD_ARCH'] ?? 'arm64' },
      'aws-sdk': { type: 'string', default: process.env['RECTO_BUILD_AWS_SDK'] ?? 'bundle' },
      outdir: { type: 'string', default: 'dist' },
      only: { type: 'string' },
      'no-minify': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let entries: Record<string, string> = { ...FUNCTIONS };
  if (values.only !== undefined) {
    const names = values.only.split(',').map((name) => name.trim()).filter((name) => name !== '');
    const unknown = names.find((name) => !(name in FUNCTIONS));
    if (unknown !== undefined) {
      throw new BuildError(`Expected one of ${Object.keys(FUNCTIONS).join(', ')} for --only but received ${JSON.stringify(unknown)}`);
    }
    entries = Object.fromEntries(Object.entries(FUNCTIONS).filter(([name]) => names.includes(name)));
  }
  const result = await buildFunctions({
    entries,
    outdir: values.outdir,
    architecture: parseArchitecture(values.arch),
    awsSdk: parseAwsSdk(values['aws-sdk']),
    minify: !values['no-minify'],
    zipSizes: true,
    log: (line) => {
      console.error(line);
    },
  });
  for (const fn of result.functions) {
    for (const warning of fn.warnings) console.error(`warning (${fn.name}): ${warning.text}`);
  }
  console.log(formatBuildReport(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof BuildError ? `build: ${error.message}` : error);
  console.error(USAGE);
  process.exitCode = 1;
});
