/**
 * template.yaml as data: parsed with CloudFormation's short-form tags turned into their long
 * forms (`!Ref X` → `{ Ref: 'X' }`, `!GetAtt A.B` → `{ 'Fn::GetAtt': ['A', 'B'] }`), plus
 * walkers over the intrinsic functions the checks need.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { REPO_ROOT } from '../../infra/build/bundle.js';

export const TEMPLATE_PATH = join(REPO_ROOT, 'template.yaml');

/** Short-form tag → long-form key. */
export const SHORT_FORMS = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!GetAtt': 'Fn::GetAtt',
  '!Sub': 'Fn::Sub',
  '!If': 'Fn::If',
  '!Equals': 'Fn::Equals',
  '!Not': 'Fn::Not',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!Join': 'Fn::Join',
  '!FindInMap': 'Fn::FindInMap',
  '!ImportValue': 'Fn::ImportValue',
  '!Base64': 'Fn::Base64',
  '!GetAZs': 'Fn::GetAZs',
  '!Cidr': 'Fn::Cidr',
} as const;

/** AWS pseudo parameters: always resolvable by Ref and ${} in Fn::Sub. */
export const PSEUDO_PARAMETERS = [
  'AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region',
  'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix',
] as const;

function toJS(node: YAMLMap.Parsed | YAMLSeq.Parsed): unknown {
  return node.toJSON();
}

/** The `yaml` custom tags for every short form, as scalars, sequences and mappings. */
export function cloudFormationTags(): (ScalarTag | CollectionTag)[] {
  const tags: (ScalarTag | CollectionTag)[] = [];
  for (const [tag, key] of Object.entries(SHORT_FORMS)) {
    tags.push({
      tag,
      resolve: (value: string): unknown => {
        // !GetAtt Resource.Attribute is the scalar spelling of ['Resource', 'Attribute'].
        if (key === 'Fn::GetAtt') {
          const dot = value.indexOf('.');
          return { [key]: [value.slice(0, dot), value.slice(dot + 1)] };
        }
        return { [key]: value };
      },
    });
    tags.push({ tag, collection: 'seq', resolve: (value) => ({ [key]: toJS(value) }) });
    tags.push({ tag, collection: 'map', resolve: (value) => ({ [key]: toJS(value) }) });
  }
  return tags;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Template {
  readonly AWSTemplateFormatVersion?: string;
  readonly Transform?: string;
  readonly Parameters: Record<string, JsonObject>;
  readonly Conditions: Record<string, Json>;
  readonly Rules?: Record<string, Json>;
  readonly Globals?: { readonly Function?: JsonObject };
  readonly Resources: Record<string, { readonly Type: string; readonly Condition?: string; readonly Properties?: JsonObject } & JsonObject>;
  readonly Outputs?: Record<string, JsonObject>;
}

/** Parse a CloudFormation/SAM YAML document (the short forms included). */
export function parseTemplate(text: string): Template {
  return parse(text, { customTags: cloudFormationTags(), uniqueKeys: true, strict: true }) as Template;
}

export function loadTemplate(path = TEMPLATE_PATH): Template {
  return parseTemplate(readFileSync(path, 'utf8'));
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every node of a JSON value, depth first, with its path (for messages). */
export function* walk(value: Json, path = '$'): Generator<{ readonly node: Json; readonly path: string }> {
  yield { node: value, path };
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* walk(item, `${path}[${index}]`);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) yield* walk(item, `${path}.${key}`);
  }
}

/** The names an Fn::Sub string refers to: `${Name}` and `${Resource.Attribute}` (not `${!Literal}`). */
export function subVariables(template: string): string[] {
  return [...template.matchAll(/\$\{([^}!][^}]*)\}/g)].map((match) => match[1] ?? '');
}

export interface Reference {
  readonly kind: 'Ref' | 'Fn::GetAtt' | 'Fn::Sub' | 'Condition';
  /** The referenced name: a parameter, resource, pseudo parameter or condition. */
  readonly name: string;
  readonly path: string;
  /** Names bound locally by the variable map of a two-argument Fn::Sub. */
  readonly local?: readonly string[];
}

