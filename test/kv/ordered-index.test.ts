import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedIndex } from '../../src/kv/ordered-index.js';
import { prng } from './helpers.js';

function scanAll(ix: OrderedIndex<number>, start = '', end: string | null = null, exclusive = false): string[] {
  const out: string[] = [];
  ix.scan(start, end, (k) => (out.push(k), true), exclusive);
  return out;
}

test('the index matches a sorted reference through random inserts, replaces and deletes', () => {
  const rnd = prng(42);
  const ix = new OrderedIndex<number>();
  const ref = new Map<string, number>();
  for (let step = 0; step < 30_000; step++) {
    const k = String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => Math.floor(rnd() * 40) + 60));
    if (rnd() < 0.35) {
      assert.equal(ix.delete(k), ref.delete(k));
    } else {
      ix.set(k, step);
      ref.set(k, step);
    }
    if (step % 1000 === 0) {
      assert.equal(ix.size, ref.size);
      assert.deepEqual(scanAll(ix), [...ref.keys()].sort());
    }
  }
  for (const [k, v] of ref) assert.equal(ix.get(k), v);
  assert.deepEqual(scanAll(ix), [...ref.keys()].sort());
  assert.equal(ix.get('not-there'), undefined);
});

test('scans honour start, exclusive start, end and early stop', () => {
  const ix = new OrderedIndex<number>();
  for (let i = 0; i < 1000; i++) ix.set(String(i).padStart(4, '0'), i);
  assert.deepEqual(scanAll(ix, '0010', '0013'), ['0010', '0011', '0012']);
  assert.deepEqual(scanAll(ix, '0010', '0013', true), ['0011', '0012']);
  assert.deepEqual(scanAll(ix, '00105', '0013'), ['0011', '0012']);
  assert.deepEqual(scanAll(ix, '0998'), ['0998', '0999']);
  const firstThree: string[] = [];
  ix.scan('', null, (k) => (firstThree.push(k), firstThree.length < 3));
  assert.deepEqual(firstThree, ['0000', '0001', '0002']);
  assert.equal(ix.firstKey(), '0000');
});

test('deleting every key in order and in reverse leaves an empty, usable index', () => {
  for (const reverse of [false, true]) {
    const ix = new OrderedIndex<number>();
    const keys = Array.from({ length: 5000 }, (_, i) => String(i).padStart(5, '0'));
    keys.forEach((k, i) => ix.set(k, i));
    for (const k of reverse ? [...keys].reverse() : keys) assert.ok(ix.delete(k));
    assert.equal(ix.size, 0);
    assert.deepEqual(scanAll(ix), []);
    assert.equal(ix.firstKey(), undefined);
    ix.set('again', 1);
    assert.deepEqual(scanAll(ix), ['again']);
  }
});

test('upsert sees the old value and inserts when there is none', () => {
  const ix = new OrderedIndex<number>();
  ix.upsert('a', (old) => (old ?? 0) + 1);
  ix.upsert('a', (old) => (old ?? 0) + 1);
  assert.equal(ix.get('a'), 2);
  assert.equal(ix.size, 1);
});
