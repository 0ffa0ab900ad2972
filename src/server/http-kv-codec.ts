// etcd 3.4 gateway JSON <-> the KV store's request and response types. Field names, their order
// and what is omitted follow what etcd's gateway answers (jsonpb with proto names, defaults
// omitted): zero integers, false booleans, empty bytes and empty lists do not appear.
import type { KeyValueRecord } from '../kv/record.js';
import type {
  Compare,
  CompactionRequest,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from '../kv/requests.js';
import { RequestTooLargeError } from './server-errors.js';
import { BadRequestError, MessageSchema, bool, bytes, enumValue, int64, list, type Fields } from './http-json.js';

/** Counts the payload bytes of one request, to refuse what etcd would call too large before it reaches raft. */
export interface DecodeBudget {
  bytes: number;
  readonly max: number;
}

const RANGE = new MessageSchema('etcdserverpb.RangeRequest', [
  'key', 'range_end', 'limit', 'revision', 'sort_order', 'sort_target', 'serializable', 'keys_only', 'count_only',
  'min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision',
]);
const PUT = new MessageSchema('etcdserverpb.PutRequest', ['key', 'value', 'lease', 'prev_kv', 'ignore_value', 'ignore_lease']);
const DELETE = new MessageSchema('etcdserverpb.DeleteRangeRequest', ['key', 'range_end', 'prev_kv']);
const TXN = new MessageSchema('etcdserverpb.TxnRequest', ['compare', 'success', 'failure']);
const OP = new MessageSchema('etcdserverpb.RequestOp', ['request_range', 'request_put', 'request_delete_range', 'request_txn']);
const COMPARE = new MessageSchema('etcdserverpb.Compare', [
  'result', 'target', 'key', 'version', 'create_revision', 'mod_revision', 'value', 'lease', 'range_end',
]);
const COMPACTION = new MessageSchema('etcdserverpb.CompactionRequest', ['revision', 'physical']);

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];

function counted(budget: DecodeBudget, buffer: Buffer): Buffer {
  budget.bytes += buffer.length;
  if (budget.bytes > budget.max) throw new RequestTooLargeError();
  return buffer;
}

/** Decodes a RangeRequest body. */
export function decodeRange(body: unknown, budget: DecodeBudget): RangeRequest {
  const f = RANGE.read(body);
  const request: { -readonly [K in keyof RangeRequest]: RangeRequest[K] } = {
    kind: 'range',
    key: counted(budget, bytes(f, 'key')),
  };
  // Only set what was given: the store and the request codec treat absent as default.
  if (f.range_end !== undefined) request.rangeEnd = counted(budget, bytes(f, 'range_end'));
  if (f.limit !== undefined) request.limit = int64(f, 'limit');
  if (f.revision !== undefined) request.revision = int64(f, 'revision');
  if (f.sort_order !== undefined) request.sortOrder = enumValue(f, 'sort_order', SORT_ORDERS, 'etcdserverpb.RangeRequest_SortOrder');
  if (f.sort_target !== undefined) request.sortTarget = enumValue(f, 'sort_target', SORT_TARGETS, 'etcdserverpb.RangeRequest_SortTarget');
  if (f.serializable !== undefined) request.serializable = bool(f, 'serializable');
  if (f.keys_only !== undefined) request.keysOnly = bool(f, 'keys_only');
  if (f.count_only !== undefined) request.countOnly = bool(f, 'count_only');
  if (f.min_mod_revision !== undefined) request.minModRevision = int64(f, 'min_mod_revision');
  if (f.max_mod_revision !== undefined) request.maxModRevision = int64(f, 'max_mod_revision');
  if (f.min_create_revision !== undefined) request.minCreateRevision = int64(f, 'min_create_revision');
  if (f.max_create_revision !== undefined) request.maxCreateRevision = int64(f, 'max_create_revision');
  return request;
}

/** Decodes a PutRequest body. */
export function decodePut(body: unknown, budget: DecodeBudget): PutRequest {
  const f = PUT.read(body);
  const request: { -readonly [K in keyof PutRequest]: PutRequest[K] } = {
    kind: 'put',
    key: counted(budget, bytes(f, 'key')),
    value: counted(budget, bytes(f, 'value')),
  };
  if (f.lease !== undefined) request.lease = int64(f, 'lease');
  if (f.prev_kv !== undefined) request.prevKv = bool(f, 'prev_kv');
  if (f.ignore_value !== undefined) request.ignoreValue = bool(f, 'ignore_value');
  if (f.ignore_lease !== undefined) request.ignoreLease = bool(f, 'ignore_lease');
  return request;
}

/** Decodes a DeleteRangeRequest body. */
export function decodeDeleteRange(body: unknown, budget: DecodeBudget): DeleteRangeRequest {
  const f = DELETE.read(body);
  const request: { -readonly [K in keyof DeleteRangeRequest]: DeleteRangeRequest[K] } = {
    kind: 'deleteRange',
    key: counted(budget, bytes(f, 'key')),
  };
  if (f.range_end !== undefined) request.rangeEnd = counted(budget, bytes(f, 'range_end'));
  if (f.prev_kv !== undefined) request.prevKv = bool(f, 'prev_kv');
  return request;
}

/** Decodes a TxnRequest body (nested txns included). */
export function decodeTxn(body: unknown, budget: DecodeBudget): TxnRequest {
  const f = TXN.read(body);
  return {
    kind: 'txn',
    compare: list(f, 'compare').map((c) => decodeCompare(c, budget)),
    success: list(f, 'success').map((op) => decodeOp(op, budget)),
    failure: list(f, 'failure').map((op) => decodeOp(op, budget)),
  };
}

