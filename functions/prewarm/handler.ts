/** SQS messages and S3 Batch Operations tasks → the pre-warm runner. Thin by design. */
import { createPrewarmHandler } from '../../lib/entry/prewarm.js';

export const handler = createPrewarmHandler();
