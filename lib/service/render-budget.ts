/**
 * How many new renders one caller may start a minute (RENDER_RATE_PER_MINUTE), counted across
 * the whole fleet. A render-scope token is a licence to spend: without a bound, a script asking
 * for a thousand distinct sizes makes a thousand renders and a thousand stored objects in
 * seconds. Cache hits are never counted or limited; viewers ask for the same few derivatives
 * over and over, and a busy viewer session stays far below the default.
 *
 * Two implementations share the contract (test/service/render-budget.contract.ts):
 * - `InProcessRenderBudget` below: one process (the local stack, tests);
 * - `DynamoDbRenderBudget` in lib/store: the deployed fleet, one conditional counter per caller
 *   per minute in a DynamoDB table.
 */
import { expected } from '../errors.js';
import { RENDER_BUDGET_WINDOW_MS, secondsLeftInWindow, type RenderRefusal } from '../store/index.js';

export { RENDER_BUDGET_WINDOW_MS, secondsLeftInWindow, type RenderRefusal } from '../store/index.js';

export interface RenderBudget {
  /**
   * Count one new render for the caller in the current minute. `true` when it is within the
   * limit (and counted), a refusal when the caller has used the minute's budget (not counted).
   * @throws UnavailableError / StorageError when the count cannot be kept (fleet-wide budgets).
   */
  take(caller: string): Promise<true | RenderRefusal>;
}

/** The budget key of callers without a `sub` (auth off, or a token without one): they share one. */
export const SHARED_CALLER = '(no subject)';

/** The caller a budget counts: the token's `sub`, or SHARED_CALLER. */
export function budgetCaller(subject: string | undefined): string {
  return subject === undefined || subject === '' ? SHARED_CALLER : `sub:${subject}`;
}

/**
 * A budget kept in this process's memory: exact for one process, per container on Lambda (use
 * DynamoDbRenderBudget there). Holds the counts of the current minute only.
 */
export class InProcessRenderBudget implements RenderBudget {
  #window = -1;
  readonly #counts = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(perMinute) || perMinute < 1) throw new TypeError(expected('a whole number of at least 1', 'perMinute', String(perMinute)));
  }

  take(caller: string): Promise<true | RenderRefusal> {
    const now = this.now();
    const window = Math.floor(now / RENDER_BUDGET_WINDOW_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts.clear();
    }
    const used = this.#counts.get(caller) ?? 0;
    if (used >= this.perMinute) return Promise.resolve({ retryAfterSeconds: secondsLeftInWindow(now), perMinute: this.perMinute });
    this.#counts.set(caller, used + 1);
    return Promise.resolve(true);
  }
}
