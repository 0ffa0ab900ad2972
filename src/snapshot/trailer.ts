// The trailer: what the reader checks its own counts and hashes against at the end.
// It has a fixed size so a reader can also find it from the end of a file.
import { crc32 } from 'node:zlib';
import {
  END_MAGIC,
  TRAILER_BYTES,
  TRAILER_CRC_SPAN,
  TRAILER_TAG,
  hex32,
  readU64,
  writeU64,
} from './format.js';
import { corruptSnapshot } from './integrity.js';

/** The totals the writer recorded after the last chunk. */
export interface SnapshotTrailer {
  readonly chunkCount: number;
  readonly recordCount: number;
  /** Sum of key and value lengths: the key-value data, for MB/s figures. */
  readonly dataBytes: number;
  /** Bytes before the trailer (the offset of the trailer); the file is byteCount + 80 bytes. */
  readonly byteCount: number;
  /** SHA-256 of those byteCount bytes, lowercase hex. */
  readonly sha256: string;
  /** The KV hash (hashkv) of the records, as KvHasher computes it. */
  readonly kvHash: number;
}

/** Encodes the 80-byte trailer, end magic included. */
export function encodeTrailer(t: SnapshotTrailer): Buffer {
  const b = Buffer.alloc(TRAILER_BYTES);
  b.writeUInt32BE(TRAILER_TAG, 0);
  b.writeUInt32BE(t.chunkCount, 4);
  writeU64(b, t.recordCount, 8);
  writeU64(b, t.dataBytes, 16);
  writeU64(b, t.byteCount, 24);
  b.write(t.sha256, 32, 32, 'hex');
  b.writeUInt32BE(t.kvHash >>> 0, 64);
  b.writeUInt32BE(crc32(b.subarray(0, TRAILER_CRC_SPAN)), TRAILER_CRC_SPAN);
  END_MAGIC.copy(b, 72);
  return b;
}

/**
 * Checks the trailer's CRC and end magic and parses it; `offset` is where it starts in the file.
 * Reading the last 80 bytes of a file this way gives its counts and hashes without a full read,
 * but proves nothing about the bytes before it: only a full read checks the SHA-256.
 */
export function decodeTrailer(b: Buffer, offset: number): SnapshotTrailer {
  const stored = b.readUInt32BE(TRAILER_CRC_SPAN);
  const computed = crc32(b.subarray(0, TRAILER_CRC_SPAN));
  if (stored !== computed) {
    throw corruptSnapshot(`trailer at byte ${offset} fails its CRC (stored ${hex32(stored)}, computed ${hex32(computed)})`);
  }
  if (!b.subarray(72, 80).equals(END_MAGIC)) {
    throw corruptSnapshot(`trailer at byte ${offset} does not end with the end magic`);
  }
  const recordCount = readU64(b, 8);
  const dataBytes = readU64(b, 16);
  const byteCount = readU64(b, 24);
  if (recordCount === undefined || dataBytes === undefined || byteCount === undefined) {
    throw corruptSnapshot(`trailer at byte ${offset} holds a count too large to be real`);
  }
  return {
    chunkCount: b.readUInt32BE(4),
    recordCount,
    dataBytes,
    byteCount,
    sha256: b.toString('hex', 32, 64),
    kvHash: b.readUInt32BE(64),
  };
}
