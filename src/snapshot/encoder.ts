// The streaming encoder: pulls records from an (async) iterable only as fast as the consumer
// reads, so a snapshot of any size streams through a fixed amount of memory.
import { Readable } from 'node:stream';
import type { KeyValueRecord } from '../kv/record.js';
import type { SnapshotHeaderInput } from './header.js';
import { SnapshotWriter, type ChunkOptions } from './writer.js';

export interface EncodeOptions extends ChunkOptions {
  /** Bytes the Readable buffers before it stops pulling records (default 4 MiB). */
  readonly highWaterMark?: number;
  /**
   * Yield to the event loop (setImmediate) after encoding this many bytes from a synchronous
   * source, so a large in-memory source never holds the loop longer than one slice, however
   * fast the consumer drains. Default: never (the consumer's own waits are the only yields).
   */
  readonly yieldEveryBytes?: number;
  /**
   * With yieldEveryBytes: after each slice, stay idle this many times as long as the slice took
   * (a timer, so other work and other processes get the CPU). 1 halves the encoder's CPU share
   * and doubles its duration. Default 0: only a turn of the loop.
   */
  readonly idleRatio?: number;
}

type RecordSource = AsyncIterable<KeyValueRecord> | Iterable<KeyValueRecord>;

/**
 * Encodes a snapshot as a byte stream. Records must come in ascending key order and number
 * header.keyCount; otherwise the stream errors with an IntegrityError. Destroying the stream
 * closes the record iterator.
 */
export function encodeSnapshot(header: SnapshotHeaderInput, records: RecordSource, options: EncodeOptions = {}): Readable {
  return new SnapshotEncodeStream(new SnapshotWriter(header, options), records, options.highWaterMark ?? 4 * 1024 * 1024, options);
}

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
const idle = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

class SnapshotEncodeStream extends Readable {
  private readonly writer: SnapshotWriter;
  private readonly source: RecordSource;
  private recordIterator: Iterator<KeyValueRecord> | AsyncIterator<KeyValueRecord> | undefined;
  private sync = false;
  private pumping = false;
  private wanted = false;
  private started = false;
  private ended = false;
  private readonly sliceBytes: number;
  private readonly idleRatio: number;
  private sliceUsed = 0;
  private sliceStart = 0;

  constructor(writer: SnapshotWriter, source: RecordSource, highWaterMark: number, options: EncodeOptions) {
    super({ highWaterMark });
    this.writer = writer;
    this.source = source;
    const slice = options.yieldEveryBytes;
    this.sliceBytes = slice !== undefined && slice > 0 ? slice : Number.POSITIVE_INFINITY;
    this.idleRatio = Math.max(0, options.idleRatio ?? 0);
  }

  override _read(): void {
    this.wanted = true;
    if (!this.pumping) void this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const it = this.recordIterator;
    this.recordIterator = undefined;
    // Close the source (a read view, a file) even when the consumer gave up half way; without
    // waiting for it, since a source stuck in next() must not keep the stream from closing.
    try {
      const closing = it?.return?.();
      if (closing instanceof Promise) closing.catch(() => undefined);
    } catch {
      // A source that fails to close has nothing more to tell this stream.
    }
    callback(error);
  }

  private async pump(): Promise<void> {
    if (this.ended || this.destroyed) return;
    this.pumping = true;
    try {
      if (!this.started) {
        this.started = true;
        if (Symbol.asyncIterator in this.source) {
          this.recordIterator = (this.source as AsyncIterable<KeyValueRecord>)[Symbol.asyncIterator]();
        } else {
          this.recordIterator = (this.source as Iterable<KeyValueRecord>)[Symbol.iterator]();
          this.sync = true;
        }
        this.send(this.writer.start());
      }
      // Time spent waiting for the consumer is not work: a slice is timed from here.
      this.sliceStart = performance.now();
      while (this.wanted && !this.destroyed) {
        const it = this.recordIterator;
        if (it === undefined) return;
        const step = this.sync ? (it as Iterator<KeyValueRecord>).next() : await it.next();
        if (this.destroyed) return;
        if (step.done) {
          this.recordIterator = undefined;
          this.ended = true;
          this.send(this.writer.finish());
          this.push(null);
          return;
        }
        const record = step.value;
        const chunk = this.writer.add(record);
        if (chunk !== undefined) this.send(chunk);
        if (this.sync) {
          this.sliceUsed += record.key.length + record.value.length;
          if (this.sliceUsed >= this.sliceBytes) {
            this.sliceUsed = 0;
            const worked = performance.now() - this.sliceStart;
            // A timer of under 1 ms is no shorter than 1 ms: short slices only get a turn.
            if (this.idleRatio > 0 && worked * this.idleRatio >= 1) await idle(worked * this.idleRatio);
            else await nextTurn();
            this.sliceStart = performance.now();
            if (this.destroyed) return;
          }
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.pumping = false;
    }
  }

  private send(bytes: Buffer): void {
    // A _read() call made from inside push() sets wanted again before push() returns.
    this.wanted = false;
    if (this.push(bytes)) this.wanted = true;
  }
}
