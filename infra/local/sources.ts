/**
 * Upload local image files as sources: `samples/` and `$LOCAL_IMAGES_DIR`, identifier = the file
 * name without its extension. Files already uploaded with the same size are skipped, so a
 * second start reuses `.data/`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { transferTimeoutMs } from '../../lib/store/index.js';
import { NotFoundError } from '../../lib/errors.js';
import type { Services } from '../../lib/entry/wiring.js';

export const IMAGE_TYPES = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.jp2': 'image/jp2',
} as const satisfies Record<string, string>;

export interface UploadSummary {
  /** Identifiers now in the source bucket from these directories, sorted. */
  readonly identifiers: readonly string[];
  /** The file each identifier came from (the last directory's, when two hold the same name). */
  readonly files: Readonly<Record<string, string>>;
  readonly uploaded: number;
  readonly skipped: number;
}

export async function uploadSources(services: Services, directories: readonly string[]): Promise<UploadSummary> {
  const { s3 } = services;
  const identifiers = new Set<string>();
  const files: Record<string, string> = {};
  let uploaded = 0;
  let skipped = 0;
  for (const directory of directories) {
    for (const file of await imageFiles(directory)) {
      const identifier = path.basename(file, path.extname(file));
      const key = services.sources.keyFor(identifier);
      const size = (await stat(file)).size;
      identifiers.add(identifier);
      files[identifier] = file;
      if ((await existingSize(services, identifier)) === size) {
        skipped += 1;
        continue;
      }
      const contentType = IMAGE_TYPES[path.extname(file).toLowerCase() as keyof typeof IMAGE_TYPES];
      const body = await readFile(file);
      await s3.send(new PutObjectCommand({ Bucket: services.config.sourceBucket, Key: key, Body: body, ContentType: contentType }), { requestTimeout: transferTimeoutMs(body.length) });
      uploaded += 1;
    }
  }
  return { identifiers: [...identifiers].sort(), files, uploaded, skipped };
}

/**
 * The image files in these directories that `npm start` would upload as `identifier` (the
 * directories that do not exist are passed over).
 */
export async function imageFilesFor(directories: readonly string[], identifier: string): Promise<string[]> {
  const found: string[] = [];
  for (const directory of directories) {
    const files = await imageFiles(directory).catch((error: unknown) => {
      if ((error as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return [];
      throw error;
    });
    found.push(...files.filter((file) => path.basename(file, path.extname(file)) === identifier));
  }
  return found;
}

async function imageFiles(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Image directory ${directory} does not exist (check LOCAL_IMAGES_DIR)`, { cause: error });
    }
    throw error;
  }
  return names
    .filter((name) => !name.startsWith('.') && path.extname(name).toLowerCase() in IMAGE_TYPES)
    .sort()
    .map((name) => path.join(directory, name));
}

/** The stored source's size, or undefined when there is none (SourceStore's own HEAD and 404). */
async function existingSize(services: Services, identifier: string): Promise<number | undefined> {
  try {
    return (await services.sources.head(identifier)).bytes;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
