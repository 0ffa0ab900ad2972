import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { CompactedError, FutureRevisionError } from '../../src/kv/kv-errors.js';
import { b, del, get, plain, put } from './helpers.js';

test('compacting to a revision at or below the compact revision fails as compacted', () => {
  const s = new MvccStore();
  for (let i = 0; i < 5; i++) put(s, 'k', String(i)); // revisions 2..6
  s.compact({ kind: 'compaction', revision: 0 }); // etcd accepts 0 once: a fresh store's compact revision is -1
  assert.throws(() => s.compact({ kind: 'compaction', revision: 0 }), CompactedError);
  s.compact({ kind: 'compaction', revision: 4 });
  assert.throws(() => s.compact({ kind: 'compaction', revision: 4 }), CompactedError);
  assert.throws(() => s.compact({ kind: 'compaction', revision: 3 }), CompactedError);
  assert.equal(s.compactRevision, 4);
});

test('compacting beyond the current revision fails as a future revision', () => {
  const s = new MvccStore();
  put(s, 'k', 'v');
  assert.throws(() => s.compact({ kind: 'compaction', revision: 3 }), FutureRevisionError);
  assert.doesNotThrow(() => s.compact({ kind: 'compaction', revision: 2 }), 'the current revision itself can be compacted');
});

test('compaction does not change the revision or the live state', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  put(s, 'a', '2');
  put(s, 'b', '1');
  del(s, 'b');
  put(s, 'c', '1');
  const before = plain(get(s, '\0', { rangeEnd: b('\0') }).kvs);
  const hash = s.hashKV().hash;
  const r = s.compact({ kind: 'compaction', revision: s.revision });
  assert.equal(r.revision, 6);
  assert.equal(s.revision, 6);
  assert.deepEqual(plain(get(s, '\0', { rangeEnd: b('\0') }).kvs), before);
  assert.equal(s.hashKV().hash, hash);
});

test('compaction frees the history of overwritten and deleted keys', () => {
  const s = new MvccStore();
  const big = 'x'.repeat(10_000);
  for (let i = 0; i < 20; i++) put(s, 'hot', big + i);
  put(s, 'gone', big);
  del(s, 'gone');
  const before = s.stats().dbSize;
  s.compact({ kind: 'compaction', revision: s.revision });
  const after = s.stats().dbSize;
  assert.ok(after < before / 5, `dbSize should drop well below ${before}, got ${after}`);
  assert.equal(s.stats().keyCount, 1);
  assert.deepEqual(plain(get(s, 'hot').kvs).map((r) => r.slice(2)), [[2, 21, 20]]);
});

test('reads between the compact revision and now still see history kept above it', () => {
  const s = new MvccStore();
  put(s, 'k', 'a'); // 2
  put(s, 'k', 'b'); // 3
  del(s, 'k'); // 4
  put(s, 'k', 'c'); // 5
  put(s, 'k', 'd'); // 6
  s.compact({ kind: 'compaction', revision: 4 });
  assert.equal(get(s, 'k', { revision: 4 }).count, 0, 'deleted at the compact revision');
  assert.deepEqual(plain(get(s, 'k', { revision: 5 }).kvs), [['k', 'c', 5, 5, 1]]);
  s.compact({ kind: 'compaction', revision: 5 });
  assert.deepEqual(plain(get(s, 'k', { revision: 5 }).kvs), [['k', 'c', 5, 5, 1]]);
  assert.throws(() => get(s, 'k', { revision: 4 }), CompactedError);
});

test('a key deleted before the compact revision disappears, and putting it again starts fresh', () => {
  const s = new MvccStore();
  put(s, 'k', 'a'); // 2
  del(s, 'k'); // 3
  put(s, 'other', 'x'); // 4
  s.compact({ kind: 'compaction', revision: 4 });
  assert.equal(get(s, 'k', { rangeEnd: b('\0') }).kvs.map((kv) => kv.key.toString()).join(), 'other');
  put(s, 'k', 'b'); // 5
  assert.deepEqual(plain(get(s, 'k').kvs), [['k', 'b', 5, 5, 1]]);
});

test('a large compaction finishes in steps carried by later writes, and reads stay right meanwhile', () => {
  const s = new MvccStore();
  const n = 20_000;
  const key = (i: number) => `k/${String(i).padStart(6, '0')}`;
  for (let i = 0; i < n; i++) put(s, key(i), 'old');
  for (let i = 0; i < n; i++) put(s, key(i), 'new');
  const full = s.stats().dbSize;
  s.compact({ kind: 'compaction', revision: s.revision });
  assert.equal(s.compacting, true, 'more keys than one step holds');
  const partial = s.stats().dbSize;
  assert.ok(partial < full, 'the first step already freed some history');
  const view = s.openReadView();
  let writes = 0;
  while (s.compacting) {
    put(s, `w/${writes++}`, 'x');
    assert.ok(writes < n, 'writes must carry the compaction to its end');
  }
  assert.ok(s.stats().dbSize < partial);
  assert.equal(get(s, key(123)).kvs[0]!.value.toString(), 'new');
  assert.equal(view.count, n);
  const records = view.next(n + 10);
  assert.equal(records.length, n);
  assert.ok(records.every((r) => r.value.toString() === 'new' && r.version === 2));
  view.close();
  assert.equal(s.compactStep(), true, 'nothing is left to do');
});
