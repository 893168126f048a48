/**
 * Hand jobs to the pre-warm fleet over SQS: one message for a deferred render, or one message per
 * image sent ten to a request (SendMessageBatch's limit) for a batch. Entries SQS refuses are sent
 * once more, then reported.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PrewarmMessage } from './message.js';

/** SendMessageBatch takes at most ten entries. */
const SQS_BATCH_SIZE = 10;

export interface EnqueueFailure {
  readonly identifier: string;
  readonly code: string;
  readonly message: string;
}

export interface EnqueueReport {
  readonly sent: number;
  readonly failed: readonly EnqueueFailure[];
}

export class QueueSender {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  /** Send one message. Throws the SDK's error as it is: the caller decides what it means. */
  async send(message: PrewarmMessage): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }));
  }

  /** Send one message per image; `onSent` is called after each accepted batch with its size. */
  async sendAll(messages: AsyncIterable<PrewarmMessage> | Iterable<PrewarmMessage>, onSent?: (count: number) => void): Promise<EnqueueReport> {
    let sent = 0;
    const failed: EnqueueFailure[] = [];
    let batch: PrewarmMessage[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const pending = batch;
      batch = [];
      let left = pending.map((message, i) => ({ id: String(i), message }));
      for (let attempt = 1; attempt <= 2 && left.length > 0; attempt++) {
        const answer = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: left.map(({ id, message }) => ({ Id: id, MessageBody: JSON.stringify(message) })),
          }),
        );
        const refused = new Map((answer.Failed ?? []).map((entry) => [entry.Id, entry]));
        const accepted = left.length - refused.size;
        sent += accepted;
        onSent?.(accepted);
        const retry: typeof left = [];
        for (const item of left) {
          const entry = refused.get(item.id);
          if (entry === undefined) continue;
          // SenderFault: the message itself is wrong; sending it again will not help.
          if (entry.SenderFault === true || attempt === 2) {
            failed.push({ identifier: item.message.identifier, code: entry.Code ?? 'Unknown', message: entry.Message ?? 'refused by SQS' });
          } else {
            retry.push(item);
          }
        }
        left = retry;
      }
    };
    for await (const message of messages) {
      batch.push(message);
      if (batch.length === SQS_BATCH_SIZE) await flush();
    }
    await flush();
    return { sent, failed };
  }
}
