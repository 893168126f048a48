/**
 * The codec is loaded by the first decode, not by importing the modules or reading a header: a
 * cold start that never meets a JPEG 2000 does not pay for it. (Its own file: a fresh process.)
 */
import { expect, it } from 'vitest';
import { codecLoaded } from '../../../lib/render/jp2/codec.js';
import { decodeJp2 } from '../../../lib/render/jp2/decode.js';
import { readJp2Header } from '../../../lib/render/jp2/header.js';
import { bufferRange } from '../../../lib/render/jp2/reader.js';
import { fixture } from './support.js';

it('loads OpenJPEG on the first decode only', async () => {
  const read = bufferRange(fixture('grey8.jp2'));
  const header = await readJp2Header(read);
  expect(codecLoaded()).toBe(false);
  await decodeJp2(read, header, { maxBytes: 1 << 20 });
  expect(codecLoaded()).toBe(true);
});
