// Small builders shared by the kv tests.
import { MvccStore } from '../../src/kv/mvcc-store.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import type { RangeRequest } from '../../src/kv/requests.js';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export function put(store: MvccStore, key: string, value: string, extra: { prevKv?: boolean } = {}) {
  return store.put({ kind: 'put', key: b(key), value: b(value), ...extra });
}

export function del(store: MvccStore, key: string, rangeEnd?: string, prevKv = false) {
  return store.deleteRange({ kind: 'deleteRange', key: b(key), ...(rangeEnd !== undefined ? { rangeEnd: b(rangeEnd) } : {}), prevKv });
}

export function get(store: MvccStore, key: string, opts: Partial<Omit<RangeRequest, 'kind' | 'key'>> = {}) {
  return store.range({ kind: 'range', key: b(key), ...opts });
}

/** Records as plain tuples, for readable deepEqual assertions. */
export function plain(kvs: readonly KeyValueRecord[]): [string, string, number, number, number][] {
  return kvs.map((kv) => [kv.key.toString('latin1'), kv.value.toString('latin1'), kv.createRevision, kv.modRevision, kv.version]);
}

/** A seeded PRNG (mulberry32) so every random test replays from its seed. */
export { mulberry32 as prng } from '../../src/storage/faulty-file-system.js';
