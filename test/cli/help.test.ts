/**
 * `npx recto --help` and each command's `--help`, run as staff run them. What they must say is
 * derived from the command table the parser is built from (infra/cli/recto.ts COMMANDS), so a
 * new option without help text, or help for an option that is gone, fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandHelp, run, type CommandName, type DelegatedCommand, type LocalCommand } from '../../infra/cli/recto.js';
import { REPO_ROOT, capture, recto, tsx } from './support.js';

const names = Object.keys(COMMANDS) as CommandName[];
const local = names.filter((name) => COMMANDS[name].kind === 'local');
const delegated = names.filter((name) => COMMANDS[name].kind === 'delegated');

describe('npx recto --help', () => {
  it('names every command with its summary, and exits 0', async () => {
    // Act
    const ran = await recto(['--help']);

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.text).toMatch(/^Usage: npx recto <command> \[options\]\n/);
    for (const name of names) expect(ran.text).toMatch(new RegExp(`^  ${name} +${escape(COMMANDS[name].summary)}$`, 'm'));
  });

  it('is printed to stderr with exit 2 when no command is given', async () => {
    // Act
    const ran = await recto([]);

    // Assess
    expect([ran.code, ran.text]).toEqual([2, '']);
    expect(ran.stderr).toMatch(/^Usage: npx recto <command> \[options\]\n/);
  });

  it('refuses an unknown command with exit 2, naming the known ones', async () => {
    // Act
    const ran = await recto(['fetch']);

    // Assess
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe(`recto: Expected one of ${names.join(', ')} for the command but received "fetch"\nRun \`npx recto --help\` for usage.\n`);
  });
});

describe.each(local)('npx recto %s --help', (name) => {
  const command = COMMANDS[name] as LocalCommand;

  it('shows the usage line and every option the command accepts, with its value and description', async () => {
    // Act
    const ran = await recto([name, '--help']);

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.text.split('\n')[0]).toBe(`Usage: npx recto ${command.usage}`);
    const optionLines = ran.text.slice(ran.text.indexOf('\nOptions:\n'), ran.text.indexOf('\nExamples:\n')).split('\n').filter((line) => line.startsWith('  '));
    expect(optionLines).toHaveLength(Object.keys(command.options).length);
    for (const [option, spec] of Object.entries(command.options)) {
      const flag = `${spec.short === undefined ? '' : `-${spec.short}, `}--${option}${spec.value === undefined ? '' : ` ${spec.value}`}`;
      expect(optionLines).toContainEqual(expect.stringMatching(new RegExp(`^ +${escape(flag)} +${escape(spec.description)}$`)));
    }
  });

  it('is the same with "recto help NAME"', async () => {
    // Prepare
    const [direct, viaHelp] = [capture(), capture()];

    // Act
    const codes = [await run([name, '--help'], direct), await run(['help', name], viaHelp)];

    // Assess
    expect(codes).toEqual([0, 0]);
    expect(viaHelp.out()).toBe(direct.out());
    expect(direct.out()).toBe(commandHelp(command));
  });

  it('refuses an option it does not have with exit 2', async () => {
    // Prepare
    const io = capture();

    // Act
    const code = await run([name, 'grid', '--no-such-option'], io);

    // Assess
    expect(code).toBe(2);
    // The first sentence is node:util parseArgs' own; the pointer to --help is ours.
    expect(io.err()).toMatch(new RegExp(`^recto ${name}: Unknown option '--no-such-option'\\..*\\nRun \`npx recto ${name} --help\` for usage\\.\\n$`, 's'));
  });
});

describe.each(delegated)('npx recto %s --help', (name) => {
  const command = COMMANDS[name] as DelegatedCommand;
  const present = existsSync(path.join(REPO_ROOT, command.file));

  it.skipIf(!present)(`prints what ${command.file} (${command.script}) prints, naming the command as it was invoked`, async () => {
    // Act: the CLI, and the npm script's own file run as its script runs it.
    const [viaCli, viaScript] = [await recto([name, '--help']), await tsx(command.file, ['--help'])];

    // Assess: the same code answers, each naming itself as typed: `npx recto NAME` under the
    // CLI, the npm script (`npm run NAME --`, `npm run -s token --`) on its own.
    expect([viaCli.code, viaScript.code]).toEqual([0, 0]);
    expect(viaCli.text).toMatch(new RegExp(`^Usage: npx recto ${name} `));
    expect(viaScript.text).toMatch(new RegExp(`^Usage: npm run (-s )?${name} -- `));
    expect(viaCli.text).not.toContain('npm run');
    const asScript = /^Usage: (npm run (?:-s )?\S+ --)/.exec(viaScript.text)?.[1] ?? '';
    expect(viaCli.text).toBe(viaScript.text.replaceAll(asScript, `npx recto ${name}`).replaceAll(asScript.replace(/ --$/, ''), `npx recto ${name}`));
    expect(viaCli.text.length).toBeGreaterThan(100);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('docs/cli.md', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');

  it('has a section for every command and names every option of the commands implemented here', () => {
    // Act: the commands' headings, and the options named in each local command's section.
    const headings = [...doc.matchAll(/^### `([a-z]+)[ `]/gm)].map((match) => match[1]);
    const missing = local.flatMap((name) => {
      const start = doc.indexOf(`### \`${name} `);
      const section = doc.slice(start, doc.indexOf('\n### ', start + 1));
      const ownOrShared = (option: string): boolean => section.includes(`--${option}`) || (section.includes('as for `url`') && doc.includes(`\`--${option}`));
      return Object.keys((COMMANDS[name] as LocalCommand).options).filter((option) => option !== 'help' && !ownOrShared(option)).map((option) => `${name} --${option}`);
    });

    // Assess
    expect(headings).toEqual(names);
    expect(missing).toEqual([]);
  });
});
