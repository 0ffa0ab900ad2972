import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Membership, decodeConfChangeContext, encodeConfChangeContext } from '../../src/server/membership.js';
import { ReadIndexBatcher } from '../../src/server/read-index-batcher.js';
import { RequestWaiters } from '../../src/server/request-waiters.js';
import { decodeEntry, encodeAttributesEntry, encodeKvEntry } from '../../src/server/entry-envelope.js';

test('concurrent linearizable reads share one ReadIndex round and are served once applied reaches its index', async () => {
  const contexts: string[] = [];
  let applied = 5;
  const b = new ReadIndexBatcher({ requestReadIndex: (c) => contexts.push(c), appliedIndex: () => applied, wake: () => undefined }, 'm', 60_000, () => new Error('timeout'));
  const served: number[] = [];
  const reads = [1, 2, 3].map((i) => b.barrier().then(() => served.push(i)));
  b.flush();
  assert.equal(contexts.length, 1);
  b.onReadState(contexts[0]!, 7);
  await Promise.resolve();
  assert.deepEqual(served, []);
  applied = 7;
  b.onApplied(7);
  await Promise.all(reads);
  assert.deepEqual(served, [1, 2, 3]);
});

test('a read whose ReadIndex cannot be started fails at once, and unanswered rounds fail on a leader change', async () => {
  const b = new ReadIndexBatcher({ requestReadIndex: () => { throw new Error('no leader'); }, appliedIndex: () => 0, wake: () => undefined }, 'm', 60_000, () => new Error('timeout'));
  const r = b.barrier();
  b.flush();
  await assert.rejects(r, /no leader/);
  const ok = new ReadIndexBatcher({ requestReadIndex: () => undefined, appliedIndex: () => 0, wake: () => undefined }, 'm', 60_000, () => new Error('timeout'));
  const pending = ok.barrier();
  ok.flush();
  ok.failUnanswered(() => new Error('leader changed'));
  await assert.rejects(pending, /leader changed/);
});

test('a waiter resolves once, and one that nobody triggers times out with the given error', async () => {
  const w = new RequestWaiters<number>();
  const a = w.wait('1', 60_000, () => new Error('late'));
  w.trigger('1', 42);
  w.trigger('1', 43);
  assert.equal(await a, 42);
  const b = w.wait('2', 1, () => new Error('request timed out'));
  await assert.rejects(b, /request timed out/);
  assert.equal(w.size, 0);
});

test('the member table applies adds, promotions, removals and published attributes', () => {
  const m = new Membership([{ id: 'a'.repeat(16), name: 'n1', peerURLs: ['http://a:1'], clientURLs: [], isLearner: false }]);
  m.add('b'.repeat(16), true, { name: '', peerURLs: ['http://b:1'], clientURLs: [] });
  assert.equal(m.get('b'.repeat(16))!.isLearner, true);
  m.add('b'.repeat(16), false, undefined);
  assert.equal(m.get('b'.repeat(16))!.isLearner, false);
  m.publish({ id: 'b'.repeat(16), name: 'n2', clientURLs: ['http://b:2'] });
  assert.equal(m.get('b'.repeat(16))!.name, 'n2');
  assert.equal(m.ownerOfPeerUrl(['http://b:1'])!.name, 'n2');
  m.remove('a'.repeat(16));
  assert.equal(m.isRemoved('a'.repeat(16)), true);
  assert.deepEqual(m.list().map((x) => x.name), ['n2']);
  const ctx = decodeConfChangeContext(encodeConfChangeContext({ requestId: '7', member: { name: 'x', peerURLs: ['http://c:1'], clientURLs: [] } }));
  assert.equal(ctx.requestId, '7');
  assert.deepEqual(decodeConfChangeContext(Buffer.from('not json')), { requestId: '' });
});

test('entries carry key-value writes and member attributes apart, and an empty entry is a no-op', () => {
  const kv = decodeEntry(encodeKvEntry('123456789012', { kind: 'put', key: Buffer.from('k'), value: Buffer.from('v') }));
  assert.equal(kv.kind, 'kv');
  if (kv.kind === 'kv') {
    assert.equal(kv.requestId, '123456789012');
    assert.equal(kv.request.kind, 'put');
  }
  const attrs = decodeEntry(encodeAttributesEntry('5', { id: 'a'.repeat(16), name: 'n1', clientURLs: ['http://x:1'] }));
  assert.equal(attrs.kind, 'attributes');
  assert.equal(decodeEntry(new Uint8Array(0)).kind, 'noop');
});
