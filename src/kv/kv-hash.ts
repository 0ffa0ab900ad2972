// The KV state hash (hashkv): CRC32 over the canonical encoding of every live record at a
// revision, in key order. It covers live state only, never history, so every member and every
// restore of the same revision agree. The snapshot format computes it while streaming.
//
// Canonical encoding of one record, all integers big-endian:
//   u32 key length, key bytes, u32 value length, value bytes,
//   u64 create_revision, u64 mod_revision, u64 version

import { crc32 } from 'node:zlib';
import type { KeyValueRecord } from './record.js';

const SCRATCH_BYTES = 64 * 1024;
const FIXED_BYTES = 4 + 4 + 8 * 3;

function writeU64(buf: Buffer, value: number, offset: number): void {
  // Two u32 halves: revisions are safe integers (< 2^53), so this is exact and avoids BigInt.
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** The canonical encoding of one record (for tests and tools; the hasher avoids the allocation). */
export function encodeCanonicalRecord(record: KeyValueRecord): Buffer {
  const out = Buffer.allocUnsafe(FIXED_BYTES + record.key.length + record.value.length);
  let o = 0;
  o = out.writeUInt32BE(record.key.length, o);
  o += record.key.copy(out, o);
  o = out.writeUInt32BE(record.value.length, o);
  o += record.value.copy(out, o);
  writeU64(out, record.createRevision, o);
  writeU64(out, record.modRevision, o + 8);
  writeU64(out, record.version, o + 16);
  return out;
}

/** Incremental hashkv: add records in key order, then digest. */
export class KvHasher {
  private crc = 0;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private used = 0;
  private records = 0;

  /** Feeds one record; records must come in ascending key order for the hash to be canonical. */
  add(record: KeyValueRecord): void {
    this.addParts(record.key, record.value, record.createRevision, record.modRevision, record.version);
  }

  /** Feeds one record given by its fields; key may be the latin1 string of the key bytes (saves a Buffer). */
  addParts(key: Buffer | string, value: Buffer, createRevision: number, modRevision: number, version: number): void {
    this.addAt(key, value, 0, value.length, createRevision, modRevision, version);
  }

  /** Like addParts, with the value given as valueLength bytes of `buf` from valueOffset (no view to allocate). */
  addAt(
    key: Buffer | string,
    buf: Buffer,
    valueOffset: number,
    valueLength: number,
    createRevision: number,
    modRevision: number,
    version: number,
  ): void {
    const size = FIXED_BYTES + key.length + valueLength;
    // Small records are batched into one scratch buffer so crc32 runs over large spans;
    // anything that does not fit goes straight to crc32 after a flush.
    if (this.used + size > SCRATCH_BYTES) this.flush();
    if (size > SCRATCH_BYTES) {
      const keyBuf = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
      const value = buf.subarray(valueOffset, valueOffset + valueLength);
      this.crc = crc32(encodeCanonicalRecord({ key: keyBuf, value, createRevision, modRevision, version }), this.crc);
    } else {
      const s = this.scratch;
      let o = this.used;
      o = s.writeUInt32BE(key.length, o);
      o += typeof key === 'string' ? s.write(key, o, 'latin1') : key.copy(s, o);
      o = s.writeUInt32BE(valueLength, o);
      o += buf.copy(s, o, valueOffset, valueOffset + valueLength);
      writeU64(s, createRevision, o);
      writeU64(s, modRevision, o + 8);
      writeU64(s, version, o + 16);
      this.used = o + 24;
    }
    this.records++;
  }

  /** Number of records added so far. */
  get count(): number {
    return this.records;
  }

  /** The CRC32 of everything added so far (unsigned 32-bit); adding may continue afterwards. */
  digest(): number {
    this.flush();
    return this.crc >>> 0;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.crc = crc32(this.scratch.subarray(0, this.used), this.crc);
    this.used = 0;
  }
}
