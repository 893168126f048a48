/**
 * The one ranged GET: bytes `start` to `endInclusive` of an object, pinned to an ETag when one is
 * given (If-Match, and the answer's ETag checked too: some S3-compatible stores ignore If-Match),
 * so that an object replaced while it is read is reported as changed, never mixed. The source
 * store reads masters through it, the derivative store access copies.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expected } from '../errors.js';
import { classifyS3Error } from './s3-errors.js';
import { collect, readableOf } from './streams.js';

export interface RangeRead {
  readonly bucket: string;
  readonly key: string;
  readonly start: number;
  readonly endInclusive: number;
  readonly etag?: string | undefined;
  /** The error for an object whose ETag is not `etag` any more. */
  readonly changed: (cause?: unknown) => Error;
  /** Turns any other SDK error into the store's own (it must throw). */
  readonly raise: (error: unknown, pinned: boolean) => never;
}

/**
 * The bytes (fewer when the object is shorter; none when the range starts past its end).
 * @throws TypeError for a bad range; what `changed` and `raise` make of failures.
 */
export async function getRange(s3: S3Client, read: RangeRead): Promise<Buffer> {
  const { start, endInclusive, etag } = read;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start) {
    throw new TypeError(expected('whole numbers with 0 <= start <= endInclusive', 'the byte range', `${start}-${endInclusive}`));
  }
  const wanted = endInclusive - start + 1;
  const pinned = etag !== undefined;
  let answer;
  try {
    answer = await s3.send(
      new GetObjectCommand({
        Bucket: read.bucket,
        Key: read.key,
        Range: `bytes=${start}-${endInclusive}`,
        ...(etag === undefined ? {} : { IfMatch: etag }),
      }),
    );
  } catch (error) {
    const kind = classifyS3Error(error);
    if (kind === 'range-not-satisfiable') return Buffer.alloc(0);
    if (pinned && kind === 'precondition-failed') throw read.changed(error);
    return read.raise(error, pinned);
  }
  const body = readableOf(answer.Body);
  if (pinned && answer.ETag !== undefined && answer.ETag !== etag) {
    body.destroy();
    throw read.changed();
  }
  try {
    const bytes = await collect(body, wanted);
    // More than asked for: s3rver answers "bytes=0-0" with the whole object.
    return bytes.length > wanted ? bytes.subarray(0, wanted) : bytes;
  } catch (error) {
    return read.raise(error, pinned);
  }
}
