import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { DuplicateKeyError, EmptyKeyError, KeyNotFoundError, TooManyOpsError, CompactedError } from '../../src/kv/kv-errors.js';
import type { Compare, RequestOp, TxnRequest } from '../../src/kv/requests.js';
import { b, get, plain, put } from './helpers.js';

const P = (key: string, value: string): RequestOp => ({ kind: 'put', key: b(key), value: b(value) });
const R = (key: string, rangeEnd?: string): RequestOp => ({ kind: 'range', key: b(key), ...(rangeEnd ? { rangeEnd: b(rangeEnd) } : {}) });
const D = (key: string, rangeEnd?: string): RequestOp => ({ kind: 'deleteRange', key: b(key), ...(rangeEnd ? { rangeEnd: b(rangeEnd) } : {}) });
const txn = (compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ kind: 'txn', compare, success, failure });

function holds(s: MvccStore, c: Compare): boolean {
  return s.txn(txn([c], [], [])).succeeded;
}

test('value compares use byte order with every result kind', () => {
  const s = new MvccStore();
  put(s, 'k', 'm');
  const c = (result: Compare['result'], value: string): Compare => ({ key: b('k'), target: 'VALUE', result, value: b(value) });
  assert.equal(holds(s, c('EQUAL', 'm')), true);
  assert.equal(holds(s, c('EQUAL', 'n')), false);
  assert.equal(holds(s, c('NOT_EQUAL', 'n')), true);
  assert.equal(holds(s, c('GREATER', 'a')), true);
  assert.equal(holds(s, c('GREATER', 'z')), false);
  assert.equal(holds(s, c('LESS', 'z')), true);
  assert.equal(holds(s, c('LESS', 'm')), false);
});

test('version, create and mod compares read the key metadata', () => {
  const s = new MvccStore();
  put(s, 'k', '1'); // 2
  put(s, 'other', '1'); // 3
  put(s, 'k', '2'); // 4
  assert.equal(holds(s, { key: b('k'), target: 'VERSION', result: 'EQUAL', version: 2 }), true);
  assert.equal(holds(s, { key: b('k'), target: 'CREATE', result: 'EQUAL', createRevision: 2 }), true);
  assert.equal(holds(s, { key: b('k'), target: 'MOD', result: 'EQUAL', modRevision: 4 }), true);
  assert.equal(holds(s, { key: b('k'), target: 'MOD', result: 'LESS', modRevision: 4 }), false);
  assert.equal(holds(s, { key: b('k'), target: 'MOD', result: 'GREATER', modRevision: 3 }), true);
  assert.equal(holds(s, { key: b('k'), target: 'LEASE', result: 'EQUAL', lease: 0 }), true);
});

test('a missing key compares as version 0 and fails every value compare', () => {
  const s = new MvccStore();
  assert.equal(holds(s, { key: b('ghost'), target: 'VERSION', result: 'EQUAL', version: 0 }), true);
  assert.equal(holds(s, { key: b('ghost'), target: 'CREATE', result: 'EQUAL' }), true);
  assert.equal(holds(s, { key: b('ghost'), target: 'VALUE', result: 'EQUAL', value: b('') }), false);
  assert.equal(holds(s, { key: b('ghost'), target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }), false);
});

test('a compare over a range must hold for every key in it', () => {
  const s = new MvccStore();
  put(s, 'p/a', '1');
  put(s, 'p/b', '1');
  put(s, 'q', '9');
  const all1: Compare = { key: b('p/'), rangeEnd: b('p0'), target: 'VALUE', result: 'EQUAL', value: b('1') };
  assert.equal(holds(s, all1), true);
  put(s, 'p/c', '2');
  assert.equal(holds(s, all1), false);
  assert.equal(holds(s, { key: b('p/'), rangeEnd: b('p0'), target: 'VERSION', result: 'GREATER', version: 0 }), true);
});

test('a txn runs the success branch when every compare holds and the failure branch otherwise', () => {
  const s = new MvccStore();
  put(s, 'lock', 'free'); // 2
  const ok = s.txn(txn([{ key: b('lock'), target: 'VALUE', result: 'EQUAL', value: b('free') }], [P('lock', 'mine'), P('owner', 'me')], [R('lock')]));
  assert.equal(ok.succeeded, true);
  assert.equal(ok.revision, 3, 'all writes of a txn share one revision');
  assert.deepEqual(ok.responses.map((r) => r.kind), ['put', 'put']);
  assert.deepEqual(plain(get(s, 'owner').kvs), [['owner', 'me', 3, 3, 1]]);
  const no = s.txn(txn([{ key: b('lock'), target: 'VALUE', result: 'EQUAL', value: b('free') }], [P('lock', 'theirs')], [R('lock')]));
  assert.equal(no.succeeded, false);
  assert.equal(no.revision, 3, 'a txn without writes does not bump the revision');
  const read = no.responses[0]!;
  assert.equal(read.kind, 'range');
  assert.deepEqual(read.kind === 'range' ? plain(read.kvs) : [], [['lock', 'mine', 2, 3, 2]]);
});

