// Waiting for a condition in tests: poll until it holds or a generous deadline passes.
// The deadline exists only to turn a hang into a failure; it is never a timing assertion.
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws naming `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 60_000, pollMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await delay(pollMs);
  }
}
