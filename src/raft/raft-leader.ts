// The leader's side of the protocol: sending Apps, snapshots and heartbeats under flow
// control, taking proposals, handling acknowledgements (commitment, pipelining, leader
// transfer) and serving ReadIndex.
import { CompactedError, ProposalDroppedError } from './errors.js';
import { ProgressState } from './progress.js';
import type { Progress } from './progress.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { EntryType, MessageType, NO_NODE, Role } from './types.js';
import type { Entry, Message, NodeId, Snapshot } from './types.js';
import { entriesSize } from './util.js';

/** Sends an App (or a snapshot) to `to` if its progress allows; true when something was sent. */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  let ents: Entry[];
  try {
    prevTerm = r.raftLog.term(prevIndex);
    ents = r.raftLog.entries(pr.next, r.maxMsgSize);
  } catch (e) {
    if (e instanceof CompactedError) return maybeSendSnapshot(r, to, pr);
    throw e;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  const committed = r.raftLog.committed;
  r.send(r.out({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: committed }));
  pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1]!.index : 0);
  // A follower that accepts this App commits up to its last entry at most.
  pr.sentCommit = Math.max(pr.sentCommit, Math.min(committed, prevIndex + ents.length));
  return true;
}

function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

function maybeSendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) {
    r.logger.info(`${r.id} ignored sending snapshot to ${to}: not recently active`);
    return false;
  }
  const snap: Snapshot = r.raftLog.snapshot();
  // Index 0 is fine when it carries the bootstrap configuration: a joiner needs exactly that.
  if (snap.metadata.index === 0 && snap.metadata.confState.voters.length === 0) {
    throw new Error('need a non-empty snapshot to send');
  }
  r.logger.info(`${r.id} sends snapshot at ${snap.metadata.index} to ${to} (match ${pr.match}, next ${pr.next})`);
  pr.becomeSnapshot(snap.metadata.index);
  r.send(r.out({ type: MessageType.Snap, to, snapshot: snap }));
  return true;
}

function sendHeartbeat(r: Raft, to: NodeId, context: string): void {
  // Never advance a follower's commit past what it is known to hold: its log may lag.
  const pr = r.trk.progress.get(to)!;
  const commit = Math.min(pr.match, r.raftLog.committed);
  r.send(r.out({ type: MessageType.Heartbeat, to, commit, context }));
  pr.sentCommit = Math.max(pr.sentCommit, commit);
}

/**
 * Tells every follower that has not yet heard it the new commit index, in one unanswered Commit
 * message each, where etcd sends an empty App that every follower acknowledges. Like that App it
 * names the last entry sent (pr.next - 1) and its term, so a follower commits only what its log
 * shares with ours, including entries it has not acknowledged yet.
 */
function bcastCommit(r: Raft): void {
  const committed = r.raftLog.committed;
  for (const [id, pr] of r.trk.progress) {
    if (id === r.id || pr.state === ProgressState.Snapshot) continue;
    const index = pr.next - 1;
    if (Math.min(committed, index) <= pr.sentCommit) continue;
    let logTerm: number;
    try {
      logTerm = r.raftLog.term(index);
    } catch (e) {
      if (e instanceof CompactedError) continue;
      throw e;
    }
    r.send(r.out({ type: MessageType.Commit, to: id, index, logTerm, commit: committed }));
    pr.sentCommit = Math.min(committed, index);
  }
}

/** Sends Apps to every member that can take them, filling replicating members' windows. */
export function bcastAppend(r: Raft): void {
  for (const [id, pr] of r.trk.progress) {
    if (id === r.id) continue;
    sendAppend(r, id);
    if (pr.state === ProgressState.Replicate) while (maybeSendAppend(r, id, false)) {}
  }
}

function bcastHeartbeat(r: Raft, context: string): void {
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, context);
}

/** Handles a message as the leader. */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r, '');
      return;
    case MessageType.Prop:
      leaderPropose(r, m);
      return;
    case MessageType.ReadIndex:
      if (!r.committedEntryInCurrentTerm()) {
        // Until this leader commits an entry of its term it does not know the true commit index.
        r.pendingReadIndexMessages.push(m);
        return;
      }
      serveReadIndex(r, m);
      return;
  }
  const pr = r.trk.progress.get(m.from);
  if (!pr) return;
  switch (m.type) {
    case MessageType.AppResp:
      handleAppResp(r, m, pr);
      return;
    case MessageType.HeartbeatResp: {
      pr.recentActive = true;
      // The follower's commit index (which this core puts in HeartbeatResp) at or past the
      // snapshot we are waiting on proves it arrived, even if the send report was lost.
      if (pr.state === ProgressState.Snapshot && m.commit >= pr.pendingSnapshot) pr.becomeProbe();
      pr.msgAppFlowPaused = false;
      // The follower is alive, so acks may have been lost: make room to send again.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      // A lagging follower gets an App (possibly empty: it re-syncs a pipeline whose Apps were
      // lost); a caught-up one in Probe gets one too, so that its answer restores Replicate.
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressState.Probe) sendAppend(r, m.from);
      if (m.context === '') return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return;
      if (r.trk.tallyAcks(acks) !== VoteResult.Won) return;
      for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
      return;
    }
    case MessageType.SnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for the follower's answer (or a heartbeat) before probing again.
      pr.msgAppFlowPaused = true;
      return;
    case MessageType.Unreachable:
      // An unreachable follower loses what was pipelined: probe it again.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader: {
      if (pr.isLearner) {
        r.logger.info(`${r.id} ignored transferring leadership to learner ${m.from}`);
        return;
      }
      const transferee = m.from;
      if (r.leadTransferee !== NO_NODE) {
        if (r.leadTransferee === transferee) return;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return;
      // The transfer must finish within one election timeout.
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
      else sendAppend(r, transferee);
      return;
    }
  }
}

