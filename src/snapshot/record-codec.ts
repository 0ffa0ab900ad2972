// Records inside a chunk's payload: a fixed 32-byte prefix (lengths and revisions), then the
// key and the value. Fixed offsets keep encoding to a few writes and one copy per field.
import type { KeyValueRecord } from '../kv/record.js';
import { RECORD_PREFIX_BYTES, readU64, writeU64 } from './format.js';
import { corruptSnapshot } from './integrity.js';

/** Bytes a record takes in a chunk payload. */
export function encodedRecordSize(r: KeyValueRecord): number {
  return RECORD_PREFIX_BYTES + r.key.length + r.value.length;
}

/** Writes the record at pos (the buffer must have room); returns the position after it. */
export function writeRecord(buf: Buffer, pos: number, r: KeyValueRecord): number {
  buf.writeUInt32BE(r.key.length, pos);
  buf.writeUInt32BE(r.value.length, pos + 4);
  writeU64(buf, r.createRevision, pos + 8);
  writeU64(buf, r.modRevision, pos + 16);
  writeU64(buf, r.version, pos + 24);
  pos += RECORD_PREFIX_BYTES;
  pos += r.key.copy(buf, pos);
  pos += r.value.copy(buf, pos);
  return pos;
}

/** A short printable rendering of a key for messages: quoted text, or hex when binary. */
export function describeKey(key: Buffer): string {
  const shown = key.subarray(0, 48);
  const more = key.length > shown.length ? '...' : '';
  const printable = shown.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? JSON.stringify(shown.toString('latin1') + more) : `0x${shown.toString('hex')}${more}`;
}

/**
 * Why a record cannot be in a snapshot at `revision` after `previousKey`, or undefined when it can.
 * Encoder and reader share it, so the encoder never writes what the reader would reject.
 */
export function recordProblem(r: KeyValueRecord, previousKey: Buffer | undefined, revision: number): string | undefined {
  if (r.key.length === 0) return 'a record has an empty key';
  if (previousKey !== undefined) {
    const order = previousKey.compare(r.key);
    if (order === 0) return `key ${describeKey(r.key)} appears twice`;
    if (order > 0) return `key ${describeKey(r.key)} comes after ${describeKey(previousKey)} (keys must be in ascending byte order)`;
  }
  const { createRevision: c, modRevision: m, version: v } = r;
  if (!Number.isSafeInteger(c) || c < 1) return `key ${describeKey(r.key)} has create revision ${c}`;
  if (!Number.isSafeInteger(m) || m < c) return `key ${describeKey(r.key)} has mod revision ${m} below its create revision ${c}`;
  if (m > revision) return `key ${describeKey(r.key)} has mod revision ${m}, above the snapshot's revision ${revision}`;
  if (!Number.isSafeInteger(v) || v < 1) return `key ${describeKey(r.key)} has version ${v}`;
  return undefined;
}

/** Where a chunk sits, for messages, and what the records must satisfy. */
export interface ChunkContext {
  readonly chunk: number;
  /** Absolute offset of the payload's first byte. */
  readonly payloadOffset: number;
  readonly revision: number;
  readonly previousKey: Buffer | undefined;
  /** Copy keys and values out of the payload, so keeping one record does not keep its whole chunk alive. */
  readonly copy: boolean;
}

/**
 * Splits a CRC-checked payload into exactly `count` records. Unless ctx.copy, keys and values
 * are views into the payload (no copies); the payload is never reused, so they stay valid.
 */
export function decodeRecords(payload: Buffer, count: number, ctx: ChunkContext): KeyValueRecord[] {
  const records: KeyValueRecord[] = new Array(count);
  let previousKey = ctx.previousKey;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const at = ctx.payloadOffset + pos;
    if (payload.length - pos < RECORD_PREFIX_BYTES) {
      throw corruptSnapshot(`chunk ${ctx.chunk} holds fewer records than its header says (${i} of ${count}, byte ${at})`);
    }
    const keyLength = payload.readUInt32BE(pos);
    const valueLength = payload.readUInt32BE(pos + 4);
    const createRevision = readU64(payload, pos + 8);
    const modRevision = readU64(payload, pos + 16);
    const version = readU64(payload, pos + 24);
    const keyStart = pos + RECORD_PREFIX_BYTES;
    const valueStart = keyStart + keyLength;
    const end = valueStart + valueLength;
    if (end > payload.length) {
      throw corruptSnapshot(`record ${i} of chunk ${ctx.chunk} at byte ${at} runs past the end of its chunk`);
    }
    if (createRevision === undefined || modRevision === undefined || version === undefined) {
      throw corruptSnapshot(`record ${i} of chunk ${ctx.chunk} at byte ${at} holds a revision too large to be real`);
    }
    const key = payload.subarray(keyStart, valueStart);
    const value = payload.subarray(valueStart, end);
    const record: KeyValueRecord = {
      key: ctx.copy ? Buffer.from(key) : key,
      value: ctx.copy ? Buffer.from(value) : value,
      createRevision,
      modRevision,
      version,
    };
    const problem = recordProblem(record, previousKey, ctx.revision);
    if (problem) throw corruptSnapshot(`${problem} (record ${i} of chunk ${ctx.chunk}, byte ${at})`);
    records[i] = record;
    previousKey = record.key;
    pos = end;
  }
  if (pos !== payload.length) {
    throw corruptSnapshot(`chunk ${ctx.chunk} has ${payload.length - pos} bytes after its ${count} records (byte ${ctx.payloadOffset + pos})`);
  }
  return records;
}
