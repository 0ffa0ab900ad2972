// The follower's and candidate's side of the protocol: forwarding, accepting or rejecting
// Apps (with the fast back-off hint), heartbeats, installing snapshots, counting votes.
import { ProposalDroppedError } from './errors.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './raft-leader.js';
import { MessageType, NO_NODE, Role } from './types.js';
import type { Message, Snapshot } from './types.js';

/** Handles a message as a (pre-)candidate: count votes, or yield to a leader of this term. */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      throw new ProposalDroppedError('no leader');
    case MessageType.ReadIndex:
      throw new ProposalDroppedError('no leader to serve ReadIndex');
    case MessageType.App:
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.Commit:
      r.becomeFollower(m.term, m.from);
      handleCommit(r, m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case MessageType.TimeoutNow:
      return;
  }
  if (m.type !== myVoteResp) return;
  learnCommitFromRejection(r, m);
  const res = r.poll(m.from, m.type, !m.reject);
  if (res === VoteResult.Won) {
    if (r.role === Role.PreCandidate) {
      r.startElection();
    } else {
      r.becomeLeader();
      bcastAppend(r);
    }
  } else if (res === VoteResult.Lost) {
    // A rejection with a higher term already made us a follower in step().
    r.becomeFollower(r.term, NO_NODE);
  }
}

/**
 * A vote rejection carries the voter's commit index and the term there. If our log has that
 * entry with that term, our log up to it equals the voter's (log matching), so it is committed.
 */
function learnCommitFromRejection(r: Raft, m: Message): void {
  if (m.reject && m.commit > r.raftLog.committed && r.raftLog.matchTerm(m.commit, m.logTerm)) {
    r.raftLog.commitTo(m.commit);
  }
}

/** Handles a message as a follower: forward requests to the leader, accept its log. */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      // A rejection that carried a higher term made us a follower before we got here.
      learnCommitFromRejection(r, m);
      return;
    case MessageType.Prop:
      if (r.lead === NO_NODE) throw new ProposalDroppedError('no leader');
      r.send({ ...m, from: m.from === NO_NODE ? r.id : m.from, to: r.lead });
      return;
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.Commit:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleCommit(r, m);
      return;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.TransferLeader:
      if (r.lead === NO_NODE) {
        r.logger.info(`${r.id} dropped leader transfer: no leader`);
        return;
      }
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.TimeoutNow:
      // Transfers skip pre-vote: the old leader asked for this, so there is no partition to guard against.
      r.logger.info(`${r.id} received TimeoutNow from ${m.from}: campaigning to take leadership`);
      r.campaignForTransfer();
      return;
    case MessageType.ReadIndex:
      if (r.lead === NO_NODE) throw new ProposalDroppedError('no leader to serve ReadIndex');
      r.send({ ...m, from: m.from === NO_NODE ? r.id : m.from, to: r.lead });
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, context: m.context });
      return;
  }
}

/** True for a member that joined with no configuration and has not yet received one. */
export function awaitingConfiguration(r: Raft): boolean {
  return r.trk.progress.size === 0 && r.raftLog.lastIndex() === 0;
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (awaitingConfiguration(r)) {
    // Our empty log would "match" the leader's at index 0, but the log alone does not say
    // who the initial members are: ask for the snapshot that does.
    r.send(r.out({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: 0 }));
    return;
  }
  if (m.index < r.raftLog.committed) {
    // Everything up to commit is already settled here; tell the leader where we are.
    r.send(r.out({ type: MessageType.AppResp, to: m.from, index: r.raftLog.committed }));
    return;
  }
  const lastNew = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send(r.out({ type: MessageType.AppResp, to: m.from, index: lastNew }));
    return;
  }
  // Rejected: hint the largest index at or below the probe whose term is <= the probe's
  // term, so the leader can skip whole terms of entries we cannot share.
  const hint = r.raftLog.findConflictByTerm(Math.min(m.index, r.raftLog.lastIndex()), m.logTerm);
  r.send(
    r.out({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
  );
}

/** An empty App without an answer: log matching at m.index vouches for the entries we commit. */
function handleCommit(r: Raft, m: Message): void {
  if (m.index > r.raftLog.committed && r.raftLog.matchTerm(m.index, m.logTerm)) r.raftLog.commitTo(Math.min(m.commit, m.index));
}

function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  // commit is our addition to etcd's HeartbeatResp: it lets a leader waiting on a snapshot
  // report see that the snapshot arrived.
  r.send(r.out({ type: MessageType.HeartbeatResp, to: m.from, context: m.context, commit: r.raftLog.committed }));
}

function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  if (restore(r, s)) {
    r.logger.info(`${r.id} restored snapshot at ${s.metadata.index} (term ${s.metadata.term})`);
    r.send(r.out({ type: MessageType.AppResp, to: m.from, index: r.raftLog.lastIndex() }));
  } else {
    r.send(r.out({ type: MessageType.AppResp, to: m.from, index: r.raftLog.committed }));
  }
}

/** Installs a snapshot from the leader; false when it is stale or already covered. */
function restore(r: Raft, s: Snapshot): boolean {
  const { index, term, confState } = s.metadata;
  // A joiner takes even the bootstrap snapshot (index 0): it brings the initial membership,
  // which may predate the joiner's own addition (that follows in the log).
  const joining = awaitingConfiguration(r) && confState.voters.length > 0;
  if (index <= r.raftLog.committed && !joining) return false;
  if (r.role !== Role.Follower) {
    // Defence in depth: only followers restore snapshots.
    r.becomeFollower(r.term + 1, NO_NODE);
    return false;
  }
  // A snapshot whose configuration leaves us out is a mistake somewhere: refuse it.
  if (!joining && !confState.voters.includes(r.id) && !confState.learners.includes(r.id)) {
    r.logger.warn(`${r.id} refused snapshot at ${index}: not in its configuration`);
    return false;
  }
  if (!joining && r.raftLog.matchTerm(index, term)) {
    // We have the entry the snapshot ends with, hence everything before it: just commit.
    r.raftLog.commitTo(index);
    return false;
  }
  r.raftLog.restore(s);
  r.trk.reset(confState, r.raftLog.lastIndex() + 1);
  r.trk.progress.get(r.id)?.maybeUpdate(index);
  return true;
}
