/**
 * AWS Signature Version 4 verification for the embedded S3 (s3.ts), with node:crypto only:
 * requests signed in the Authorization header and presigned URLs (X-Amz-* query parameters).
 * s3rver itself checks nothing but the access key's name, so without this any request, signed
 * or not, tampered or expired, was served.
 *
 * It rebuilds the canonical request from what arrived (method, path and query re-encoded as
 * SigV4 encodes them, the signed headers' values), the string to sign and the signing key, and
 * compares signatures in constant time. It also checks the request's date (15 minutes of clock
 * skew for signed headers; X-Amz-Date plus X-Amz-Expires for presigned URLs) and the credential
 * scope (region, service). The payload hash it returns is checked against the body elsewhere,
 * when the body has been read. A session token (temporary credentials) is signed over like any
 * header but not checked itself: there is no STS here, the secret key still has to be right.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** How far a signed request's date may be from the server's clock, as S3 allows. */
export const MAX_SKEW_MS = 15 * 60_000;
/** Seven days: the longest validity S3 accepts for a presigned URL. */
const MAX_EXPIRES_SECONDS = 604_800;

export interface SigV4Request {
  readonly method: string;
  /** Path and query exactly as they arrived (`req.url`). */
  readonly url: string;
  /** Node's rawHeaders: name, value, name, value… */
  readonly rawHeaders: readonly string[];
}

export interface SigV4Options {
  /** Access key id → secret key. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly region: string;
  readonly service: string;
  readonly now: Date;
}

export type SigV4Result =
  | {
      readonly ok: true;
      readonly accessKeyId: string;
      /** A lower-case SHA-256 hex digest the body must have, or UNSIGNED-PAYLOAD / STREAMING-…. */
      readonly payloadHash: string;
    }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

const refuse = (status: number, code: string, message: string): SigV4Result => ({ ok: false, status, code, message });

