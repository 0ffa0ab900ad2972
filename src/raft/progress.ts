// What a leader knows about one follower's log, and the flow-control state machine that
// decides how it sends: Probe (one App at a time until the follower's position is known),
// Replicate (optimistic pipelining bounded by the inflight window), Snapshot (wait until a
// snapshot sent out of band is reported).
import { Inflights } from './inflights.js';

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

/** The leader's view of one member's log. */
export class Progress {
  /** Highest index known to be replicated on the member. Invariant: match < next. */
  match = 0;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Set when the member was heard from since the last CheckQuorum round. */
  recentActive = false;
  /** In Probe state: an App was sent and no answer seen yet, so hold further Apps. */
  msgAppFlowPaused = false;
  /**
   * The highest commit index this member was last told (by an App it can accept, a heartbeat or a
   * Commit); only spares redundant Commit messages, so being wrong costs a little delay, never safety.
   */
  sentCommit = 0;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to one-at-a-time probing; after a snapshot, resume just past it. */
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  /** Start pipelining from just after the known match. */
  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  /** Stop sending entries until the snapshot at `snapshotIndex` is reported. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Accounts for an App carrying `count` entries whose last index is `lastIndex`. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === ProgressState.Probe) {
      if (count > 0) this.msgAppFlowPaused = true;
    } else {
      throw new Error(`sending append in unhandled progress state ${this.state}`);
    }
  }

  /** Records an acknowledgement of `n`; false if it was stale (already known). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * Handles a rejection of the App whose previous index was `rejected`; `matchHint` is the
   * highest index the follower might share with the leader. False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** True when the leader must not send this member another App now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }
}
