// The configuration (voters and learners) and every member's Progress, plus the votes of
// the election under way. Simple (one-at-a-time) membership changes only: no joint config.
import { Progress } from './progress.js';
import { committedIndex, voteResult, VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

/** Voters, learners and their progress, as the leader (or a candidate) tracks them. */
export class ProgressTracker {
  /** Every member, voter or learner, in insertion order (keeps message order deterministic). */
  readonly progress = new Map<NodeId, Progress>();
  private voterIds: NodeId[] = [];
  private readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  /** The voters, in a stable order. */
  voters(): readonly NodeId[] {
    return this.voterIds;
  }

  /** True when `id` is a voter. */
  isVoter(id: NodeId): boolean {
    const pr = this.progress.get(id);
    return pr !== undefined && !pr.isLearner;
  }

  /** Adds or updates a member; `next` seeds a new member's Progress. */
  set(id: NodeId, isLearner: boolean, next: number): void {
    const pr = this.progress.get(id);
    if (pr) pr.isLearner = isLearner;
    else this.progress.set(id, new Progress(next, this.maxInflight, isLearner));
    this.refreshVoters();
  }

  /** Removes a member. */
  remove(id: NodeId): void {
    this.progress.delete(id);
    this.votes.delete(id);
    this.refreshVoters();
  }

  /** Replaces the whole configuration (after a snapshot or at start). */
  reset(cs: ConfState, next: number): void {
    this.progress.clear();
    this.votes.clear();
    for (const id of cs.voters) this.progress.set(id, new Progress(next, this.maxInflight, false));
    for (const id of cs.learners) {
      if (!this.progress.has(id)) this.progress.set(id, new Progress(next, this.maxInflight, true));
    }
    this.refreshVoters();
  }

  private refreshVoters(): void {
    const ids: NodeId[] = [];
    for (const [id, pr] of this.progress) if (!pr.isLearner) ids.push(id);
    this.voterIds = ids;
  }

  /** The configuration as a ConfState (sorted, so equal configs compare equal). */
  confState(): ConfState {
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (const [id, pr] of this.progress) (pr.isLearner ? learners : voters).push(id);
    return { voters: voters.sort(), learners: learners.sort() };
  }

  /** The largest index acknowledged by a majority of voters. */
  committed(): number {
    return committedIndex(this.voterIds, (id) => this.progress.get(id)?.match);
  }

  /** True when a single voter decides alone. */
  isSingleton(): boolean {
    return this.voterIds.length === 1;
  }

  /** Forgets the votes of the last election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s answer; only the first answer from each member counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** The outcome of the election so far. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voterIds) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voterIds, (id) => this.votes.get(id)) };
  }

  /** Whether the members in `acks` form a quorum of voters. */
  tallyAcks(acks: ReadonlySet<NodeId>): VoteResult {
    return voteResult(this.voterIds, (id) => (acks.has(id) ? true : undefined));
  }

  /** True when a majority of voters (counting `self`) were recently active. */
  quorumActive(self: NodeId): boolean {
    return voteResult(this.voterIds, (id) => id === self || this.progress.get(id)!.recentActive) === VoteResult.Won;
  }
}
