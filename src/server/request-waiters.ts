// Callers waiting for their proposal to be applied, keyed by the request ID carried in the entry.
// Every waiter ends exactly once: applied (resolve or the apply's error), timed out, or failed
// because the member stopped.

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/** A registry of pending requests with a deadline each. */
export class RequestWaiters<T> {
  private readonly waiting = new Map<string, Waiter<T>>();

  /** Registers `id`; the promise settles when trigger/fail is called for it, or after timeoutMs with onTimeout(). */
  wait(id: string, timeoutMs: number, onTimeout: () => unknown, signal?: AbortSignal, onAbort?: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiting.delete(id)) reject(onTimeout());
        signal?.removeEventListener('abort', abort);
      }, timeoutMs);
      const abort = () => {
        const w = this.waiting.get(id);
        if (!w) return;
        this.waiting.delete(id);
        clearTimeout(w.timer);
        reject(onAbort ? onAbort() : signal?.reason);
      };
      this.waiting.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', abort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', abort);
          reject(e);
        },
        timer,
      });
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** True when someone waits for `id` (only on the member that proposed it). */
  has(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Resolves the waiter for `id`, if any. */
  trigger(id: string, value: T): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(value);
  }

  /** Rejects the waiter for `id`, if any. */
  fail(id: string, err: unknown): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.reject(err);
  }

  /** Rejects every waiter (the member is stopping). */
  failAll(makeError: () => unknown): void {
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      clearTimeout(w.timer);
      w.reject(makeError());
    }
  }

  get size(): number {
    return this.waiting.size;
  }
}
