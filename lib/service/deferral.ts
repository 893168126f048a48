/**
 * Where a render too long for a request goes: the pre-warm queue (Lambda), or the background of
 * this long-lived process (the local stack, where nothing freezes the process after a response).
 */
import { UnavailableError } from '../errors.js';
import type { QueueSender } from '../queue/index.js';
import type { DeferredJob, Deferrer } from './images.js';

/** How long a client waits after the queue failed: SQS outages are short, renders are long. */
export const QUEUE_RETRY_AFTER_SECONDS = 5;

/** The SDK's error name, never its message (which may hold the queue URL and account). */
function describe(error: unknown): string {
  const name = typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name : 'an error';
  return name === 'Error' ? 'an error' : name;
}

export class QueueDeferrer implements Deferrer {
  constructor(private readonly queue: Pick<QueueSender, 'send'>) {}

  /**
   * Send the job as a pre-warm message.
   * @throws UnavailableError RENDER_QUEUE_UNAVAILABLE (503) when SQS refuses or cannot be
   *   reached: the client retries, rather than getting a 500 for a fault of the queue.
   */
  async defer(job: DeferredJob): Promise<void> {
    try {
      await this.queue.send('path' in job ? { identifier: job.identifier, paths: [job.path] } : { identifier: job.identifier, ingest: true });
    } catch (error) {
      throw new UnavailableError(
        'RENDER_QUEUE_UNAVAILABLE',
        `This image takes longer to render than a request may wait, and it could not be queued for rendering (${describe(error)}); retry after ${QUEUE_RETRY_AFTER_SECONDS} s.`,
        QUEUE_RETRY_AFTER_SECONDS,
        { cause: error },
      );
    }
  }
}

export class BackgroundDeferrer implements Deferrer {
  constructor(private readonly onError: (error: unknown, job: DeferredJob) => void) {}

  defer(job: DeferredJob, work: () => Promise<unknown>): Promise<void> {
    work().catch((error: unknown) => {
      this.onError(error, job);
    });
    return Promise.resolve();
  }
}
