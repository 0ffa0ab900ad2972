// Static checks of a request, before it is proposed and again before it is applied:
// the same rules etcd 3.4 applies in its API layer, so a bad request is refused the same way.

import {
  DuplicateKeyError,
  EmptyKeyError,
  LeaseNotFoundError,
  LeaseProvidedError,
  TooManyOpsError,
  ValueProvidedError,
} from './kv-errors.js';
import { inRange, indexKey, resolveRange, type ResolvedRange } from './key-range.js';
import type { DeleteRangeRequest, KvRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './requests.js';

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

/** Throws the typed error etcd would send for a malformed request; returns nothing when it is well formed. */
export function validateRequest(request: KvRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS): void {
  switch (request.kind) {
    case 'range':
      return checkRange(request);
    case 'put':
      return checkPut(request);
    case 'deleteRange':
      return checkDelete(request);
    case 'txn':
      return checkTxn(request, maxTxnOps);
    case 'compaction':
      return;
  }
}

function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw new EmptyKeyError();
}

function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw new EmptyKeyError();
  if (r.ignoreValue && r.value.length > 0) throw new ValueProvidedError();
  if (r.ignoreLease && (r.lease ?? 0) !== 0) throw new LeaseProvidedError();
  if ((r.lease ?? 0) !== 0) throw new LeaseNotFoundError();
}

function checkDelete(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new EmptyKeyError();
}

function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  if (r.compare.length > maxTxnOps || r.success.length > maxTxnOps || r.failure.length > maxTxnOps) {
    throw new TooManyOpsError();
  }
  for (const c of r.compare) if (c.key.length === 0) throw new EmptyKeyError();
  for (const op of r.success) checkOp(op, maxTxnOps);
  for (const op of r.failure) checkOp(op, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  if (op.kind === 'txn') checkTxn(op, maxTxnOps);
  else validateRequest(op, maxTxnOps);
}

interface Writes {
  readonly puts: Set<string>;
  readonly dels: ResolvedRange[];
}

function deleted(dels: readonly ResolvedRange[], k: string): boolean {
  for (const d of dels) if (inRange(d, k)) return true;
  return false;
}

/**
 * Refuses a branch that writes one key twice: two puts of a key, or a put inside a range the
 * same branch deletes, looking into nested txns (whose two branches may put the same key,
 * since only one of them runs). Overlapping deletes are allowed, as in etcd.
 */
function checkIntervals(ops: readonly RequestOp[]): Writes {
  const dels: ResolvedRange[] = [];
  for (const op of ops) if (op.kind === 'deleteRange') dels.push(resolveRange(op.key, op.rangeEnd));
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'txn') continue;
    const then = checkIntervals(op.success);
    const otherwise = checkIntervals(op.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(dels, k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new DuplicateKeyError();
      if (deleted(dels, k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    const k = indexKey(op.key);
    if (puts.has(k) || deleted(dels, k)) throw new DuplicateKeyError();
    puts.add(k);
  }
  return { puts, dels };
}
