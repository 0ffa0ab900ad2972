// A Transform that lets snapshot bytes through unchanged while checking them as they pass,
// so `snapshot save` can verify every chunk on the way into tar and zstd without a second read.
import { Transform, type TransformCallback } from 'node:stream';
import type { SnapshotHeader } from './header.js';
import { SnapshotParser, type SnapshotSummary } from './parser.js';

/** The pass-through stream, with the outcome of its checks. */
export interface VerifyingPassThrough extends Transform {
  /** Resolves to the summary when the snapshot ended whole and checked; rejects with the first problem. */
  readonly result: Promise<SnapshotSummary>;
  /** Resolves once the header passed by (for a manifest written before the records end). */
  readonly header: Promise<SnapshotHeader>;
}

class VerifyingTransform extends Transform implements VerifyingPassThrough {
  readonly result: Promise<SnapshotSummary>;
  readonly header: Promise<SnapshotHeader>;
  private readonly parser = new SnapshotParser();
  private settled = false;
  private headerSeen = false;
  private resolveResult!: (s: SnapshotSummary) => void;
  private rejectResult!: (e: unknown) => void;
  private resolveHeader!: (h: SnapshotHeader) => void;
  private rejectHeader!: (e: unknown) => void;

  constructor() {
    super();
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    this.header = new Promise((resolve, reject) => {
      this.resolveHeader = resolve;
      this.rejectHeader = reject;
    });
    // The stream's own 'error' carries the failure to pipelines; these must not crash a process that ignores them.
    this.result.catch(() => undefined);
    this.header.catch(() => undefined);
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (typeof chunk === 'string') throw new TypeError('the verifying pass-through takes bytes, not strings');
      this.parser.push(chunk);
      this.drain();
    } catch (error) {
      this.fail(error);
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      const summary = this.parser.finish();
      this.settled = true;
      this.resolveResult(summary);
      callback();
    } catch (error) {
      this.fail(error);
      callback(error as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settled) {
      this.fail(error ?? new Error('the snapshot stream stopped before its end, so it was not verified'));
    }
    callback(error);
  }

  private drain(): void {
    for (let event = this.parser.next(); event !== undefined; event = this.parser.next()) {
      if (event.kind === 'header' && !this.headerSeen) {
        this.headerSeen = true;
        this.resolveHeader(event.header);
      }
    }
  }

  private fail(error: unknown): void {
    this.settled = true;
    this.rejectResult(error);
    this.rejectHeader(error);
  }
}

/** A Transform that passes bytes through unchanged and verifies them as a snapshot on the fly. */
export function createVerifyingPassThrough(): VerifyingPassThrough {
  return new VerifyingTransform();
}
