/** The SDK's response bodies as Node streams, read with a bound. */
import { Readable } from 'node:stream';
import { expected } from '../errors.js';

/** The SDK's body in Node is an http.IncomingMessage (a Readable); anything else is a bug. */
export function readableOf(body: unknown): Readable {
  if (body instanceof Readable) return body;
  throw new TypeError(expected('a Node.js Readable', 'the GetObject body', typeof body));
}

/**
 * Read a stream into one Buffer. Stops reading (and destroys the stream) once it holds more than
 * `expectedBytes + slack`: a server that sends more than was asked for cannot fill memory.
 */
export async function collect(stream: Readable, expectedBytes: number, slack = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > expectedBytes + slack) {
      stream.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, total);
}