function leaderPropose(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new Error(`${r.id} stepped an empty proposal`);
  if (!r.trk.progress.has(r.id)) throw new ProposalDroppedError('this member was removed from the cluster');
  if (r.leadTransferee !== NO_NODE) throw new ProposalDroppedError('leadership transfer in progress');
  if (!r.increaseUncommittedSize(entriesSize(m.entries))) {
    throw new ProposalDroppedError('too much proposed data is still uncommitted');
  }
  const ents = m.entries.slice();
  for (let i = 0; i < ents.length; i++) {
    if (ents[i]!.type !== EntryType.ConfChange) continue;
    if (r.pendingConfIndex > r.raftLog.applied) {
      r.reduceUncommittedSize(entriesSize(m.entries));
      throw new ProposalDroppedError('a configuration change is already pending');
    }
    r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
  }
  r.appendEntry(ents);
  // Apps go out when the Ready is cut, so proposals made between two ready() calls travel
  // together: one App per follower carrying them all, not one per proposal.
  r.proposalsToSend = true;
}

/**
 * Sends the Apps that proposals since the last Ready deferred, then the new commit index to the
 * followers those Apps did not carry it to: a commit and the next proposals share one message.
 */
export function flushProposals(r: Raft): void {
  if (r.proposalsToSend) {
    r.proposalsToSend = false;
    if (r.role === Role.Leader) bcastAppend(r);
  }
  if (r.commitToSend) {
    r.commitToSend = false;
    if (r.role === Role.Leader) bcastCommit(r);
  }
}

function handleAppResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    // Stale: the follower has since acknowledged at or past the rejected index.
    if (pr.match > 0 && m.index <= pr.match) return;
    if (m.index < r.raftLog.firstIndex()) {
      // Rejected at (or below) the start of our log: only a snapshot can help. This is how a
      // member joining with no configuration gets the membership the log starts from.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      if (pr.state !== ProgressState.Snapshot) maybeSendSnapshot(r, m.from, pr);
      return;
    }
    // The follower says where its log might match ours (rejectHint) and the term there
    // (logTerm); skip straight past every entry of terms it cannot have.
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const oldPaused = pr.isPaused();
  const updated = pr.maybeUpdate(m.index);
  const probeAcked = pr.match === m.index && pr.state === ProgressState.Probe;
  // A joiner answering the bootstrap snapshot (index 0) acks an index it was already
  // credited with; it still proves the snapshot arrived.
  const snapshotAcked = pr.state === ProgressState.Snapshot && pr.match === m.index && m.index >= pr.pendingSnapshot;
  if (!updated && !probeAcked && !snapshotAcked) return;
  if (pr.state === ProgressState.Probe) {
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
    // The follower caught up (through the snapshot or otherwise) to where our log continues.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
    // The snapshot arrived (an ack at or past it proves it) but the log was compacted past it
    // meanwhile: probe again, which sends a newer snapshot, rather than wait for a report.
    pr.becomeProbe();
  } else if (pr.state === ProgressState.Replicate) {
    pr.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) {
    // Followers hear of it when the Ready is cut (flushProposals), with any new proposals.
    r.commitToSend = true;
  }
  if (oldPaused) sendAppend(r, m.from);
  // Fill the window: send as many Apps as the inflight limit allows.
  while (maybeSendAppend(r, m.from, false)) {
    // keep sending
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.logger.info(`${r.id} sent TimeoutNow to ${m.from} after it caught up`);
    sendTimeoutNow(r, m.from);
  }
}

function serveReadIndex(r: Raft, m: Message): void {
  if (r.trk.isSingleton()) {
    respondToReadIndex(r, m, r.raftLog.committed);
    return;
  }
  r.readOnly.addRequest(r.raftLog.committed, m);
  r.readOnly.recvAck(r.id, m.context);
  bcastHeartbeat(r, m.context);
}

/** Delivers a confirmed read point: locally as a ReadState, or back to the forwarding follower. */
export function respondToReadIndex(r: Raft, req: Message, index: number): void {
  if (req.from === NO_NODE || req.from === r.id) {
    r.readStates.push({ index, context: req.context });
  } else {
    r.send(r.out({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.context }));
  }
}

/** Serves the ReadIndex requests held until this leader committed an entry of its term. */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) serveReadIndex(r, m);
}

/** Tells `to` to campaign at once (leader transfer). */
export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(r.out({ type: MessageType.TimeoutNow, to }));
}
