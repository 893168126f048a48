/**
 * fetchFollowing: the token goes to Recto's origin and nowhere else; redirects are followed; a
 * deferred render (503 + Retry-After) is waited out; errors carry Recto's code and message and
 * never print a presigned URL's signature.
 */
import { describe, expect, it } from 'vitest';
import { fetchFollowing, HttpError } from '../../infra/cli/recto-http.js';

interface Call {
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A fetch that answers from a script, keeping each request's URL and Authorization. */
function scripted(answers: readonly (() => Response)[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  let next = 0;
  const fake = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    calls.push({ url: input instanceof Request ? input.url : input.toString(), authorization: headers.get('authorization') ?? undefined });
    const answer = answers[next++];
    if (answer === undefined) throw new Error(`Expected at most ${answers.length} requests but received more`);
    return Promise.resolve(answer());
  };
  return { fetch: fake, calls };
}

const redirect = (location: string) => () => new Response(null, { status: 302, headers: { location } });
const image = (bytes: string) => () => new Response(bytes, { status: 200, headers: { 'content-type': 'image/jpeg' } });

describe('fetchFollowing', () => {
  it('sends the token to Recto and not to the storage URL it redirects to', async () => {
    // Prepare
    const { fetch, calls } = scripted([redirect('http://127.0.0.1:4569/recto-derivatives/grid/full/max/0/default.jpg?X-Amz-Signature=abc'), image('JPEG')]);

    // Act
    const fetched = await fetchFollowing('http://127.0.0.1:3000/iiif/3/grid/full/max/0/default.jpg', { token: 'T', accept: 'image/*', fetch });

    // Assess
    expect(calls).toEqual([
      { url: 'http://127.0.0.1:3000/iiif/3/grid/full/max/0/default.jpg', authorization: 'Bearer T' },
      { url: 'http://127.0.0.1:4569/recto-derivatives/grid/full/max/0/default.jpg?X-Amz-Signature=abc', authorization: undefined },
    ]);
    expect([fetched.body.toString(), fetched.contentType, fetched.chain.length]).toEqual(['JPEG', 'image/jpeg', 2]);
  });

  it('keeps the token on a redirect within Recto\'s origin (the 303 from the base URI)', async () => {
    // Prepare
    const { fetch, calls } = scripted([redirect('/iiif/3/grid/info.json'), () => new Response('{}', { status: 200 })]);

    // Act
    await fetchFollowing('https://iiif.example.org/iiif/3/grid', { token: 'T', accept: 'application/json', fetch });

    // Assess
    expect(calls.map((call) => [call.url, call.authorization])).toEqual([
      ['https://iiif.example.org/iiif/3/grid', 'Bearer T'],
      ['https://iiif.example.org/iiif/3/grid/info.json', 'Bearer T'],
    ]);
  });

  it('waits out a deferred render and asks Recto again', async () => {
    // Prepare
    const deferred = () => new Response(JSON.stringify({ error: 'RENDER_DEFERRED', detail: 'later' }), { status: 503, headers: { 'retry-after': '2' } });
    const { fetch, calls } = scripted([deferred, redirect('http://s3.local/key'), image('OK')]);
    const waits: number[] = [];
    const slept: number[] = [];

    // Act
    const fetched = await fetchFollowing('http://recto.local/iiif/3/big/full/max/0/default.jpg', {
      accept: 'image/*',
      fetch,
      onWait: (seconds) => waits.push(seconds),
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });

    // Assess
    expect([waits, slept, calls.map((call) => call.url)]).toEqual([[2], [2000], ['http://recto.local/iiif/3/big/full/max/0/default.jpg', 'http://recto.local/iiif/3/big/full/max/0/default.jpg', 'http://s3.local/key']]);
    expect(fetched.body.toString()).toBe('OK');
  });

  it('fails with Recto\'s code and message on an error answer', async () => {
    // Prepare
    const { fetch } = scripted([() => new Response(JSON.stringify({ error: 'SOURCE_NOT_FOUND', detail: 'No source "x".' }), { status: 404 })]);

    // Act
    const failure = await fetchFollowing('http://recto.local/iiif/3/x/info.json', { accept: 'application/json', fetch }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(HttpError);
    expect(failure).toMatchObject({ status: 404, code: 'SOURCE_NOT_FOUND', message: '404 SOURCE_NOT_FOUND: No source "x". (GET http://recto.local/iiif/3/x/info.json)' });
  });

  it('leaves a presigned URL\'s query out of the message when storage refuses it', async () => {
    // Prepare
    const { fetch } = scripted([redirect('http://s3.local/bucket/key?X-Amz-Signature=secret'), () => new Response('<Error/>', { status: 403, statusText: 'Forbidden' })]);

    // Act
    const failure = await fetchFollowing('http://recto.local/iiif/3/x/full/max/0/default.jpg', { accept: 'image/*', fetch }).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ status: 403, code: undefined, message: '403 Forbidden (GET http://s3.local/bucket/key)' });
  });

  it('stops after five redirects', async () => {
    // Prepare
    const { fetch, calls } = scripted(Array.from({ length: 7 }, (_, i) => redirect(`/hop/${i}`)));

    // Act
    const failure = await fetchFollowing('http://loop.local/start', { accept: 'image/*', fetch }).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ status: 302, message: 'Expected at most 5 redirects from http://loop.local/start but received more' });
    expect(calls).toHaveLength(6);
  });
});
