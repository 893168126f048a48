/**
 * The one ListObjectsV2 loop: every page under a prefix, following continuation tokens. The
 * derivative store (listing, purging) and the source store (identifiers) both page through it.
 */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';

export interface ListingOptions {
  readonly bucket: string;
  /** Empty lists the whole bucket. */
  readonly prefix: string;
  /** Keys per page, 1 to 1000. */
  readonly pageSize: number;
  /** Turns an SDK error into the store's own error (it must throw). */
  readonly raise: (error: unknown) => never;
}

/** One page of a listing, from its start or from a continuation token. */
export async function listPage(s3: S3Client, options: ListingOptions, token?: string): Promise<ListObjectsV2CommandOutput> {
  try {
    return await s3.send(
      new ListObjectsV2Command({
        Bucket: options.bucket,
        MaxKeys: options.pageSize,
        ...(options.prefix === '' ? {} : { Prefix: options.prefix }),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
  } catch (error) {
    return options.raise(error);
  }
}

/** Every object under the prefix, in key order, a page at a time. */
export async function* listObjects(s3: S3Client, options: ListingOptions): AsyncGenerator<{ readonly key: string; readonly bytes: number; readonly lastModified?: Date }> {
  let token: string | undefined;
  do {
    const page = await listPage(s3, options, token);
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      yield { key: object.Key, bytes: object.Size ?? 0, ...(object.LastModified === undefined ? {} : { lastModified: object.LastModified }) };
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}
