import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import { KvHasher } from '../../src/kv/kv-hash.js';
import { CompactedError, FutureRevisionError } from '../../src/kv/kv-errors.js';
import type { ReadView } from '../../src/kv/read-view.js';
import type { RequestOp } from '../../src/kv/requests.js';
import { b, plain, prng } from './helpers.js';

type Row = [string, string, number, number, number];
type State = Map<string, Row>;

/** A naive reference: the full state copied at every revision. */
class Model {
  states: State[] = [new Map(), new Map()]; // index = revision; revision 1 is empty
  compact = 0;
  get rev(): number {
    return this.states.length - 1;
  }
  current(): State {
    return this.states[this.rev]!;
  }
  write(apply: (next: State, rev: number) => boolean): void {
    const next = new Map(this.current());
    if (apply(next, this.rev + 1)) this.states.push(next);
  }
  static put(next: State, rev: number, k: string, v: string): void {
    const prev = next.get(k);
    next.set(k, [k, v, prev ? prev[2] : rev, rev, prev ? prev[4] + 1 : 1]);
  }
  static del(next: State, lo: string, hi: string): boolean {
    let any = false;
    for (const k of [...next.keys()]) if (k >= lo && k < hi) any = next.delete(k) || any;
    return any;
  }
  rows(rev: number, lo = '', hi = '\uffff'): Row[] {
    return [...this.states[rev]!.values()].filter((r) => r[0] >= lo && r[0] < hi).sort((x, y) => (x[0] < y[0] ? -1 : 1));
  }
}

test('random puts, deletes, txns and compactions agree with a naive model at every revision (3 seeds)', () => {
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const key = () => 'k' + String.fromCharCode(97 + int(12));
    const s = new MvccStore();
    const m = new Model();
    const views: { view: ReadView; rows: Row[] }[] = [];
    for (let step = 0; step < 1500; step++) {
      const dice = int(100);
      if (dice < 40) {
        const k = key();
        const v = `v${step}`;
        s.put({ kind: 'put', key: b(k), value: b(v) });
        m.write((n, r) => (Model.put(n, r, k, v), true));
      } else if (dice < 55) {
        const lo = key();
        const hi = dice < 48 ? lo + '\0' : key();
        s.deleteRange({ kind: 'deleteRange', key: b(lo), rangeEnd: b(hi) });
        m.write((n) => Model.del(n, lo, hi));
      } else if (dice < 70) {
        const c = key();
        const want = int(3);
        const [p1, p2] = [key(), key()];
        const putKeys = p1 === p2 ? [p1] : [p1, p2];
        const ops = putKeys.map((k): RequestOp => ({ kind: 'put', key: b(k), value: b(`t${step}`) }));
        const r = s.txn({ kind: 'txn', compare: [{ key: b(c), target: 'VERSION', result: 'EQUAL', version: want }], success: ops, failure: [{ kind: 'range', key: b(c) }] });
        const ok = (m.current().get(c)?.[4] ?? 0) === want;
        assert.equal(r.succeeded, ok);
        if (ok) m.write((n, rv) => (putKeys.forEach((k) => Model.put(n, rv, k, `t${step}`)), true));
      } else if (dice < 75) {
        const target = 1 + int(m.rev + 2);
        const expectError = target <= m.compact ? CompactedError : target > m.rev ? FutureRevisionError : null;
        if (expectError) assert.throws(() => s.compact({ kind: 'compaction', revision: target }), expectError);
        else {
          s.compact({ kind: 'compaction', revision: target });
          m.compact = target;
        }
      } else if (dice < 78 && views.length < 6) {
        const rev = Math.max(m.compact, 1) + int(m.rev - Math.max(m.compact, 1) + 1);
        views.push({ view: s.openReadView(rev), rows: m.rows(rev) });
      } else {
        const rev = int(m.rev + 3);
        const lo = key();
        const hi = key() + 'z';
        const read = () => s.range({ kind: 'range', key: b(lo), rangeEnd: b(hi), revision: rev });
        if (rev > m.rev) assert.throws(read, FutureRevisionError);
        else if (rev !== 0 && rev < m.compact) assert.throws(read, CompactedError);
        else assert.deepEqual(plain(read().kvs), m.rows(rev === 0 ? m.rev : rev, lo, hi), `seed ${seed} step ${step}`);
      }
      assert.equal(s.revision, m.rev, `seed ${seed} step ${step}: revision`);
      if (views.length > 0 && int(10) === 0) {
        const { view, rows } = views.shift()!;
        assert.deepEqual(plain(view.next(1e6)), rows, `seed ${seed} step ${step}: view at ${view.revision}`);
        view.close();
      }
    }
    for (const { view, rows } of views) {
      assert.deepEqual(plain(view.next(1e6)), rows);
      view.close();
    }
    const h = new KvHasher();
    for (const [k, v, c, mod, ver] of m.rows(m.rev)) h.add({ key: b(k), value: b(v), createRevision: c, modRevision: mod, version: ver });
    assert.equal(s.hashKV().hash, h.digest());
    assert.equal(s.stats().keyCount, m.current().size);
  }
});
