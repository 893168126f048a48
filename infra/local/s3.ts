/**
 * The embedded S3 of the local stack and the tests: s3rver (a Koa app storing objects as files),
 * made to behave like S3 where Recto depends on it. Measured on s3rver 3.7.1 (Node 20), and
 * fixed here:
 *
 * 1. Writes were not atomic. s3rver streams a PUT straight into the object's file, so a GET during
 *    the upload answered 200 with the bytes received so far (and an ETag of those), and an upload
 *    cut off by the client stayed behind as a truncated object with a 200. Here a PUT goes to a
 *    `.part` file, is checked, and is renamed into place with its metadata already written: a
 *    reader sees the old object or the whole new one, and a failed upload leaves nothing.
 * 2. `If-None-Match: *` on PUT was ignored (every PUT overwrote). Here it answers 412
 *    PreconditionFailed when the key exists, and 409 ConditionalRequestConflict when another
 *    write of the key is in progress, as S3 does.
 * 3. Integrity headers were ignored. Here `Content-Length`, `Content-MD5` and
 *    `x-amz-checksum-sha256` are verified (400 IncompleteBody / BadDigest), and an `aws-chunked`
 *    body (the SDK's default for streams, which s3rver stored with its chunk framing) is refused
 *    with 501 and a message saying which client setting to change.
 * 4. ListObjectsV2 crashed (500) whenever a listing was truncated: its continuation tokens use
 *    DES, which OpenSSL 3 (Node 17+) no longer provides. It also listed keys in directory-walk
 *    order, not S3's byte order. Here ListObjectsV2 is answered by this module, sorted, with
 *    plain continuation tokens.
 * 5. Signatures were not checked: s3rver only looked for the access key S3RVER, so a tampered or
 *    expired presigned URL, a wrong secret or no signature at all was served. Here every request
 *    but a CORS preflight must carry a valid SigV4 signature (header or presigned URL, checked by
 *    sigv4.ts with the local credentials, dates and expiry included), and a body must match the
 *    payload hash it was signed with; anything else is a 403 or 400 S3 error document.
 * 6. Any Host was served, so a web page could reach it through a DNS name rebound to 127.0.0.1.
 *    Here only its own host:port (and localhost:port) is answered; anything else is a 400.
 * 7. CORS allowed every origin. Here only the origins it is given (the local stack's page) may
 *    read across origins, and a start with none removes the rule a kept directory had.
 * 8. A killed process left its `.part` files behind for ever. Here they are deleted at start.
 * 9. `x-amz-tagging` on PUT was ignored. Here its tags are stored with the object, so
 *    GetObjectTagging answers them, and a PUT without it leaves the object untagged.
 *
 * Still true, and not to be relied on: it ignores If-Match on GET (Recto checks the answer's ETag);
 * an unconditional PUT over an existing key is atomic for the object file but its metadata is
 * replaced a moment before, so a concurrent GET can pair old bytes with the new ETag.
 *
 * Credentials the local stack and scripts must use (any SigV4 client; the signature is checked):
 *   AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
 * plus S3_ENDPOINT=http://127.0.0.1:<port> (see localS3Environment()).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-constants.js';
import { EMPTY_SHA256, verifySigV4 } from './sigv4.js';

export {
  LOCAL_CREDENTIALS as LOCAL_S3_CREDENTIALS,
  LOCAL_REGION as LOCAL_S3_REGION,
  localS3Environment,
} from './local-constants.js';

/**
 * Browsers follow Recto's redirects to presigned URLs on this server: let the local stack's own
 * page GET and HEAD, and read the headers a viewer may need. Other origins get no CORS headers,
 * so a page elsewhere cannot read what this server holds.
 */
