/**
 * template.yaml checked by construction, without AWS: it parses with the short-form tags,
 * every reference resolves, every parameter is documented, IAM names only our buckets and
 * queue, the buckets are private and TLS-only, and every function variable is wired.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, REPO_ROOT } from '../../infra/build/bundle.js';
import { internalPrefix } from '../../lib/iiif/index.js';
import { DEFAULTS } from '../../lib/config.js';
import { SHORT_LIVED_TAG } from '../../lib/store/index.js';
import { RENDER_BUDGET_ATTRIBUTES } from '../../lib/store/render-budget.js';
import {
  asList, failedRules, isObject, type Json, type JsonObject, loadTemplate, parseTemplate, PSEUDO_PARAMETERS, references,
  SHORT_FORMS, statements, TEMPLATE_PATH, text,
} from './template.js';

const template = loadTemplate();
const resources = template.Resources;
const functions = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Serverless::Function');
const globals = template.Globals?.Function ?? {};

function resource(name: string): JsonObject {
  const found = resources[name];
  if (found === undefined) throw new Error(`Expected resource ${name} in template.yaml but received nothing`);
  return found;
}

function properties(name: string): JsonObject {
  const props = resource(name)['Properties'];
  if (!isObject(props)) throw new Error(`Expected Properties on ${name} but received ${JSON.stringify(props)}`);
  return props;
}

function functionProperty(name: string, key: string): Json | undefined {
  return properties(name)[key] ?? globals[key];
}

const environment = (): JsonObject => {
  const env = globals['Environment'];
  if (!isObject(env) || !isObject(env['Variables'])) throw new Error('Expected Globals.Function.Environment.Variables');
  return env['Variables'];
};

/** The one expression for the source bucket's name, as the SOURCE_BUCKET variable spells it. */
const sourceBucketName = environment()['SOURCE_BUCKET'];

/** What comes before {id} in SourceKeyTemplate, as the template computes it. */
const KEY_TEMPLATE_PREFIX = { 'Fn::Select': [0, { 'Fn::Split': ['{id}', { Ref: 'SourceKeyTemplate' }] }] };

/** What an IAM Resource value points at, or undefined for anything else. */
function classify(value: Json): string | undefined {
  if (isObject(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') {
      const kinds: Record<string, string> = {
        DerivativeBucket: 'derivative bucket', PrewarmQueue: 'prewarm queue', PrewarmDeadLetterQueue: 'dead-letter queue',
        PrewarmFunction: 'prewarm function', SourceBucket: 'source bucket', RenderRateTable: 'render rate table',
      };
      return kinds[getAtt[0]];
    }
    const sub = value['Fn::Sub'];
    if (typeof sub === 'string') {
      if (/^\$\{DerivativeBucket\.Arn\}\/.*\*$/.test(sub)) return 'derivative objects';
      if (sub === '${SourceBucket.Arn}/*') return 'source objects';
      if (sub === '${PrewarmFunction.Arn}:*') return 'prewarm function';
    }
    if (Array.isArray(sub) && isObject(sub[1]) && JSON.stringify(sub[1]['Name']) === JSON.stringify(sourceBucketName)) {
      if (sub[0] === 'arn:${AWS::Partition}:s3:::${Name}') return 'source bucket';
      if (sub[0] === 'arn:${AWS::Partition}:s3:::${Name}/*') return 'source objects';
      if (sub[0] === 'arn:${AWS::Partition}:s3:::${Name}/${KeyPrefix}*' && JSON.stringify(sub[1]['KeyPrefix']) === JSON.stringify(KEY_TEMPLATE_PREFIX)) {
        return 'source objects under the key template prefix';
      }
    }
  }
  return undefined;
}

