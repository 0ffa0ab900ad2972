// The reading core: a synchronous state machine fed with byte buffers in any split, that
// hands out the header, then each chunk's records once the chunk's CRC holds, and at the end
// checks the trailer. The async decoder and the verifying pass-through both drive it, so
// there is one reader of the format. It holds at most one chunk plus one input buffer.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { KvHasher } from '../kv/kv-hash.js';
import type { KeyValueRecord } from '../kv/record.js';
import {
  CHUNK_CRC_BYTES,
  CHUNK_HEADER_BYTES,
  CHUNK_TAG,
  FORMAT_VERSION,
  MAGIC,
  MAX_CHUNK_PAYLOAD,
  MAX_HEADER_BYTES,
  PREAMBLE_BYTES,
  TRAILER_BYTES,
  TRAILER_TAG,
  hex32,
} from './format.js';
import { decodeHeaderFrame, type SnapshotHeader } from './header.js';
import { corruptSnapshot, notASnapshot, truncatedSnapshot, unsupportedVersion } from './integrity.js';
import { decodeRecords } from './record-codec.js';
import { decodeTrailer, type SnapshotTrailer } from './trailer.js';

/** What a complete, checked snapshot proved about itself. */
export interface SnapshotSummary {
  readonly header: SnapshotHeader;
  readonly trailer: SnapshotTrailer;
  /** SHA-256 the reader computed over the bytes before the trailer (equals trailer.sha256). */
  readonly sha256: string;
  /** The KV hash the reader computed over the records (equals trailer.kvHash). */
  readonly kvHash: number;
  /** Total size of the snapshot, trailer included. */
  readonly totalBytes: number;
}

export type ParseEvent =
  | { readonly kind: 'header'; readonly header: SnapshotHeader }
  | { readonly kind: 'records'; readonly chunk: number; readonly records: KeyValueRecord[] }
  | { readonly kind: 'end'; readonly summary: SnapshotSummary };

export interface ParserOptions {
  /**
   * Give each record its own key and value buffers instead of views into the chunk. Costs a copy;
   * worth it when records are kept long (a store built from a snapshot), since one kept view
   * keeps its whole chunk (up to 1 MiB) in memory.
   */
  readonly copyRecords?: boolean;
}

type State =
  | { readonly at: 'preamble' }
  | { readonly at: 'header'; readonly length: number }
  | { readonly at: 'frame' }
  | { readonly at: 'chunk-body'; readonly count: number; readonly length: number }
  | { readonly at: 'done'; readonly summary: SnapshotSummary }
  | { readonly at: 'failed'; readonly error: unknown };

/** Push bytes in, pull events out; throws IntegrityError at the first problem and stays failed. */
export class SnapshotParser {
  private readonly copyRecords: boolean;
  private readonly input: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** Absolute offset of the first unconsumed byte. */
  private offset = 0;
  private state: State = { at: 'preamble' };
  private header: SnapshotHeader | undefined;
  private readonly sha: Hash = createHash('sha256');
  private readonly kv = new KvHasher();
  private chunks = 0;
  private records = 0;
  private dataBytes = 0;
  private previousKey: Buffer | undefined;
  /** Offset where the current frame (chunk or trailer) began, for messages. */
  private frameStart = 0;

  constructor(options: ParserOptions = {}) {
    this.copyRecords = options.copyRecords ?? false;
  }