export function localS3CorsXml(origins: readonly string[]): string {
  return `<CORSConfiguration>
  <CORSRule>
${origins.map((origin) => `    <AllowedOrigin>${escapeXml(origin)}</AllowedOrigin>`).join('\n')}
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
    <ExposeHeader>Content-Type</ExposeHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <ExposeHeader>Last-Modified</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;
}

export interface LocalS3Options {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Where objects live; kept across restarts. */
  readonly directory: string;
  readonly buckets: readonly string[];
  /** No request log (default true). */
  readonly silent?: boolean;
  /** Default 127.0.0.1: the embedded S3 is never exposed beyond this machine. */
  readonly host?: string;
  /** Page origins allowed to GET and HEAD objects across origins (none by default). */
  readonly corsOrigins?: readonly string[];
  /**
   * Told of each object created or deleted (a PUT or DELETE that succeeded), as S3 event
   * notifications tell a bucket's subscribers: the local stack purges and copies with it.
   */
  readonly onChange?: (change: ObjectChange) => void;
}

/** One object created or removed, as an S3 event notification names it. */
export interface ObjectChange {
  readonly bucket: string;
  /** Decoded. */
  readonly key: string;
  readonly eventName: 'ObjectCreated:Put' | 'ObjectRemoved:Delete';
}

export interface LocalS3 {
  readonly endpoint: URL;
  readonly port: number;
  /** The HTTP server, for tests that count or watch requests. */
  readonly server: Server;
  close(): Promise<void>;
}


/** Call `onChange` once a PUT or DELETE of an object (no subresource) has answered 2xx. */
function notifyOnSuccess(req: IncomingMessage, res: ServerResponse, onChange: (change: ObjectChange) => void): void {
  const url = new URL(req.url ?? '/', 'http://s3.local');
  const eventName = req.method === 'PUT' ? 'ObjectCreated:Put' : req.method === 'DELETE' ? 'ObjectRemoved:Delete' : undefined;
  // A subresource (?tagging, ?acl, …) is no object write; the SDK's own ?x-id=PutObject is one.
  if (eventName === undefined || [...url.searchParams.keys()].some((name) => name !== 'x-id')) return;
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (bucket === '' || key === '') return;
  res.once('finish', () => {
    if (res.statusCode >= 200 && res.statusCode < 300) onChange({ bucket: decodeURIComponent(bucket), key, eventName });
  });
}

/**
 * Start the embedded S3 with the given buckets (created if missing, each with the CORS rule
 * above). Data stays in `directory` across restarts.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.directory, { recursive: true });
  await removeStaleParts(options.directory);
  const app = new s3rver.S3rver({
    address: host,
    port: options.port,
    directory: options.directory,
    silent: options.silent ?? true,
    // Path-style only: a Host header that is a name would otherwise be taken for a bucket.
    vhostBuckets: false,
  });
  const store = new SafeStore(options.directory);
  app.store = store;
  app.context.store = store;
  const origins = options.corsOrigins ?? [];
  const cors = origins.length === 0 ? undefined : s3rver.config.getConfigModel('cors').validate(localS3CorsXml(origins));
  for (const bucket of options.buckets) {
    await store.putBucket(bucket);
    // Every start sets the rule anew: a directory kept from an earlier run may hold another one.
    if (cors === undefined) await store.deleteSubresource(bucket, undefined, 'cors');
    else await store.putSubresource(bucket, undefined, cors);
  }

  const koa = app.callback();
  const allowedOrigins = new Set(origins);
  // Known once listening; requests only come after.
  let hosts = new Set<string>();
  const server = createServer((req, res) => {
    const host = req.headers.host ?? '';
    if (!hosts.has(host) && !PROXY_HOSTS.has(host)) {
      sendError(req, res, 400, 'InvalidHostHeader', `This server answers only to ${[...hosts].join(' or ')}, not to Host ${JSON.stringify(host)}: use the endpoint it printed.`);
      return;
    }
    // CORS preflights carry no credentials, in S3 too; s3rver answers them from the bucket's rule.
    if (req.method === 'OPTIONS') {
      echoAllowedOrigin(req, res, allowedOrigins);
      void koa(req, res);
      return;
    }
    const verdict = verifySigV4(
      { method: req.method ?? '', url: req.url ?? '/', rawHeaders: req.rawHeaders },
      { secrets: LOCAL_SECRETS, region: LOCAL_REGION, service: 's3', now: new Date() },
    );
    if (!verdict.ok) {
      sendError(req, res, verdict.status, verdict.code, verdict.message);
      return;
    }
    checkedBody(req, verdict.payloadHash).then(
      (checked) => {
        if (checked === undefined) {
          sendError(req, res, 400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
          return;
        }
        // An answer to a request without Origin (an <img>) has no CORS headers; a browser that
        // cached it would reuse it for the page's CORS request of the same URL and block it.
        if (allowedOrigins.size > 0 && (req.method === 'GET' || req.method === 'HEAD')) res.setHeader('vary', 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
        serve(checked, res);
      },
      (error: unknown) => {
        sendError(req, res, 400, 'IncompleteBody', `The request body could not be read: ${error instanceof Error ? error.message : 'unknown error'}.`);
      },
    );
  });
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.onChange !== undefined) notifyOnSuccess(req, res, options.onChange);
    const list = listRequest(req);
    if (list === undefined) {
      void koa(req, res);
      return;
    }
    listObjectsV2(store, list).then(
      (xml) => {
        res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
      },
      (error: unknown) => {
        const s3Error = error instanceof s3rver.S3Error ? error : new s3rver.S3Error('InternalError', 'We encountered an internal error. Please try again.');
        sendError(req, res, s3Error.status, s3Error.code, s3Error.message);
      },
    );
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = new Set([`${host}:${String(port)}`, ...(host === '127.0.0.1' ? [`localhost:${String(port)}`] : [])]);
  return {
    endpoint: new URL(`http://${host}:${port}`),
    port,
    server,
    close: () => closeServer(server),
  };
}