test('reads inside a txn see the writes made earlier in it', () => {
  const s = new MvccStore();
  put(s, 'a', 'old');
  const r = s.txn(txn([], [P('a', 'new'), R('a'), D('gone')]));
  const read = r.responses[1]!;
  assert.ok(read.kind === 'range');
  assert.deepEqual(plain(read.kvs), [['a', 'new', 2, 3, 2]]);
  assert.equal(read.revision, 3);
  assert.equal(r.revision, 3);
});

test('a txn that deletes nothing and puts nothing leaves the revision alone', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  const r = s.txn(txn([], [D('missing'), R('a')]));
  assert.equal(r.revision, 2);
  assert.equal(s.revision, 2);
});

test('a txn that puts the same key twice is refused as a duplicate key', () => {
  const s = new MvccStore();
  assert.throws(() => s.txn(txn([], [P('k', '1'), P('k', '2')])), DuplicateKeyError);
  assert.throws(() => s.txn(txn([], [D('a', 'z'), P('k', '2')])), DuplicateKeyError, 'a put inside a deleted range');
  assert.throws(() => s.txn(txn([], [P('k', '1'), txn([], [P('k', '2')])])), DuplicateKeyError, 'a nested put of the same key');
  assert.equal(s.revision, 1);
});

test('the two branches of a nested txn may put the same key since only one runs', () => {
  const s = new MvccStore();
  const r = s.txn(txn([], [txn([{ key: b('x'), target: 'VERSION', result: 'EQUAL', version: 0 }], [P('k', 'then')], [P('k', 'else')])]));
  assert.equal(r.succeeded, true);
  const nested = r.responses[0]!;
  assert.ok(nested.kind === 'txn' && nested.succeeded);
  assert.equal(nested.revision, 2);
  assert.equal(get(s, 'k').kvs[0]!.value.toString(), 'then');
  assert.doesNotThrow(() => s.txn(txn([], [D('a', 'c'), D('b', 'd')])), 'overlapping deletes are allowed');
});

test('nested compares see the state from before the txn', () => {
  const s = new MvccStore();
  // The outer put creates k, but the nested compare still sees k missing.
  const r = s.txn(txn([], [P('k', '1'), txn([{ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 0 }], [P('saw', 'missing')], [P('saw', 'present')])]));
  assert.ok(r.succeeded);
  assert.equal(get(s, 'saw').kvs[0]!.value.toString(), 'missing');
});

test('a txn whose op would fail writes nothing at all', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'a', '2'); // 3
  s.compact({ kind: 'compaction', revision: 3 });
  const bad: RequestOp = { kind: 'put', key: b('missing'), value: b(''), ignoreValue: true };
  assert.throws(() => s.txn(txn([], [P('b', '1'), bad])), KeyNotFoundError);
  assert.throws(() => s.txn(txn([], [P('b', '1'), { kind: 'range', key: b('a'), revision: 2 }])), CompactedError);
  assert.equal(s.revision, 3);
  assert.equal(get(s, 'b').count, 0);
});

test('too many ops in a branch and empty keys in compares are refused', () => {
  const s = new MvccStore({ maxTxnOps: 4 });
  const many = Array.from({ length: 5 }, (_, i) => P(`k${i}`, 'v'));
  assert.throws(() => s.txn(txn([], many)), TooManyOpsError);
  assert.doesNotThrow(() => s.txn(txn([], many.slice(0, 4))));
  assert.throws(() => s.txn(txn([{ key: b(''), target: 'VERSION', result: 'EQUAL' }], [])), EmptyKeyError);
  assert.throws(() => s.txn(txn([], [P('', 'v')])), EmptyKeyError);
});

test('delete range inside a txn reports its count and prev records', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  put(s, 'b', '2');
  const r = s.txn(txn([], [{ kind: 'deleteRange', key: b('a'), rangeEnd: b('\0'), prevKv: true }]));
  const d = r.responses[0]!;
  assert.ok(d.kind === 'deleteRange');
  assert.equal(d.deleted, 2);
  assert.deepEqual(plain(d.prevKvs!), [['a', '1', 2, 2, 1], ['b', '2', 3, 3, 1]]);
  assert.equal(r.revision, 4);
});
