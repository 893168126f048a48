/**
 * Source keys as pre-warming and purging meet them: URL-encoded in S3 events and S3 Batch
 * Operations manifests, and listed from the source bucket for `prewarm --all`. Reading a key
 * back into an identifier (identifierFromKey) is lib/store's. No sharp here: the purge bundle
 * imports this.
 */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { identifierFromKey, keyPrefix, raiseS3Error } from '../store/index.js';

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