// ---- 5-7: signatures, Host, CORS --------------------------------------------------------

const LOCAL_SECRETS: ReadonlyMap<string, string> = new Map([[LOCAL_CREDENTIALS.accessKeyId, LOCAL_CREDENTIALS.secretAccessKey]]);

/** host:port of test proxies in this process that pass requests on byte for byte (see below). */
const PROXY_HOSTS = new Set<string>();

/**
 * Accept requests addressed to a proxy of this process (a test's fault proxy): it forwards the
 * Host header its clients signed, so the embedded S3 must take that Host as its own. Returns a
 * function that withdraws it.
 */
export function acceptProxyHost(hostPort: string): () => void {
  PROXY_HOSTS.add(hostPort);
  return () => {
    PROXY_HOSTS.delete(hostPort);
  };
}

/** An S3 error document (none for HEAD, as S3 does). */
function sendError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  const error = new s3rver.S3Error(code, message);
  const xml = req.method === 'HEAD' ? '' : error.toXML();
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), 'x-amz-error-code': code });
  res.end(xml);
  // An unread body would otherwise hold the connection open.
  req.resume();
}

/** s3rver answers an allowed preflight with `*`; S3 names the origin, as a rule for given origins should. */
function echoAllowedOrigin(req: IncomingMessage, res: ServerResponse, origins: ReadonlySet<string>): void {
  const origin = req.headers.origin;
  if (origin === undefined || !origins.has(origin)) return;
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => setHeader(name, name.toLowerCase() === 'access-control-allow-origin' && value === '*' ? origin : value);
}

/** Bodies above this are not buffered for a hash check (object PUTs are checked as they stream). */
const MAX_BUFFERED_BODY = 8 * 1024 * 1024;

/**
 * The request to serve once its body is known to match the signed payload hash, or undefined
 * when it does not. Object PUTs are checked by SafeStore as they are written (the header is
 * there); any other body is small (DeleteObjects, bucket settings) and is read here first, then
 * handed on as a fresh request with the same bytes.
 */
