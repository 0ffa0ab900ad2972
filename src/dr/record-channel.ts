// A bounded hand-over of batches (records, or snapshot bytes) from a producer that pushes (the
// verifying snapshot reader) to consumers that pull (the writers of data directories). Each
// push resolves only when every consumer took the batch, so memory stays at one batch whatever
// the snapshot's size; a failure on either side reaches the other instead of hanging it.
import type { KeyValueRecord } from '../kv/record.js';

/** One consumer's end: an async iterable of the items pushed (records by default). */
export class RecordChannel<T = KeyValueRecord> implements AsyncIterable<T> {
  private pending: { batch: readonly T[]; taken: () => void } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private failed = false;
  private readonly waitingProducers = new Set<(err: unknown) => void>();

  /** Hands a batch over; resolves when the consumer took it, rejects if the consumer failed. */
  push(batch: readonly T[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const onFail = (err: unknown) => reject(err);
      this.waitingProducers.add(onFail);
      this.pending = {
        batch,
        taken: () => {
          this.waitingProducers.delete(onFail);
          resolve();
        },
      };
      this.wake();
    });
  }

  /** No more batches. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Either side gave up: the other side sees err. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    for (const reject of this.waitingProducers) reject(err);
    this.waitingProducers.clear();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.failed) throw this.failure;
        const pending = this.pending;
        if (pending) {
          this.pending = undefined;
          pending.taken();
          yield* pending.batch;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      }
    } finally {
      // A consumer that stops early (its encoder failed or was destroyed) must not leave the producer waiting.
      if (!this.ended && !this.failed) this.fail(new Error('the snapshot consumer stopped early'));
    }
  }
}

/** Pushes each batch to every channel, resolving when all took it. */
export function fanOut<T>(channels: readonly RecordChannel<T>[]): (batch: readonly T[]) => Promise<void> {
  return async (batch) => {
    await Promise.all(channels.map((c) => c.push(batch)));
  };
}
