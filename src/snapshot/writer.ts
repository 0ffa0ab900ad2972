// The writing core: synchronous and push-style, so a member can write a snapshot file with
// plain writes and the streaming encoder can wrap it. Records are copied into a chunk buffer
// as they come; each finished chunk is handed out as one Buffer, never touched again.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { KvHasher } from '../kv/kv-hash.js';
import type { KeyValueRecord } from '../kv/record.js';
import {
  CHUNK_CRC_BYTES,
  CHUNK_HEADER_BYTES,
  CHUNK_TAG,
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_PAYLOAD,
  RECORD_PREFIX_BYTES,
} from './format.js';
import { encodeHeaderFrame, type SnapshotHeader, type SnapshotHeaderInput } from './header.js';
import { invalidSource } from './integrity.js';
import { encodedRecordSize, recordProblem, writeRecord } from './record-codec.js';
import { encodeTrailer, type SnapshotTrailer } from './trailer.js';

export interface ChunkOptions {
  /** Close a chunk once its payload reaches this many bytes (default 1 MiB). A larger record gets a chunk of its own. */
  readonly chunkBytes?: number;
  /** Close a chunk once it holds this many records (default: no limit). Small values make small multi-chunk fixtures. */
  readonly chunkRecords?: number;
}

/** Push-style encoder: start(), then add() per record, then finish(); each returns bytes to write in order. */
export class SnapshotWriter {
  readonly header: SnapshotHeader;
  private readonly headerBytes: Buffer;
  private readonly chunkBytes: number;
  private readonly chunkRecords: number;
  private readonly sha = createHash('sha256');
  private readonly kv = new KvHasher();
  private started = false;
  private finished = false;
  private buf: Buffer | undefined;
  private pos = 0;
  private inChunk = 0;
  private chunks = 0;
  private records = 0;
  private dataBytes = 0;
  private bytes = 0;
  private previousKey: Buffer | undefined;
  private trailerValue: SnapshotTrailer | undefined;

  constructor(header: SnapshotHeaderInput, options: ChunkOptions = {}) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const chunkRecords = options.chunkRecords ?? Number.POSITIVE_INFINITY;
    if (!(chunkBytes >= 1 && chunkBytes <= MAX_CHUNK_PAYLOAD)) throw new RangeError(`chunkBytes must be 1..${MAX_CHUNK_PAYLOAD}`);
    if (!(chunkRecords >= 1)) throw new RangeError('chunkRecords must be at least 1');
    const { header: h, bytes } = encodeHeaderFrame(header);
    this.header = h;
    this.headerBytes = bytes;
    this.chunkBytes = chunkBytes;
    this.chunkRecords = chunkRecords;
  }

  /** The preamble and header: the first bytes of the snapshot. */
  start(): Buffer {
    if (this.started) throw new Error('SnapshotWriter.start() called twice');
    this.started = true;
    return this.emit(this.headerBytes);
  }

  /**
   * Adds the next record (keys strictly ascending). Returns a finished chunk when this record
   * did not fit in the open one, else undefined. The record's buffers may be reused afterwards.
   */
  add(record: KeyValueRecord): Buffer | undefined {
    if (!this.started || this.finished) throw new Error('SnapshotWriter.add() outside start()..finish()');
    const problem = recordProblem(record, this.previousKey, this.header.revision);
    if (problem) throw invalidSource(problem);
    const size = encodedRecordSize(record);
    if (size > MAX_CHUNK_PAYLOAD) {
      throw invalidSource(`the record for a key of ${record.key.length} bytes takes ${size} bytes, over the ${MAX_CHUNK_PAYLOAD}-byte chunk limit`);
    }
    let sealed: Buffer | undefined;
    if (this.buf !== undefined && (this.pos - CHUNK_HEADER_BYTES + size > this.chunkBytes || this.inChunk >= this.chunkRecords)) {
      sealed = this.seal();
    }
    if (this.buf === undefined) {
      this.buf = Buffer.allocUnsafeSlow(CHUNK_HEADER_BYTES + Math.max(this.chunkBytes, size) + CHUNK_CRC_BYTES);
      this.pos = CHUNK_HEADER_BYTES;
    }
    const keyAt = this.pos + RECORD_PREFIX_BYTES;
    this.pos = writeRecord(this.buf, this.pos, record);
    // Keep the copy in the chunk buffer, not the caller's buffer, which it may reuse.
    this.previousKey = this.buf.subarray(keyAt, keyAt + record.key.length);
    this.kv.add(record);
    this.inChunk++;
    this.records++;
    this.dataBytes += record.key.length + record.value.length;
    return sealed;
  }

  /** Closes the open chunk (if any) and appends the trailer: the last bytes of the snapshot. */
  finish(): Buffer {
    if (!this.started || this.finished) throw new Error('SnapshotWriter.finish() outside start()..finish()');
    if (this.records !== this.header.keyCount) {
      throw invalidSource(`the header promised ${this.header.keyCount} keys but the source yielded ${this.records}`);
    }
    this.finished = true;
    const last = this.buf !== undefined ? this.seal() : undefined;
    this.trailerValue = {
      chunkCount: this.chunks,
      recordCount: this.records,
      dataBytes: this.dataBytes,
      byteCount: this.bytes,
      sha256: this.sha.digest('hex'),
      kvHash: this.kv.digest() >>> 0,
    };
    const trailer = encodeTrailer(this.trailerValue);
    this.bytes += trailer.length;
    return last === undefined ? trailer : Buffer.concat([last, trailer]);
  }

  /** The trailer written by finish(). */
  get trailer(): SnapshotTrailer | undefined {
    return this.trailerValue;
  }

  /** Bytes handed out so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  private seal(): Buffer {
    const buf = this.buf!;
    const length = this.pos - CHUNK_HEADER_BYTES;
    buf.writeUInt32BE(CHUNK_TAG, 0);
    buf.writeUInt32BE(this.chunks, 4);
    buf.writeUInt32BE(this.inChunk, 8);
    buf.writeUInt32BE(length, 12);
    buf.writeUInt32BE(crc32(buf.subarray(0, 16)), 16);
    buf.writeUInt32BE(crc32(buf.subarray(CHUNK_HEADER_BYTES, this.pos)), this.pos);
    const frame = buf.subarray(0, this.pos + CHUNK_CRC_BYTES);
    this.buf = undefined;
    this.inChunk = 0;
    this.chunks++;
    return this.emit(frame);
  }

  private emit(bytes: Buffer): Buffer {
    this.sha.update(bytes);
    this.bytes += bytes.length;
    return bytes;
  }
}