/** Action → what it is allowed on, for one function's inline policies. */
function grants(functionName: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { statement } of statements(properties(functionName)['Policies'] ?? [])) {
    for (const action of asList(statement['Action'])) {
      for (const target of asList(statement['Resource'])) {
        (out[text(action, 'Action')] ??= []).push(classify(target) ?? JSON.stringify(target));
      }
    }
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

describe('template.yaml parsing', () => {
  it('parses every CloudFormation short-form tag into its long form', () => {
    // Prepare: one document using each tag in the spellings CloudFormation allows.
    const text = [
      'A: !Ref Param',
      'B: !GetAtt Res.Arn',
      'C: !GetAtt [Res, Arn]',
      "D: !Sub 'x-${AWS::Region}'",
      'E: !Sub [\'${X}\', { X: !Ref Param }]',
      'F: !If [Cond, !Ref Param, !Ref AWS::NoValue]',
      'G: !And [!Equals [a, b], !Not [!Condition Cond], !Or [!Equals [c, d], !Equals [e, f]]]',
      "H: !Select [0, !Split [',', 'a,b']]",
      "I: !Join ['-', [a, b]]",
      'J: !FindInMap [Map, Key, Value]',
      'K: !ImportValue Exported',
      "L: !Base64 { 'Fn::Sub': abc }",
      "M: !GetAZs ''",
      "N: !Cidr ['10.0.0.0/16', 4, 8]",
    ].join('\n');

    // Act
    const parsed = parseTemplate(text) as unknown as Record<string, Json>;

    // Assess
    expect(Object.keys(SHORT_FORMS)).toHaveLength(17);
    expect(parsed['A']).toEqual({ Ref: 'Param' });
    expect(parsed['B']).toEqual({ 'Fn::GetAtt': ['Res', 'Arn'] });
    expect(parsed['C']).toEqual({ 'Fn::GetAtt': ['Res', 'Arn'] });
    expect(parsed['D']).toEqual({ 'Fn::Sub': 'x-${AWS::Region}' });
    expect(parsed['E']).toEqual({ 'Fn::Sub': ['${X}', { X: { Ref: 'Param' } }] });
    expect(parsed['F']).toEqual({ 'Fn::If': ['Cond', { Ref: 'Param' }, { Ref: 'AWS::NoValue' }] });
    expect(parsed['G']).toEqual({
      'Fn::And': [
        { 'Fn::Equals': ['a', 'b'] },
        { 'Fn::Not': [{ Condition: 'Cond' }] },
        { 'Fn::Or': [{ 'Fn::Equals': ['c', 'd'] }, { 'Fn::Equals': ['e', 'f'] }] },
      ],
    });
    expect(parsed['H']).toEqual({ 'Fn::Select': [0, { 'Fn::Split': [',', 'a,b'] }] });
    expect(parsed['I']).toEqual({ 'Fn::Join': ['-', ['a', 'b']] });
    expect(parsed['J']).toEqual({ 'Fn::FindInMap': ['Map', 'Key', 'Value'] });
    expect(parsed['K']).toEqual({ 'Fn::ImportValue': 'Exported' });
    expect(parsed['L']).toEqual({ 'Fn::Base64': { 'Fn::Sub': 'abc' } });
    expect(parsed['M']).toEqual({ 'Fn::GetAZs': '' });
    expect(parsed['N']).toEqual({ 'Fn::Cidr': ['10.0.0.0/16', 4, 8] });
  });

  it('is a SAM template with resources, parameters and outputs', () => {
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(Object.keys(resources).length).toBeGreaterThan(10);
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['ApiUrl', 'IiifBaseUrl', 'SourceBucketName', 'DerivativeBucketName', 'PrewarmQueueUrl', 'BatchOperationsRoleArn', 'PurgeFunctionArn']),
    );
  });
});

