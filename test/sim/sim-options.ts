// What a seed run takes and what it reports.

import type { FaultClass, FaultPlan } from './fault-plan.js';

/** How to run one seed. */
export interface SimOptions {
  readonly seed: number;
  /** Initial voters (1..7); drawn from the seed when absent. */
  readonly members?: number;
  /** Every fault class on (with drawn intensity) instead of a random subset. */
  readonly allFaults?: boolean;
  /** Time units of the fault phase, and the bound of the liveness phase. */
  readonly faultUnits?: number;
  readonly convergeUnits?: number;
  /** Collect a readable trace. */
  readonly verbose?: boolean;
  /** Self-test: let the core commit prior-term entries by counting (Raft's Figure 8 bug). */
  readonly priorTermCounting?: boolean;
  /** Self-test: members answer reads from local state without ReadIndex. */
  readonly staleReads?: boolean;
  /** Self-test: members send a Ready's messages before persisting it. */
  readonly sendBeforePersist?: boolean;
  /** Self-test: this member skips applying puts now and then. */
  readonly dropApplyOn?: number;
  /** Skip the direct check of the Figure 8 commit rule, so only its consequences can be caught. */
  readonly skipCommitRuleCheck?: boolean;
  /** Overrides of the drawn fault plan (the self-test uses a hostile mix). */
  readonly plan?: Partial<FaultPlan>;
  /** Members keep their state in src/storage's real WAL and snapshot files on its faulty in-memory file system. */
  readonly realStorage?: boolean;
  /** Overrides of the drawn message size limit (1 sends one entry per App). */
  readonly maxSizePerMsg?: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  /** The violated property when !ok, e.g. "election-safety", "liveness", "linearizability". */
  readonly property?: string;
  readonly detail?: string;
  readonly traceHash: string;
  readonly classes: readonly FaultClass[];
  readonly stats: Record<string, number>;
  readonly trace: readonly string[];
}
