/**
 * The environment, read once at cold start into a frozen, typed object. Nothing else in lib/
 * reads process.env. A malformed value throws a ConfigError that names the variable and says
 * what is allowed, so a bad deployment fails its first invocation loudly instead of serving
 * wrong answers (Powertools' envUtils pattern).
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export const DEFAULTS = {
  SOURCE_KEY_TEMPLATE: '{id}',
  DERIVATIVE_PREFIX: '',
  PRESIGN_TTL_SECONDS: 3600,
  IIIF_MAX_AREA: 100_000_000,
  IIIF_DEFAULT_VERSION: '2',
  IIIF_READ_SCOPE: 'iiif:read',
  IIIF_RENDER_SCOPE: 'iiif:render',
  IIIF_TILE_SIZE: 512,
  JWT_ALGORITHMS: ['RS256', 'ES256', 'EdDSA'],
  JWT_CLOCK_TOLERANCE_SECONDS: 30,
  JWT_MAX_TOKEN_AGE_SECONDS: 86_400,
  /** sharp's own default (0x3FFF squared): a 268-megapixel source is the most we decode. */
  RENDER_MAX_INPUT_PIXELS: 268_402_689,
  /** A request whose estimated render exceeds this goes asynchronous (API Gateway allows 30 s). */
  RENDER_BUDGET_SECONDS: 20,
  /**
   * New renders one caller (a token's `sub`) may start a minute, fleet-wide. A viewer session
   * asks for far fewer: a full-screen deep zoom shows some 20 to 40 tiles at a time, most of
   * them already rendered; 600 is ten a second, for a whole minute.
   */
  RENDER_RATE_PER_MINUTE: 600,
  /**
   * The memory one render may count on, in MB: Lambda's own setting (AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
   * when it runs there, else the template's default for the IIIF function.
   */
  RENDER_MEMORY_MB: 2048,
  SOURCE_CACHE_DIR: '/tmp/recto-sources',
  SOURCE_CACHE_MAX_BYTES: 400 * 1024 * 1024,
  /** Masters (not tiled pyramids) whose longer side is over this get an access copy; JPEG 2000 always. */
  ACCESS_COPY_MIN_SIDE: 4096,
  /**
   * JPEG quality of an access copy's tiles: 90 keeps full chroma (libvips subsamples below 90), as
   * JPEG 2000, TIFF and PNG masters have it; a subsampled JPEG master is copied at 89.
   */
  ACCESS_COPY_QUALITY: 90,
  ACCESS_COPY_TILE: 256,
  ACCESS_COPY_WORK_DIR: '/tmp/recto-copies',
  JPEG_QUALITY: 85,
  WEBP_QUALITY: 80,
  WEBP_EFFORT: 2,
  PNG_COMPRESSION_LEVEL: 6,
} as const;

export const JWT_ALGORITHM_CHOICES = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHM_CHOICES)[number];

export interface AuthConfig {
  /** false only with IIIF_AUTH=off (local stack, conformance runs). */
  readonly enabled: boolean;
  readonly publicRead: boolean;
  readonly readScope: string;
  readonly renderScope: string;
  readonly jwksUrl?: URL;
  /** PEM (SPKI) or a JWK as JSON. */
  readonly publicKey?: string;
  /** The required `iss`; loadConfig requires it with auth on. */
  readonly issuer?: string;
  /**
   * The required audience, matched against `aud`, or against `client_id` in a token without
   * `aud` (Cognito access tokens); loadConfig requires it with auth on.
   */
  readonly audience?: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockToleranceSeconds: number;
  readonly maxTokenAgeSeconds: number;
}

export interface EncodeConfig {
  readonly jpegQuality: number;
  readonly webpQuality: number;
  readonly webpEffort: number;
  readonly pngCompressionLevel: number;
}

