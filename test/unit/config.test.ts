/**
 * lib/config.ts: the function's environment, read once into a frozen, typed object; every
 * bad value fails with a ConfigError that names the variable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, getConfig, loadConfig, setConfig, type Config } from '../../lib/config.js';

/** The least a deployment must set (auth off, so no keys are needed). */
const MINIMAL = { SOURCE_BUCKET: 'sources', DERIVATIVE_BUCKET: 'derivatives', IIIF_AUTH: 'off' } as const;

/** The least an auth-on deployment sets besides its keys: the buckets, the issuer and the audience. */
const SECURED = { SOURCE_BUCKET: 'sources', DERIVATIVE_BUCKET: 'derivatives', JWT_ISSUER: 'https://issuer.example.org/', JWT_AUDIENCE: 'recto' } as const;

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw, and it returned a configuration');
}

afterEach(() => {
  setConfig(undefined);
});

describe('loadConfig', () => {
  it('fills every default when only the buckets are set', () => {
    // Act
    const config = loadConfig(MINIMAL);

    // Assess
    expect(config).toStrictEqual({
      sourceBucket: 'sources',
      sourceKeyTemplate: '{id}',
      derivativeBucket: 'derivatives',
      derivativePrefix: '',
      presignTtlSeconds: 3600,
      limits: { maxArea: 100_000_000 },
      tileSize: 512,
      defaultVersion: '2',
      auth: {
        enabled: false,
        publicRead: false,
        readScope: 'iiif:read',
        renderScope: 'iiif:render',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockToleranceSeconds: 30,
        maxTokenAgeSeconds: 86_400,
      },
      render: {
        maxInputPixels: 268_402_689,
        budgetSeconds: 20,
        memoryMb: 2048,
        encode: { jpegQuality: 85, webpQuality: 80, webpEffort: 2, pngCompressionLevel: 6 },
      },
      sourceCache: { dir: '/tmp/recto-sources', maxBytes: 419_430_400 },
      accessCopy: { minSide: 4096, quality: 90, tile: 256, workDir: '/tmp/recto-copies' },
      renderRate: { perMinute: 600 },
    } satisfies Config);
    expect(DEFAULTS.IIIF_DEFAULT_VERSION).toBe('2');
  });

  it('reads every variable it is given, trimmed, into typed values', () => {
    // Act
    const config = loadConfig({
      ...MINIMAL,
      SOURCE_KEY_TEMPLATE: 'masters/{id}.tif',
      DERIVATIVE_PREFIX: 'iiif/',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      PRESIGN_TTL_SECONDS: ' 900 ',
      IIIF_MAX_WIDTH: '4000',
      IIIF_MAX_HEIGHT: '3000',
      IIIF_MAX_AREA: '12000000',
      IIIF_TILE_SIZE: '256',
      PUBLIC_BASE_URL: 'https://images.example.org/prod/',
      IIIF_DEFAULT_VERSION: '3',
      IIIF_PUBLIC_READ: 'true',
      IIIF_READ_SCOPE: 'images:read',
      IIIF_RENDER_SCOPE: 'images:render',
      JWT_ALGORITHMS: 'ES256, EdDSA',
      JWT_ISSUER: 'https://issuer.example.org/',
      JWT_AUDIENCE: 'recto',
      PREWARM_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/prewarm',
    });

    // Assess
    expect({
      template: config.sourceKeyTemplate,
      prefix: config.derivativePrefix,
      endpoint: config.s3Endpoint?.href,
      ttl: config.presignTtlSeconds,
      limits: config.limits,
      tileSize: config.tileSize,
      base: config.publicBaseUrl,
      version: config.defaultVersion,
      publicRead: config.auth.publicRead,
      scopes: [config.auth.readScope, config.auth.renderScope],
      algorithms: config.auth.algorithms,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      queue: config.prewarmQueueUrl,
    }).toEqual({
      template: 'masters/{id}.tif',
      prefix: 'iiif/',
      endpoint: 'http://127.0.0.1:4569/',
      ttl: 900,
      limits: { maxWidth: 4000, maxHeight: 3000, maxArea: 12_000_000 },
      tileSize: 256,
      base: 'https://images.example.org/prod',
      version: '3',
      publicRead: true,
      scopes: ['images:read', 'images:render'],
      algorithms: ['ES256', 'EdDSA'],
      issuer: 'https://issuer.example.org/',
      audience: 'recto',
      queue: 'https://sqs.eu-west-1.amazonaws.com/1/prewarm',
    });
  });

  it('treats a blank value as unset', () => {
    // Act
    const config = loadConfig({ ...MINIMAL, IIIF_MAX_WIDTH: '  ', PRESIGN_TTL_SECONDS: '' });

    // Assess
    expect([config.limits, config.presignTtlSeconds]).toEqual([{ maxArea: 100_000_000 }, 3600]);
  });

  it.each([
    ['SOURCE_BUCKET', undefined, 'SOURCE_BUCKET: is required and was not set'],
    ['SOURCE_BUCKET', '   ', 'SOURCE_BUCKET: is required and was not set'],
    ['DERIVATIVE_BUCKET', undefined, 'DERIVATIVE_BUCKET: is required and was not set'],
    ['SOURCE_KEY_TEMPLATE', 'sources/', 'SOURCE_KEY_TEMPLATE: must contain {id}, got "sources/"'],
    ['DERIVATIVE_PREFIX', 'iiif', 'DERIVATIVE_PREFIX: must be empty or a key prefix like "iiif/" (ending with /, not starting with /), got "iiif"'],
    ['DERIVATIVE_PREFIX', '/iiif/', 'DERIVATIVE_PREFIX: must be empty or a key prefix like "iiif/" (ending with /, not starting with /), got "/iiif/"'],
    ['S3_ENDPOINT', 'localhost:4569', 'S3_ENDPOINT: expected an http(s) URL, got "localhost:4569"'],
    ['S3_ENDPOINT', 'ftp://127.0.0.1', 'S3_ENDPOINT: expected an http(s) URL, got "ftp://127.0.0.1"'],
    ['PRESIGN_TTL_SECONDS', '59', 'PRESIGN_TTL_SECONDS: expected a whole number from 60 to 604800, got 59'],
    ['PRESIGN_TTL_SECONDS', '604801', 'PRESIGN_TTL_SECONDS: expected a whole number from 60 to 604800, got 604801'],
    ['PRESIGN_TTL_SECONDS', '1e3', 'PRESIGN_TTL_SECONDS: expected a whole number from 60 to 604800, got "1e3"'],
    ['PRESIGN_TTL_SECONDS', '-60', 'PRESIGN_TTL_SECONDS: expected a whole number from 60 to 604800, got "-60"'],
    ['PRESIGN_TTL_SECONDS', '3600.5', 'PRESIGN_TTL_SECONDS: expected a whole number from 60 to 604800, got "3600.5"'],
    ['IIIF_MAX_WIDTH', '0', 'IIIF_MAX_WIDTH: expected a whole number from 1 to 1000000, got 0'],
    ['IIIF_MAX_WIDTH', 'wide', 'IIIF_MAX_WIDTH: expected a whole number from 1 to 1000000, got "wide"'],
    ['IIIF_MAX_AREA', '0', 'IIIF_MAX_AREA: expected a whole number from 1 to 10000000000, got 0'],
    ['IIIF_MAX_AREA', 'none', 'IIIF_MAX_AREA: expected a whole number from 1 to 10000000000, got "none"'],
    ['IIIF_MAX_HEIGHT', '3000', 'IIIF_MAX_HEIGHT: requires IIIF_MAX_WIDTH as well: IIIF info.json must give maxWidth whenever it gives maxHeight'],
    ['IIIF_TILE_SIZE', '63', 'IIIF_TILE_SIZE: expected a whole number from 64 to 4096, got 63'],
    ['IIIF_TILE_SIZE', '4097', 'IIIF_TILE_SIZE: expected a whole number from 64 to 4096, got 4097'],
    ['PUBLIC_BASE_URL', 'images.example.org', 'PUBLIC_BASE_URL: expected an http(s) URL, got "images.example.org"'],
    ['IIIF_DEFAULT_VERSION', '2.1', 'IIIF_DEFAULT_VERSION: expected one of 2, 3, got "2.1"'],
    ['IIIF_AUTH', 'false', 'IIIF_AUTH: expected one of on, off, got "false"'],
    ['IIIF_PUBLIC_READ', 'yes', 'IIIF_PUBLIC_READ: expected true or false, got "yes"'],
    ['IIIF_READ_SCOPE', 'iiif read', 'IIIF_READ_SCOPE: a scope name cannot contain spaces, got "iiif read"'],
    ['IIIF_RENDER_SCOPE', 'iiif\trender', 'IIIF_RENDER_SCOPE: a scope name cannot contain spaces, got "iiif\\trender"'],
    ['JWT_ALGORITHMS', 'HS256', 'JWT_ALGORITHMS: expected a comma-separated list of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519, got "HS256"'],
    ['JWT_ALGORITHMS', ',', 'JWT_ALGORITHMS: expected a comma-separated list of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519, got ","'],
    ['JWT_CLOCK_TOLERANCE_SECONDS', '301', 'JWT_CLOCK_TOLERANCE_SECONDS: expected a whole number from 0 to 300, got 301'],
    ['JWT_MAX_TOKEN_AGE_SECONDS', '59', 'JWT_MAX_TOKEN_AGE_SECONDS: expected a whole number from 60 to 31536000, got 59'],
    ['RENDER_MAX_INPUT_PIXELS', '0', 'RENDER_MAX_INPUT_PIXELS: expected a whole number from 1 to 10000000000, got 0'],
    ['RENDER_BUDGET_SECONDS', '901', 'RENDER_BUDGET_SECONDS: expected a whole number from 1 to 900, got 901'],
    ['JPEG_QUALITY', '101', 'JPEG_QUALITY: expected a whole number from 1 to 100, got 101'],
    ['WEBP_QUALITY', '0', 'WEBP_QUALITY: expected a whole number from 1 to 100, got 0'],
    ['WEBP_EFFORT', '7', 'WEBP_EFFORT: expected a whole number from 0 to 6, got 7'],
    ['PNG_COMPRESSION_LEVEL', '10', 'PNG_COMPRESSION_LEVEL: expected a whole number from 0 to 9, got 10'],
    ['SOURCE_CACHE_MAX_BYTES', 'lots', 'SOURCE_CACHE_MAX_BYTES: expected a whole number from 0 to 10737418240, got "lots"'],
    ['PREWARM_QUEUE_URL', 'prewarm', 'PREWARM_QUEUE_URL: expected an http(s) URL, got "prewarm"'],
    ['RENDER_RATE_PER_MINUTE', '-1', 'RENDER_RATE_PER_MINUTE: expected a whole number from 0 to 1000000, got "-1"'],
    ['RENDER_RATE_PER_MINUTE', '1000001', 'RENDER_RATE_PER_MINUTE: expected a whole number from 0 to 1000000, got 1000001'],
    ['RENDER_RATE_PER_MINUTE', 'many', 'RENDER_RATE_PER_MINUTE: expected a whole number from 0 to 1000000, got "many"'],
    ['RENDER_RATE_TABLE', 'ab', 'RENDER_RATE_TABLE: expected a DynamoDB table name (3 to 255 letters, digits, _, - and .), got "ab"'],
    ['RENDER_RATE_TABLE', 'arn:aws:dynamodb:eu-west-1:1:table/x', 'RENDER_RATE_TABLE: expected a DynamoDB table name (3 to 255 letters, digits, _, - and .), got "arn:aws:dynamodb:eu-west-1:1:table/x"'],
  ])('fails on %s=%j with a ConfigError naming it', (variable, value, message) => {
    // Prepare: the minimal environment with this one variable set, or removed when undefined.
    const values = new Map<string, string | undefined>(Object.entries(MINIMAL)).set(variable, value);
    const env = Object.fromEntries([...values].filter((entry): entry is [string, string] => entry[1] !== undefined));

    // Act
    const error = configError(env);

    // Assess
    expect({ name: error.name, variable: error.variable, message: error.message }).toEqual({ name: 'ConfigError', variable, message });
  });

  it('reads the render rate: a limit (0 turns it off) and the table that counts it fleet-wide', () => {
    // Act
    const configs = [loadConfig({ ...MINIMAL, RENDER_RATE_PER_MINUTE: '0' }), loadConfig({ ...MINIMAL, RENDER_RATE_PER_MINUTE: ' 30 ', RENDER_RATE_TABLE: 'recto-RenderRateTable-1AB2C3' })];

    // Assess
    expect(configs.map((config) => config.renderRate)).toEqual([{ perMinute: 0 }, { perMinute: 30, table: 'recto-RenderRateTable-1AB2C3' }]);
  });

  it('accepts IIIF_MAX_HEIGHT together with IIIF_MAX_WIDTH', () => {
    // Act
    const config = loadConfig({ ...MINIMAL, IIIF_MAX_WIDTH: '2000', IIIF_MAX_HEIGHT: '1000' });

    // Assess
    expect(config.limits).toEqual({ maxWidth: 2000, maxHeight: 1000, maxArea: 100_000_000 });
  });
});

