/**
 * The contract every RenderBudget keeps (lib/service/render-budget.ts), run against each
 * implementation by test/service/render-budget.test.ts: per caller, per minute window, exactly
 * `perMinute` renders counted, then refusals (not counted) that say how long is left in the
 * window, and a fresh count in the next window.
 */
import { describe, expect, it } from 'vitest';
import type { RenderBudget } from '../../lib/service/render-budget.js';

/** A budget of `perMinute` renders on a clock the test moves (epoch ms). */
export type BudgetFactory = (perMinute: number, clock: { now: number }) => RenderBudget;

/** 2030-01-01T00:00:00Z, the start of a minute. */
const MINUTE_START = Date.UTC(2030, 0, 1);

async function takeMany(budget: RenderBudget, caller: string, times: number): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (let i = 0; i < times; i += 1) answers.push(await budget.take(caller));
  return answers;
}

export function renderBudgetContract(name: string, factory: BudgetFactory): void {
  describe(`${name}: the RenderBudget contract`, () => {
    it('counts exactly perMinute renders for a caller in a minute, then refuses with the seconds left in it', async () => {
      // Prepare: 20.5 s into a minute.
      const clock = { now: MINUTE_START + 20_500 };
      const budget = factory(3, clock);

      // Act
      const answers = await takeMany(budget, 'sub:alice', 5);

      // Assess
      expect(answers).toEqual([true, true, true, { retryAfterSeconds: 40, perMinute: 3 }, { retryAfterSeconds: 40, perMinute: 3 }]);
    });

    it('keeps one count per caller: one caller at the limit does not hold up another', async () => {
      // Prepare
      const clock = { now: MINUTE_START + 1_000 };
      const budget = factory(2, clock);
      await takeMany(budget, 'sub:alice', 3);

      // Act
      const bob = await takeMany(budget, 'sub:bob', 2);
      const alice = await budget.take('sub:alice');

      // Assess
      expect(bob).toEqual([true, true]);
      expect(alice).toEqual({ retryAfterSeconds: 59, perMinute: 2 });
    });

    it('starts a fresh count in the next minute, and never says less than 1 s', async () => {
      // Prepare: the last 200 ms of a minute.
      const clock = { now: MINUTE_START + 59_800 };
      const budget = factory(1, clock);

      // Act
      const first = await budget.take('sub:carol');
      const refused = await budget.take('sub:carol');
      clock.now = MINUTE_START + 60_000;
      const next = await budget.take('sub:carol');

      // Assess
      expect([first, refused, next]).toEqual([true, { retryAfterSeconds: 1, perMinute: 1 }, true]);
    });

    it('does not count refusals: the next minute allows perMinute again however often the caller asked', async () => {
      // Prepare
      const clock = { now: MINUTE_START + 30_000 };
      const budget = factory(2, clock);
      await takeMany(budget, 'sub:dave', 50);

      // Act
      clock.now = MINUTE_START + 90_000;
      const answers = await takeMany(budget, 'sub:dave', 3);

      // Assess
      expect(answers).toEqual([true, true, { retryAfterSeconds: 30, perMinute: 2 }]);
    });

    it('counts concurrent takes exactly: of 10 at once with a limit of 4, 4 pass', async () => {
      // Prepare
      const clock = { now: MINUTE_START + 5_000 };
      const budget = factory(4, clock);

      // Act
      const answers = await Promise.all(Array.from({ length: 10 }, () => budget.take('sub:erin')));

      // Assess
      expect(answers.filter((answer) => answer === true)).toHaveLength(4);
    });
  });
}