describe('template.yaml references', () => {
  const parameters = new Set(Object.keys(template.Parameters));
  const conditions = new Set(Object.keys(template.Conditions));
  const names = new Set([...parameters, ...Object.keys(resources), ...PSEUDO_PARAMETERS]);
  const all = references(template as unknown as Json);

  it('resolves every Ref, Fn::GetAtt and Fn::Sub variable to a parameter, resource or pseudo parameter', () => {
    // SAM's referenceable properties (HttpApi.Stage) resolve through the resource they name.
    const samProperty = (name: string): boolean => {
      const [base, property] = name.split('.');
      return property === 'Stage' && resources[base ?? '']?.Type === 'AWS::Serverless::HttpApi';
    };
    const unresolved = all
      .filter((ref) => ref.kind !== 'Condition')
      .filter((ref) => !names.has(ref.name) && !(ref.local ?? []).includes(ref.name) && !samProperty(ref.name))
      .map((ref) => `${ref.kind} ${ref.name} at ${ref.path}`);
    expect(unresolved).toEqual([]);
    expect(all.filter((ref) => ref.kind === 'Fn::Sub').length).toBeGreaterThan(5);
  });

  it('resolves every condition named by Fn::If, !Condition, a resource or an output', () => {
    const named = [
      ...all.filter((ref) => ref.kind === 'Condition').map((ref) => `${ref.name} at ${ref.path}`),
      ...Object.entries(resources).flatMap(([name, r]) => (r.Condition === undefined ? [] : [`${r.Condition} at Resources.${name}`])),
      ...Object.entries(template.Outputs ?? {}).flatMap(([name, o]) => (typeof o['Condition'] === 'string' ? [`${o['Condition']} at Outputs.${name}`] : [])),
    ];
    const unresolved = named.filter((entry) => !conditions.has(entry.split(' at ')[0] ?? ''));
    expect(unresolved).toEqual([]);
    expect(named.length).toBeGreaterThan(10);
  });

  it('uses every parameter and every condition somewhere', () => {
    const used = new Set(all.map((ref) => ref.name));
    const usedConditions = new Set([
      ...all.filter((ref) => ref.kind === 'Condition').map((ref) => ref.name),
      ...Object.values(resources).flatMap((r) => (r.Condition === undefined ? [] : [r.Condition])),
    ]);
    expect([...parameters].filter((name) => !used.has(name))).toEqual([]);
    expect([...conditions].filter((name) => !usedConditions.has(name))).toEqual([]);
  });
});

