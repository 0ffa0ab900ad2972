// The async reader: header first, then records chunk by chunk (each only after its CRC held),
// then the trailer check. It pulls input only as records are consumed, so memory stays at
// about one chunk whatever the snapshot's size.
import type { KeyValueRecord } from '../kv/record.js';
import type { SnapshotHeader } from './header.js';
import { SnapshotParser, type ParseEvent, type ParserOptions, type SnapshotSummary } from './parser.js';

/** Bytes from a file, a socket, an HTTP body or memory. Node Readables qualify. */
export type ByteSource = AsyncIterable<Uint8Array | string>;

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') throw new TypeError('snapshot source yielded a string; read it without an encoding');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Reads one snapshot from a byte source. Call records() or batches() once; await `done` for the summary. */
export class SnapshotDecoder {
  /** Resolves once the header is read and checked; rejects on any problem before it. */
  readonly header: Promise<SnapshotHeader>;
  /** Resolves when the records were read to the end and the trailer matched; rejects otherwise. */
  readonly done: Promise<SnapshotSummary>;
  private readonly parser: SnapshotParser;
  private readonly iterator: AsyncIterator<Uint8Array | string>;
  private sourceClosed = false;
  private reading = false;
  private settleHeader!: { resolve: (h: SnapshotHeader) => void; reject: (e: unknown) => void };
  private settleDone!: { resolve: (s: SnapshotSummary) => void; reject: (e: unknown) => void };
  private finished = false;

  constructor(source: ByteSource, options: ParserOptions = {}) {
    this.parser = new SnapshotParser(options);
    this.iterator = source[Symbol.asyncIterator]();
    this.header = new Promise((resolve, reject) => (this.settleHeader = { resolve, reject }));
    this.done = new Promise((resolve, reject) => (this.settleDone = { resolve, reject }));
    // Callers who only iterate must not crash the process on an unobserved rejection.
    this.header.catch(() => undefined);
    this.done.catch(() => undefined);
    void this.readHeader();
  }

  /** Records in key order, one batch per chunk: the fast path (one await per chunk, not per record). */
  async *batches(): AsyncGenerator<readonly KeyValueRecord[]> {
    if (this.reading) throw new Error('a snapshot decoder can be iterated only once');
    this.reading = true;
    let complete = false;
    try {
      await this.header;
      for (;;) {
        const event = await this.nextEvent();
        if (event === undefined) break;
        if (event.kind === 'records') yield event.records;
      }
      complete = true;
    } catch (error) {
      this.settleDone.reject(error);
      await this.close();
      throw error;
    } finally {
      if (!complete && !this.finished) {
        this.settleDone.reject(new Error('the snapshot was not read to the end, so its trailer was not checked'));
        await this.close();
      }
    }
  }

  /** Records in key order. Keys and values are views into an immutable chunk buffer unless copyRecords was set. */
  async *records(): AsyncGenerator<KeyValueRecord> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** Stops reading and releases the source (destroys a Readable). */
  async close(): Promise<void> {
    if (this.sourceClosed) return;
    this.sourceClosed = true;
    this.settleHeader.reject(new Error('the snapshot decoder was closed'));
    if (!this.finished) this.settleDone.reject(new Error('the snapshot decoder was closed before the end'));
    try {
      await this.iterator.return?.();
    } catch {
      // The source's own failure on close tells nothing about the snapshot.
    }
  }

  private async readHeader(): Promise<void> {
    try {
      for (;;) {
        const event = await this.nextEvent();
        if (event === undefined) throw new Error('unreachable: the parser ended without a header');
        if (event.kind === 'header') {
          this.settleHeader.resolve(event.header);
          return;
        }
      }
    } catch (error) {
      this.settleHeader.reject(error);
      this.settleDone.reject(error);
      await this.close();
    }
  }

  /** The next parser event, pulling input as needed; undefined after the trailer checked out. */
  private async nextEvent(): Promise<ParseEvent | undefined> {
    if (this.finished) return undefined;
    for (;;) {
      const event = this.parser.next();
      if (event !== undefined) {
        if (event.kind !== 'end') return event;
        // Read on to the source's end, so bytes after the end magic are caught too.
        await this.pullRest();
        return this.end(event.summary);
      }
      const step = await this.iterator.next();
      if (step.done) {
        this.sourceClosed = true;
        return this.end(this.parser.finish());
      }
      this.parser.push(toBuffer(step.value));
    }
  }

  private end(summary: SnapshotSummary): undefined {
    this.finished = true;
    this.settleDone.resolve(summary);
    return undefined;
  }

  private async pullRest(): Promise<void> {
    for (;;) {
      const step = await this.iterator.next();
      if (step.done) break;
      this.parser.push(toBuffer(step.value));
    }
    this.sourceClosed = true;
  }
}

/** Starts reading a snapshot: `header`, then `records()` or `batches()`, then `done`. */
export function decodeSnapshot(source: ByteSource, options: ParserOptions = {}): SnapshotDecoder {
  return new SnapshotDecoder(source, options);
}

/** Reads only the header (checked by its CRC) and releases the source. */
export async function readSnapshotHeader(source: ByteSource): Promise<SnapshotHeader> {
  const decoder = new SnapshotDecoder(source);
  try {
    return await decoder.header;
  } finally {
    await decoder.close();
  }
}

/** Reads and checks a whole snapshot (every chunk CRC, order, counts, SHA-256, KV hash) in bounded memory. */
export async function verifySnapshot(source: ByteSource): Promise<SnapshotSummary> {
  const decoder = new SnapshotDecoder(source);
  for await (const _ of decoder.batches());
  return decoder.done;
}