function decodeCompare(body: unknown, budget: DecodeBudget): Compare {
  const f = COMPARE.read(body);
  const compare: { -readonly [K in keyof Compare]: Compare[K] } = {
    result: enumValue(f, 'result', COMPARE_RESULTS, 'etcdserverpb.Compare_CompareResult'),
    target: enumValue(f, 'target', COMPARE_TARGETS, 'etcdserverpb.Compare_CompareTarget'),
    key: counted(budget, bytes(f, 'key')),
  };
  if (f.range_end !== undefined) compare.rangeEnd = counted(budget, bytes(f, 'range_end'));
  if (f.version !== undefined) compare.version = int64(f, 'version');
  if (f.create_revision !== undefined) compare.createRevision = int64(f, 'create_revision');
  if (f.mod_revision !== undefined) compare.modRevision = int64(f, 'mod_revision');
  if (f.value !== undefined) compare.value = counted(budget, bytes(f, 'value'));
  if (f.lease !== undefined) compare.lease = int64(f, 'lease');
  return compare;
}

function decodeOp(body: unknown, budget: DecodeBudget): RequestOp {
  const f: Fields = OP.read(body);
  // A oneof: the first one given wins, as in jsonpb; none at all is an empty range (rejected by the store).
  if (f.request_range !== undefined) return decodeRange(f.request_range, budget);
  if (f.request_put !== undefined) return decodePut(f.request_put, budget);
  if (f.request_delete_range !== undefined) return decodeDeleteRange(f.request_delete_range, budget);
  if (f.request_txn !== undefined) return decodeTxn(f.request_txn, budget);
  throw new BadRequestError('etcdserver: key is not provided');
}

/** Decodes a CompactionRequest body. */
export function decodeCompaction(body: unknown): CompactionRequest {
  const f = COMPACTION.read(body);
  const request: { -readonly [K in keyof CompactionRequest]: CompactionRequest[K] } = {
    kind: 'compaction',
    revision: int64(f, 'revision'),
  };
  if (f.physical !== undefined) request.physical = bool(f, 'physical');
  return request;
}

/** True when a txn only reads (then it is served as a read, not proposed through raft). */
export function isReadOnlyTxn(txn: TxnRequest): boolean {
  const readOnly = (op: RequestOp): boolean => op.kind === 'range' || (op.kind === 'txn' && isReadOnlyTxn(op));
  return txn.success.every(readOnly) && txn.failure.every(readOnly);
}

/** A read-only txn is serializable only when every range in it asks to be, as in etcd. */
export function isSerializableTxn(txn: TxnRequest): boolean {
  const serializable = (op: RequestOp): boolean =>
    op.kind === 'range' ? op.serializable === true : op.kind === 'txn' ? isSerializableTxn(op) : false;
  const ops = [...txn.success, ...txn.failure];
  return ops.length > 0 && ops.every(serializable);
}

// ---- responses: plain objects in etcd's field order, ready for JSON.stringify ----

type Json = Record<string, unknown>;

/** etcd's mvccpb.KeyValue: zero fields omitted (an empty value has no `value`). */
export function encodeKeyValue(kv: KeyValueRecord): Json {
  const out: Json = { key: kv.key.toString('base64') };
  if (kv.createRevision !== 0) out.create_revision = String(kv.createRevision);
  if (kv.modRevision !== 0) out.mod_revision = String(kv.modRevision);
  if (kv.version !== 0) out.version = String(kv.version);
  if (kv.value.length !== 0) out.value = kv.value.toString('base64');
  return out;
}

/** Range response body (without the header, which the caller puts first). */
export function encodeRangeBody(out: Json, response: RangeResponse): Json {
  if (response.kvs.length !== 0) out.kvs = response.kvs.map(encodeKeyValue);
  if (response.more) out.more = true;
  if (response.count !== 0) out.count = String(response.count);
  return out;
}

/** Put response body. */
export function encodePutBody(out: Json, response: PutResponse): Json {
  if (response.prevKv) out.prev_kv = encodeKeyValue(response.prevKv);
  return out;
}

/** Delete range response body. */
export function encodeDeleteRangeBody(out: Json, response: DeleteRangeResponse): Json {
  if (response.deleted !== 0) out.deleted = String(response.deleted);
  if (response.prevKvs && response.prevKvs.length !== 0) out.prev_kvs = response.prevKvs.map(encodeKeyValue);
  return out;
}

/** Txn response body; nested responses carry a header with only the revision, as etcd's do. */
export function encodeTxnBody(out: Json, response: TxnResponse): Json {
  if (response.succeeded) out.succeeded = true;
  if (response.responses.length !== 0) out.responses = response.responses.map(encodeResponseOp);
  return out;
}

function encodeResponseOp(op: ResponseOp): Json {
  const header = op.revision !== 0 ? { header: { revision: String(op.revision) } } : { header: {} };
  switch (op.kind) {
    case 'range':
      return { response_range: encodeRangeBody({ ...header }, op) };
    case 'put':
      return { response_put: encodePutBody({ ...header }, op) };
    case 'deleteRange':
      return { response_delete_range: encodeDeleteRangeBody({ ...header }, op) };
    case 'txn':
      // etcd 3.4 leaves a nested txn's header empty (only range/put/delete responses get the revision).
      return { response_txn: encodeTxnBody({ header: {} }, op) };
  }
}
