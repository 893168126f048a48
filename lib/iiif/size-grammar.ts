/** The size forms both versions share: `pct:n`, `w,`, `,h`, `w,h`, `!w,h`. */
import { IiifRequestError, expected } from '../errors.js';
import { parseDecimal, parseInteger } from './numbers.js';
import type { SizeRequest } from './types.js';

const PAIR = /^(\d*),(\d*)$/;

/**
 * Parse the shared size forms; `upscale` is the 3.0 `^` (2.1 passes true: it always allows
 * upscaling). Returns undefined when the text is none of them.
 * @throws IiifRequestError IIIF_INVALID_SIZE for a zero width, height or percentage.
 */
export function parseSizeBody(body: string, upscale: boolean, written: string): SizeRequest | undefined {
  if (body.startsWith('pct:')) {
    const percent = parseDecimal(body.slice(4));
    if (percent === undefined) return undefined;
    if (percent === 0) throw zero(written);
    return { kind: 'percent', percent, upscale };
  }
  const fit = body.startsWith('!');
  const pair = PAIR.exec(fit ? body.slice(1) : body);
  if (pair === null) return undefined;
  const [, widthText = '', heightText = ''] = pair;
  const width = widthText === '' ? undefined : parseInteger(widthText);
  const height = heightText === '' ? undefined : parseInteger(heightText);
  if ((widthText !== '' && width === undefined) || (heightText !== '' && height === undefined)) return undefined;
  if (width === 0 || height === 0) throw zero(written);
  if (width !== undefined && height !== undefined) return { kind: fit ? 'fit' : 'exact', width, height, upscale };
  if (fit) return undefined; // `!w,` and `!,h` are not forms
  if (width !== undefined) return { kind: 'width', width, upscale };
  if (height !== undefined) return { kind: 'height', height, upscale };
  return undefined; // a lone ","
}

function zero(written: string): IiifRequestError {
  return new IiifRequestError('IIIF_INVALID_SIZE', expected('a width, height or percentage greater than 0', 'size', written));
}
