// WAL record framing (docs/wal-format.md): a 24-byte header with its own CRC, the payload
// with its CRC, zero padding to a multiple of 8. The header CRC means a damaged length is
// never trusted; the zero padding is checked so that every flipped bit is detected.

import { crc32 } from 'node:zlib';

export enum RecordType {
  Entry = 1,
  HardState = 2,
  Snapshot = 3,
  SegmentHeader = 4,
}

export const HEADER_SIZE = 24;
export const RECORD_ALIGN = 8;
const MAX_TYPE = RecordType.SegmentHeader;

/** One decoded record. `seq` is the append batch it was written in; batches number up from 1. */
export interface WalRecord {
  readonly type: RecordType;
  readonly seq: number;
  /** The last record of its batch: recovery uses it to tell which batch damage belongs to. */
  readonly endsBatch: boolean;
  readonly payload: Buffer;
}

const FLAG_ENDS_BATCH = 1;

/** The bytes a record with a payload of `payloadLength` takes, padding included. */
export function recordSize(payloadLength: number): number {
  return HEADER_SIZE + Math.ceil(payloadLength / RECORD_ALIGN) * RECORD_ALIGN;
}

/** A plain view of buf[start, end): much cheaper to make than Buffer.subarray on the hot paths. */
function view(buf: Buffer, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
}

/** Writes a u64 that must be a safe integer, little-endian. */
export function writeU64(buf: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 safe integer: ${value}`);
  buf.writeUInt32LE(value % 0x100000000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), offset + 4);
}

/** Reads a little-endian u64; undefined when it does not fit a safe integer. */
export function readU64(buf: Buffer, offset: number): number | undefined {
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1fffff) return undefined;
  return hi * 0x100000000 + buf.readUInt32LE(offset);
}

/**
 * Writes one record at `offset` in `buf` (which must be zeroed where padding goes);
 * `fill` writes the payload of `payloadLength` bytes at the offset it is given.
 * Returns the offset after the record.
 */
export function writeRecord(
  buf: Buffer,
  offset: number,
  type: RecordType,
  seq: number,
  payloadLength: number,
  fill: (buf: Buffer, offset: number) => void,
  endsBatch = false,
): number {
  const payloadStart = offset + HEADER_SIZE;
  fill(buf, payloadStart);
  buf.writeUInt32LE(crc32(view(buf, payloadStart, payloadStart + payloadLength)), offset + 4);
  buf.writeUInt32LE(payloadLength, offset + 8);
  buf[offset + 12] = type;
  buf[offset + 13] = endsBatch ? FLAG_ENDS_BATCH : 0;
  buf.writeUInt16LE(0, offset + 14);
  writeU64(buf, offset + 16, seq);
  buf.writeUInt32LE(crc32(view(buf, offset + 4, offset + HEADER_SIZE)), offset);
  return offset + recordSize(payloadLength);
}

/** One record as its own Buffer (tests and small writes). */
export function encodeRecord(type: RecordType, seq: number, payload: Uint8Array, endsBatch = false): Buffer {
  const buf = Buffer.alloc(recordSize(payload.length));
  writeRecord(buf, 0, type, seq, payload.length, (b, o) => b.set(payload, o), endsBatch);
  return buf;
}

export type DecodeResult =
  | { readonly kind: 'record'; readonly record: WalRecord; readonly next: number }
  /** An all-zero header: the end of the written data (preallocated space follows). */
  | { readonly kind: 'zero' }
  /**
   * Not a valid record. `end` is where the record would end if its header can be trusted
   * (else the header's end), clipped to the limit.
   */
  | { readonly kind: 'bad'; readonly reason: string; readonly headerValid: boolean; readonly end: number; readonly cutOff?: boolean };

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether buf[start, end) is all zeros; long ranges are compared natively against a zero buffer. */
export function isZero(buf: Buffer, start: number, end: number): boolean {
  if (end - start <= 64) {
    for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
    return true;
  }
  for (let pos = start; pos < end; pos += ZEROS.length) {
    const n = Math.min(ZEROS.length, end - pos);
    if (!buf.subarray(pos, pos + n).equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** The offset just past the last non-zero byte in buf[from, end), or `from` if there is none. */
export function lastNonZeroEnd(buf: Buffer, from: number, end = buf.length): number {
  const CHUNK = 4096;
  let hi = end;
  while (hi > from) {
    const lo = Math.max(from, hi - CHUNK);
    if (!isZero(buf, lo, hi)) {
      for (let i = hi - 1; i >= lo; i--) if (buf[i] !== 0) return i + 1;
    }
    hi = lo;
  }
  return from;
}

/** Decodes the record at `offset`; bytes at or past `limit` are not part of the data. */
export function decodeRecordAt(buf: Buffer, offset: number, limit = buf.length): DecodeResult {
  if (offset + HEADER_SIZE > limit) {
    return isZero(buf, offset, limit)
      ? { kind: 'zero' }
      : { kind: 'bad', reason: 'a record header is cut off by the end of the file', headerValid: false, end: limit };
  }
  if (isZero(buf, offset, offset + HEADER_SIZE)) return { kind: 'zero' };
  const headerEnd = offset + HEADER_SIZE;
  if (buf.readUInt32LE(offset) !== crc32(view(buf, offset + 4, headerEnd))) {
    return { kind: 'bad', reason: 'record header checksum mismatch', headerValid: false, end: headerEnd };
  }
  const length = buf.readUInt32LE(offset + 8);
  const type = buf[offset + 12]!;
  const seq = readU64(buf, offset + 16);
  const flags = buf[offset + 13]!;
  if (type < 1 || type > MAX_TYPE || (flags & ~FLAG_ENDS_BATCH) !== 0 || buf.readUInt16LE(offset + 14) !== 0 || seq === undefined) {
    return { kind: 'bad', reason: `unknown record type ${type} or reserved bits set`, headerValid: false, end: headerEnd };
  }
  const end = offset + recordSize(length);
  if (end > limit) {
    return { kind: 'bad', reason: `record of ${length} bytes runs past the end of the file`, headerValid: true, end: limit, cutOff: true };
  }
  if (buf.readUInt32LE(offset + 4) !== crc32(view(buf, headerEnd, headerEnd + length))) {
    return { kind: 'bad', reason: 'record payload checksum mismatch', headerValid: true, end };
  }
  if (!isZero(buf, headerEnd + length, end)) {
    return { kind: 'bad', reason: 'record padding is not zero', headerValid: true, end };
  }
  const payload = buf.subarray(headerEnd, headerEnd + length);
  return { kind: 'record', record: { type: type as RecordType, seq, endsBatch: flags === FLAG_ENDS_BATCH, payload }, next: end };
}

/**
 * Whether the bytes in [start, end) look like an interrupted write rather than damage: some
 * piece of them between 512-byte sector boundaries is all zeros (a sector that never reached
 * the disk reads back as the preallocated zeros).
 */
export function looksTorn(buf: Buffer, start: number, end: number, sector = 512): boolean {
  let pos = start;
  while (pos < end) {
    const next = Math.min(end, (Math.floor(pos / sector) + 1) * sector);
    if (isZero(buf, pos, next)) return true;
    pos = next;
  }
  return false;
}
