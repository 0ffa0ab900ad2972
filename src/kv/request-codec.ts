// The binary encoding of KV requests inside raft entries (the hot path: no JSON).
//
//   u8 format (1), u64 BE request id, then one op:
//   op       = u8 kind, body
//   put      (kind 2) = u8 flags (1 prevKv, 2 ignoreValue, 4 ignoreLease), svarint lease, bytes key, bytes value
//   delete   (kind 3) = u8 flags (1 prevKv), bytes key, bytes rangeEnd
//   range    (kind 1) = u8 flags (1 serializable, 2 keysOnly, 4 countOnly), u8 sortOrder, u8 sortTarget,
//                       bytes key, bytes rangeEnd, svarint limit, revision, minMod, maxMod, minCreate, maxCreate
//   txn      (kind 4) = uvarint n, n compares, uvarint n, n success ops, uvarint n, n failure ops
//   compare           = u8 target, u8 result, bytes key, bytes rangeEnd, operand
//                       (bytes for VALUE, svarint for VERSION / CREATE / MOD / LEASE)
//   compaction (kind 5) = u8 flags (1 physical), svarint revision
//   bytes = uvarint length, then the bytes; uvarint = LEB128 of a safe integer (< 2^53);
//   svarint = uvarint of the zigzag of an integer, whose magnitude is clamped to 2^52 - 1
//   (the API takes any int64; no revision, version or limit comes near 2^52, so clamping
//   changes no outcome, and every member decodes the same clamped number)
//
// Enum numbers are etcd's protobuf numbers. Decoding is canonical: fields at their default
// (0, false, empty range end) are left out, and a compare carries only its target's operand.
// Decoded Buffers are slices of the input: whoever keeps one must copy it (the store does).

import { IntegrityError } from '../errors.js';
import type {
  Compare,
  CompareResult,
  CompareTarget,
  KvRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
} from './requests.js';

const FORMAT = 1;
const KIND = { range: 1, put: 2, deleteRange: 3, txn: 4, compaction: 5 } as const;
const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];
/** The largest magnitude an svarint carries (its zigzag stays a safe integer). */
const MAX_SIGNED = 2 ** 52 - 1;

/** Nesting deeper than this is refused: etcd's own limit is far lower in practice, and it bounds recursion. */
const MAX_DEPTH = 64;

/** A request with the id the server uses to find the client waiting for it. */
export interface EncodedRequest {
  readonly requestId: bigint;
  readonly request: KvRequest;
}

/** The position of value in table, refusing values the format cannot carry. */
function code<T>(table: readonly T[], value: T): number {
  const i = table.indexOf(value);
  if (i < 0) throw new RangeError(`cannot encode ${String(value)}`);
  return i;
}

/**
 * Writes into memory of its own, never Node's shared 8 KiB pool: an encoded request lives on in
 * the raft log until compaction, and a pool slice would keep its whole slab alive, along with the
 * request's transient neighbours there (decoded base64, response bits): measured as the leader's
 * log costing about twice a follower's.
 */
