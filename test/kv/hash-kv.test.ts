import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { KvHasher, encodeCanonicalRecord } from '../../src/kv/kv-hash.js';
import { CompactedError, FutureRevisionError } from '../../src/kv/kv-errors.js';
import { IntegrityError } from '../../src/errors.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { b, del, get, plain, put } from './helpers.js';

test('the canonical record encoding is length-prefixed fields and big-endian u64 revisions', () => {
  const enc = encodeCanonicalRecord({ key: b('ab'), value: b('xyz'), createRevision: 2, modRevision: 0x1_0000_0003, version: 4 });
  assert.equal(
    enc.toString('hex'),
    '00000002' + '6162' + '00000003' + '78797a' + '0000000000000002' + '0000000100000003' + '0000000000000004',
  );
});

test('the hasher equals one CRC32 over the concatenated encodings, whatever the record sizes', () => {
  const records: KeyValueRecord[] = [
    { key: b('a'), value: b(''), createRevision: 1, modRevision: 1, version: 1 },
    { key: b('b'), value: Buffer.alloc(100_000, 7), createRevision: 2, modRevision: 5, version: 3 },
    { key: b('c'), value: Buffer.alloc(40_000, 9), createRevision: 4, modRevision: 4, version: 1 },
    { key: b('d'), value: Buffer.alloc(40_000, 1), createRevision: 6, modRevision: 6, version: 1 },
  ];
  const h = new KvHasher();
  for (const r of records) h.add(r);
  assert.equal(h.count, 4);
  assert.equal(h.digest(), crc32(Buffer.concat(records.map(encodeCanonicalRecord))));
  assert.equal(new KvHasher().digest(), 0, 'the hash of nothing is 0');
});

test('hashKV is equal for equal states reached by different histories', () => {
  const s1 = new MvccStore();
  put(s1, 'a', '1'); // 2
  put(s1, 'b', '2'); // 3
  put(s1, 'tmp', 'x'); // 4
  del(s1, 'tmp'); // 5
  const s2 = new MvccStore();
  put(s2, 'a', '1');
  put(s2, 'b', '2');
  put(s2, 'tmp', 'y');
  del(s2, 'tmp');
  assert.equal(s1.hashKV().hash, s2.hashKV().hash);
  s1.compact({ kind: 'compaction', revision: 5 });
  assert.equal(s1.hashKV().hash, s2.hashKV().hash, 'history does not enter the hash');
});

test('hashKV differs when a value, a key or any revision differs', () => {
  const base = new MvccStore();
  put(base, 'a', '1');
  put(base, 'b', '2');
  const h = base.hashKV().hash;
  const value = new MvccStore();
  put(value, 'a', '1');
  put(value, 'b', '3');
  const key = new MvccStore();
  put(key, 'a', '1');
  put(key, 'c', '2');
  const order = new MvccStore();
  put(order, 'b', '2');
  put(order, 'a', '1');
  const version = new MvccStore();
  put(version, 'a', '1');
  put(version, 'a', '1');
  put(version, 'b', '2');
  for (const other of [value, key, order, version]) assert.notEqual(other.hashKV().hash, h);
});

test('hashKV at a past revision hashes that revision and checks its bounds', async () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  const at2 = s.hashKV().hash;
  put(s, 'a', '2'); // 3
  assert.deepEqual(s.hashKV(2), { hash: at2, revision: 2, compactRevision: -1 }, 'never compacted reads -1, as etcd reports it');
  assert.equal((await s.hashKVAsync(2, 1)).hash, at2);
  assert.equal((await s.hashKVAsync()).hash, s.hashKV().hash);
  s.compact({ kind: 'compaction', revision: 3 });
  assert.throws(() => s.hashKV(2), CompactedError);
  assert.throws(() => s.hashKV(4), FutureRevisionError);
  assert.equal(s.hashKV(3).compactRevision, 3);
  assert.equal((await s.hashKVAsync()).compactRevision, 3);
});

test('a store rebuilt from its records has the same hash, counts and reads', async () => {
  const s = new MvccStore();
  for (let i = 0; i < 500; i++) put(s, `k${i % 97}`, `v${i}`);
  for (let i = 0; i < 10; i++) del(s, `k${i}`);
  const view = s.openReadView();
  const records = view.next(1e6);
  view.close();
  async function* stream() {
    for (const r of records) yield r;
  }
  const restored = await MvccStore.fromRecords(stream(), { revision: s.revision });
  assert.equal(restored.revision, s.revision);
  assert.equal(restored.hashKV().hash, s.hashKV().hash);
  assert.equal(restored.countAt(), s.countAt());
  assert.deepEqual(plain(get(restored, '\0', { rangeEnd: b('\0') }).kvs), plain(get(s, '\0', { rangeEnd: b('\0') }).kvs));
  assert.equal(restored.stats().keyCount, 87);
});

test('a restored store has no history below its revision and continues from it', () => {
  const records: KeyValueRecord[] = [
    { key: b('a'), value: b('1'), createRevision: 3, modRevision: 9, version: 4 },
    { key: b('b'), value: b('2'), createRevision: 5, modRevision: 5, version: 1 },
  ];
  const s = MvccStore.fromRecordsSync(records, { revision: 10, compactRevision: 2 });
  assert.equal(s.compactRevision, 2);
  assert.equal(s.firstReadableRevision, 10);
  assert.throws(() => get(s, 'a', { revision: 9 }), CompactedError);
  assert.equal(get(s, 'a', { revision: 10 }).count, 1);
  put(s, 'a', '3');
  assert.deepEqual(plain(get(s, 'a').kvs), [['a', '3', 3, 11, 5]]);
  // A compaction the source cluster could still accept is accepted here too, so members agree.
  assert.doesNotThrow(() => s.compact({ kind: 'compaction', revision: 4 }));
});

test('a restore may bump the revision above every record and mark it compacted', () => {
  const records: KeyValueRecord[] = [{ key: b('a'), value: b('1'), createRevision: 2, modRevision: 2, version: 1 }];
  const s = MvccStore.fromRecordsSync(records, { revision: 1_000_002, compactRevision: 1_000_002 });
  assert.equal(s.revision, 1_000_002);
  assert.equal(s.compactRevision, 1_000_002);
  assert.equal(put(s, 'b', 'x').revision, 1_000_003);
  assert.throws(() => s.compact({ kind: 'compaction', revision: 1_000_002 }), CompactedError);
});

test('restoring refuses records out of order, duplicated or newer than the snapshot revision', () => {
  const r = (key: string, mod = 2): KeyValueRecord => ({ key: b(key), value: b('v'), createRevision: 2, modRevision: mod, version: 1 });
  assert.throws(() => MvccStore.fromRecordsSync([r('b'), r('a')], { revision: 5 }), IntegrityError);
  assert.throws(() => MvccStore.fromRecordsSync([r('a'), r('a')], { revision: 5 }), IntegrityError);
  assert.throws(() => MvccStore.fromRecordsSync([r('a', 6)], { revision: 5 }), IntegrityError);
  assert.throws(() => MvccStore.fromRecordsSync([r('')], { revision: 5 }), IntegrityError);
  assert.throws(() => MvccStore.fromRecordsSync([], { revision: 5, compactRevision: 6 }), IntegrityError);
  assert.throws(() => MvccStore.fromRecordsSync([], { revision: 0 }), IntegrityError);
});
