/** lib/queue: the pre-warm job message format and its SQS sender. */
export { API_CHOICES, parsePrewarmMessage, type ApiChoice, type PrewarmMessage } from './message.js';
export { QueueSender, type EnqueueFailure, type EnqueueReport } from './sender.js';
