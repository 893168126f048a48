/**
 * Where a render too long for a request goes: the pre-warm queue (Lambda), or the background of
 * this long-lived process (the local stack, where nothing freezes the process after a response).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PrewarmMessage } from '../prewarm/message.js';
import type { DeferredRender, Deferrer } from './image-service.js';

export class QueueDeferrer implements Deferrer {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async defer(job: DeferredRender): Promise<void> {
    const message: PrewarmMessage = { identifier: job.identifier, paths: [job.path] };
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }));
  }
}

export class BackgroundDeferrer implements Deferrer {
  constructor(private readonly onError: (error: unknown, job: DeferredRender) => void) {}

  defer(job: DeferredRender, work: () => Promise<unknown>): Promise<void> {
    work().catch((error: unknown) => {
      this.onError(error, job);
    });
    return Promise.resolve();
  }
}