  /** Adds input bytes; the parser keeps a reference, so the caller must not reuse the buffer. */
  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.state.at === 'done') {
      this.fail(corruptSnapshot(`${bytes.length} unexpected bytes after the end magic at byte ${this.offset}`));
    }
    this.input.push(bytes);
    this.buffered += bytes.length;
  }

  /** The next event, or undefined when more input is needed (or the snapshot is finished). */
  next(): ParseEvent | undefined {
    try {
      return this.step();
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Call at end of input, once next() has returned undefined (events still pending are dropped):
   * throws when the snapshot is incomplete or bad, returns the summary otherwise.
   */
  finish(): SnapshotSummary {
    // Drain what is buffered first, so an error inside the data wins over "truncated".
    while (this.next() !== undefined);
    const s = this.state;
    if (s.at === 'done') return s.summary;
    if (s.at === 'failed') throw s.error;
    this.fail(truncatedSnapshot(this.whereInputEnded()));
  }

  /** The header once parsed. */
  get parsedHeader(): SnapshotHeader | undefined {
    return this.header;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.offset;
  }

  private fail(error: unknown): never {
    if (this.state.at !== 'failed') this.state = { at: 'failed', error };
    throw error;
  }

  private step(): ParseEvent | undefined {
    const s = this.state;
    switch (s.at) {
      case 'failed':
        throw s.error;
      case 'done':
        return undefined;
      case 'preamble':
        return this.readPreamble();
      case 'header':
        return this.readHeader(s.length);
      case 'frame':
        return this.readFrame();
      case 'chunk-body':
        return this.readChunkBody(s.count, s.length);
    }
  }

  private readPreamble(): ParseEvent | undefined {
    // The magic is checked as soon as any byte of it differs, so a foreign file fails fast.
    const seen = this.peek(Math.min(this.buffered, MAGIC.length));
    if (!seen.equals(MAGIC.subarray(0, seen.length))) {
      throw notASnapshot('the file does not start with the snapshot magic "LBSNAP\\r\\n"');
    }
    if (this.buffered < PREAMBLE_BYTES) return undefined;
    const preamble = this.peek(PREAMBLE_BYTES);
    const version = preamble.readUInt32BE(8);
    if (version !== FORMAT_VERSION) throw unsupportedVersion(version, FORMAT_VERSION);
    const length = preamble.readUInt32BE(12);
    if (length > MAX_HEADER_BYTES) {
      throw corruptSnapshot(`header length ${length} at byte 12 is over the ${MAX_HEADER_BYTES}-byte limit`);
    }
    this.state = { at: 'header', length };
    return this.readHeader(length);
  }

  private readHeader(length: number): ParseEvent | undefined {
    const frameBytes = PREAMBLE_BYTES + length + 4;
    if (this.buffered < frameBytes) return undefined;
    const frame = this.take(frameBytes);
    this.header = decodeHeaderFrame(frame);
    this.sha.update(frame);
    this.state = { at: 'frame' };
    return { kind: 'header', header: this.header };
  }

  private readFrame(): ParseEvent | undefined {
    if (this.buffered < 4) return undefined;
    this.frameStart = this.offset;
    const tag = this.peek(4).readUInt32BE(0);
    if (tag === CHUNK_TAG) {
      if (this.buffered < CHUNK_HEADER_BYTES) return undefined;
      return this.readChunkHeader();
    }
    if (tag === TRAILER_TAG) {
      if (this.buffered < TRAILER_BYTES) return undefined;
      return this.readTrailer();
    }
    throw corruptSnapshot(
      `expected chunk ${this.chunks} or the trailer at byte ${this.offset}, found tag ${hex32(tag)}`,
    );
  }

  private readChunkHeader(): ParseEvent | undefined {
    const h = this.take(CHUNK_HEADER_BYTES);
    const stored = h.readUInt32BE(16);
    const computed = crc32(h.subarray(0, 16));
    if (stored !== computed) {
      throw corruptSnapshot(
        `chunk ${this.chunks} header at byte ${this.frameStart} fails its CRC (stored ${hex32(stored)}, computed ${hex32(computed)})`,
      );
    }
    const sequence = h.readUInt32BE(4);
    const count = h.readUInt32BE(8);
    const length = h.readUInt32BE(12);
    if (sequence !== this.chunks) {
      throw corruptSnapshot(`chunk ${sequence} at byte ${this.frameStart} where chunk ${this.chunks} belongs`);
    }
    if (count === 0 || length > MAX_CHUNK_PAYLOAD) {
      throw corruptSnapshot(`chunk ${this.chunks} at byte ${this.frameStart} claims ${count} records in ${length} bytes`);
    }
    this.sha.update(h);
    this.state = { at: 'chunk-body', count, length };
    return this.readChunkBody(count, length);
  }

  private readChunkBody(count: number, length: number): ParseEvent | undefined {
    if (this.buffered < length + CHUNK_CRC_BYTES) return undefined;
    const payloadOffset = this.offset;
    const body = this.take(length + CHUNK_CRC_BYTES);
    const payload = body.subarray(0, length);
    const stored = body.readUInt32BE(length);
    const computed = crc32(payload);
    if (stored !== computed) {
      throw corruptSnapshot(
        `chunk ${this.chunks} (bytes ${this.frameStart}-${payloadOffset + length + 3}) fails its CRC (stored ${hex32(stored)}, computed ${hex32(computed)})`,
      );
    }
    const header = this.header!;
    const records = decodeRecords(payload, count, {
      chunk: this.chunks,
      payloadOffset,
      revision: header.revision,
      previousKey: this.previousKey,
      copy: this.copyRecords,
    });
    for (const r of records) {
      this.kv.add(r);
      this.dataBytes += r.key.length + r.value.length;
    }
    this.previousKey = records[records.length - 1]!.key;
    this.records += count;
    this.sha.update(body);
    const chunk = this.chunks++;
    this.state = { at: 'frame' };
    return { kind: 'records', chunk, records };
  }

  private readTrailer(): ParseEvent | undefined {
    const at = this.offset;
    const trailer = decodeTrailer(this.take(TRAILER_BYTES), at);
    const sha256 = this.sha.digest('hex');
    const kvHash = this.kv.digest() >>> 0;
    const header = this.header!;
    const mismatch = (what: string, stored: string | number, computed: string | number) =>
      corruptSnapshot(`${what} does not match: trailer at byte ${at} says ${stored}, the data gives ${computed}`);
    if (trailer.byteCount !== at) throw mismatch('byte count', trailer.byteCount, at);
    if (trailer.chunkCount !== this.chunks) throw mismatch('chunk count', trailer.chunkCount, this.chunks);
    if (trailer.recordCount !== this.records) throw mismatch('record count', trailer.recordCount, this.records);
    if (trailer.dataBytes !== this.dataBytes) throw mismatch('data byte count', trailer.dataBytes, this.dataBytes);
    if (trailer.sha256 !== sha256) throw mismatch('SHA-256', trailer.sha256, sha256);
    if (trailer.kvHash !== kvHash) throw mismatch('KV hash', hex32(trailer.kvHash), hex32(kvHash));
    if (header.keyCount !== this.records) {
      throw corruptSnapshot(`header says ${header.keyCount} keys but the snapshot holds ${this.records}`);
    }
    const summary: SnapshotSummary = { header, trailer, sha256, kvHash, totalBytes: at + TRAILER_BYTES };
    this.state = { at: 'done', summary };
    if (this.buffered > 0) {
      throw corruptSnapshot(`${this.buffered} unexpected bytes after the end magic at byte ${this.offset}`);
    }
    return { kind: 'end', summary };
  }

  private whereInputEnded(): string {
    const end = this.offset + this.buffered;
    const s = this.state;
    if (s.at === 'preamble') {
      return end === 0 ? 'the input is empty' : `the input ends at byte ${end}, inside the preamble`;
    }
    if (s.at === 'header') return `the input ends at byte ${end}, inside the header`;
    if (s.at === 'chunk-body') return `the input ends at byte ${end}, inside chunk ${this.chunks} (begun at byte ${this.frameStart})`;
    if (this.buffered === 0) {
      const after = this.chunks === 0 ? 'the header' : `chunk ${this.chunks - 1}`;
      return `the input ends at byte ${end}, after ${after}, before the trailer`;
    }
    return `the input ends at byte ${end}, inside the frame begun at byte ${this.offset} (chunk ${this.chunks} or the trailer)`;
  }

  /** The first n buffered bytes, without consuming them (copies only when they span inputs). */
  private peek(n: number): Buffer {
    const first = this.input[this.head];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  /** Consumes and returns the first n buffered bytes (the caller checked they are there). */
  private take(n: number): Buffer {
    const first = this.input[this.head]!;
    if (first.length > n) {
      this.input[this.head] = first.subarray(n);
      this.consumed(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.input[this.head++] = undefined as unknown as Buffer;
      this.compact();
      this.consumed(n);
      return first;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let i = this.head;
    while (filled < n) {
      const b = this.input[i]!;
      const used = Math.min(b.length, n - filled);
      b.copy(out, filled, 0, used);
      filled += used;
      if (consume) {
        if (used === b.length) this.input[i++] = undefined as unknown as Buffer;
        else this.input[i] = b.subarray(used);
      } else {
        i++;
      }
    }
    if (consume) {
      this.head = i;
      this.compact();
      this.consumed(n);
    }
    return out;
  }

  private consumed(n: number): void {
    this.buffered -= n;
    this.offset += n;
  }

  private compact(): void {
    if (this.head === this.input.length) {
      this.input.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.input.splice(0, this.head);
      this.head = 0;
    }
  }
}
