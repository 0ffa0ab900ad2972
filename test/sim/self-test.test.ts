// Proof that the simulator can fail: break one rule on purpose and a few seeds must report it,
// each with the property that names the breakage. The same seeds pass in sim.test.ts unbroken.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed, type SimOptions } from './simulation.js';

function failures(count: number, extra: Omit<SimOptions, 'seed'>): { seed: number; property: string }[] {
  const out: { seed: number; property: string }[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const r = runSeed({ allFaults: true, ...extra, seed });
    if (!r.ok) out.push({ seed, property: r.property! });
  }
  return out;
}

test('commit by counting entries of earlier terms is caught by the leader commit rule check', () => {
  const found = failures(40, { priorTermCounting: true });
  assert.ok(found.length > 0, 'no seed noticed the broken commit rule');
  assert.ok(found.every((f) => f.property === 'leader-commit-rule'), JSON.stringify(found));
});

test('reads served from local state without ReadIndex are caught by the linearizability checker', () => {
  const found = failures(30, { staleReads: true, members: 3 });
  assert.ok(found.some((f) => f.property === 'linearizability'), JSON.stringify(found));
});

test('a member that skips applying some entries is caught by the state machine safety check', () => {
  const found = failures(10, { dropApplyOn: 1, members: 3 });
  assert.ok(found.length > 0, 'no seed noticed the divergent member');
  assert.ok(found.every((f) => f.property === 'state-machine-safety' || f.property === 'snapshot-state'), JSON.stringify(found));
});

test('a member that sends before persisting is caught by the Ready contract checks', () => {
  const found = failures(5, { sendBeforePersist: true, members: 3 });
  assert.ok(found.length > 0, 'no seed noticed messages leaving before their state was durable');
  const contract = ['term-not-durable', 'vote-not-durable', 'ack-not-durable'];
  assert.ok(found.every((f) => contract.includes(f.property)), JSON.stringify(found));
});
