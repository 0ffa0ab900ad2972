// A consistent, non-blocking read of the whole key space (or one range) at one revision.
// It holds no lock: writes only add newer versions, which a read at the view's revision
// skips, and compaction leaves alone whatever a pinned revision still needs. Each batch
// re-seeks the index after the last key returned, so writes that reshape the index between
// batches cannot derail it.

import type { KeyValueRecord } from './record.js';

/** What a view needs from the store; implemented by MvccStore. */
export interface ReadViewSource {
  /** Up to max live records at rev with keys in (after, end) or [start, end), in key order. */
  liveBatch(start: string, exclusiveStart: boolean, end: string | null, rev: number, max: number): KeyValueRecord[];
  /** Live keys at rev in [start, end). */
  liveCount(start: string, end: string | null, rev: number): number;
  /** Releases the view's pin on its revision. */
  unpin(rev: number): void;
}

const DEFAULT_BATCH = 1024;

/** Iterates the live records at one revision in key order; close it (or finish iterating) to release its pin. */
export class ReadView implements AsyncIterable<KeyValueRecord> {
  private cursor: string;
  private exclusive = false;
  private done = false;
  private closed = false;
  private knownCount: number | undefined;

  constructor(
    private readonly source: ReadViewSource,
    /** The revision every record is read at. */
    readonly revision: number,
    /** The store's compact revision when the view was opened. */
    readonly compactRevision: number,
    private readonly start: string,
    private readonly end: string | null,
    count?: number,
  ) {
    this.cursor = start;
    this.knownCount = count;
  }

  /** Live keys at the view's revision within its range (computed once, on first use, when not known at open). */
  get count(): number {
    this.assertOpen();
    if (this.knownCount === undefined) this.knownCount = this.source.liveCount(this.start, this.end, this.revision);
    return this.knownCount;
  }

  /** The next records in key order, at most max of them; an empty array means the end. */
  next(max = DEFAULT_BATCH): KeyValueRecord[] {
    this.assertOpen();
    if (this.done) return [];
    const batch = this.source.liveBatch(this.cursor, this.exclusive, this.end, this.revision, Math.max(1, max));
    if (batch.length < max) this.done = true;
    if (batch.length > 0) {
      this.cursor = batch[batch.length - 1]!.key.toString('latin1');
      this.exclusive = true;
    }
    return batch;
  }

  /** Releases the pin; idempotent. Compaction may then drop the history this view kept alive. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.unpin(this.revision);
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The records as a synchronous iterable: the cheapest way to stream them (no promise per
   * record). Finishing or leaving the loop early (return()) closes the view.
   */
  records(): IterableIterator<KeyValueRecord> {
    let batch: KeyValueRecord[] = [];
    let i = 0;
    let finished = false;
    const done = { done: true as const, value: undefined };
    const it: IterableIterator<KeyValueRecord> = {
      next: () => {
        if (finished) return done;
        if (i >= batch.length) {
          // Throws if someone else closed the view meanwhile: a silently short stream would be worse.
          batch = this.next();
          i = 0;
          if (batch.length === 0) {
            finished = true;
            this.close();
            return done;
          }
        }
        return { done: false, value: batch[i++]! };
      },
      return: () => {
        finished = true;
        this.close();
        return done;
      },
      [Symbol.iterator]: () => it,
    };
    return it;
  }

  /** Yields every record, then closes the view (also when the loop is left early). */
  [Symbol.asyncIterator](): AsyncIterator<KeyValueRecord> {
    const sync = this.records();
    return {
      next: () => {
        try {
          return Promise.resolve(sync.next());
        } catch (err) {
          return Promise.reject(err);
        }
      },
      return: () => Promise.resolve(sync.return!()),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('read view is closed');
  }
}
