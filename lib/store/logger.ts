/**
 * Where lib/store reports what a client never sees: the bucket, key, S3 error code and request
 * id behind a 500 or a 503. The shape is a subset of Powertools' Logger (`logger.error(message,
 * attributes)`), so the function's logger can be passed as is; the default writes one JSON line
 * to stderr, which Lambda sends to CloudWatch.
 */

/** Structured details of one storage event. Never put a presigned URL or a token in here. */
export type StoreLogAttributes = Readonly<Record<string, unknown>>;

export interface StoreLogger {
  warn(message: string, attributes: StoreLogAttributes): void;
  error(message: string, attributes: StoreLogAttributes): void;
}

/** One JSON line per event on stderr, for when no logger is given. */
export const consoleStoreLogger: StoreLogger = {
  warn(message, attributes) {
    console.warn(JSON.stringify({ level: 'WARN', message, ...attributes }));
  },
  error(message, attributes) {
    console.error(JSON.stringify({ level: 'ERROR', message, ...attributes }));
  },
};
