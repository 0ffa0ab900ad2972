// `npm run sim -- --seeds N [--seed S] [--members M] [--verbose]`: runs simulator seeds and
// prints, as its last line, one JSON summary. Exits non-zero when any seed fails.

import { parseArgs } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSeed, type SeedResult, type SimOptions } from './simulation.js';
import { TraceHash } from './trace-hash.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    start: { type: 'string' },
    members: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    swarm: { type: 'boolean', default: false },
    'real-storage': { type: 'boolean', default: false },
    'fault-units': { type: 'string' },
    hostile: { type: 'boolean', default: false },
    'prior-term-counting': { type: 'boolean', default: false },
    'stale-reads': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) {
    console.error(`--${name} needs an integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const single = int('seed', values.seed);
const count = int('seeds', values.seeds) ?? (single === undefined ? 100 : 1);
const start = int('start', values.start) ?? 1;
const members = int('members', values.members);
const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, i) => start + i);

const base: Omit<SimOptions, 'seed'> = {
  members,
  allFaults: !values.swarm,
  verbose: values.verbose,
  priorTermCounting: values['prior-term-counting'],
  staleReads: values['stale-reads'],
  realStorage: values['real-storage'],
  faultUnits: int('fault-units', values['fault-units']),
  // Every fault several times harder than the drawn mix: short-lived leaders, torn Readies, heavy loss.
  plan: values.hostile
    ? { loss: 0.25, duplicate: 0.2, crash: 0.0015, crashMaxUnits: 300, crashInReady: 0.01, crashNewLeader: 0.2, pause: 0.001, partition: 0.002, churn: 0.004, transfer: 0.003 }
    : undefined,
};

/**
 * A fingerprint of the code a run used (src/raft and test/sim): a seed reproduces only on the
 * same code, and in a shared working tree uncommitted edits count too.
 */
function codeHash(): string {
  const h = new TraceHash();
  const root = new URL('../..', import.meta.url).pathname;
  for (const dir of ['src/raft', 'src/storage', 'test/sim']) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (!name.endsWith('.ts')) continue;
      h.addString(name);
      h.addString(readFileSync(join(root, dir, name), 'utf8'));
    }
  }
  return h.hex();
}

const began = Date.now();
const total = new TraceHash();
const failed: { seed: number; property: string }[] = [];
let last: SeedResult | undefined;
const totals: Record<string, number> = {};
for (const seed of seeds) {
  const r = runSeed({ ...base, seed });
  last = r;
  for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
  total.addString(r.traceHash);
  if (values.verbose) for (const line of r.trace) console.log(line);
  if (r.stats.inconclusive) console.log(`INCONCLUSIVE seed ${seed}: the linearizability search hit its bound`);
  if (!r.ok) {
    failed.push({ seed, property: r.property! });
    console.log(`FAIL seed ${seed}: ${r.property}: ${(r.detail ?? '').split('\n')[0]}`);
  } else if (values.verbose || single !== undefined) {
    console.log(`ok seed ${seed}: hash ${r.traceHash} ${JSON.stringify(r.stats)}`);
  }
}
const summary = {
  seeds: seeds.length,
  failed: failed.length,
  failedSeeds: failed,
  traceHash: single !== undefined && last ? last.traceHash : total.hex(),
  ms: Date.now() - began,
  codeHash: codeHash(),
  totals,
};
console.log(JSON.stringify(summary));
process.exitCode = failed.length > 0 ? 1 : 0;
