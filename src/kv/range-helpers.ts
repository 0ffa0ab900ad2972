// Range results (limit, filters, sorting) and txn compares, as etcd 3.4 computes them.

import type { KeyValueRecord } from './record.js';
import type { Compare, RangeRequest, RangeResponse, SortOrder, SortTarget } from './requests.js';
import { recordOf, type Version } from './version-chain.js';

const EMPTY = Buffer.alloc(0);

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compares one version (null: the key does not exist) with the compare's operand; returns -1, 0 or 1. */
function compareOne(c: Compare, v: Version | null): number {
  switch (c.target) {
    case 'VALUE':
      return Buffer.compare(v?.value ?? EMPTY, c.value ?? EMPTY);
    case 'VERSION':
      return sign((v?.version ?? 0) - (c.version ?? 0));
    case 'CREATE':
      return sign((v?.create ?? 0) - (c.createRevision ?? 0));
    case 'MOD':
      return sign((v?.mod ?? 0) - (c.modRevision ?? 0));
    case 'LEASE':
      // No leases: every key is attached to lease 0.
      return sign(0 - (c.lease ?? 0));
  }
}

function holds(c: Compare, cmp: number): boolean {
  switch (c.result) {
    case 'EQUAL':
      return cmp === 0;
    case 'NOT_EQUAL':
      return cmp !== 0;
    case 'GREATER':
      return cmp > 0;
    case 'LESS':
      return cmp < 0;
  }
}

/**
 * Whether a compare holds over the live versions its key or range selects: it must hold for
 * each of them. With none, a VALUE compare fails (a missing value cannot be represented) and
 * the others compare against zero, so `version EQUAL 0` tests that a key does not exist.
 */
export function compareMatches(c: Compare, found: readonly Version[]): boolean {
  if (found.length === 0) return c.target === 'VALUE' ? false : holds(c, compareOne(c, null));
  for (const v of found) if (!holds(c, compareOne(c, v))) return false;
  return true;
}

function targetCompare(target: SortTarget): (a: KeyValueRecord, b: KeyValueRecord) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => Buffer.compare(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => Buffer.compare(a.value, b.value);
  }
}

/**
 * Sorts records already in ascending key order. As etcd, a non-key target with order NONE
 * sorts ascending; ties keep key order.
 */
export function sortRecords(records: KeyValueRecord[], order: SortOrder, target: SortTarget): KeyValueRecord[] {
  const effective = order === 'NONE' && target !== 'KEY' ? 'ASCEND' : order;
  if (effective === 'NONE' || (effective === 'ASCEND' && target === 'KEY')) return records;
  const cmp = targetCompare(target);
  const sorted = records.slice();
  sorted.sort(effective === 'ASCEND' ? cmp : (a, b) => cmp(b, a));
  return sorted;
}

/**
 * Builds a range response from the live (key, version) pairs scan visits in key order: as etcd
 * 3.4, count covers the whole range, and a sort or a filter reads everything before limiting.
 */
export function collectRange(
  r: RangeRequest,
  scan: (visit: (k: string, v: Version) => boolean) => void,
  headerRevision: number,
): RangeResponse {
  const limit = r.limit && r.limit > 0 ? r.limit : 0;
  const filtered =
    (r.minModRevision ?? 0) !== 0 ||
    (r.maxModRevision ?? 0) !== 0 ||
    (r.minCreateRevision ?? 0) !== 0 ||
    (r.maxCreateRevision ?? 0) !== 0;
  const sortOrder = r.sortOrder ?? 'NONE';
  // As etcd 3.4: a sort or a filter reads everything, then filters, sorts and truncates.
  const fetchAll = sortOrder !== 'NONE' || filtered;
  let count = 0;
  const kvs: KeyValueRecord[] = [];
  scan((k, v) => {
    count++;
    // Values are stripped for keysOnly only at the end: a sort by value still sees them, as in etcd.
    if (!r.countOnly && (fetchAll || limit === 0 || kvs.length <= limit)) kvs.push(recordOf(k, v, r.keysOnly && r.sortTarget !== 'VALUE'));
    return true;
  });
  if (r.countOnly) return { kind: 'range', revision: headerRevision, kvs: [], more: false, count };
  let out = kvs;
  if (filtered) {
    out = out.filter(
      (kv) =>
        (!r.minModRevision || kv.modRevision >= r.minModRevision) &&
        (!r.maxModRevision || kv.modRevision <= r.maxModRevision) &&
        (!r.minCreateRevision || kv.createRevision >= r.minCreateRevision) &&
        (!r.maxCreateRevision || kv.createRevision <= r.maxCreateRevision),
    );
  }
  out = sortRecords(out, sortOrder, r.sortTarget ?? 'KEY');
  let more = false;
  if (limit > 0 && out.length > limit) {
    out = out.slice(0, limit);
    more = true;
  }
  if (r.keysOnly && r.sortTarget === 'VALUE') out = out.map((kv) => ({ ...kv, value: EMPTY }));
  return { kind: 'range', revision: headerRevision, kvs: out, more, count };
}