describe('auth configuration', () => {
  it('fails when auth is on and neither JWT_JWKS_URL nor JWT_PUBLIC_KEY is set', () => {
    // Act
    const error = configError({ SOURCE_BUCKET: 'sources', DERIVATIVE_BUCKET: 'derivatives' });

    // Assess
    expect([error.variable, error.message]).toEqual(['JWT_JWKS_URL', 'JWT_JWKS_URL: set JWT_JWKS_URL or JWT_PUBLIC_KEY, or IIIF_AUTH=off to run without auth']);
  });

  it('is on by default and takes a JWKS URL with its issuer and audience', () => {
    // Act
    const config = loadConfig({ ...SECURED, JWT_JWKS_URL: 'https://issuer.example.org/.well-known/jwks.json' });

    // Assess
    expect([config.auth.enabled, config.auth.jwksUrl?.href, config.auth.publicKey, config.auth.issuer, config.auth.audience]).toEqual([
      true,
      'https://issuer.example.org/.well-known/jwks.json',
      undefined,
      'https://issuer.example.org/',
      'recto',
    ]);
  });

  it('takes a public key instead of a JWKS URL', () => {
    // Act
    const config = loadConfig({ ...SECURED, IIIF_AUTH: 'on', JWT_PUBLIC_KEY: '{"kty":"OKP","crv":"Ed25519","x":"abc"}' });

    // Assess
    expect([config.auth.enabled, config.auth.publicKey, 'jwksUrl' in config.auth]).toEqual([true, '{"kty":"OKP","crv":"Ed25519","x":"abc"}', false]);
  });

  it.each([
    ['JWT_ISSUER', { JWT_ISSUER: undefined }, "JWT_ISSUER: is required with IIIF_AUTH=on: set it to the exact iss claim of your identity provider's tokens (docs/deploy.md, Tokens), or IIIF_AUTH=off to run without auth"],
    ['JWT_ISSUER', { JWT_ISSUER: '  ' }, "JWT_ISSUER: is required with IIIF_AUTH=on: set it to the exact iss claim of your identity provider's tokens (docs/deploy.md, Tokens), or IIIF_AUTH=off to run without auth"],
    ['JWT_AUDIENCE', { JWT_AUDIENCE: undefined }, 'JWT_AUDIENCE: is required with IIIF_AUTH=on: set it to the aud claim of the tokens meant for Recto (for Cognito access tokens, which have none, the app client id: it is matched against client_id), or IIIF_AUTH=off to run without auth'],
    ['JWT_AUDIENCE', { JWT_AUDIENCE: '' }, 'JWT_AUDIENCE: is required with IIIF_AUTH=on: set it to the aud claim of the tokens meant for Recto (for Cognito access tokens, which have none, the app client id: it is matched against client_id), or IIIF_AUTH=off to run without auth'],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'http://issuer.example.org/.well-known/jwks.json' }, 'JWT_JWKS_URL: expected an https URL (keys fetched over http can be replaced by anyone on the path; http is accepted for 127.0.0.1, localhost, [::1] only), got "http://issuer.example.org/.well-known/jwks.json"'],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'http://127.0.0.2:3000/jwks.json' }, 'JWT_JWKS_URL: expected an https URL (keys fetched over http can be replaced by anyone on the path; http is accepted for 127.0.0.1, localhost, [::1] only), got "http://127.0.0.2:3000/jwks.json"'],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'http://localhost.example.org/jwks.json' }, 'JWT_JWKS_URL: expected an https URL (keys fetched over http can be replaced by anyone on the path; http is accepted for 127.0.0.1, localhost, [::1] only), got "http://localhost.example.org/jwks.json"'],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: undefined }, 'JWT_JWKS_URL: set JWT_JWKS_URL or JWT_PUBLIC_KEY, or IIIF_AUTH=off to run without auth'],
  ])('refuses to start with auth on when %s is %j, naming it', (variable, change, message) => {
    // Prepare: a complete auth-on environment with one thing taken away or weakened.
    const values = new Map<string, string | undefined>(Object.entries({ ...SECURED, JWT_JWKS_URL: 'https://issuer.example.org/.well-known/jwks.json' }));
    for (const [name, value] of Object.entries(change)) values.set(name, value);
    const env = Object.fromEntries([...values].filter((entry): entry is [string, string] => entry[1] !== undefined));

    // Act
    const error = configError(env);

    // Assess
    expect({ name: error.name, variable: error.variable, message: error.message }).toEqual({ name: 'ConfigError', variable, message });
  });

  it.each(['http://127.0.0.1:3000/.well-known/jwks.json', 'http://localhost:3000/.well-known/jwks.json', 'http://[::1]:3000/.well-known/jwks.json'])(
    'accepts a plain http JWKS on the loopback host of the local stack: %s',
    (url) => {
      // Act
      const config = loadConfig({ ...SECURED, JWT_JWKS_URL: url });

      // Assess
      expect(config.auth.jwksUrl?.href).toBe(url);
    },
  );

  it('asks for neither issuer, audience nor keys with auth off', () => {
    // Act
    const config = loadConfig({ ...MINIMAL, JWT_JWKS_URL: 'http://issuer.example.org/jwks.json' });

    // Assess
    expect([config.auth.enabled, config.auth.issuer, config.auth.audience]).toEqual([false, undefined, undefined]);
  });

  it('refuses a JWKS URL that is not http(s)', () => {
    // Act
    const error = configError({ ...MINIMAL, IIIF_AUTH: 'on', JWT_JWKS_URL: 'file:///etc/jwks.json' });

    // Assess
    expect(error.message).toBe('JWT_JWKS_URL: expected an http(s) URL, got "file:///etc/jwks.json"');
  });
});

describe('the configuration object', () => {
  it('is frozen all the way down', () => {
    // Prepare
    const config = loadConfig({ ...MINIMAL, IIIF_MAX_WIDTH: '1000' });

    // Act
    const attempts = [
      () => {
        (config as { tileSize: number }).tileSize = 1;
      },
      () => {
        (config.limits as { maxWidth?: number }).maxWidth = 1;
      },
      () => {
        (config.auth.algorithms as string[]).push('HS256');
      },
      () => {
        (config.render.encode as { jpegQuality: number }).jpegQuality = 1;
      },
    ];

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow(TypeError);
    expect([Object.isFrozen(config), Object.isFrozen(config.limits), Object.isFrozen(config.auth.algorithms), Object.isFrozen(config.sourceCache)]).toEqual([true, true, true, true]);
    expect([config.tileSize, config.limits.maxWidth, config.auth.algorithms.length, config.render.encode.jpegQuality]).toEqual([512, 1000, 3, 85]);
  });

  it('is the one setConfig installed, until it is cleared', () => {
    // Prepare
    const config = loadConfig(MINIMAL);

    // Act
    setConfig(config);

    // Assess
    expect(getConfig()).toBe(config);
  });
});
