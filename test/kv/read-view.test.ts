import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { CompactedError, FutureRevisionError } from '../../src/kv/kv-errors.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { b, del, get, plain, put } from './helpers.js';

function fill(s: MvccStore, n: number, tag: string): void {
  for (let i = 0; i < n; i++) put(s, `key/${String(i).padStart(5, '0')}`, `${tag}-${i}`);
}

test('a read view returns the live records of its revision in key order, in batches', () => {
  const s = new MvccStore();
  fill(s, 50, 'v');
  del(s, 'key/00010');
  const view = s.openReadView();
  assert.equal(view.revision, s.revision);
  assert.equal(view.count, 49);
  const seen: KeyValueRecord[] = [];
  for (let batch = view.next(7); batch.length > 0; batch = view.next(7)) seen.push(...batch);
  view.close();
  assert.equal(seen.length, 49);
  assert.deepEqual(plain(seen), plain(get(s, '\0', { rangeEnd: b('\0') }).kvs));
});

test('a read view stays consistent while writes, deletes and compactions continue', () => {
  const s = new MvccStore();
  fill(s, 300, 'old');
  const expected = plain(get(s, '\0', { rangeEnd: b('\0') }).kvs);
  const expectedHash = s.hashKV().hash;
  const view = s.openReadView();
  const seen: KeyValueRecord[] = [];
  let round = 0;
  for (let batch = view.next(16); batch.length > 0; batch = view.next(16)) {
    seen.push(...batch);
    // Between batches: overwrite, delete, insert new keys before and after the cursor, and compact.
    round++;
    put(s, `key/${String((round * 37) % 300).padStart(5, '0')}`, `new-${round}`);
    del(s, `key/${String((round * 53) % 300).padStart(5, '0')}`);
    put(s, `key/${String(round).padStart(5, '0')}x`, 'inserted');
    put(s, `a-before-everything-${round}`, 'x');
    s.compact({ kind: 'compaction', revision: s.revision });
  }
  assert.equal(view.count, 300);
  view.close();
  assert.deepEqual(plain(seen), expected);
  assert.notEqual(s.hashKV().hash, expectedHash, 'the store itself did move on');
});

test('history an open view needs survives compaction until the view closes', () => {
  const s = new MvccStore();
  put(s, 'k', 'v1'); // 2
  const view = s.openReadView(); // pins 2
  put(s, 'k', 'v2'); // 3
  del(s, 'k'); // 4
  s.compact({ kind: 'compaction', revision: 4 });
  assert.throws(() => get(s, 'k', { revision: 2 }), CompactedError, 'ordinary reads follow the compact revision');
  const sizeWhilePinned = s.stats().dbSize;
  assert.deepEqual(plain(view.next()), [['k', 'v1', 2, 2, 1]]);
  view.close();
  assert.ok(s.stats().dbSize < sizeWhilePinned, 'closing the view lets compaction drop the pinned history');
  assert.equal(s.stats().dbSize, 0);
});

test('async iteration over a view yields every record and closes the view', async () => {
  const s = new MvccStore();
  fill(s, 2500, 'v');
  const view = s.openReadView();
  let n = 0;
  let last = '';
  for await (const r of view) {
    const k = r.key.toString('latin1');
    assert.ok(k > last);
    last = k;
    n++;
  }
  assert.equal(n, 2500);
  assert.equal(view.isClosed, true);
  assert.throws(() => view.next(), /closed/);
});

test('the synchronous records() iterable streams everything and closes the view', () => {
  const s = new MvccStore();
  fill(s, 3000, 'v');
  const view = s.openReadView();
  const keys = [...view.records()].map((r) => r.key.toString());
  assert.equal(keys.length, 3000);
  assert.deepEqual(keys, [...keys].sort());
  assert.equal(view.isClosed, true);
});

test('a view closed by someone else fails the iteration instead of ending it short', () => {
  const s = new MvccStore();
  fill(s, 3000, 'v');
  const view = s.openReadView();
  const it = view.records();
  for (let i = 0; i < 1024; i++) assert.equal(it.next().done, false);
  view.close();
  assert.throws(() => it.next(), /closed/);
});

test('leaving an async iteration early also closes the view', async () => {
  const s = new MvccStore();
  fill(s, 10, 'v');
  const view = s.openReadView();
  for await (const r of view) {
    assert.ok(r);
    break;
  }
  assert.equal(view.isClosed, true);
});

test('a view at a past revision and a view over a range see only their part', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'b', '1'); // 3
  put(s, 'c', '1'); // 4
  del(s, 'a'); // 5
  const past = s.openReadView(3);
  assert.equal(past.count, 2);
  assert.deepEqual(plain(past.next()), [['a', '1', 2, 2, 1], ['b', '1', 3, 3, 1]]);
  past.close();
  const ranged = s.openReadView(0, { key: b('b'), rangeEnd: b('\0') });
  assert.deepEqual(plain(ranged.next()).map((r) => r[0]), ['b', 'c']);
  ranged.close();
  const single = s.openReadView(0, { key: b('b') });
  assert.equal(single.count, 1);
  single.close();
});

test('opening a view below the compact revision or in the future fails', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  put(s, 'a', '2');
  s.compact({ kind: 'compaction', revision: 3 });
  assert.throws(() => s.openReadView(2), CompactedError);
  assert.throws(() => s.openReadView(4), FutureRevisionError);
});

test('countAt counts live keys at current and past revisions', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'b', '1'); // 3
  del(s, 'a'); // 4
  assert.equal(s.countAt(), 1);
  assert.equal(s.countAt(3), 2);
  assert.equal(s.countAt(1), 0);
});
