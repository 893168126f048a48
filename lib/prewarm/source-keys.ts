/**
 * From source keys back to identifiers, through SOURCE_KEY_TEMPLATE (`masters/{id}.tif`): what
 * the purge function (S3 events), S3 Batch Operations manifests and `prewarm --all` (a listing
 * of the source bucket) start from. No sharp here: the purge bundle imports this.
 */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { raiseS3Error } from '../store/s3-errors.js';

const ID = '{id}';

/**
 * The identifier whose source is `key`, or undefined when the key is not one the template
 * makes (another file in the bucket, a "folder" marker).
 */
export function identifierFromKey(template: string, key: string): string | undefined {
  const parts = template.split(ID);
  if (parts.length < 2) return undefined;
  const [prefix = '', ...rest] = parts;
  const suffix = rest[rest.length - 1] ?? '';
  if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.length <= prefix.length + suffix.length) return undefined;
  let identifier: string;
  if (parts.length === 2) {
    identifier = key.slice(prefix.length, key.length - suffix.length);
  } else {
    // `{id}` more than once: every occurrence must be the same identifier.
    const pattern = new RegExp(`^${parts.map(escapeRegExp).join('(.+?)')}$`, 's');
    const match = pattern.exec(key);
    const first = match?.[1];
    if (match === null || first === undefined || match.slice(1).some((group) => group !== first)) return undefined;
    identifier = first;
  }
  return identifier !== '' && template.replaceAll(ID, identifier) === key ? identifier : undefined;
}

/** The part of the template before `{id}`: every source key starts with it. */
export function keyPrefix(template: string): string {
  return template.split(ID)[0] ?? '';
}

/**
 * Decode a key as S3 event notifications and S3 Batch Operations CSV manifests carry it
 * (URL-encoded, with `+` for a space).
 * @throws URIError for malformed percent-encoding.
 */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * Every identifier with a source in the bucket, in key order, a listing page (1000 keys) at a
 * time: keys the template does not make are passed over.
 * @throws UnavailableError STORAGE_UNAVAILABLE; StorageError STORAGE_MISCONFIGURED.
 */
export async function* listIdentifiers(s3: S3Client, bucket: string, template: string, pageSize = 1000): AsyncGenerator<string> {
  let token: string | undefined;
  const prefix = keyPrefix(template);
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          MaxKeys: pageSize,
          ...(prefix === '' ? {} : { Prefix: prefix }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
    } catch (error) {
      raiseS3Error(error, { operation: 'ListObjectsV2', bucket, subject: 'the source bucket listing' });
    }
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || object.Key.endsWith('/')) continue;
      const identifier = identifierFromKey(template, object.Key);
      if (identifier !== undefined) yield identifier;
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