export interface Config {
  readonly sourceBucket: string;
  readonly sourceKeyTemplate: string;
  readonly derivativeBucket: string;
  /** Empty, or ends with '/'. */
  readonly derivativePrefix: string;
  readonly s3Endpoint?: URL;
  readonly presignTtlSeconds: number;
  /** The IIIF output limits (maxWidth, maxHeight, maxArea of info.json): lib/iiif's Limits. */
  readonly limits: { readonly maxWidth?: number; readonly maxHeight?: number; readonly maxArea?: number };
  readonly tileSize: number;
  readonly publicBaseUrl?: string;
  /** The IIIF API version of paths without one. */
  readonly defaultVersion: '2' | '3';
  readonly auth: AuthConfig;
  readonly render: {
    readonly maxInputPixels: number;
    readonly budgetSeconds: number;
    /** Memory the process has (RENDER_MEMORY_MB): renders estimated to need more are refused (501). */
    readonly memoryMb: number;
    readonly encode: EncodeConfig;
  };
  readonly sourceCache: { readonly dir: string; readonly maxBytes: number };
  /** Access copies: which masters get one, what it is made of, where it is written before upload. */
  readonly accessCopy: { readonly minSide: number; readonly quality: number; readonly tile: 256 | 512; readonly workDir: string };
  /**
   * New renders per caller and minute (0: no limit), counted in the DynamoDB table when one is
   * named, else in this process.
   */
  readonly renderRate: { readonly perMinute: number; readonly table?: string };
  /** The pre-warm queue; long renders are sent there when set. */
  readonly prewarmQueueUrl?: string;
  /** A presets JSON file; unset means the built-in presets. */
  readonly presetsFile?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Read and validate the whole configuration. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const read = reader(env);
  const authEnabled = read.choice('IIIF_AUTH', ['on', 'off'], 'on') === 'on';
  const jwksUrl = read.url('JWT_JWKS_URL');
  const publicKey = read.optional('JWT_PUBLIC_KEY');
  const issuer = read.optional('JWT_ISSUER');
  const audience = read.optional('JWT_AUDIENCE');
  if (authEnabled) checkAuthSources(jwksUrl, publicKey, issuer, audience);
  const sourceKeyTemplate = read.string('SOURCE_KEY_TEMPLATE', DEFAULTS.SOURCE_KEY_TEMPLATE);
  if (!sourceKeyTemplate.includes('{id}')) {
    throw new ConfigError('SOURCE_KEY_TEMPLATE', `must contain {id}, got ${JSON.stringify(sourceKeyTemplate)}`);
  }
  const derivativePrefix = read.string('DERIVATIVE_PREFIX', DEFAULTS.DERIVATIVE_PREFIX);
  if (derivativePrefix !== '' && (!derivativePrefix.endsWith('/') || derivativePrefix.startsWith('/'))) {
    throw new ConfigError('DERIVATIVE_PREFIX', `must be empty or a key prefix like "iiif/" (ending with /, not starting with /), got ${JSON.stringify(derivativePrefix)}`);
  }
  const publicBaseUrl = read.url('PUBLIC_BASE_URL');
  // info.json "maxWidth MUST be specified if maxHeight is specified" (3.0 §5.2, 2.1 §5.3).
  if (read.optional('IIIF_MAX_HEIGHT') !== undefined && read.optional('IIIF_MAX_WIDTH') === undefined) {
    throw new ConfigError('IIIF_MAX_HEIGHT', 'requires IIIF_MAX_WIDTH as well: IIIF info.json must give maxWidth whenever it gives maxHeight');
  }

