import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { CompactedError, FutureRevisionError } from '../../src/kv/kv-errors.js';
import { prefixEnd } from '../../src/kv/key-range.js';
import { b, del, get, plain, put } from './helpers.js';

function keysOf(kvs: readonly { key: Buffer }[]): string[] {
  return kvs.map((kv) => kv.key.toString('latin1'));
}

function sample(): MvccStore {
  const s = new MvccStore();
  for (const k of ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c']) put(s, k, `v-${k}`);
  return s;
}

test('an empty range end reads the single key only', () => {
  const s = sample();
  assert.deepEqual(keysOf(get(s, 'ab').kvs), ['ab']);
  assert.equal(get(s, 'zz').count, 0);
});

test('a range end of one zero byte reads every key from the key on', () => {
  const s = sample();
  assert.deepEqual(keysOf(get(s, 'b', { rangeEnd: b('\0') }).kvs), ['b', 'ba', 'c']);
  assert.deepEqual(keysOf(get(s, '\0', { rangeEnd: b('\0') }).kvs), ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c']);
});

test('a prefix end selects exactly the keys with the prefix', () => {
  const s = sample();
  assert.deepEqual(keysOf(get(s, 'ab', { rangeEnd: prefixEnd(b('ab')) }).kvs), ['ab', 'abc', 'abd']);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: prefixEnd(b('a')) }).kvs), ['a', 'ab', 'abc', 'abd']);
});

test('prefixEnd increments the last byte below 0xff and gives all keys for 0xff prefixes', () => {
  assert.deepEqual([...prefixEnd(Buffer.from([0x61, 0x62]))], [0x61, 0x63]);
  assert.deepEqual([...prefixEnd(Buffer.from([0x61, 0xff, 0xff]))], [0x62]);
  assert.deepEqual([...prefixEnd(Buffer.from([0xff]))], [0]);
  assert.deepEqual([...prefixEnd(Buffer.alloc(0))], [0]);
});

test('a range end at or before the key reads nothing', () => {
  const s = sample();
  assert.equal(get(s, 'b', { rangeEnd: b('b') }).count, 0);
  assert.equal(get(s, 'b', { rangeEnd: b('a') }).count, 0);
});

test('limit truncates, sets more and still reports the total count', () => {
  const s = sample();
  const r = get(s, 'a', { rangeEnd: b('\0'), limit: 3 });
  assert.deepEqual(keysOf(r.kvs), ['a', 'ab', 'abc']);
  assert.equal(r.more, true);
  assert.equal(r.count, 7);
  const exact = get(s, 'a', { rangeEnd: b('\0'), limit: 7 });
  assert.equal(exact.more, false);
  assert.equal(exact.kvs.length, 7);
  const over = get(s, 'a', { rangeEnd: b('\0'), limit: 100 });
  assert.equal(over.more, false);
});

test('count only returns the count and no records; keys only returns empty values', () => {
  const s = sample();
  const c = get(s, 'a', { rangeEnd: b('b'), countOnly: true });
  assert.equal(c.count, 4);
  assert.deepEqual(c.kvs, []);
  const k = get(s, 'a', { rangeEnd: b('b'), keysOnly: true });
  assert.deepEqual(keysOf(k.kvs), ['a', 'ab', 'abc', 'abd']);
  assert.ok(k.kvs.every((kv) => kv.value.length === 0));
  assert.equal(k.kvs[1]!.version, 1, 'keys only keeps the revisions');
});

test('reading at a past revision sees the state of that revision', () => {
  const s = new MvccStore();
  put(s, 'x', '1'); // 2
  put(s, 'y', '1'); // 3
  put(s, 'x', '2'); // 4
  del(s, 'y'); // 5
  put(s, 'z', '1'); // 6
  const all = (rev: number) => plain(get(s, '\0', { rangeEnd: b('\0'), revision: rev }).kvs);
  assert.deepEqual(all(1), []);
  assert.deepEqual(all(2), [['x', '1', 2, 2, 1]]);
  assert.deepEqual(all(3), [['x', '1', 2, 2, 1], ['y', '1', 3, 3, 1]]);
  assert.deepEqual(all(4), [['x', '2', 2, 4, 2], ['y', '1', 3, 3, 1]]);
  assert.deepEqual(all(5), [['x', '2', 2, 4, 2]]);
  assert.deepEqual(all(6), [['x', '2', 2, 4, 2], ['z', '1', 6, 6, 1]]);
  assert.deepEqual(all(0), all(6), 'revision 0 is the current revision');
  assert.equal(get(s, 'x', { revision: 3 }).revision, 6, 'the header revision is the current one');
});

test('reading above the current revision fails as a future revision with gRPC code 11', () => {
  const s = sample();
  assert.throws(() => get(s, 'a', { revision: s.revision + 1 }), (e: unknown) => e instanceof FutureRevisionError && e.grpcCode === 11);
});

test('reading below the compact revision fails as compacted while the compact revision itself is readable', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'a', '2'); // 3
  put(s, 'a', '3'); // 4
  s.compact({ kind: 'compaction', revision: 3 });
  assert.throws(() => get(s, 'a', { revision: 2 }), (e: unknown) => e instanceof CompactedError && e.grpcCode === 11);
  assert.deepEqual(plain(get(s, 'a', { revision: 3 }).kvs), [['a', '2', 2, 3, 2]]);
  assert.deepEqual(plain(get(s, 'a').kvs), [['a', '3', 2, 4, 3]]);
});

test('sorting by a target orders the records and limit applies after the sort', () => {
  const s = new MvccStore();
  put(s, 'a', 'z'); // 2
  put(s, 'b', 'y'); // 3
  put(s, 'c', 'x'); // 4
  put(s, 'a', 'w'); // 5: a is now the newest
  const byModDesc = get(s, 'a', { rangeEnd: b('\0'), sortOrder: 'DESCEND', sortTarget: 'MOD', limit: 2 });
  assert.deepEqual(keysOf(byModDesc.kvs), ['a', 'c']);
  assert.equal(byModDesc.more, true);
  assert.equal(byModDesc.count, 3);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: b('\0'), sortOrder: 'ASCEND', sortTarget: 'VALUE' }).kvs), ['a', 'c', 'b']);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: b('\0'), sortOrder: 'DESCEND' }).kvs), ['c', 'b', 'a']);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: b('\0'), sortTarget: 'VERSION' }).kvs), ['b', 'c', 'a'], 'a non-key target without order sorts ascending');
  const keysByValue = get(s, 'a', { rangeEnd: b('\0'), sortOrder: 'ASCEND', sortTarget: 'VALUE', keysOnly: true });
  assert.deepEqual(keysOf(keysByValue.kvs), ['a', 'c', 'b'], 'keys only still sorts by the values');
  assert.ok(keysByValue.kvs.every((kv) => kv.value.length === 0));
});

test('min and max revision filters drop records but leave the count as etcd does', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'b', '1'); // 3
  put(s, 'c', '1'); // 4
  put(s, 'a', '2'); // 5
  const r = get(s, 'a', { rangeEnd: b('\0'), minModRevision: 4 });
  assert.deepEqual(keysOf(r.kvs), ['a', 'c']);
  assert.equal(r.count, 3);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: b('\0'), maxCreateRevision: 3 }).kvs), ['a', 'b']);
  assert.deepEqual(keysOf(get(s, 'a', { rangeEnd: b('\0'), minCreateRevision: 3, maxModRevision: 3 }).kvs), ['b']);
});
