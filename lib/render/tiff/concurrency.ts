/**
 * Bounded concurrency for range reads and tile decodes: a ranged read of a large region must not
 * open hundreds of connections or queue hundreds of decodes (each holds a tile's pixels) at once.
 */

/**
 * At most `limit` calls of `run` in flight; the others wait in order.
 *
 * @throws RangeError from the constructor for a limit that is not a whole number of at least 1.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Expected a concurrency of at least 1 for a limiter but received ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so a caller arriving in
    // between cannot take it too.
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}

/** `task` over every item, at most `limit` at a time; results in the items' order. */
export function mapConcurrent<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limiter = new Limiter(limit);
  return Promise.all(items.map((item, index) => limiter.run(() => task(item, index))));
}