/** Every Ref, Fn::GetAtt, Fn::Sub variable and Condition reference under `value`. */
export function references(value: Json, path = '$'): Reference[] {
  const found: Reference[] = [];
  for (const { node, path: at } of walk(value, path)) {
    if (!isObject(node)) continue;
    const ref = node['Ref'];
    if (typeof ref === 'string' && Object.keys(node).length === 1) found.push({ kind: 'Ref', name: ref, path: at });
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') found.push({ kind: 'Fn::GetAtt', name: getAtt[0], path: at });
    // { Condition: X } alone is the long form of !Condition X (inside Fn::And, Fn::Or, Fn::Not).
    const condition = node['Condition'];
    if (typeof condition === 'string' && Object.keys(node).length === 1) found.push({ kind: 'Condition', name: condition, path: at });
    const ifArguments = node['Fn::If'];
    if (Array.isArray(ifArguments) && typeof ifArguments[0] === 'string') {
      found.push({ kind: 'Condition', name: ifArguments[0], path: at });
    }
    const sub = node['Fn::Sub'];
    if (typeof sub === 'string') {
      for (const variable of subVariables(sub)) found.push({ kind: 'Fn::Sub', name: variable.split('.')[0] ?? variable, path: at });
    } else if (Array.isArray(sub) && typeof sub[0] === 'string') {
      const local = isObject(sub[1]) ? Object.keys(sub[1]) : [];
      for (const variable of subVariables(sub[0])) {
        found.push({ kind: 'Fn::Sub', name: variable.split('.')[0] ?? variable, path: at, local });
      }
    }
  }
  return found;
}

/** IAM policy statements anywhere under `value` (function Policies, roles, bucket policies). */
export function statements(value: Json, path = '$'): { readonly statement: JsonObject; readonly path: string }[] {
  const found: { statement: JsonObject; path: string }[] = [];
  for (const { node, path: at } of walk(value, path)) {
    if (!isObject(node)) continue;
    const list = node['Statement'];
    if (Array.isArray(list)) {
      for (const [index, statement] of list.entries()) {
        if (isObject(statement)) found.push({ statement, path: `${at}.Statement[${index}]` });
      }
    }
  }
  return found;
}

/** `x` as an array: IAM lets Action and Resource be one value or a list. */
export function asList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A scalar's text (strings, numbers and booleans as CloudFormation reads them); throws on anything else. */
export function text(value: Json | undefined, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TypeError(`Expected a scalar for ${what} but received ${JSON.stringify(value)}`);
}

/**
 * What CloudFormation's `Rules` say about a set of parameter values, as it evaluates them before
 * creating anything: the AssertDescription of every assertion that fails, under a rule whose
 * RuleCondition holds. Values not given take the parameter's Default. Only the functions Rules
 * allow and this template uses are understood (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Ref);
 * anything else throws rather than guess.
 */
export function failedRules(template: Template, given: Readonly<Record<string, string>>): string[] {
  const value = (name: string): string => {
    const parameter = template.Parameters[name];
    if (parameter === undefined) throw new TypeError(`Expected a parameter named ${name} in a rule but received none`);
    return given[name] ?? text(parameter['Default'], `${name}.Default`);
  };
  const evaluate = (node: Json): Json => {
    if (!isObject(node)) return node;
    const [fn, args] = Object.entries(node)[0] ?? [];
    const list = Array.isArray(args) ? args : [];
    switch (fn) {
      case 'Ref':
        return value(text(args, 'Ref'));
      case 'Fn::Equals':
        return JSON.stringify(evaluate(list[0] ?? null)) === JSON.stringify(evaluate(list[1] ?? null));
      case 'Fn::Not':
        return evaluate(list[0] ?? null) !== true;
      case 'Fn::And':
        return list.every((item) => evaluate(item) === true);
      case 'Fn::Or':
        return list.some((item) => evaluate(item) === true);
      default:
        throw new TypeError(`Expected a rule function this evaluator knows but received ${JSON.stringify(node)}`);
    }
  };
  const failures: string[] = [];
  for (const rule of Object.values(template.Rules ?? {})) {
    if (!isObject(rule)) continue;
    if (rule['RuleCondition'] !== undefined && evaluate(rule['RuleCondition']) !== true) continue;
    for (const assertion of asList(rule['Assertions'])) {
      if (isObject(assertion) && evaluate(assertion['Assert'] ?? null) !== true) failures.push(text(assertion['AssertDescription'], 'AssertDescription'));
    }
  }
  return failures;
}
