/**
 * samconfig.toml agrees with template.yaml: each environment deploys a named stack with the
 * IAM capability, and every parameter override names a template parameter with a value the
 * template accepts (CloudFormation would reject the change set otherwise, after the upload).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/build/bundle.js';
import { failedRules, loadTemplate, text } from './template.js';
import { parseToml, type TomlTable, type TomlValue } from './toml.js';

const config = parseToml(readFileSync(join(REPO_ROOT, 'samconfig.toml'), 'utf8'));
const template = loadTemplate();

function table(path: readonly string[]): TomlTable {
  let current: TomlValue | TomlTable = config;
  for (const name of path) {
    if (typeof current !== 'object' || Array.isArray(current)) throw new Error(`Expected a table at ${path.join('.')}`);
    current = current[name] ?? {};
  }
  if (typeof current !== 'object' || Array.isArray(current)) throw new Error(`Expected a table at ${path.join('.')}`);
  return current;
}

/** `["Key=Value", …]` (or SAM's space-separated string form) as [key, value] pairs. */
function overrides(environment: string): [string, string][] {
  const raw = table([environment, 'deploy', 'parameters'])['parameter_overrides'];
  const items = Array.isArray(raw) ? raw.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))) : typeof raw === 'string' ? raw.split(/\s+/) : [];
  return items.map((item) => {
    const at = item.indexOf('=');
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

/** Why CloudFormation would refuse `value` for parameter `name`, or undefined when it is fine. */
function rejection(name: string, value: string): string | undefined {
  const parameter = template.Parameters[name];
  if (parameter === undefined) return `${name} is not a template parameter`;
  const allowed = parameter['AllowedValues'];
  if (Array.isArray(allowed)) {
    const choices = allowed.map((item) => text(item, `${name}.AllowedValues`));
    if (!choices.includes(value)) return `${name}=${value} is not one of ${choices.join(', ')}`;
  }
  const pattern = parameter['AllowedPattern'];
  if (typeof pattern === 'string' && !new RegExp(`^(?:${pattern})$`).test(value)) return `${name}=${value} does not match ${pattern}`;
  if (parameter['Type'] === 'Number') {
    const number = Number(value);
    if (!Number.isFinite(number)) return `${name}=${value} is not a number`;
    if (typeof parameter['MinValue'] === 'number' && number < parameter['MinValue']) return `${name}=${value} is below ${parameter['MinValue']}`;
    if (typeof parameter['MaxValue'] === 'number' && number > parameter['MaxValue']) return `${name}=${value} is above ${parameter['MaxValue']}`;
  }
  return undefined;
}

describe('samconfig.toml', () => {
  it('is version 0.1 with a default and a dev environment', () => {
    expect(config['version']).toBe(0.1);
    expect(Object.keys(config).filter((key) => key !== 'version').sort()).toEqual(['default', 'dev']);
  });

  it.each([
    ['default', 'recto'],
    ['dev', 'recto-dev'],
  ])('names the %s stack %s and deploys with the IAM capability and a region', (environment, stack) => {
    expect(table([environment, 'global', 'parameters'])['stack_name']).toBe(stack);
    const deploy = table([environment, 'deploy', 'parameters']);
    expect(deploy['capabilities']).toBe('CAPABILITY_IAM');
    expect(deploy['resolve_s3']).toBe(true);
    expect(deploy['region']).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
  });

  it.each(['default', 'dev'])('gives the %s environment only overrides the template accepts', (environment) => {
    const pairs = overrides(environment);
    expect(pairs.length).toBeGreaterThan(5);
    expect(pairs.map(([name, value]) => rejection(name, value)).filter((reason) => reason !== undefined)).toEqual([]);
    expect(new Set(pairs.map(([name]) => name)).size).toBe(pairs.length);
  });

  it.each(['default', 'dev'])('gives the %s environment what the template\'s Rules require (keys, issuer and audience with auth on)', (environment) => {
    expect(failedRules(template, Object.fromEntries(overrides(environment)))).toEqual([]);
  });

  it.each(['default', 'dev'])('deploys the %s environment on arm64, the architecture npm run build packages by default', (environment) => {
    expect(Object.fromEntries(overrides(environment))['Architecture']).toBe('arm64');
  });

  it('rejects what CloudFormation would reject (the check itself works)', () => {
    expect(rejection('Architecture', 'sparc')).toBe('Architecture=sparc is not one of arm64, x86_64');
    expect(rejection('IiifTimeout', '60')).toBe('IiifTimeout=60 is above 30');
    expect(rejection('DerivativePrefix', '/iiif')).toBe('DerivativePrefix=/iiif does not match ^$|^[^/].*/$');
    expect(rejection('NoSuchParameter', 'x')).toBe('NoSuchParameter is not a template parameter');
  });
});

describe('parseToml', () => {
  it('reads tables, strings, booleans, numbers and multi-line arrays with comments', () => {
    const parsed = parseToml('version = 0.1\n# c\n[a.b]\nname = "x\\"y" # trailing\nflag = true\nlist = [\n  "one", # first\n  \'two\',\n]\n');
    expect(parsed).toEqual({ version: 0.1, a: { b: { name: 'x"y', flag: true, list: ['one', 'two'] } } });
  });

  it('throws on what it does not understand instead of misreading it', () => {
    expect(() => parseToml('key = 2024-01-01T00:00:00Z extra')).toThrow(/Expected the end of the line at line 1/);
  });
});