class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot encode ${v}: not a non-negative safe integer`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  svarint(v: number): void {
    let n = Number.isNaN(v) ? 0 : Math.trunc(v);
    if (n > MAX_SIGNED) n = MAX_SIGNED;
    else if (n < -MAX_SIGNED) n = -MAX_SIGNED;
    this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  bytes(b: Uint8Array | undefined): void {
    const n = b ? b.length : 0;
    this.uvarint(n);
    if (n === 0) return;
    this.ensure(n);
    this.buf.set(b!, this.pos);
    this.pos += n;
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  fail(what: string): never {
    throw new IntegrityError(`raft entry is not a valid KV request: ${what} at byte ${this.pos}`, 'the log entry is corrupt; restore the member from a snapshot');
  }
  u8(): number {
    if (this.pos >= this.buf.length) this.fail('truncated');
    return this.buf[this.pos++]!;
  }
  uvarint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) this.fail('varint too long');
    }
    if (!Number.isSafeInteger(v)) this.fail('integer out of range');
    return v;
  }
  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  bytes(): Buffer {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) this.fail('truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u64(): bigint {
    if (this.pos + 8 > this.buf.length) this.fail('truncated');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  pick<T>(table: readonly T[], what: string): T {
    const i = this.u8();
    if (i >= table.length) this.fail(`unknown ${what} ${i}`);
    return table[i]!;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

function estimate(r: KvRequest): number {
  if (r.kind === 'put') return 32 + r.key.length + r.value.length;
  return 256;
}

/** Encodes a request (normally a write; a range is accepted too) with its request id. */
export function encodeRequest(requestId: bigint, request: KvRequest): Buffer {
  const w = new Writer(estimate(request));
  w.u8(FORMAT);
  w.ensure(8);
  w.buf.writeBigUInt64BE(requestId, w.pos);
  w.pos += 8;
  writeOp(w, request, 0);
  // Slack past 64 bytes (a generous estimate, or a doubling) is trimmed: the log keeps only the bytes.
  if (w.buf.length - w.pos > 64) return copyExact(w.buf, w.pos);
  return w.buf.subarray(0, w.pos);
}

function copyExact(buf: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  buf.copy(out, 0, 0, length);
  return out;
}

/** Decodes what encodeRequest wrote; throws IntegrityError on anything malformed. */
export function decodeRequest(data: Uint8Array): EncodedRequest {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const r = new Reader(buf);
  const format = r.u8();
  if (format !== FORMAT) r.fail(`unknown format ${format}`);
  const requestId = r.u64();
  const request = readOp(r, 0, true) as KvRequest;
  if (!r.done) r.fail('trailing bytes');
  return { requestId, request };
}

function writeOp(w: Writer, op: KvRequest, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('txn nesting too deep');
  switch (op.kind) {
    case 'put':
      w.u8(KIND.put);
      w.u8((op.prevKv ? 1 : 0) | (op.ignoreValue ? 2 : 0) | (op.ignoreLease ? 4 : 0));
      w.svarint(op.lease ?? 0);
      w.bytes(op.key);
      w.bytes(op.value);
      return;
    case 'deleteRange':
      w.u8(KIND.deleteRange);
      w.u8(op.prevKv ? 1 : 0);
      w.bytes(op.key);
      w.bytes(op.rangeEnd);
      return;
    case 'range':
      w.u8(KIND.range);
      w.u8((op.serializable ? 1 : 0) | (op.keysOnly ? 2 : 0) | (op.countOnly ? 4 : 0));
      w.u8(code(SORT_ORDERS, op.sortOrder ?? 'NONE'));
      w.u8(code(SORT_TARGETS, op.sortTarget ?? 'KEY'));
      w.bytes(op.key);
      w.bytes(op.rangeEnd);
      w.svarint(op.limit ?? 0);
      w.svarint(op.revision ?? 0);
      w.svarint(op.minModRevision ?? 0);
      w.svarint(op.maxModRevision ?? 0);
      w.svarint(op.minCreateRevision ?? 0);
      w.svarint(op.maxCreateRevision ?? 0);
      return;
    case 'txn':
      w.u8(KIND.txn);
      w.uvarint(op.compare.length);
      for (const c of op.compare) writeCompare(w, c);
      w.uvarint(op.success.length);
      for (const o of op.success) writeOp(w, o, depth + 1);
      w.uvarint(op.failure.length);
      for (const o of op.failure) writeOp(w, o, depth + 1);
      return;
    case 'compaction':
      w.u8(KIND.compaction);
      w.u8(op.physical ? 1 : 0);
      w.svarint(op.revision);
      return;
  }
}

function writeCompare(w: Writer, c: Compare): void {
  w.u8(code(COMPARE_TARGETS, c.target));
  w.u8(code(COMPARE_RESULTS, c.result));
  w.bytes(c.key);
  w.bytes(c.rangeEnd);
  switch (c.target) {
    case 'VALUE':
      return w.bytes(c.value);
    case 'VERSION':
      return w.svarint(c.version ?? 0);
    case 'CREATE':
      return w.svarint(c.createRevision ?? 0);
    case 'MOD':
      return w.svarint(c.modRevision ?? 0);
    case 'LEASE':
      return w.svarint(c.lease ?? 0);
  }
}

function readOp(r: Reader, depth: number, topLevel: boolean): KvRequest | RequestOp {
  if (depth > MAX_DEPTH) r.fail('txn nesting too deep');
  const kind = r.u8();
  switch (kind) {
    case KIND.put: {
      const flags = r.u8();
      const lease = r.svarint();
      const key = r.bytes();
      const value = r.bytes();
      return {
        kind: 'put',
        key,
        value,
        ...(lease ? { lease } : {}),
        ...(flags & 1 ? { prevKv: true } : {}),
        ...(flags & 2 ? { ignoreValue: true } : {}),
        ...(flags & 4 ? { ignoreLease: true } : {}),
      };
    }
    case KIND.deleteRange: {
      const flags = r.u8();
      const key = r.bytes();
      const rangeEnd = r.bytes();
      return { kind: 'deleteRange', key, ...(rangeEnd.length ? { rangeEnd } : {}), ...(flags & 1 ? { prevKv: true } : {}) };
    }
    case KIND.range:
      return readRange(r);
    case KIND.txn: {
      const compare: Compare[] = [];
      for (let n = r.uvarint(); n > 0; n--) compare.push(readCompare(r));
      const success: RequestOp[] = [];
      for (let n = r.uvarint(); n > 0; n--) success.push(readOp(r, depth + 1, false) as RequestOp);
      const failure: RequestOp[] = [];
      for (let n = r.uvarint(); n > 0; n--) failure.push(readOp(r, depth + 1, false) as RequestOp);
      return { kind: 'txn', compare, success, failure };
    }
    case KIND.compaction: {
      if (!topLevel) r.fail('compaction inside a txn');
      const flags = r.u8();
      const revision = r.svarint();
      return { kind: 'compaction', revision, ...(flags & 1 ? { physical: true } : {}) };
    }
    default:
      return r.fail(`unknown request kind ${kind}`);
  }
}

function readRange(r: Reader): RangeRequest {
  const flags = r.u8();
  const sortOrder = r.pick(SORT_ORDERS, 'sort order');
  const sortTarget = r.pick(SORT_TARGETS, 'sort target');
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const limit = r.svarint();
  const revision = r.svarint();
  const minModRevision = r.svarint();
  const maxModRevision = r.svarint();
  const minCreateRevision = r.svarint();
  const maxCreateRevision = r.svarint();
  return {
    kind: 'range',
    key,
    ...(rangeEnd.length ? { rangeEnd } : {}),
    ...(limit ? { limit } : {}),
    ...(revision ? { revision } : {}),
    ...(sortOrder !== 'NONE' ? { sortOrder } : {}),
    ...(sortTarget !== 'KEY' ? { sortTarget } : {}),
    ...(flags & 1 ? { serializable: true } : {}),
    ...(flags & 2 ? { keysOnly: true } : {}),
    ...(flags & 4 ? { countOnly: true } : {}),
    ...(minModRevision ? { minModRevision } : {}),
    ...(maxModRevision ? { maxModRevision } : {}),
    ...(minCreateRevision ? { minCreateRevision } : {}),
    ...(maxCreateRevision ? { maxCreateRevision } : {}),
  };
}

function readCompare(r: Reader): Compare {
  const target = r.pick(COMPARE_TARGETS, 'compare target');
  const result = r.pick(COMPARE_RESULTS, 'compare result');
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const base = { target, result, key, ...(rangeEnd.length ? { rangeEnd } : {}) };
  switch (target) {
    case 'VALUE':
      return { ...base, value: r.bytes() };
    case 'VERSION':
      return { ...base, version: r.svarint() };
    case 'CREATE':
      return { ...base, createRevision: r.svarint() };
    case 'MOD':
      return { ...base, modRevision: r.svarint() };
    case 'LEASE':
      return { ...base, lease: r.svarint() };
  }
}