describe('template.yaml parameters', () => {
  it('gives every parameter a Type and a Description', () => {
    const missing = Object.entries(template.Parameters)
      .filter(([, p]) => typeof p['Type'] !== 'string' || typeof p['Description'] !== 'string' || p['Description'].length < 10)
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('has defaults that satisfy their own AllowedValues, AllowedPattern and bounds', () => {
    const bad: string[] = [];
    for (const [name, p] of Object.entries(template.Parameters)) {
      if (p['Default'] === undefined) continue;
      const value = text(p['Default'], `${name}.Default`);
      const allowed = p['AllowedValues'];
      if (Array.isArray(allowed) && !allowed.map((item) => text(item, `${name}.AllowedValues`)).includes(value)) bad.push(`${name}: ${value} not in AllowedValues`);
      const pattern = p['AllowedPattern'];
      if (typeof pattern === 'string' && !new RegExp(`^(?:${pattern})$`).test(value)) bad.push(`${name}: ${value} fails ${pattern}`);
      if (typeof p['MinValue'] === 'number' && Number(value) < p['MinValue']) bad.push(`${name}: below MinValue`);
      if (typeof p['MaxValue'] === 'number' && Number(value) > p['MaxValue']) bad.push(`${name}: above MaxValue`);
    }
    expect(bad).toEqual([]);
  });

  it('defaults the architecture to arm64 and allows x86_64', () => {
    expect(template.Parameters['Architecture']).toMatchObject({ Type: 'String', Default: 'arm64', AllowedValues: ['arm64', 'x86_64'] });
    expect(globals['Architectures']).toEqual([{ Ref: 'Architecture' }]);
  });
});

describe('template.yaml functions', () => {
  it('declares the three functions, each built by npm run build into dist/<name> with index.handler', () => {
    const layout = Object.fromEntries(functions.map(([name]) => [name, [functionProperty(name, 'CodeUri'), functionProperty(name, 'Handler')]]));
    expect(layout).toEqual({
      IiifFunction: ['dist/iiif', 'index.handler'],
      PrewarmFunction: ['dist/prewarm', 'index.handler'],
      PurgeFunction: ['dist/purge', 'index.handler'],
    });
    expect(Object.keys(FUNCTIONS).map((name) => `dist/${name}`).sort()).toEqual(
      functions.map(([name]) => functionProperty(name, 'CodeUri')).sort(),
    );
  });

  it('runs every function on nodejs22.x', () => {
    expect(functions.map(([name]) => functionProperty(name, 'Runtime'))).toEqual(['nodejs22.x', 'nodejs22.x', 'nodejs22.x']);
  });

  it('routes GET, HEAD and OPTIONS on /iiif/{proxy+} of the HTTP API to the IIIF function with payload 2.0', () => {
    const events = properties('IiifFunction')['Events'] as Record<string, JsonObject>;
    const routes = Object.values(events).map((event) => {
      const props = event['Properties'] as JsonObject;
      return [event['Type'], props['Method'], props['Path'], props['ApiId'], props['PayloadFormatVersion']];
    });
    expect(routes).toEqual([
      ['HttpApi', 'GET', '/iiif/{proxy+}', { Ref: 'HttpApi' }, '2.0'],
      ['HttpApi', 'HEAD', '/iiif/{proxy+}', { Ref: 'HttpApi' }, '2.0'],
      ['HttpApi', 'OPTIONS', '/iiif/{proxy+}', { Ref: 'HttpApi' }, '2.0'],
    ]);
  });

  it('throttles the API by parameters and logs its access to a retained log group', () => {
    const api = properties('HttpApi');
    expect(api['DefaultRouteSettings']).toEqual({ ThrottlingBurstLimit: { Ref: 'ThrottlingBurstLimit' }, ThrottlingRateLimit: { Ref: 'ThrottlingRateLimit' } });
    expect((api['AccessLogSettings'] as JsonObject)['DestinationArn']).toEqual({ 'Fn::GetAtt': ['ApiAccessLogGroup', 'Arn'] });
    expect(JSON.parse(text((api['AccessLogSettings'] as JsonObject)['Format'], 'Format').replace(/\n/g, ''))).toMatchObject({ status: '$context.status', path: '$context.path' });
    expect(api['CorsConfiguration']).toMatchObject({ AllowOrigins: ['*'], AllowMethods: ['GET', 'HEAD', 'OPTIONS'] });
  });

  it('sizes the IIIF function by parameters: memory, timeout, /tmp and reserved concurrency, 50 unless emptied', () => {
    const iiif = properties('IiifFunction');
    expect(iiif['MemorySize']).toEqual({ Ref: 'IiifMemorySize' });
    expect(iiif['Timeout']).toEqual({ Ref: 'IiifTimeout' });
    expect(iiif['EphemeralStorage']).toEqual({ Size: { Ref: 'IiifEphemeralStorage' } });
    expect(iiif['ReservedConcurrentExecutions']).toEqual({ 'Fn::If': ['HasReservedConcurrency', { Ref: 'IiifReservedConcurrency' }, { Ref: 'AWS::NoValue' }] });
    expect(template.Parameters['IiifReservedConcurrency']).toMatchObject({ Type: 'String', Default: '50', AllowedPattern: '^$|^[0-9]+$' });
    expect(template.Parameters['IiifTimeout']).toMatchObject({ Default: 29, MaxValue: 30 });
  });

  it('counts renders per caller and minute in a pay-per-request DynamoDB table whose items expire, 600 by default', () => {
    expect(resource('RenderRateTable')).toEqual({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: RENDER_BUDGET_ATTRIBUTES.key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: RENDER_BUDGET_ATTRIBUTES.key, KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: RENDER_BUDGET_ATTRIBUTES.expires, Enabled: true },
      },
    });
    expect(template.Parameters['RenderRatePerMinute']).toMatchObject({ Type: 'Number', Default: DEFAULTS.RENDER_RATE_PER_MINUTE, MinValue: 0 });
    // Only the IIIF function counts renders; nothing else may touch the table.
    expect(grants('PrewarmFunction')['dynamodb:UpdateItem']).toBeUndefined();
    expect(grants('PurgeFunction')['dynamodb:UpdateItem']).toBeUndefined();
  });

  it('logs each function to its own log group, kept for LogRetentionDays', () => {
    const groups = functions.map(([name]) => {
      const group = ((properties(name)['LoggingConfig'] as JsonObject)['LogGroup'] as JsonObject)['Ref'] as string;
      return [name, resource(group)['Type'], properties(group)['RetentionInDays']];
    });
    expect(groups).toEqual([
      ['IiifFunction', 'AWS::Logs::LogGroup', { Ref: 'LogRetentionDays' }],
      ['PrewarmFunction', 'AWS::Logs::LogGroup', { Ref: 'LogRetentionDays' }],
      ['PurgeFunction', 'AWS::Logs::LogGroup', { Ref: 'LogRetentionDays' }],
    ]);
  });
});

