import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizable, checkRegister } from './linearizability.js';
import { HistoryRecorder, type Operation } from './history.js';
import { Prng } from './prng.js';

let nextId = 0;
function put(key: string, value: string, call: number, ret: number, client = 0): Operation {
  return { id: nextId++, client, key, kind: 'put', value, call, ret };
}
function get(key: string, value: string | null, call: number, ret: number, client = 0): Operation {
  return { id: nextId++, client, key, kind: 'get', value, call, ret };
}
const U = Infinity;

test('a sequential put followed by a read of that value is linearizable', () => {
  assert.equal(checkLinearizable([put('k', 'a', 0, 1), get('k', 'a', 2, 3)]).outcome, 'ok');
});

test('a read that returns the old value after a put finished is a violation', () => {
  const r = checkLinearizable([put('k', 'a', 0, 1), put('k', 'b', 2, 3), get('k', 'a', 4, 5)]);
  assert.equal(r.outcome, 'violation');
  assert.equal(r.outcome === 'violation' && r.key, 'k');
});

test('a read of an absent key before any put is linearizable but after a finished put is not', () => {
  assert.equal(checkLinearizable([get('k', null, 0, 1), put('k', 'a', 2, 3)]).outcome, 'ok');
  assert.equal(checkLinearizable([put('k', 'a', 0, 1), get('k', null, 2, 3)]).outcome, 'violation');
});

test('a read concurrent with a put may return either the old or the new value', () => {
  const base = [put('k', 'a', 0, 1), put('k', 'b', 2, 10)];
  assert.equal(checkLinearizable([...base, get('k', 'a', 3, 4)]).outcome, 'ok');
  assert.equal(checkLinearizable([...base, get('k', 'b', 3, 4)]).outcome, 'ok');
});

test('once a concurrent read saw the new value, a later read may not see the old one', () => {
  const h = [put('k', 'a', 0, 1), put('k', 'b', 2, 20), get('k', 'b', 3, 4, 1), get('k', 'a', 5, 6, 2)];
  assert.equal(checkLinearizable(h).outcome, 'violation');
});

test('a read of a value nobody wrote is a violation', () => {
  assert.equal(checkLinearizable([put('k', 'a', 0, 1), get('k', 'zzz', 2, 3)]).outcome, 'violation');
});

test('a put with unknown outcome may have happened', () => {
  const h = [put('k', 'a', 0, 1), put('k', 'b', 2, U), get('k', 'b', 5, 6)];
  assert.equal(checkLinearizable(h).outcome, 'ok');
});

test('a put with unknown outcome may also never have happened', () => {
  const h = [put('k', 'a', 0, 1), put('k', 'b', 2, U), get('k', 'a', 5, 6), get('k', 'a', 7, 8)];
  assert.equal(checkLinearizable(h).outcome, 'ok');
});

test('a put with unknown outcome cannot take effect before it was called', () => {
  const h = [put('k', 'a', 0, 1), get('k', 'b', 2, 3), put('k', 'b', 4, U)];
  assert.equal(checkLinearizable(h).outcome, 'violation');
});

test('an unknown put that was observed cannot be undone by a later read of the old value', () => {
  const h = [put('k', 'a', 0, 1), put('k', 'b', 2, U), get('k', 'b', 5, 6), get('k', 'a', 7, 8)];
  assert.equal(checkLinearizable(h).outcome, 'violation');
});

test('concurrent puts may be ordered either way but reads must agree on one order', () => {
  const puts = [put('k', 'a', 0, 10, 1), put('k', 'b', 0, 10, 2)];
  assert.equal(checkLinearizable([...puts, get('k', 'a', 11, 12), get('k', 'a', 13, 14)]).outcome, 'ok');
  assert.equal(checkLinearizable([...puts, get('k', 'b', 11, 12)]).outcome, 'ok');
  assert.equal(checkLinearizable([...puts, get('k', 'a', 11, 12), get('k', 'b', 13, 14)]).outcome, 'violation');
});

test('keys are checked independently and the violating key is named', () => {
  const h = [put('x', '1', 0, 1), get('x', '1', 2, 3), put('y', '2', 0, 1), put('y', '3', 2, 3), get('y', '2', 4, 5)];
  const r = checkLinearizable(h);
  assert.equal(r.outcome, 'violation');
  assert.equal(r.outcome === 'violation' && r.key, 'y');
});

test('a search that exceeds its step bound is reported as inconclusive, not as ok', () => {
  const h: Operation[] = [];
  for (let i = 0; i < 40; i++) h.push(put('k', 'v' + i, 0, 1000));
  h.push(get('k', 'nobody', 1001, 1002));
  assert.equal(checkRegister('k', h, 50).outcome, 'inconclusive');
});

test('the recorder keeps timed-out puts as unknown and drops failed ops and timed-out reads', () => {
  const rec = new HistoryRecorder();
  const a = rec.invoke(0, 'put', 'k', 'a');
  const b = rec.invoke(1, 'put', 'k', 'b');
  const c = rec.invoke(2, 'get', 'k', null);
  const d = rec.invoke(3, 'put', 'k', 'd');
  const e = rec.invoke(4, 'get', 'k', null);
  rec.ok(a);
  rec.timeout(b);
  rec.timeout(c);
  rec.fail(d);
  rec.ok(e, 'a');
  const ops = rec.operations();
  assert.deepEqual(ops.map((o) => [o.kind, o.value, o.ret === Infinity]), [
    ['put', 'a', false],
    ['put', 'b', true],
    ['get', 'a', false],
  ]);
});

/** Tries every order of the ops (and every subset of unknown puts) against a register. */
function bruteForce(ops: readonly Operation[]): boolean {
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const rec = (count: number, state: string | null, lastCall: number): boolean => {
    // Every op with a known return must be placed; unknown puts may be left out.
    if (ops.every((o, i) => used[i] || o.ret === Infinity)) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // o may go next only if no unplaced op returned before o was called.
      if (ops.some((p, j) => !used[j] && j !== i && p.ret < o.call)) continue;
      if (o.kind === 'get' && o.value !== state) continue;
      used[i] = true;
      const ok = rec(count + 1, o.kind === 'put' ? o.value : state, Math.max(lastCall, o.call));
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return rec(0, null, 0);
}

test('the checker agrees with brute force on many small random histories', () => {
  const rng = new Prng(7);
  let violations = 0;
  for (let round = 0; round < 600; round++) {
    const ops: Operation[] = [];
    const n = rng.range(1, 6);
    for (let i = 0; i < n; i++) {
      const call = rng.int(12);
      const ret = rng.chance(0.15) ? U : call + rng.range(0, 6);
      if (rng.chance(0.5)) ops.push(put('k', 'v' + i, call, ret));
      else if (ret !== U) ops.push(get('k', rng.chance(0.2) ? null : 'v' + rng.int(n), call, ret));
    }
    const expected = bruteForce(ops);
    const got = checkLinearizable(ops).outcome;
    if (!expected) violations++;
    assert.equal(got, expected ? 'ok' : 'violation', JSON.stringify(ops));
  }
  // The generator must produce both outcomes, or this test could not fail.
  assert.ok(violations > 50 && violations < 550, `violations=${violations}`);
});
