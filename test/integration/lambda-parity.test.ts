/**
 * Where the local stack could differ from Lambda behind API Gateway, it answers as Lambda does:
 * two Authorization headers reach the function joined, and are refused as two tokens (Node's
 * own header parsing would keep the first); an identifier too long for the embedded S3's file
 * names is an unknown source (404), not a storage failure (503).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';

let t: TestStack;
let token: string;

beforeAll(async () => {
  t = await startTestStack();
  token = await t.token();
});

afterAll(async () => {
  await t.close();
});

/** One request written byte for byte on a socket (repeated headers as given), and the status line and headers of its answer. */
function rawRequest(lines: readonly string[]): Promise<{ status: number; head: string }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.destroy();
      const head = received.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head });
    });
    socket.on('error', reject);
  });
}

describe('the local stack, where Lambda behind API Gateway could answer otherwise', () => {
  it('refuses two Authorization headers as two tokens (401), even when both are valid', async () => {
    // Prepare
    const request = (auth: readonly string[]) => [`GET /iiif/3/${GRID_ID}/info.json HTTP/1.1`, `Host: ${new URL(t.url).host}`, ...auth.map((value) => `Authorization: ${value}`), 'Connection: close'];

    // Act
    const one = await rawRequest(request([`Bearer ${token}`]));
    const two = await rawRequest(request([`Bearer ${token}`, `Bearer ${token}`]));

    // Assess
    expect(one.status).toBe(200);
    expect(two.status).toBe(401);
    expect(two.head.toLowerCase()).toContain('www-authenticate: bearer realm="recto", error="invalid_token"');
  });

  it('answers an identifier longer than a file name can be with 404 SOURCE_NOT_FOUND, not a storage failure', async () => {
    // Act
    const answers = await Promise.all([300, 512].map((length) => t.send(`/iiif/3/${'x'.repeat(length)}/info.json`, { token })));

    // Assess
    expect(answers.map((answer) => [answer.status, (answer.json() as { error: string }).error])).toEqual([
      [404, 'SOURCE_NOT_FOUND'],
      [404, 'SOURCE_NOT_FOUND'],
    ]);
  });
});
