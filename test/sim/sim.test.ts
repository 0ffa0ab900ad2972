import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runSeed, type SimOptions } from './simulation.js';

/** Seeds every CI run replays: sized to finish in well under two minutes on two cores. */
const CORPUS_ALL_FAULTS = { first: 1, count: 160 };
const CORPUS_SWARM = { first: 100_001, count: 60 };
const CORPUS_REAL_STORAGE = { first: 200_001, count: 40 };

function runAll(seeds: SimOptions[]): string[] {
  const failures: string[] = [];
  for (const o of seeds) {
    const r = runSeed(o);
    if (!r.ok) failures.push(`seed ${o.seed} (${JSON.stringify(o)}): ${r.property}: ${(r.detail ?? '').split('\n')[0]}`);
  }
  return failures;
}

test('a fixed corpus of seeds with every fault class on passes every safety, liveness and linearizability check', () => {
  const seeds = Array.from({ length: CORPUS_ALL_FAULTS.count }, (_, i) => ({ seed: CORPUS_ALL_FAULTS.first + i, allFaults: true }));
  assert.deepEqual(runAll(seeds), []);
});

test('a fixed corpus of swarm seeds, each with its own subset of faults, passes every check', () => {
  const seeds = Array.from({ length: CORPUS_SWARM.count }, (_, i) => ({ seed: CORPUS_SWARM.first + i, allFaults: false }));
  assert.deepEqual(runAll(seeds), []);
});

test('a fixed corpus of seeds on the real WAL and snapshot files (src/storage) passes every check, recovery included', () => {
  const seeds = Array.from({ length: CORPUS_REAL_STORAGE.count }, (_, i) => ({ seed: CORPUS_REAL_STORAGE.first + i, allFaults: true, realStorage: true }));
  assert.deepEqual(runAll(seeds), []);
});

test('every seed that once failed, kept in regressions.json, now passes', () => {
  const file = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')) as {
    seeds: { seed: number; options?: Partial<SimOptions> }[];
  };
  assert.ok(file.seeds.length > 0, 'the regression list must not be empty');
  assert.deepEqual(runAll(file.seeds.map((e) => ({ ...e.options, seed: e.seed }))), []);
});

test('one seed run twice gives the same trace hash, and a different seed a different one', () => {
  const a = runSeed({ seed: 4242, allFaults: true });
  const b = runSeed({ seed: 4242, allFaults: true });
  const c = runSeed({ seed: 4243, allFaults: true });
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
  assert.notEqual(a.traceHash, c.traceHash);
  // The hash must cover real work, or equality would prove nothing.
  assert.ok(a.stats.delivered! > 100 && a.stats.committed! > 5, JSON.stringify(a.stats));
});

test('the seed runner prints a JSON summary as its last line and names failing seeds', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', new URL('./run.ts', import.meta.url).pathname, ...args], { encoding: 'utf8' });
  const ok = run(['--seeds', '3']);
  assert.equal(ok.status, 0, ok.stderr);
  const last = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { seeds: number; failed: number; traceHash: string };
  assert.equal(last.seeds, 3);
  assert.equal(last.failed, 0);
  assert.match(last.traceHash, /^[0-9a-f]{8}$/);
  // Stale reads break about half of all seeds, so twenty seeds are sure to show some.
  const bad = run(['--seeds', '20', '--stale-reads', '--members', '3']);
  const summary = JSON.parse(bad.stdout.trim().split('\n').pop()!) as { failed: number; failedSeeds: { seed: number; property: string }[] };
  assert.ok(summary.failed > 0, bad.stdout);
  assert.equal(bad.status, 1);
  for (const f of summary.failedSeeds) assert.match(bad.stdout, new RegExp(`FAIL seed ${f.seed}: ${f.property}`));
});
