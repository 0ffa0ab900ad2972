// A porcupine-style linearizability checker for single-key registers (put / get).
// The history is split per key (registers are independent), then each part is searched with
// Lowe's just-in-time linearization: walk the call/return events in time order, linearize a
// pending call when the model accepts it, backtrack when a return is reached whose call is not
// yet linearized, and memoize (set of linearized ops, register state) to prune repeats.
// A put with an unknown outcome returns at Infinity, so it may take effect at any point after
// its call or, in effect, never.

import type { Operation } from './history.js';

export type CheckResult =
  | { readonly outcome: 'ok' }
  | { readonly outcome: 'violation'; readonly key: string; readonly ops: readonly Operation[] }
  | { readonly outcome: 'inconclusive'; readonly key: string; readonly steps: number };

export interface CheckOptions {
  /** Search steps allowed per key before giving up as inconclusive. */
  readonly maxStepsPerKey?: number;
}

interface Event {
  readonly op: number; // index into the partition's ops
  readonly isCall: boolean;
  readonly time: number;
  match: Event | null; // call -> its return
  prev: Event | null;
  next: Event | null;
}

/** Checks a whole history; reports the first key whose sub-history cannot be linearized. */
export function checkLinearizable(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  let inconclusive: CheckResult | null = null;
  for (const key of [...byKey.keys()].sort()) {
    const ops = pruneUnobservedUnknownPuts(byKey.get(key)!);
    const r = checkRegister(key, ops, options.maxStepsPerKey ?? 2_000_000);
    if (r.outcome === 'violation') return r;
    if (r.outcome === 'inconclusive' && !inconclusive) inconclusive = r;
  }
  return inconclusive ?? { outcome: 'ok' };
}

/**
 * Drops puts of unknown outcome whose value no read ever returned. Choosing "it never happened"
 * for them is always allowed and loses no linearization when values are unique, because nothing
 * observed the state they would have created. With duplicate values nothing is pruned.
 */
function pruneUnobservedUnknownPuts(ops: readonly Operation[]): Operation[] {
  const putValues = new Set<string | null>();
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    if (putValues.has(op.value)) return ops.slice();
    putValues.add(op.value);
  }
  const read = new Set<string | null>();
  for (const op of ops) if (op.kind === 'get') read.add(op.value);
  return ops.filter((op) => !(op.kind === 'put' && op.ret === Infinity && !read.has(op.value)));
}

/** Searches one key's history against a register that starts absent (null). */
export function checkRegister(key: string, ops: readonly Operation[], maxSteps = 2_000_000): CheckResult {
  const n = ops.length;
  if (n === 0) return { outcome: 'ok' };
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (!(op.ret >= op.call)) throw new RangeError(`operation ${op.id} returns before it is called`);
    const call: Event = { op: i, isCall: true, time: op.call, match: null, prev: null, next: null };
    const ret: Event = { op: i, isCall: false, time: op.ret, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  }
  // At equal times calls sort first, so touching operations count as concurrent (the lenient reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Event = { op: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const words = Math.ceil(n / 32);
  const linearized = new Uint32Array(words);
  const seen = new Set<string>();
  const stack: { entry: Event; state: string | null }[] = [];
  let state: string | null = null;
  let entry = head.next;
  let steps = 0;

  const lift = (e: Event): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Event): void => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  while (head.next !== null) {
    if (++steps > maxSteps) return { outcome: 'inconclusive', key, steps };
    if (entry === null) throw new Error('linearizability search ran off the event list');
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const accepted = op.kind === 'put' || op.value === state;
      if (accepted) {
        const next: string | null = op.kind === 'put' ? op.value : state;
        const w = entry.op >>> 5;
        const bit = 1 << (entry.op & 31);
        linearized[w]! |= bit;
        const memo = memoKey(linearized, next);
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[w]! &= ~bit;
      }
      entry = entry.next;
    } else {
      // A return whose call is still pending: everything before it is exhausted, so backtrack.
      const top = stack.pop();
      if (!top) return { outcome: 'violation', key, ops: ops.slice() };
      state = top.state;
      linearized[top.entry.op >>> 5]! &= ~(1 << (top.entry.op & 31));
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { outcome: 'ok' };
}

function memoKey(bits: Uint32Array, state: string | null): string {
  let s = '';
  for (let i = 0; i < bits.length; i++) s += bits[i]!.toString(36) + ',';
  return s + (state === null ? '\u0000' : '=' + state);
}
