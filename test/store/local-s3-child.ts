/**
 * Run by local-s3.test.ts as a child process (`node --import tsx local-s3-child.ts DIR`), so that
 * it can be killed with SIGKILL in the middle of an upload: the embedded S3 on DIR with bucket
 * `b`, printing one line `PORT <port>` once it listens.
 */
import { startLocalS3 } from '../../infra/local/s3.js';

const directory = process.argv[2];
if (directory === undefined) throw new Error('Usage: node --import tsx local-s3-child.ts DIRECTORY');
const s3 = await startLocalS3({ port: 0, directory, buckets: ['b'] });
process.stdout.write(`PORT ${String(s3.port)}\n`);