describe('template.yaml environment', () => {
  /** Variables lib/config.ts reads, found in its source (read.<getter>('NAME' …)). */
  const configVariables = [...readFileSync(join(REPO_ROOT, 'lib', 'config.ts'), 'utf8').matchAll(/read\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] ?? '');
  const RUNTIME_VARIABLES = ['MALLOC_ARENA_MAX', 'NODE_OPTIONS'];

  it('sets only variables that lib/config.ts reads, plus the allocator, libvips and Node options', () => {
    const unknown = Object.keys(environment()).filter((name) => !configVariables.includes(name) && !RUNTIME_VARIABLES.includes(name));
    expect(configVariables.length).toBeGreaterThan(20);
    expect(unknown).toEqual([]);
  });

  it('sets every variable the function reads from a parameter or a resource', () => {
    const env = environment();
    expect(env).toMatchObject({
      SOURCE_KEY_TEMPLATE: { Ref: 'SourceKeyTemplate' },
      DERIVATIVE_BUCKET: { Ref: 'DerivativeBucket' },
      DERIVATIVE_PREFIX: { Ref: 'DerivativePrefix' },
      PRESIGN_TTL_SECONDS: { Ref: 'PresignTtlSeconds' },
      IIIF_MAX_WIDTH: { Ref: 'MaxWidth' },
      IIIF_MAX_HEIGHT: { Ref: 'MaxHeight' },
      IIIF_MAX_AREA: { Ref: 'MaxArea' },
      IIIF_DEFAULT_VERSION: { Ref: 'DefaultApiVersion' },
      IIIF_AUTH: { Ref: 'AuthMode' },
      IIIF_PUBLIC_READ: { Ref: 'PublicRead' },
      IIIF_READ_SCOPE: { Ref: 'ReadScope' },
      IIIF_RENDER_SCOPE: { Ref: 'RenderScope' },
      JWT_JWKS_URL: { Ref: 'JwksUrl' },
      JWT_PUBLIC_KEY: { Ref: 'JwtPublicKey' },
      JWT_ISSUER: { Ref: 'JwtIssuer' },
      JWT_AUDIENCE: { Ref: 'JwtAudience' },
      JWT_ALGORITHMS: { Ref: 'JwtAlgorithms' },
      PREWARM_QUEUE_URL: { Ref: 'PrewarmQueue' },
      RENDER_BUDGET_SECONDS: { Ref: 'RenderBudgetSeconds' },
      RENDER_RATE_PER_MINUTE: { Ref: 'RenderRatePerMinute' },
      RENDER_RATE_TABLE: { Ref: 'RenderRateTable' },
      SOURCE_CACHE_MAX_BYTES: { Ref: 'SourceCacheMaxBytes' },
    });
    expect(env['SOURCE_BUCKET']).toEqual({
      'Fn::If': ['CreateSourceBucket', { 'Fn::Join': ['-', ['recto-sources', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] }, { Ref: 'SourceBucketName' }],
    });
    expect(env['PUBLIC_BASE_URL']).toEqual({
      'Fn::If': ['HasPublicBaseUrl', { Ref: 'PublicBaseUrl' }, { 'Fn::If': ['HasCustomDomain', { 'Fn::Sub': 'https://${DomainName}' }, ''] }],
    });
  });

  it('keeps glibc to few arenas and leaves out the malloc tunables the benchmarks found no gain in', () => {
    const env = environment();
    expect(env['MALLOC_ARENA_MAX']).toBe('2');
    expect(Object.keys(env).filter((name) => name.startsWith('MALLOC_') && name !== 'MALLOC_ARENA_MAX')).toEqual([]);
    expect(env).not.toHaveProperty('VIPS_CONCURRENCY');
  });
});

describe('template.yaml IAM', () => {
  it('lets the IIIF function read sources, read and write derivatives and defer to the queue, nothing more', () => {
    expect(grants('IiifFunction')).toEqual({
      's3:GetObject': ['derivative objects', 'source objects under the key template prefix'],
      's3:ListBucket': ['derivative bucket', 'source bucket'],
      's3:PutObject': ['derivative objects'],
      's3:PutObjectTagging': ['derivative objects'],
      'sqs:SendMessage': ['prewarm queue'],
      'dynamodb:UpdateItem': ['render rate table'],
    });
  });

  it('lets the pre-warm worker read sources, read and write derivatives and consume its queue', () => {
    expect(grants('PrewarmFunction')).toEqual({
      's3:GetObject': ['derivative objects', 'source objects under the key template prefix'],
      's3:ListBucket': ['derivative bucket', 'source bucket'],
      's3:PutObject': ['derivative objects'],
      's3:PutObjectTagging': ['derivative objects'],
      'sqs:ChangeMessageVisibility': ['prewarm queue'],
      'sqs:DeleteMessage': ['prewarm queue'],
      'sqs:GetQueueAttributes': ['prewarm queue'],
      'sqs:ReceiveMessage': ['prewarm queue'],
    });
  });

  it('lets the purge function list and delete derivatives, and queue access copies, only', () => {
    expect(grants('PurgeFunction')).toEqual({
      's3:DeleteObject': ['derivative objects'],
      's3:ListBucket': ['derivative bucket'],
      'sqs:SendMessage': ['prewarm queue'],
    });
  });

  it('names only the two buckets, the queues, the render rate table and the pre-warm function in any statement, and no wildcard', () => {
    const everything = statements(template as unknown as Json);
    const targets = everything.flatMap(({ statement, path }) => asList(statement['Resource']).map((target) => [path, classify(target)] as const));
    expect(everything.length).toBeGreaterThan(15);
    expect(targets.filter(([, kind]) => kind === undefined)).toEqual([]);
    const allowActions = everything.filter(({ statement }) => statement['Effect'] === 'Allow').flatMap(({ statement }) => asList(statement['Action']).map(String));
    expect(allowActions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('gives S3 Batch Operations a role that may invoke the pre-warm worker and use the internal batch folder for manifests and reports', () => {
    const role = properties('BatchOperationsRole');
    const trust = statements(role['AssumeRolePolicyDocument'] ?? null)[0]?.statement;
    expect(trust?.['Principal']).toEqual({ Service: 'batchoperations.s3.amazonaws.com' });
    const granted = statements(role['Policies'] ?? null).map(({ statement }) => [statement['Action'], statement['Resource']]);
    expect(granted).toEqual([
      ['lambda:InvokeFunction', [{ 'Fn::GetAtt': ['PrewarmFunction', 'Arn'] }, { 'Fn::Sub': '${PrewarmFunction.Arn}:*' }]],
      [['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], { 'Fn::Sub': `\${DerivativeBucket.Arn}/\${DerivativePrefix}${internalPrefix('batch', '')}*` }],
      ['s3:GetBucketLocation', { 'Fn::GetAtt': ['DerivativeBucket', 'Arn'] }],
    ]);
  });
});

describe('template.yaml rules', () => {
  const AUTH = {
    JwksUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json',
    JwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
    JwtAudience: '1example23456789',
  };
  const NEEDS_KEYS = "With AuthMode=on, set JwksUrl (your identity provider's https JWKS) or JwtPublicKey.";
  const NEEDS_ISSUER = 'With AuthMode=on, set JwtIssuer to the exact iss claim of your tokens.';
  const NEEDS_AUDIENCE = 'With AuthMode=on, set JwtAudience to the aud claim of your tokens (Cognito access tokens: the app client id).';
  const NEEDS_CONSENT = 'AuthMode=off lets anyone render without a token; to deploy it anyway, also set AllowAnonymousAccess=I-understand-anyone-can-render.';

  it.each<[string, Record<string, string>, string[]]>([
    ['the defaults (auth on, nothing to verify tokens with)', {}, [NEEDS_KEYS, NEEDS_ISSUER, NEEDS_AUDIENCE]],
    ['keys without an issuer or audience', { JwksUrl: AUTH.JwksUrl }, [NEEDS_ISSUER, NEEDS_AUDIENCE]],
    ['keys and issuer without an audience', { JwksUrl: AUTH.JwksUrl, JwtIssuer: AUTH.JwtIssuer }, [NEEDS_AUDIENCE]],
    ['both a JWKS URL and a public key', { ...AUTH, JwtPublicKey: '{"kty":"OKP"}' }, ['Set JwksUrl or JwtPublicKey, not both.']],
    ['auth off alone', { AuthMode: 'off' }, [NEEDS_CONSENT]],
    ['the consent with auth on', { ...AUTH, AllowAnonymousAccess: 'I-understand-anyone-can-render' }, ['AllowAnonymousAccess is only read with AuthMode=off; leave it empty with auth on.']],
    ['a JWKS URL, an issuer and an audience', AUTH, []],
    ['a public key, an issuer and an audience', { JwtPublicKey: '{"kty":"OKP"}', JwtIssuer: AUTH.JwtIssuer, JwtAudience: AUTH.JwtAudience }, []],
    ['auth off with the consent', { AuthMode: 'off', AllowAnonymousAccess: 'I-understand-anyone-can-render' }, []],
  ])('with %s, the Rules refuse exactly what they should', (_case, parameters, failures) => {
    // Act
    const failed = failedRules(template, parameters);

    // Assess
    expect(failed).toEqual(failures);
  });

  it('accepts only an https JWKS URL and only the one spelling of the consent', () => {
    // Prepare
    const jwks = new RegExp(`^(?:${text(template.Parameters['JwksUrl']?.['AllowedPattern'], 'AllowedPattern')})$`);

    // Assess
    expect(['', 'https://idp.example.org/jwks.json', 'http://idp.example.org/jwks.json', 'http://127.0.0.1:3000/jwks.json'].map((url) => jwks.test(url))).toEqual([true, true, false, false]);
    expect(template.Parameters['AllowAnonymousAccess']).toMatchObject({ Type: 'String', Default: '', AllowedValues: ['', 'I-understand-anyone-can-render'] });
  });

  it('limits both functions\' source reads to what comes before {id} in SourceKeyTemplate', () => {
    // Prepare: CloudFormation's Fn::Select 0 of Fn::Split on '{id}', for two key templates.
    const prefixOf = (keyTemplate: string) => keyTemplate.split('{id}')[0];
    const readSources = (name: string) => statements(properties(name)['Policies'] ?? []).find(({ statement }) => statement['Sid'] === 'ReadSources')?.statement;

    // Act
    const resources = ['IiifFunction', 'PrewarmFunction'].map((name) => readSources(name)?.['Resource']);

    // Assess
    for (const resource of resources) {
      expect(resource).toEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Name}/${KeyPrefix}*', { Name: sourceBucketName, KeyPrefix: KEY_TEMPLATE_PREFIX }] });
    }
    expect([prefixOf('masters/{id}.tif'), prefixOf('{id}')]).toEqual(['masters/', '']);
  });
});

describe('template.yaml buckets', () => {
  const BLOCKED = { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true };

  it.each(['SourceBucket', 'DerivativeBucket'])('%s blocks public access, encrypts and enforces bucket-owner objects', (name) => {
    const bucket = properties(name);
    expect(bucket['PublicAccessBlockConfiguration']).toEqual(BLOCKED);
    expect(bucket['BucketEncryption']).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(bucket['OwnershipControls']).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it.each(['SourceBucket', 'DerivativeBucket'])('%s denies every request not made over TLS', (name) => {
    const policy = Object.entries(resources).find(([, r]) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties?.['Bucket']) === JSON.stringify({ Ref: name }));
    expect(policy).toBeDefined();
    const [deny] = statements(policy?.[1].Properties?.['PolicyDocument'] ?? null).map(({ statement }) => statement);
    expect(deny).toEqual({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [{ 'Fn::GetAtt': [name, 'Arn'] }, { 'Fn::Sub': `\${${name}.Arn}/*` }],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(policy?.[1].Condition).toBe(resources[name]?.Condition);
  });

  it('creates the source bucket only when no existing bucket is named, and keeps it when the stack goes', () => {
    expect(template.Conditions['CreateSourceBucket']).toEqual({ 'Fn::Equals': [{ Ref: 'SourceBucketName' }, ''] });
    expect(resource('SourceBucket')).toMatchObject({ Condition: 'CreateSourceBucket', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    // The name every policy and the purge permission spell out is the name the bucket gets.
    const [condition, created, existing] = (sourceBucketName as JsonObject)['Fn::If'] as Json[];
    expect([condition, existing]).toEqual(['CreateSourceBucket', { Ref: 'SourceBucketName' }]);
    expect(properties('SourceBucket')['BucketName']).toEqual(created);
  });

  it('answers CORS GET and HEAD from any origin on the derivative bucket (the redirect target)', () => {
    const cors = properties('DerivativeBucket')['CorsConfiguration'] as JsonObject;
    expect(cors['CorsRules']).toEqual([expect.objectContaining({ AllowedMethods: ['GET', 'HEAD'], AllowedOrigins: ['*'] })]);
  });

  it('aborts incomplete uploads, expires short-lived objects (the tag the derivative store writes) after 30 days by default, and optionally all derivatives after N days', () => {
    const rules = (properties('DerivativeBucket')['LifecycleConfiguration'] as JsonObject)['Rules'];
    expect(template.Parameters['ShortLivedExpirationDays']).toMatchObject({ Type: 'Number', Default: 30, MinValue: 1 });
    expect(rules).toEqual([
      { Id: 'AbortIncompleteUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
      { Id: 'ExpireShortLived', Status: 'Enabled', TagFilters: [{ Key: SHORT_LIVED_TAG.key, Value: SHORT_LIVED_TAG.value }], ExpirationInDays: { Ref: 'ShortLivedExpirationDays' } },
      {
        'Fn::If': [
          'HasDerivativeExpiration',
          { Id: 'ExpireDerivatives', Status: 'Enabled', Prefix: { Ref: 'DerivativePrefix' }, ExpirationInDays: { Ref: 'DerivativeExpirationDays' } },
          { Ref: 'AWS::NoValue' },
        ],
      },
    ]);
  });
});

describe('template.yaml events and queues', () => {
  it('sends the created source bucket ObjectCreated and ObjectRemoved events to the purge function', () => {
    const notifications = (properties('SourceBucket')['NotificationConfiguration'] as JsonObject)['LambdaConfigurations'];
    expect(notifications).toEqual([
      { Event: 's3:ObjectCreated:*', Function: { 'Fn::GetAtt': ['PurgeFunction', 'Arn'] } },
      { Event: 's3:ObjectRemoved:*', Function: { 'Fn::GetAtt': ['PurgeFunction', 'Arn'] } },
    ]);
    // S3 checks the permission when the notification is created: it must exist first.
    expect(resource('SourceBucket')['DependsOn']).toBe('PurgeFunctionSourcePermission');
  });

  it('lets only the source bucket, in this account, invoke the purge function', () => {
    const permission = properties('PurgeFunctionSourcePermission');
    expect(permission).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' } });
    expect(classify(permission['SourceArn'] ?? null)).toBe('source bucket');
  });

  it('feeds the pre-warm worker from the queue with partial batch failures and a dead-letter queue', () => {
    const queue = properties('PrewarmQueue');
    expect(queue['RedrivePolicy']).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['PrewarmDeadLetterQueue', 'Arn'] }, maxReceiveCount: 3 });
    // AWS asks for a visibility timeout of six times the function timeout for SQS sources.
    expect(queue['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * Number(template.Parameters['PrewarmTimeout']?.['MaxValue']));
    expect(resource('PrewarmQueueMapping')).toEqual({
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['PrewarmQueue', 'Arn'] },
        FunctionName: { Ref: 'PrewarmFunction' },
        BatchSize: { Ref: 'PrewarmBatchSize' },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: { Ref: 'PrewarmMaxConcurrency' } },
      },
    });
    // No SAM event source: SAM's SQS event would attach a managed policy allowing every queue.
    expect(properties('PrewarmFunction')['Events']).toBeUndefined();
  });
});

describe('template.yaml text', () => {
  it('is plain ASCII with no tabs, so every YAML tool reads it alike', () => {
    const source = readFileSync(TEMPLATE_PATH, 'utf8');
    expect(source.match(/[^\n\x20-\x7e]/g) ?? []).toEqual([]);
  });
});