/** Verify one request's signature; never throws. */
export function verifySigV4(request: SigV4Request, options: SigV4Options): SigV4Result {
  const headers = headerValues(request.rawHeaders);
  let pairs: [string, string][];
  let path: string;
  try {
    pairs = queryPairs(request.url).map(([name, value]) => [decodePercent(name), decodePercent(value)]);
    path = canonicalPath(request.url);
  } catch {
    return refuse(400, 'InvalidURI', 'Could not parse the specified URI: a percent-escape is malformed.');
  }
  const query = new Map(pairs);
  const authorization = headers.get('authorization')?.join(',');
  const presigned = query.has('X-Amz-Algorithm');
  if (authorization !== undefined && presigned) {
    return refuse(400, 'InvalidArgument', 'Only one auth mechanism allowed: the X-Amz-Algorithm query parameter or the Authorization header, not both.');
  }
  if (authorization === undefined && !presigned) {
    return refuse(403, 'AccessDenied', 'Access Denied: this server serves signed requests only (AWS Signature Version 4).');
  }

  let accessKeyId: string, scope: string[], signedHeaders: string[], signature: string, amzDate: string, payloadHash: string;
  if (authorization !== undefined) {
    const parsed = parseAuthorization(authorization);
    if (typeof parsed === 'string') return refuse(400, 'AuthorizationHeaderMalformed', parsed);
    ({ accessKeyId, scope, signedHeaders, signature } = parsed);
    const date = headers.get('x-amz-date')?.[0];
    if (date === undefined || !/^\d{8}T\d{6}Z$/.test(date)) {
      return refuse(403, 'AccessDenied', 'AWS authentication requires a valid x-amz-date header (YYYYMMDDTHHMMSSZ).');
    }
    amzDate = date;
    const hash = headers.get('x-amz-content-sha256')?.[0];
    if (hash === undefined) return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256.');
    payloadHash = hash;
    const skew = Math.abs(parseAmzDate(amzDate) - options.now.getTime());
    if (!(skew <= MAX_SKEW_MS)) {
      return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large: check the client\'s clock.');
    }
    const unsigned = [...headers.keys()].filter((name) => name.startsWith('x-amz-') && !signedHeaders.includes(name));
    if (unsigned.length > 0) {
      return refuse(403, 'AccessDenied', `There were headers present in the request which were not signed: ${unsigned.join(', ')}.`);
    }
  } else {
    if (query.get('X-Amz-Algorithm') !== ALGORITHM) {
      return refuse(400, 'AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}".`);
    }
    const credential = query.get('X-Amz-Credential');
    const date = query.get('X-Amz-Date');
    const expires = query.get('X-Amz-Expires');
    const headerList = query.get('X-Amz-SignedHeaders');
    const given = query.get('X-Amz-Signature');
    if (credential === undefined || date === undefined || expires === undefined || headerList === undefined || given === undefined) {
      return refuse(400, 'AuthorizationQueryParametersError', 'Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.');
    }
    if (!/^\d{8}T\d{6}Z$/.test(date)) return refuse(400, 'AuthorizationQueryParametersError', 'X-Amz-Date must be in the ISO8601 basic format YYYYMMDDTHHMMSSZ.');
    const seconds = /^\d{1,7}$/.test(expires) ? Number(expires) : Number.NaN;
    if (!(seconds >= 1 && seconds <= MAX_EXPIRES_SECONDS)) {
      return refuse(400, 'AuthorizationQueryParametersError', `X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_EXPIRES_SECONDS}.`);
    }
    const signedAt = parseAmzDate(date);
    if (options.now.getTime() > signedAt + seconds * 1000) return refuse(403, 'AccessDenied', 'Request has expired: ask the service for a new URL.');
    if (signedAt - options.now.getTime() > MAX_SKEW_MS) return refuse(403, 'AccessDenied', 'Request is not valid yet: check the signer\'s clock.');
    [accessKeyId = '', ...scope] = credential.split('/');
    signedHeaders = headerList.split(';');
    signature = given;
    amzDate = date;
    payloadHash = query.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
  }

  const secret = options.secrets.get(accessKeyId);
  if (secret === undefined) return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const [day, region, service, terminator] = scope;
  if (scope.length !== 4 || day !== amzDate.slice(0, 8) || service !== options.service || terminator !== 'aws4_request') {
    return refuse(400, 'AuthorizationHeaderMalformed', `The credential scope must be <date of the request>/${options.region}/${options.service}/aws4_request.`);
  }
  if (region !== options.region) {
    return refuse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region ?? ''}' is wrong; expecting '${options.region}'.`);
  }
  if (!signedHeaders.includes('host')) return refuse(400, 'AuthorizationHeaderMalformed', 'The signed headers must include host.');
  if (!/^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== UNSIGNED_PAYLOAD && !payloadHash.startsWith('STREAMING-')) {
    return refuse(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-… value or the SHA-256 of the body in lower-case hex.');
  }

  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(headers.get(name) ?? []).map((value) => value.trim().replace(/\s+/g, ' ')).join(',')}\n`).join('');
  const canonicalQuery = pairs
    .filter(([name]) => !(presigned && name === 'X-Amz-Signature'))
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope.join('/'), sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(secret, day, region, service);
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const provided = Buffer.from(signature);
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return { ok: true, accessKeyId, payloadHash };
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const dateKey = createHmac('sha256', `AWS4${secret}`).update(day).digest();
  const regionKey = createHmac('sha256', dateKey).update(region).digest();
  const serviceKey = createHmac('sha256', regionKey).update(service).digest();
  return createHmac('sha256', serviceKey).update('aws4_request').digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…", or why it is malformed. */
function parseAuthorization(value: string): { accessKeyId: string; scope: string[]; signedHeaders: string[]; signature: string } | string {
  if (!value.startsWith(`${ALGORITHM} `)) return `Unsupported authorization type: only ${ALGORITHM} (Signature Version 4) is accepted.`;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== undefined && rest.length > 0) fields.set(name, rest.join('='));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    return 'The authorization header needs Credential, SignedHeaders and Signature.';
  }
  const [accessKeyId = '', ...scope] = credential.split('/');
  return { accessKeyId, scope, signedHeaders: signedHeaders.split(';'), signature };
}

/** "20260101T120000Z" → epoch ms. */
function parseAmzDate(value: string): number {
  return Date.UTC(
    Number(value.slice(0, 4)),
    Number(value.slice(4, 6)) - 1,
    Number(value.slice(6, 8)),
    Number(value.slice(9, 11)),
    Number(value.slice(11, 13)),
    Number(value.slice(13, 15)),
  );
}

/** Header values by lower-case name, in arrival order. */
function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const values = out.get(name) ?? [];
    values.push(rawHeaders[i + 1] ?? '');
    out.set(name, values);
  }
  return out;
}

/** Query parameters as they arrived, still percent-encoded. */
function queryPairs(url: string): [string, string][] {
  const at = url.indexOf('?');
  if (at < 0) return [];
  return url
    .slice(at + 1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    });
}

/** Percent-decoding only: SigV4 clients send a space as %20, and "+" is a plus. */
function decodePercent(text: string): string {
  return decodeURIComponent(text);
}

/**
 * The path each segment decoded and encoded again as SigV4 does (S3 does not normalise dot
 * segments or double-encode): "!" and "%21" sign alike, as they name the same key.
 */
function canonicalPath(url: string): string {
  const at = url.indexOf('?');
  const raw = at < 0 ? url : url.slice(0, at);
  return raw
    .split('/')
    .map((segment) => uriEncode(decodePercent(segment)))
    .join('/');
}

/** RFC 3986 unreserved characters stay; every other UTF-8 byte becomes %XX (upper case). */
export function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
