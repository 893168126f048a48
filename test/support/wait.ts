/**
 * Waiting for a state instead of sleeping for a time: a shared two-core machine makes any fixed
 * pause too short some day. Every wait has a bound, and says what it waited for when it gives up.
 */

/** Resolve once `check` returns true, polling every `intervalMs`; reject after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