  const config: Config = {
    sourceBucket: read.required('SOURCE_BUCKET'),
    sourceKeyTemplate,
    derivativeBucket: read.required('DERIVATIVE_BUCKET'),
    derivativePrefix,
    ...defined('s3Endpoint', read.url('S3_ENDPOINT')),
    presignTtlSeconds: read.integer('PRESIGN_TTL_SECONDS', DEFAULTS.PRESIGN_TTL_SECONDS, 60, 604_800),
    limits: {
      ...defined('maxWidth', read.optionalInteger('IIIF_MAX_WIDTH', 1, 1_000_000)),
      ...defined('maxHeight', read.optionalInteger('IIIF_MAX_HEIGHT', 1, 1_000_000)),
      ...defined('maxArea', read.optionalInteger('IIIF_MAX_AREA', 1, 10_000_000_000) ?? DEFAULTS.IIIF_MAX_AREA),
    },
    tileSize: read.integer('IIIF_TILE_SIZE', DEFAULTS.IIIF_TILE_SIZE, 64, 4096),
    ...defined('publicBaseUrl', publicBaseUrl?.href.replace(/\/+$/, '')),
    defaultVersion: read.choice('IIIF_DEFAULT_VERSION', ['2', '3'], DEFAULTS.IIIF_DEFAULT_VERSION),
    auth: {
      enabled: authEnabled,
      publicRead: read.boolean('IIIF_PUBLIC_READ', false),
      readScope: read.token('IIIF_READ_SCOPE', DEFAULTS.IIIF_READ_SCOPE),
      renderScope: read.token('IIIF_RENDER_SCOPE', DEFAULTS.IIIF_RENDER_SCOPE),
      ...defined('jwksUrl', jwksUrl),
      ...defined('publicKey', publicKey),
      ...defined('issuer', issuer),
      ...defined('audience', audience),
      algorithms: read.list('JWT_ALGORITHMS', JWT_ALGORITHM_CHOICES, DEFAULTS.JWT_ALGORITHMS),
      clockToleranceSeconds: read.integer('JWT_CLOCK_TOLERANCE_SECONDS', DEFAULTS.JWT_CLOCK_TOLERANCE_SECONDS, 0, 300),
      maxTokenAgeSeconds: read.integer('JWT_MAX_TOKEN_AGE_SECONDS', DEFAULTS.JWT_MAX_TOKEN_AGE_SECONDS, 60, 31_536_000),
    },
    render: {
      maxInputPixels: read.integer('RENDER_MAX_INPUT_PIXELS', DEFAULTS.RENDER_MAX_INPUT_PIXELS, 1, 10_000_000_000),
      budgetSeconds: read.integer('RENDER_BUDGET_SECONDS', DEFAULTS.RENDER_BUDGET_SECONDS, 1, 900),
      memoryMb: read.integer('RENDER_MEMORY_MB', read.integer('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', DEFAULTS.RENDER_MEMORY_MB, 128, 10_240), 512, 262_144),
      encode: {
        jpegQuality: read.integer('JPEG_QUALITY', DEFAULTS.JPEG_QUALITY, 1, 100),
        webpQuality: read.integer('WEBP_QUALITY', DEFAULTS.WEBP_QUALITY, 1, 100),
        webpEffort: read.integer('WEBP_EFFORT', DEFAULTS.WEBP_EFFORT, 0, 6),
        pngCompressionLevel: read.integer('PNG_COMPRESSION_LEVEL', DEFAULTS.PNG_COMPRESSION_LEVEL, 0, 9),
      },
    },
    sourceCache: {
      dir: read.string('SOURCE_CACHE_DIR', DEFAULTS.SOURCE_CACHE_DIR),
      maxBytes: read.integer('SOURCE_CACHE_MAX_BYTES', DEFAULTS.SOURCE_CACHE_MAX_BYTES, 0, 10 * 1024 ** 3),
    },
    accessCopy: {
      minSide: read.integer('ACCESS_COPY_MIN_SIDE', DEFAULTS.ACCESS_COPY_MIN_SIDE, 256, 1_000_000),
      quality: read.integer('ACCESS_COPY_QUALITY', DEFAULTS.ACCESS_COPY_QUALITY, 50, 100),
      tile: read.choice('ACCESS_COPY_TILE', ['256', '512'], String(DEFAULTS.ACCESS_COPY_TILE) as '256' | '512') === '512' ? 512 : 256,
      workDir: read.string('ACCESS_COPY_WORK_DIR', DEFAULTS.ACCESS_COPY_WORK_DIR),
    },
    renderRate: {
      perMinute: read.integer('RENDER_RATE_PER_MINUTE', DEFAULTS.RENDER_RATE_PER_MINUTE, 0, 1_000_000),
      ...defined('table', read.tableName('RENDER_RATE_TABLE')),
    },
    ...defined('prewarmQueueUrl', read.url('PREWARM_QUEUE_URL')?.href),
    ...defined('presetsFile', read.optional('PRESETS_FILE')),
  };
  return deepFreeze(config);
}

/** Hosts a JWKS may be fetched from over plain http: this machine only (the local stack). */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * With auth on, a token is only as trustworthy as the keys, issuer and audience it is checked
 * against: without an issuer, any tenant of a shared identity provider signs acceptable tokens;
 * without an audience, a token minted for another API is accepted here; keys fetched over plain
 * http can be swapped by anyone on the path. So none of these is optional.
 */
