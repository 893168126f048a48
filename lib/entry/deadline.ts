/** The Lambda deadline as the adapters use it: an epoch-ms time to have answered by. */

/** What the Lambda context gives that the adapters use. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Epoch ms by which the invocation should be done: the platform's deadline less a margin, which
 * `margin` computes from the milliseconds left (a fixed figure, or a share of a long budget).
 */
export function invocationDeadline(context: InvocationContext, margin: (remainingMs: number) => number, now: () => number = Date.now): number {
  const remaining = context.getRemainingTimeInMillis();
  return now() + remaining - margin(remaining);
}
