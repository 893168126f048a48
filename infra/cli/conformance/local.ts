/**
 * A throwaway local stack for a conformance run: IIIF_AUTH=off, a temporary data directory,
 * ephemeral ports, and the validation image under two identifiers (the validator's own, and an
 * ARK-like one holding ":" and "/" for the escaping test). Used by the vitest suite and by
 * `npm run conformance` when no --base is given.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import type { ApiVersion } from './context.js';
import { VALIDATOR_HEADERS } from './http.js';
import { validationPng } from './grid.js';

/** The validator's default validation identifier (iiif_validator/cli.py); it holds "-" for id_escaped. */
export const VALIDATION_ID = '67352ccc-d1b0-11e1-89ae-279075081939';
/** The same image under an identifier that must be escaped in a path segment. */
export const ESCAPED_VALIDATION_ID = 'ark:/67531/validator-grid';

export interface ConformanceStack {
  readonly stack: LocalStack;
  /** Service bases by version: {url}/iiif/2 and {url}/iiif/3. */
  readonly bases: Readonly<Record<ApiVersion, string>>;
  close(): Promise<void>;
}

/** Start the stack and upload the validation image. */
export async function startConformanceStack(): Promise<ConformanceStack> {
  const root = await mkdtemp(path.join(tmpdir(), 'recto-conformance-'));
  try {
    const images = path.join(root, 'images');
    await mkdir(images);
    const png = await validationPng();
    await writeFile(path.join(images, `${VALIDATION_ID}.png`), png);
    // The validator's requests name its own origin: storage must let it read across origins.
    const stack = await startLocalStack({ port: 0, s3Port: 0, dataDir: path.join(root, 'data'), env: { IIIF_AUTH: 'off' }, imageDirs: [images], corsOrigins: [VALIDATOR_HEADERS.origin] });
    try {
      // A file name cannot hold "/", so this source goes straight to the bucket.
      await stack.services.s3.send(
        new PutObjectCommand({ Bucket: stack.config.sourceBucket, Key: stack.services.sources.keyFor(ESCAPED_VALIDATION_ID), Body: png, ContentType: 'image/png' }),
      );
    } catch (error) {
      await stack.close();
      throw error;
    }
    return {
      stack,
      bases: { '2': `${stack.url}/iiif/2`, '3': `${stack.url}/iiif/3` },
      async close() {
        await stack.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
