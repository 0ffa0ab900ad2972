import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { prng } from './helpers.js';

test('200,000 keys inserted in random order come back in byte order with the right count and hash', () => {
  const n = 200_000;
  const rnd = prng(99);
  const keys = Array.from({ length: n }, (_, i) => Buffer.from(`/registry/pods/ns-${i % 1000}/pod-${i}`));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const value = Buffer.alloc(64, 0x61);
  const s = new MvccStore();
  for (const key of keys) s.put({ kind: 'put', key, value });
  assert.equal(s.revision, n + 1);
  assert.equal(s.stats().keyCount, n);

  const view = s.openReadView();
  let count = 0;
  let last: Buffer | null = null;
  const records = [];
  for (let batch = view.next(8192); batch.length > 0; batch = view.next(8192)) {
    for (const r of batch) {
      if (last) assert.ok(Buffer.compare(last, r.key) < 0, 'keys must come in strictly ascending byte order');
      last = r.key;
      count++;
      records.push(r);
    }
  }
  view.close();
  assert.equal(count, n);

  const rebuilt = MvccStore.fromRecordsSync(records, { revision: s.revision });
  assert.equal(rebuilt.hashKV().hash, s.hashKV().hash);
  for (let i = 0; i < 1000; i++) {
    const key = keys[Math.floor(rnd() * n)]!;
    assert.equal(rebuilt.range({ kind: 'range', key }).count, 1);
  }
  const prefix = s.range({ kind: 'range', key: Buffer.from('/registry/pods/ns-7/'), rangeEnd: Buffer.from('/registry/pods/ns-70') });
  assert.equal(prefix.count, 200);
});
