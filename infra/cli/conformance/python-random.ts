/**
 * Python's `random` module, as far as the validator uses it: `random.seed(31337)` followed by
 * `randint(a, b)`. A port of CPython's Mersenne Twister (MT19937, `init_by_array` seeding from
 * the integer's 32-bit words) and of `_randbelow_with_getrandbits`, so a seeded test here asks
 * for exactly the regions and sizes the validator asks for.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The seed every seeded validator test uses. */
export const VALIDATOR_SEED = 31337;

export class PythonRandom {
  private readonly state = new Uint32Array(N);
  private index = N + 1;

  /** `random.seed(seed)` for a non-negative integer below 2^32. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Expected an integer from 0 to 4294967295 for seed but received ${seed}`);
    }
    this.seedByArray([seed]);
  }

  /** `random.randint(low, high)`: an integer in [low, high], both ends included. */
  randint(low: number, high: number): number {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) {
      throw new RangeError(`Expected integers low <= high for randint but received ${low}, ${high}`);
    }
    return low + this.randbelow(high - low + 1);
  }

  /** CPython's `_randbelow_with_getrandbits(n)`: k = n.bit_length(), rejection sampling. */
  private randbelow(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `getrandbits(k)` for 1 <= k <= 32: the top k bits of one 32-bit output. */
  private getrandbits(k: number): number {
    return this.next() >>> (32 - k);
  }

  private initGenrand(seed: number): void {
    const mt = this.state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const previous = mt[i - 1] ?? 0;
      const mixed = previous ^ (previous >>> 30);
      // 1812433253 * mixed + i, in 32-bit arithmetic.
      mt[i] = (Math.imul(1812433253, mixed) + i) >>> 0;
    }
    this.index = N;
  }

  private seedByArray(key: readonly number[]): void {
    const mt = this.state;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const previous = mt[i - 1] ?? 0;
      const mixed = previous ^ (previous >>> 30);
      mt[i] = (((mt[i] ?? 0) ^ Math.imul(mixed, 1664525)) + (key[j] ?? 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1] ?? 0;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const previous = mt[i - 1] ?? 0;
      const mixed = previous ^ (previous >>> 30);
      mt[i] = (((mt[i] ?? 0) ^ Math.imul(mixed, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] ?? 0;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.index = N;
  }

  private twist(): void {
    const mt = this.state;
    for (let kk = 0; kk < N; kk++) {
      const y = ((mt[kk] ?? 0) & UPPER_MASK) | ((mt[(kk + 1) % N] ?? 0) & LOWER_MASK);
      mt[kk] = ((mt[(kk + M) % N] ?? 0) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.index = 0;
  }

  private next(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++] ?? 0;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * The validator's `make_random_string(length)`: characters 48 to 122 ('0' to 'z'), with '?',
 * '#' and '/' replaced by '$' so the value stays one path segment. Characters such as '<', '>',
 * '\', '^' and '`' stay raw, which is why requests are sent with node:http and not fetch.
 */
export function makeRandomString(random: PythonRandom, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(random.randint(48, 122));
  return text.replace(/[?#/]/g, '$');
}
