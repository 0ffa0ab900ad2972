import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { EmptyKeyError, KeyNotFoundError, LeaseNotFoundError, ValueProvidedError } from '../../src/kv/kv-errors.js';
import { b, del, get, plain, put } from './helpers.js';

test('a new store starts at revision 1 with no keys, as etcd does', () => {
  const s = new MvccStore();
  assert.equal(s.revision, 1);
  assert.deepEqual(s.stats(), { revision: 1, compactRevision: 0, keyCount: 0, dbSize: 0 });
});

test('each put bumps the revision and tracks create revision, mod revision and version', () => {
  const s = new MvccStore();
  assert.equal(put(s, 'a', '1').revision, 2);
  assert.equal(put(s, 'b', '1').revision, 3);
  assert.equal(put(s, 'a', '2').revision, 4);
  assert.deepEqual(plain(get(s, 'a').kvs), [['a', '2', 2, 4, 2]]);
  assert.deepEqual(plain(get(s, 'b').kvs), [['b', '1', 3, 3, 1]]);
});

test('a key deleted and put again starts a new generation with version 1', () => {
  const s = new MvccStore();
  put(s, 'k', 'v1');
  put(s, 'k', 'v2');
  const d = del(s, 'k');
  assert.equal(d.deleted, 1);
  assert.equal(d.revision, 4);
  assert.equal(get(s, 'k').count, 0);
  put(s, 'k', 'v3');
  assert.deepEqual(plain(get(s, 'k').kvs), [['k', 'v3', 5, 5, 1]]);
  // The past stays readable through the tombstone.
  assert.deepEqual(plain(get(s, 'k', { revision: 3 }).kvs), [['k', 'v2', 2, 3, 2]]);
  assert.deepEqual(get(s, 'k', { revision: 4 }).kvs, []);
});

test('a delete that matches nothing does not bump the revision', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  const d = del(s, 'zzz');
  assert.equal(d.deleted, 0);
  assert.equal(d.revision, 2);
  assert.equal(s.revision, 2);
  assert.equal(del(s, 'a').revision, 3);
  assert.equal(del(s, 'a').revision, 3, 'deleting an already deleted key changes nothing');
});

test('put with prevKv returns the previous live record and nothing for a new key', () => {
  const s = new MvccStore();
  assert.equal(put(s, 'a', '1', { prevKv: true }).prevKv, undefined);
  assert.deepEqual(plain([put(s, 'a', '2', { prevKv: true }).prevKv!]), [['a', '1', 2, 2, 1]]);
  del(s, 'a');
  assert.equal(put(s, 'a', '3', { prevKv: true }).prevKv, undefined, 'a deleted key has no previous record');
});

test('delete range with prevKv returns every deleted record and the count', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  put(s, 'b', '2');
  put(s, 'c', '3');
  const d = del(s, 'a', 'c', true);
  assert.equal(d.deleted, 2);
  assert.deepEqual(plain(d.prevKvs!), [['a', '1', 2, 2, 1], ['b', '2', 3, 3, 1]]);
  assert.equal(d.revision, 5, 'one revision for the whole range');
  assert.deepEqual(plain(get(s, 'a', { rangeEnd: b('\0') }).kvs), [['c', '3', 4, 4, 1]]);
});

test('ignore_value keeps the value but bumps version and mod revision', () => {
  const s = new MvccStore();
  put(s, 'k', 'keep');
  s.put({ kind: 'put', key: b('k'), value: b(''), ignoreValue: true });
  assert.deepEqual(plain(get(s, 'k').kvs), [['k', 'keep', 2, 3, 2]]);
});

test('ignore_value on a missing key fails with key not found and changes nothing', () => {
  const s = new MvccStore();
  assert.throws(() => s.put({ kind: 'put', key: b('nope'), value: b(''), ignoreValue: true }), KeyNotFoundError);
  assert.throws(() => s.put({ kind: 'put', key: b('nope'), value: b(''), ignoreLease: true }), KeyNotFoundError);
  assert.equal(s.revision, 1);
});

test('malformed writes are refused with the error etcd gives', () => {
  const s = new MvccStore();
  put(s, 'k', 'v');
  assert.throws(() => put(s, '', 'v'), EmptyKeyError);
  assert.throws(() => s.put({ kind: 'put', key: b('k'), value: b('x'), ignoreValue: true }), ValueProvidedError);
  assert.throws(() => s.put({ kind: 'put', key: b('k'), value: b('x'), lease: 7 }), LeaseNotFoundError);
  assert.throws(() => del(s, ''), EmptyKeyError);
  assert.throws(() => get(s, ''), (e: unknown) => e instanceof EmptyKeyError && e.grpcCode === 3);
  assert.equal(s.revision, 2);
});

test('keys and values are binary safe and keys order by bytes', () => {
  const s = new MvccStore();
  const keys = [Buffer.from([0xff]), Buffer.from([0x00, 0x01]), Buffer.from([0x7f]), Buffer.from([0x80]), Buffer.from([0x00])];
  for (const k of keys) s.put({ kind: 'put', key: k, value: Buffer.from([0, 0xff, 0x80, 0]) });
  const all = s.range({ kind: 'range', key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  assert.deepEqual(
    all.kvs.map((kv) => kv.key.toString('hex')),
    ['00', '0001', '7f', '80', 'ff'],
  );
  assert.deepEqual([...all.kvs[0]!.value], [0, 0xff, 0x80, 0]);
});

test('the store keeps its own copy of a value so the caller may reuse its buffer', () => {
  const s = new MvccStore();
  const value = b('original');
  s.put({ kind: 'put', key: b('k'), value });
  value.fill(0);
  assert.equal(get(s, 'k').kvs[0]!.value.toString(), 'original');
});

test('stats count live keys and grow dbSize with data', () => {
  const s = new MvccStore();
  put(s, 'a', 'x'.repeat(1000));
  put(s, 'b', 'y');
  del(s, 'b');
  const st = s.stats();
  assert.equal(st.keyCount, 1);
  assert.equal(st.revision, 4);
  assert.ok(st.dbSize > 1000, `dbSize ${st.dbSize} should cover the 1000-byte value`);
});

test('apply dispatches every request kind to its operation', () => {
  const s = new MvccStore();
  assert.equal(s.apply({ kind: 'put', key: b('a'), value: b('1') }).revision, 2);
  assert.equal(s.apply({ kind: 'range', key: b('a') }).count, 1);
  assert.equal(s.apply({ kind: 'txn', compare: [], success: [{ kind: 'deleteRange', key: b('a') }], failure: [] }).succeeded, true);
  assert.equal(s.apply({ kind: 'compaction', revision: 3 }).revision, 3);
  assert.equal(s.compactRevision, 3);
});
