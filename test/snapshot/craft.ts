// Builds snapshots byte by byte, bypassing the encoder's checks, so tests can make files that
// are well framed (every CRC right) but wrong in one specific way; and maps a file's layout.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { KvHasher } from '../../src/kv/kv-hash.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { SnapshotParser } from '../../src/snapshot/parser.js';
import { encodeHeaderFrame, type SnapshotHeaderInput } from '../../src/snapshot/header.js';
import { encodedRecordSize, writeRecord } from '../../src/snapshot/record-codec.js';
import { encodeTrailer, type SnapshotTrailer } from '../../src/snapshot/trailer.js';

/** One chunk frame with correct CRCs around whatever records (and extra payload bytes) it is given. */
export function craftChunk(sequence: number, records: KeyValueRecord[], opts: { count?: number; extraPayload?: Buffer } = {}): Buffer {
  const size = records.reduce((n, r) => n + encodedRecordSize(r), 0) + (opts.extraPayload?.length ?? 0);
  const b = Buffer.alloc(20 + size + 4);
  let pos = 20;
  for (const r of records) pos = writeRecord(b, pos, r);
  if (opts.extraPayload) pos += opts.extraPayload.copy(b, pos);
  b.writeUInt32BE(0x4c42434b, 0);
  b.writeUInt32BE(sequence, 4);
  b.writeUInt32BE(opts.count ?? records.length, 8);
  b.writeUInt32BE(size, 12);
  b.writeUInt32BE(crc32(b.subarray(0, 16)), 16);
  b.writeUInt32BE(crc32(b.subarray(20, pos)), pos);
  return b;
}

/** A whole snapshot from raw chunks; the trailer is computed honestly unless fields are overridden. */
export function craftSnapshot(header: SnapshotHeaderInput, chunks: Buffer[], records: KeyValueRecord[], trailer: Partial<SnapshotTrailer> = {}): Buffer {
  const body = Buffer.concat([encodeHeaderFrame(header).bytes, ...chunks]);
  const kv = new KvHasher();
  for (const r of records) kv.add(r);
  const honest: SnapshotTrailer = {
    chunkCount: chunks.length,
    recordCount: records.length,
    dataBytes: records.reduce((n, r) => n + r.key.length + r.value.length, 0),
    byteCount: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    kvHash: kv.digest(),
  };
  return Buffer.concat([body, encodeTrailer({ ...honest, ...trailer })]);
}

export interface ChunkSpan {
  readonly start: number;
  readonly payloadStart: number;
  /** One past the chunk's CRC. */
  readonly end: number;
}

/** Where the header, each chunk and the trailer sit in a valid snapshot. */
export function layout(bytes: Buffer): { headerEnd: number; chunks: ChunkSpan[]; trailer: number } {
  const headerEnd = 16 + bytes.readUInt32BE(12) + 4;
  const chunks: ChunkSpan[] = [];
  let pos = headerEnd;
  while (bytes.readUInt32BE(pos) === 0x4c42434b) {
    const end = pos + 20 + bytes.readUInt32BE(pos + 12) + 4;
    chunks.push({ start: pos, payloadStart: pos + 20, end });
    pos = end;
  }
  return { headerEnd, chunks, trailer: pos };
}

/** A copy with one bit flipped. */
export function flipBit(bytes: Buffer, offset: number, bit = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset]! ^= 1 << bit;
  return copy;
}

/**
 * Runs the synchronous parser (the core both readers share) over bytes in pieces of `pieceSize`;
 * returns the error it throws, or undefined when the snapshot is accepted. Fast enough for exhaustive sweeps.
 */
export function parseError(bytes: Buffer, pieceSize = bytes.length || 1): unknown {
  const parser = new SnapshotParser();
  try {
    for (let i = 0; i < bytes.length; i += pieceSize) {
      parser.push(bytes.subarray(i, i + pieceSize));
      while (parser.next() !== undefined);
    }
    parser.finish();
    return undefined;
  } catch (error) {
    return error;
  }
}