async function checkedBody(req: IncomingMessage, payloadHash: string): Promise<IncomingMessage | undefined> {
  if (!/^[0-9a-f]{64}$/.test(payloadHash) || isObjectPut(req)) return req;
  const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return payloadHash === EMPTY_SHA256 ? req : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BUFFERED_BODY) throw new Error(`more than ${MAX_BUFFERED_BODY} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (createHash('sha256').update(body).digest('hex') !== payloadHash) return undefined;
  const replay = new IncomingMessage(req.socket);
  replay.method = req.method ?? 'GET';
  replay.url = req.url ?? '/';
  replay.headers = req.headers;
  replay.rawHeaders = req.rawHeaders;
  replay.httpVersion = req.httpVersion;
  replay.httpVersionMajor = req.httpVersionMajor;
  replay.httpVersionMinor = req.httpVersionMinor;
  // Not complete, Node would take the replay's end for an aborted request and close the socket.
  replay.complete = true;
  replay.push(body);
  replay.push(null);
  return replay;
}

/** Query parameters that make a PUT on a key something else than a write of its bytes. */
const OBJECT_SUBRESOURCES = ['acl', 'tagging', 'uploadId', 'partNumber', 'legal-hold', 'retention', 'torrent'];

/** A PUT of an object's bytes (not a bucket, not a sub-resource such as ?acl or a part). */
function isObjectPut(req: IncomingMessage): boolean {
  if (req.method !== 'PUT') return false;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  return segments.length >= 2 && !OBJECT_SUBRESOURCES.some((name) => url.searchParams.has(name));
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error === undefined) resolve();
      else reject(error);
    });
  });
  // Keep-alive sockets of SDK clients would hold close() open for their idle timeout.
  server.closeIdleConnections();
  const force = setTimeout(() => {
    server.closeAllConnections();
  }, 2_000);
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}

// ---- s3rver, typed as far as this module uses it ------------------------------------------

interface S3ErrorInstance extends Error {
  readonly code: string;
  status: number;
  toXML(): string;
}

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Readable | Buffer | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly size: number;
  readonly lastModifiedDate: Date;
}

interface ListResult {
  readonly objects: readonly StoredObject[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
}

declare class FilesystemStoreBase {
  constructor(rootDirectory: string);
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucketPath(bucket: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
  getBucket(bucket: string): Promise<object | null>;
  putBucket(bucket: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: unknown): Promise<void>;
  deleteSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<void>;
  existsObject(bucket: string, key: string): Promise<boolean>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
  listObjects(bucket: string, options: { prefix?: string; delimiter?: string; maxKeys?: number }): Promise<ListResult>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

interface S3rverInstance {
  store: FilesystemStoreBase;
  readonly context: { store: FilesystemStoreBase };
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

interface S3rverModules {
  readonly S3rver: new (options: Record<string, unknown>) => S3rverInstance;
  readonly FilesystemStore: typeof FilesystemStoreBase;
  readonly S3Error: new (code: string, message: string, detail?: Record<string, unknown>) => S3ErrorInstance;
  readonly config: { getConfigModel(type: 'cors'): { validate(xml: string): unknown } };
  readonly allowedMetadata: readonly string[];
}

const s3rver: S3rverModules = (() => {
  // s3rver is CommonJS without types; its store and error classes are internal modules.
  const require = createRequire(import.meta.url);
  return {
    S3rver: require('s3rver') as S3rverModules['S3rver'],
    FilesystemStore: require('s3rver/lib/stores/filesystem') as S3rverModules['FilesystemStore'],
    S3Error: require('s3rver/lib/models/error') as S3rverModules['S3Error'],
    config: require('s3rver/lib/models/config') as S3rverModules['config'],
    allowedMetadata: (require('s3rver/lib/models/object') as { ALLOWED_METADATA: readonly string[] }).ALLOWED_METADATA,
  };
})();

// ---- 1-3: atomic, conditional, verified writes --------------------------------------------

/** Keys being written now, with how many writes each (conditional writes conflict with any). */
type Writes = Map<string, number>;

class SafeStore extends s3rver.FilesystemStore {
  readonly #writes: Writes = new Map();

  // Keys are file names here, and a file name has at most 255 bytes: a longer key cannot have
  // been stored, so reading it is a 404, as S3 answers, not the 500 of ENAMETOOLONG.
  override async existsObject(bucket: string, key: string): Promise<boolean> {
    return super.existsObject(bucket, key).catch((error: unknown) => (isNameTooLong(error) ? false : Promise.reject(error as Error)));
  }

  override async getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown> {
    return super.getObject(bucket, key, options).catch((error: unknown) => (isNameTooLong(error) ? null : Promise.reject(error as Error)));
  }

  override async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    const headers = object.content instanceof IncomingMessage ? object.content.headers : {};
    if ((headers['content-encoding'] ?? '').includes('aws-chunked')) {
      throw new s3rver.S3Error(
        'NotImplemented',
        'The embedded S3 does not decode aws-chunked bodies: create the S3 client with requestChecksumCalculation: "WHEN_REQUIRED" (lib/store/s3-client.ts does when an endpoint is set)',
      );
    }
    const id = `${object.bucket}/${object.key}`;
    const conditional = headers['if-none-match'] === '*';
    // Checked and registered with no await in between: this process is the only writer.
    if (conditional && this.#writes.has(id)) {
      const conflict = new s3rver.S3Error('ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
      conflict.status = 409;
      throw conflict;
    }
    this.#writes.set(id, (this.#writes.get(id) ?? 0) + 1);
    try {
      if (conditional && (await this.existsObject(object.bucket, object.key))) {
        throw new s3rver.S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
      }
      return await this.#write(object, headers);
    } finally {
      const left = (this.#writes.get(id) ?? 1) - 1;
      if (left === 0) this.#writes.delete(id);
      else this.#writes.set(id, left);
    }
  }

  /**
   * s3rver's own delete removes emptied directories with readdirSync/rmdir, which throws (a 500)
   * when DeleteObjects deletes two keys of one directory at once. Here a directory that is gone
   * or not empty any more is simply left alone.
   */
  override async deleteObject(bucket: string, key: string): Promise<void> {
    await Promise.all(['object', 'object.md5', 'metadata.json', 'tagging.xml'].map((resource) => unlinkIfPresent(this.getResourcePath(bucket, key, resource))));
    const parts = key.split('/').slice(0, -1);
    while (parts.length > 0) {
      try {
        await rmdir(join(this.getBucketPath(bucket), ...parts));
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) return;
        throw error;
      }
      parts.pop();
    }
  }

  async #write(object: StoredObject, headers: IncomingMessage['headers']): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const part = `${objectPath}.${randomUUID()}.part`;
    try {
      const md5 = createHash('md5');
      const sha256 = createHash('sha256');
      let size = 0;
      if (Buffer.isBuffer(object.content)) {
        md5.update(object.content);
        sha256.update(object.content);
        size = object.content.length;
        await writeFile(part, object.content);
      } else if (object.content !== null) {
        const hash = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            md5.update(chunk);
            sha256.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(object.content, hash, createWriteStream(part));
      }
      const md5Hex = md5.digest('hex');
      verify(headers, size, md5Hex, sha256.digest('base64'));
      // Metadata first, the object last: once the object is visible, all of it is. The tags of
      // x-amz-tagging replace the object's (none when absent), as on S3.
      const tagging = this.getResourcePath(object.bucket, object.key, 'tagging.xml');
      const tags = headers['x-amz-tagging'];
      await Promise.all([
        writeAtomically(this.getResourcePath(object.bucket, object.key, 'object.md5'), md5Hex),
        writeAtomically(this.getResourcePath(object.bucket, object.key, 'metadata.json'), JSON.stringify(storedMetadata(object.metadata), null, 2)),
        typeof tags === 'string' ? writeAtomically(tagging, taggingXml(tags)) : unlinkIfPresent(tagging),
      ]);
      await rename(part, objectPath);
      return { size, md5: md5Hex };
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
  }
}

/** What SafeStore writes before a rename: `<key>._S3rver_object.<uuid>.part` and the like. */
const PART_FILE = /\._S3rver_(?:object|object\.md5|metadata\.json)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.part$/;

/**
 * Delete the `.part` files of writes that never finished: a process killed mid-upload (SIGKILL,
 * a crash) could not clean up after itself. Only one server uses a directory, so at start none
 * of them belongs to a write still going on.
 */
export async function removeStaleParts(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  const stale = entries.filter((entry) => entry.isFile() && PART_FILE.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
  await Promise.all(stale.map((file) => rm(file, { force: true })));
  return stale;
}

/** An x-amz-tagging header (`k=v&k2=v2`, URL-encoded) as the Tagging document GetObjectTagging answers. */
function taggingXml(header: string): string {
  const tags = [...new URLSearchParams(header)].map(([key, value]) => `<Tag><Key>${escapeXml(key)}</Key><Value>${escapeXml(value)}</Value></Tag>`);
  return `<Tagging><TagSet>${tags.join('')}</TagSet></Tagging>`;
}

function isNameTooLong(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENAMETOOLONG';
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes(String((error as { code?: unknown }).code));
}

function verify(headers: IncomingMessage['headers'], size: number, md5Hex: string, sha256Base64: string): void {
  const length = headers['content-length'];
  if (length !== undefined && Number(length) !== size) {
    throw new s3rver.S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
  }
  const contentMd5 = headers['content-md5'];
  if (typeof contentMd5 === 'string' && Buffer.from(contentMd5, 'base64').toString('hex') !== md5Hex) {
    throw new s3rver.S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const checksum = headers['x-amz-checksum-sha256'];
  if (typeof checksum === 'string' && checksum !== sha256Base64) {
    throw new s3rver.S3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
  }
  // The hash the signature covers (verified before s3rver saw the request; see sigv4.ts).
  const signed = headers['x-amz-content-sha256'];
  if (typeof signed === 'string' && /^[0-9a-f]{64}$/.test(signed) && signed !== Buffer.from(sha256Base64, 'base64').toString('hex')) {
    const mismatch = new s3rver.S3Error('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    mismatch.status = 400;
    throw mismatch;
  }
}

/** What s3rver keeps of the request headers (its putMetadata rule). */
function storedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).filter(([name]) => s3rver.allowedMetadata.includes(name) || name.startsWith('x-amz-meta-')),
  );
}

async function writeAtomically(path: string, data: string): Promise<void> {
  const part = `${path}.${randomUUID()}.part`;
  try {
    await writeFile(part, data);
    await rename(part, path);
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
}

// ---- 4: ListObjectsV2 ---------------------------------------------------------------------

interface ListRequest {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  readonly startAfter: string;
  readonly continuationToken?: string;
  readonly startAfterParameter?: string;
}

const TOKEN_PREFIX = 'recto:';

/** A GET on a bucket with list-type=2 (and no sub-resource), or undefined for anything else. */
function listRequest(req: IncomingMessage): ListRequest | undefined {
  if (req.method !== 'GET' || req.url === undefined) return undefined;
  const url = new URL(req.url, 'http://localhost');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  if (segments.length !== 1 || url.searchParams.get('list-type') !== '2') return undefined;
  const query = url.searchParams;
  const token = query.get('continuation-token') ?? undefined;
  const startAfterParameter = query.get('start-after') ?? undefined;
  const maxKeys = query.has('max-keys') ? Number(query.get('max-keys')) : 1000;
  return {
    bucket: decodeURIComponent(segments[0] ?? ''),
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    maxKeys: Number.isInteger(maxKeys) && maxKeys >= 0 ? Math.min(maxKeys, 1000) : 1000,
    startAfter: token !== undefined ? decodeToken(token) : (startAfterParameter ?? ''),
    ...(token === undefined ? {} : { continuationToken: token }),
    ...(startAfterParameter === undefined ? {} : { startAfterParameter }),
  };
}

async function listObjectsV2(store: SafeStore, request: ListRequest): Promise<string> {
  if ((await store.getBucket(request.bucket)) === null) {
    throw new s3rver.S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: request.bucket });
  }
  const all = await store.listObjects(request.bucket, { prefix: request.prefix, delimiter: request.delimiter, maxKeys: Infinity });
  type Item = { readonly key: string; readonly object?: StoredObject };
  const items: Item[] = [
    ...all.objects.map((object) => ({ key: object.key, object })),
    ...all.commonPrefixes.map((prefix) => ({ key: prefix })),
  ]
    // S3 lists in UTF-8 byte order.
    .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))
    .filter((item) => Buffer.compare(Buffer.from(item.key), Buffer.from(request.startAfter)) > 0);
  const page = items.slice(0, request.maxKeys);
  const truncated = items.length > page.length;
  const last = page[page.length - 1];
  const element = (name: string, value: string | number | undefined): string =>
    value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    element('Name', request.bucket),
    element('Prefix', request.prefix),
    element('StartAfter', request.startAfterParameter),
    element('ContinuationToken', request.continuationToken),
    element('NextContinuationToken', truncated && last !== undefined ? encodeToken(last.key) : undefined),
    element('KeyCount', page.length),
    element('MaxKeys', request.maxKeys),
    request.delimiter === '' ? '' : element('Delimiter', request.delimiter),
    element('IsTruncated', String(truncated)),
    ...page.map((item) =>
      item.object === undefined
        ? `<CommonPrefixes>${element('Prefix', item.key)}</CommonPrefixes>`
        : [
            '<Contents>',
            element('Key', item.key),
            element('LastModified', item.object.lastModifiedDate.toISOString()),
            element('ETag', item.object.metadata.etag),
            element('Size', item.object.size),
            element('StorageClass', 'STANDARD'),
            '</Contents>',
          ].join(''),
    ),
    '</ListBucketResult>',
  ].join('');
}

function encodeToken(key: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${key}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith(TOKEN_PREFIX)) {
    throw new s3rver.S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  }
  return decoded.slice(TOKEN_PREFIX.length);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
