// How far a member fast-forwards its election clock when it starts (etcd's advanceTicksForElection).
// A member that starts with no leader would otherwise sit out a whole randomized election timeout
// (one to two timeouts) before its first pre-vote; fast-forwarding electionTick - 1 ticks leaves
// between one tick and one timeout, still random per member, so the first election of a fresh or
// restored cluster comes sooner and split votes stay as rare as before. It is safe for the same
// reason any timing is: a restarted member that pre-votes early while the cluster has a leader is
// refused (PreVote, and CheckQuorum's lease on the members that hear from that leader), so it
// disrupts nobody.
import type { ConfState, NodeId } from '../raft/index.js';

/** Ticks to advance at start: electionTick - 1 for a voter with peers, else 0. */
export function bootTicks(confState: ConfState, memberId: NodeId, electionTick: number): number {
  if (!confState.voters.includes(memberId)) return 0;
  // A lone voter campaigns at once instead (Member.start); a learner or joiner never campaigns.
  if (confState.voters.length === 1) return 0;
  return Math.max(0, electionTick - 1);
}
