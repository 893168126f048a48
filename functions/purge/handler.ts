/** S3 ObjectCreated/ObjectRemoved of a source → delete its derivatives. Thin by design; no sharp. */
import { createPurgeHandler } from '../../lib/entry/purge.js';

export const handler = createPurgeHandler();
