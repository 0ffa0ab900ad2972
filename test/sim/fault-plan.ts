// Which faults a seed suffers and how hard: drawn once per seed (swarm testing), so different
// seeds explore different corners instead of all sharing one average mix.

import type { Prng } from './prng.js';

/** Every knob of one run. Probabilities are per time unit unless they say otherwise. */
export interface FaultPlan {
  /** Per message: dropped in the network. */
  loss: number;
  /** Per message: delivered twice (the copy with its own delay). */
  duplicate: number;
  /** Network delay in time units: at least delayMin, plus an exponential tail of this mean. */
  delayMin: number;
  delayMean: number;
  /** Chance to start a partition while none is active; how long one lasts (units). */
  partition: number;
  partitionMaxUnits: number;
  /** Crash of a running member, and how long it stays down (units). */
  crash: number;
  crashMaxUnits: number;
  /** Per Ready processed: the member crashes part-way through (before persist, after send, ...). */
  crashInReady: number;
  /** Per election won: the new leader crashes within a few units (before its no-op spreads). */
  crashNewLeader: number;
  /** A member stops ticking and processing for a while (units). */
  pause: number;
  pauseMaxUnits: number;
  /** A membership change is proposed (one at a time). */
  churn: number;
  /** The leader is asked to hand leadership to another voter. */
  transfer: number;
  /** A member snapshots its state every this many applied entries and compacts its log. */
  snapshotEvery: number;
  /** How many entries behind the snapshot a compaction keeps (0 forces snapshot installs soonest). */
  compactKeep: number;
  /** How far members' tick periods may stray from the nominal 10 units (clock rate skew). */
  tickSkew: number;
  /** A client issues a new operation (per idle client). */
  clientRate: number;
}

export type FaultClass =
  | 'loss'
  | 'duplicate'
  | 'delay'
  | 'partition'
  | 'crash'
  | 'pause'
  | 'churn'
  | 'transfer'
  | 'compaction'
  | 'skew';

export const ALL_FAULT_CLASSES: readonly FaultClass[] = [
  'loss',
  'duplicate',
  'delay',
  'partition',
  'crash',
  'pause',
  'churn',
  'transfer',
  'compaction',
  'skew',
];

/**
 * Draws a plan. With `all` every fault class is on (with drawn intensity); otherwise each
 * class is on with probability 0.6, so some seeds run nearly clean and others are hostile.
 */
export function drawFaultPlan(rng: Prng, all: boolean): { plan: FaultPlan; classes: FaultClass[] } {
  const on = (c: FaultClass, classes: FaultClass[]): boolean => {
    const yes = all || rng.chance(0.6);
    if (yes) classes.push(c);
    return yes;
  };
  const classes: FaultClass[] = [];
  const plan: FaultPlan = {
    loss: on('loss', classes) ? rng.float() * 0.2 : 0,
    duplicate: on('duplicate', classes) ? rng.float() * 0.2 : 0,
    delayMin: 1,
    delayMean: 2,
    partition: 0,
    partitionMaxUnits: 0,
    crash: 0,
    crashMaxUnits: 0,
    crashInReady: 0,
    crashNewLeader: 0,
    pause: 0,
    pauseMaxUnits: 0,
    churn: 0,
    transfer: 0,
    snapshotEvery: 1000,
    compactKeep: 50,
    tickSkew: 0,
    clientRate: 0.02 + rng.float() * 0.1,
  };
  if (on('delay', classes)) {
    plan.delayMin = rng.range(1, 10);
    plan.delayMean = rng.range(2, 25);
  }
  if (on('partition', classes)) {
    plan.partition = 0.0003 + rng.float() * 0.002;
    plan.partitionMaxUnits = rng.range(100, 1500);
  }
  if (on('crash', classes)) {
    plan.crash = 0.0001 + rng.float() * 0.001;
    plan.crashMaxUnits = rng.range(50, 1500);
    plan.crashInReady = rng.float() * 0.003;
    plan.crashNewLeader = rng.float() * 0.1;
  }
  if (on('pause', classes)) {
    plan.pause = 0.0001 + rng.float() * 0.001;
    plan.pauseMaxUnits = rng.range(20, 800);
  }
  if (on('churn', classes)) plan.churn = 0.0005 + rng.float() * 0.003;
  if (on('transfer', classes)) plan.transfer = 0.0002 + rng.float() * 0.002;
  if (on('compaction', classes)) {
    plan.snapshotEvery = rng.range(2, 30);
    plan.compactKeep = rng.range(0, 5);
  }
  // At most 20 % apart: a member whose clock runs 2x fast and whose log is stale can, without
  // PreVote, call elections it cannot win before anyone else's timer ever fires.
  if (on('skew', classes)) plan.tickSkew = rng.range(1, 2);
  return { plan, classes };
}
