/** Helpers shared by the pre-warm tests: capturing CLI output, reaching a test stack's storage. */
import { Writable } from 'node:stream';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/stack.js';
import type { TestStack } from '../support/stack.js';

/** Collects what the CLI writes. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The environment `npm run prewarm` would be given to reach this test stack's storage. */
export function cliEnvironment(t: TestStack): Record<string, string> {
  return {
    S3_ENDPOINT: t.stack.s3Endpoint.href,
    SOURCE_BUCKET: t.sourceBucket,
    DERIVATIVE_BUCKET: t.derivativeBucket,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    SOURCE_CACHE_DIR: `${t.dataDir}/cli-cache`,
  };
}

/** Run `fn` over `items`, `limit` at a time. */
export async function forEach<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await fn(item);
      }
    }),
  );
}

