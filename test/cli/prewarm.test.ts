/**
 * `npm run prewarm`: its options, exit statuses, dry runs, identifiers from a file or the whole
 * bucket, --force, and --queue (one SQS message per image).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, USAGE } from '../../infra/cli/prewarm.js';
import { gridImage } from '../support/fixtures.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { Capture, cliEnvironment } from '../support/prewarm-cli.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('npm run prewarm', () => {
  let t: TestStack;
  let dir: string;

  async function run(argv: readonly string[], env: Record<string, string> = {}, sqs?: SQSClient): Promise<Run> {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await main(argv, { ...cliEnvironment(t), ...env }, { stdout, stderr }, sqs === undefined ? {} : { sqs });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  async function images(): Promise<string[]> {
    return (await t.listImages()).map((object) => object.key);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recto-cli-'));
    const small = (await gridImage({ width: 600, height: 400, cols: 3, rows: 2 })).png;
    t = await startTestStack({ sources: { 'a.png': small, 'b.png': small, 'c.png': small } });
  }, 60_000);

  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its help with --help and exits 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: USAGE, stderr: '' });
  });

  it.each([
    [[], 'Give identifiers, --file PATH or --all'],
    [['a', '--api', '4'], '--api: expected 2, 3 or both, got "4"'],
    [['a', '--concurrency', '0'], '--concurrency: expected a whole number from 1 to 64, got "0"'],
    [['--all', 'a'], '--all lists every source: give it without identifiers or --file'],
    [['a', '--tile'], "Unknown option '--tile'"],
  ])('exits 2 for %j, saying why', async (argv, message) => {
    // Act
    const result = await run(argv);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Run `npm run prewarm -- --help` for the options.');
  });

  it('exits 2 for an unknown preset, listing the known ones, before touching anything', async () => {
    // Act
    const result = await run(['a', '--preset', 'thumbnail,poster']);

    // Assess
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: 'Expected one of the presets thumbnail, web, print-gray for the preset but received "poster"\n' });
    expect(await images()).toEqual([]);
  });

  it('with --dry-run prints the keys it would render and the counts, and stores nothing', async () => {
    // Act
    const result = await run(['--dry-run', '--sizes', 'a']);

    // Assess: 600x400 halvings down to 38 wide, smallest first as info.json lists them.
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${['38,25', '75,50', '150,100', '300,200', '600,400'].map((size) => `a/full/${size}/0/default.jpg`).join('\n')}\n` +
        'Pre-warm dry run\n  images       1\n  derivatives  5 planned: 5 to render, 0 already stored\n',
    );
    expect(await images()).toEqual([]);
  });

  it('reads identifiers from --file once each, skipping comments and blank lines', async () => {
    // Prepare
    const file = join(dir, 'ids.txt');
    await writeFile(file, '# the first two\na\n\nb\na\n');

    // Act
    const result = await run(['--preset', 'thumbnail', '--file', file]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  images       2\n  derivatives  2 planned: 2 rendered, 0 skipped (already stored), 0 failed\n');
    expect(await images()).toEqual(['a/full/400,267/0/default.jpg', 'b/full/400,267/0/default.jpg']);
  });

  it('with --all pre-warms every source in the bucket, skipping what is stored', async () => {
    // Act
    const result = await run(['--all', '--preset', 'thumbnail']);

    // Assess: a, b (done above), c and the grid.
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  images       4\n  derivatives  4 planned: 2 rendered, 2 skipped (already stored), 0 failed\n');
    expect(await images()).toEqual(['a/full/400,267/0/default.jpg', 'b/full/400,267/0/default.jpg', 'c/full/400,267/0/default.jpg', `${GRID_ID}/full/400,400/0/default.jpg`]);
  });

  it('with --force renders again what is stored', async () => {
    // Act
    const result = await run(['--force', '--preset', 'thumbnail', 'a']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('derivatives  1 planned: 1 rendered, 0 skipped (already stored), 0 failed');
    expect(await t.derivativeExists('a/full/400,267/0/default.jpg')).toBe(true);
  });

  it('exits 1 and lists the failure when a source does not exist, after doing the rest', async () => {
    // Act
    const result = await run(['--preset', 'thumbnail', 'missing', 'c']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('  images       2 (1 failed)\n');
    expect(result.stdout).toContain('Failures:\n  SOURCE_NOT_FOUND ×1\n  missing: SOURCE_NOT_FOUND: Expected an existing source for the identifier but received "missing"\n');
  });

  it('counts presets that do not apply to an image as unavailable, not failed', async () => {
    // Act
    const result = await run(['--preset', 'web', 'b']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  derivatives  0 planned: 0 rendered, 0 skipped (already stored), 0 failed\n  unavailable  1 (preset web: IIIF_UPSCALE_NOT_ALLOWED ×1)\n');
  });

  describe('with --queue', () => {
    it('sends one message per image, ten to a request, and renders nothing here', async () => {
      // Prepare
      const sqs = new SQSClient({ region: 'us-east-1' });
      const mock = mockClient(sqs);
      mock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => Promise.resolve({ Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m${entry.Id}`, MD5OfMessageBody: '' })), Failed: [] }));
      const identifiers = Array.from({ length: 12 }, (_, i) => `img-${i}`);
      const before = await images();

      // Act
      const result = await run(['--queue', '--tiles', '--preset', 'thumbnail', '--api', '3', ...identifiers], { PREWARM_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/recto-prewarm' }, sqs);

      // Assess
      expect(result).toMatchObject({ code: 0, stdout: 'Queued 12 image(s) on https://sqs.us-east-1.amazonaws.com/123456789012/recto-prewarm\n' });
      const calls = mock.commandCalls(SendMessageBatchCommand);
      expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
      const bodies = calls.flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '') as unknown));
      expect(bodies).toEqual(identifiers.map((identifier) => ({ identifier, tiles: true, presets: ['thumbnail'], api: '3' })));
      expect(await images()).toEqual(before);
    });

    it('exits 2 without PREWARM_QUEUE_URL', async () => {
      // Act
      const result = await run(['--queue', 'a']);

      // Assess
      expect(result.code).toBe(2);
      expect(result.stderr).toBe("--queue needs PREWARM_QUEUE_URL: the URL of the stack's pre-warm queue (the PrewarmQueueUrl output of the deployment)\n");
    });
  });
});