function checkAuthSources(jwksUrl: URL | undefined, publicKey: string | undefined, issuer: string | undefined, audience: string | undefined): void {
  if (jwksUrl === undefined && publicKey === undefined) {
    throw new ConfigError('JWT_JWKS_URL', 'set JWT_JWKS_URL or JWT_PUBLIC_KEY, or IIIF_AUTH=off to run without auth');
  }
  if (jwksUrl !== undefined && jwksUrl.protocol !== 'https:' && !LOOPBACK_HOSTS.includes(jwksUrl.hostname)) {
    throw new ConfigError(
      'JWT_JWKS_URL',
      `expected an https URL (keys fetched over http can be replaced by anyone on the path; http is accepted for ${LOOPBACK_HOSTS.join(', ')} only), got ${JSON.stringify(jwksUrl.href)}`,
    );
  }
  if (issuer === undefined) {
    throw new ConfigError('JWT_ISSUER', 'is required with IIIF_AUTH=on: set it to the exact iss claim of your identity provider\'s tokens (docs/deploy.md, Tokens), or IIIF_AUTH=off to run without auth');
  }
  if (audience === undefined) {
    throw new ConfigError('JWT_AUDIENCE', 'is required with IIIF_AUTH=on: set it to the aud claim of the tokens meant for Recto (for Cognito access tokens, which have none, the app client id: it is matched against client_id), or IIIF_AUTH=off to run without auth');
  }
}

let cached: Config | undefined;

/** The process-wide configuration, read from process.env on first use (the cold start). */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/** For tests and the local stack: replace the process-wide configuration. */
export function setConfig(config: Config | undefined): void {
  cached = config;
}

// ---- typed getters ----------------------------------------------------------------------

function reader(env: Env) {
  const optional = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const parseInteger = (name: string, raw: string, min: number, max: number): number => {
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got ${raw}`);
    return value;
  };
  return {
    optional,
    required(name: string): string {
      const value = optional(name);
      if (value === undefined) throw new ConfigError(name, 'is required and was not set');
      return value;
    },
    string(name: string, fallback: string): string {
      return env[name] ?? fallback;
    },
    token(name: string, fallback: string): string {
      const value = optional(name) ?? fallback;
      if (/\s/.test(value)) throw new ConfigError(name, `a scope name cannot contain spaces, got ${JSON.stringify(value)}`);
      return value;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const raw = optional(name);
      return raw === undefined ? fallback : parseInteger(name, raw, min, max);
    },
    optionalInteger(name: string, min: number, max: number): number | undefined {
      const raw = optional(name);
      return raw === undefined ? undefined : parseInteger(name, raw, min, max);
    },
    boolean(name: string, fallback: boolean): boolean {
      const raw = optional(name);
      if (raw === undefined) return fallback;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
    },
    choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
      const raw = optional(name);
      if (raw === undefined) return fallback;
      if ((choices as readonly string[]).includes(raw)) return raw as T;
      throw new ConfigError(name, `expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
    },
    list<T extends string>(name: string, choices: readonly T[], fallback: readonly T[]): readonly T[] {
      const raw = optional(name);
      if (raw === undefined) return fallback;
      const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
      const bad = items.find((item) => !(choices as readonly string[]).includes(item));
      if (bad !== undefined || items.length === 0) {
        throw new ConfigError(name, `expected a comma-separated list of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return items as T[];
    },
    /** A DynamoDB table name: 3 to 255 letters, digits, `_`, `-` and `.`. */
    tableName(name: string): string | undefined {
      const raw = optional(name);
      if (raw === undefined) return undefined;
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(raw)) {
        throw new ConfigError(name, `expected a DynamoDB table name (3 to 255 letters, digits, _, - and .), got ${JSON.stringify(raw)}`);
      }
      return raw;
    },
    url(name: string): URL | undefined {
      const raw = optional(name);
      if (raw === undefined) return undefined;
      try {
        const url = new URL(raw);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
        return url;
      } catch {
        throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(raw)}`);
      }
    },
  };
}

/** `{ [key]: value }` when the value is defined, else `{}`: for exactOptionalPropertyTypes. */
export function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof URL)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
