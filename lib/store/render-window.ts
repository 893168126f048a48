/**
 * The minute windows render budgets count in (lib/service/render-budget.ts, and the DynamoDB
 * budget in render-budget.ts), without any AWS SDK: what both need to agree on.
 */

/** The window a budget counts over. */
export const RENDER_BUDGET_WINDOW_MS = 60_000;

/** A render refused: when the caller's window ends, and what the limit is. */
export interface RenderRefusal {
  /** Whole seconds until the next window, at least 1. */
  readonly retryAfterSeconds: number;
  readonly perMinute: number;
}

/** Seconds from `nowMs` to the end of its minute window, at least 1. */
export function secondsLeftInWindow(nowMs: number): number {
  const end = (Math.floor(nowMs / RENDER_BUDGET_WINDOW_MS) + 1) * RENDER_BUDGET_WINDOW_MS;
  return Math.max(1, Math.ceil((end - nowMs) / 1000));
}
