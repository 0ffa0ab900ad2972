// The raft state machine: terms, roles, elections, replication, commitment, ReadIndex,
// snapshots, membership and leader transfer. Driven only by step() and tick(); it never
// performs I/O: what must be persisted, sent and applied leaves through RawNode's Ready.
import { decodeConfChange } from './conf-change-codec.js';
import type { ProgressStatus, RaftConfig, RaftStatus } from './config.js';
import { ProgressState } from './progress.js';
import { VoteResult } from './quorum.js';
import { stepCandidate, stepFollower } from './raft-follower.js';
import { bcastAppend, maybeSendAppend, releasePendingReadIndexMessages, sendTimeoutNow, stepLeader } from './raft-leader.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker } from './tracker.js';
import { ConfChangeType, EntryType, MessageType, message, NO_NODE, Role } from './types.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, SoftState } from './types.js';

/** The Vote context that marks a leader-transfer campaign (it may break a leader's lease). */
export const CAMPAIGN_TRANSFER = 'transfer';

const EMPTY = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);
const NOOP_LOGGER = { info(): void {}, warn(): void {} };

enum CampaignType {
  PreElection,
  Election,
  Transfer,
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

/**
 * One member's raft state machine. RawNode is the API around it; this class is internal to
 * src/raft. Members without `private` are shared with raft-leader.ts and raft-follower.ts,
 * which hold the leader's and the follower's halves of step().
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NO_NODE;
  role: Role = Role.Follower;
  lead: NodeId = NO_NODE;
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  /** Outgoing messages, drained into each Ready. */
  msgs: Message[] = [];
  /** ReadIndex results for local requests, drained into each Ready. */
  readStates: ReadState[] = [];
  /** The member leadership is being handed to; proposals are dropped meanwhile. */
  leadTransferee: NodeId = NO_NODE;
  /** Log index of the last conf change that may still be unapplied; only one may be in flight. */
  pendingConfIndex = 0;
  readOnly = new ReadOnly();
  /** Set when proposals were appended but their Apps not yet sent (see flushProposals). */
  proposalsToSend = false;
  /** Leader: the commit index moved and followers have not all been told (see flushProposals). */
  commitToSend = false;
  /** ReadIndex requests a new leader holds until it commits an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  /** Leader/candidate: ticks since the last election timeout; follower: since leader contact. */
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  /** Leader: data bytes of entries appended in this term and not yet applied. */
  private uncommittedSize = 0;
  private readonly randomInt: (n: number) => number;
  private readonly unsafeCommitByCounting: boolean;
  readonly logger: { info(msg: string): void; warn(msg: string): void };

  constructor(c: RaftConfig) {
    if (!c.id) throw new Error('cannot use an empty node ID');
    if (c.heartbeatTick <= 0) throw new Error('heartbeat tick must be greater than 0');
    if (c.electionTick <= c.heartbeatTick) throw new Error('election tick must be greater than heartbeat tick');
    const maxInflight = c.maxInflightMsgs ?? 256;
    if (maxInflight <= 0) throw new Error('max inflight messages must be greater than 0');
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? Number.MAX_SAFE_INTEGER;
    this.randomInt = c.randomInt;
    this.unsafeCommitByCounting = c.testingKnobs?.commitEntriesFromPriorTermsByCounting === true;
    this.logger = c.logger ?? NOOP_LOGGER;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER);
    const { hardState, confState } = c.storage.initialState();
    this.trk = new ProgressTracker(maxInflight);
    this.trk.reset(confState, this.raftLog.lastIndex() + 1);
    if (hardState.term !== 0 || hardState.vote !== NO_NODE || hardState.commit !== 0) this.loadState(hardState);
    // Terms in the log never decrease, and leader completeness depends on it: a member started
    // from a snapshot of term T (a restored cluster) must not campaign at a term below T.
    const lastTerm = this.raftLog.lastTerm();
    if (this.term < lastTerm) {
      this.term = lastTerm;
      this.vote = NO_NODE;
    }
    if (c.applied !== undefined && c.applied > 0) {
      // A commit-only hard state is written without fsync, so after a crash the application
      // may have applied (durably) past the commit index on disk. What it applied was committed.
      if (c.applied > this.raftLog.committed && c.applied <= this.raftLog.lastIndex()) this.raftLog.committed = c.applied;
      this.raftLog.appliedTo(c.applied);
    }
    this.becomeFollower(this.term, NO_NODE);
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(`hard state commit ${hs.commit} is past the last log index ${this.raftLog.lastIndex()}`);
    }
    // A commit below the snapshot index is stale (the snapshot covers committed entries only).
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** The state that must be durable before messages of this Ready are sent. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Leader and role, for the application's information. */
  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /** A snapshot of this member's state. */
  status(): RaftStatus {
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (this.role === Role.Leader) {
      progress = new Map();
      for (const [id, pr] of this.trk.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.raftLog.committed,
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      leader: this.lead,
      role: this.role,
      confState: this.trk.confState(),
      progress,
      leadTransferee: this.leadTransferee,
    };
  }

  // ---- sending ----

  /** Queues a message for the next Ready. */
  send(m: Message): void {
    this.msgs.push(m);
  }

  /** Builds an outgoing message from this member, stamped with the current term unless given. */
  out(f: Partial<Message> & Pick<Message, 'type' | 'to'>): Message {
    // Spelled out rather than spread: this runs for every message on the hot path.
    const m: Message = {
      type: f.type,
      from: this.id,
      to: f.to,
      term: f.term ?? this.term,
      logTerm: f.logTerm ?? 0,
      index: f.index ?? 0,
      entries: f.entries ?? NO_ENTRIES,
      commit: f.commit ?? 0,
      reject: f.reject ?? false,
      rejectHint: f.rejectHint ?? 0,
      context: f.context ?? '',
    };
    return f.snapshot ? { ...m, snapshot: f.snapshot } : m;
  }

  // ---- commitment ----

  /** Advances commit to what a quorum holds, counting only entries of this term (Figure 8). */
  maybeCommit(): boolean {
    const mci = this.trk.committed();
    const committed = this.raftLog.maybeCommit(mci, this.term, this.unsafeCommitByCounting);
    if (committed && this.role === Role.Leader) releasePendingReadIndexMessages(this);
    return committed;
  }

  /** True once this leader has committed an entry of its own term. */
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  /** Appends proposals to the leader's log, stamping term and index. */
  appendEntry(ents: Entry[]): void {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      ents[i] = { term: this.term, index: ++li, type: e.type, data: e.data };
    }
    li = this.raftLog.append(ents);
    // In this synchronous contract the entries are persisted before any message of the Ready
    // leaves and before anything is applied, so the leader may count itself at once.
    this.trk.progress.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
  }

  // ---- roles ----

  private reset(term: number): void {
    if (this.term !== term) {
      // Unsent messages of an older term are moot now, and an acknowledgement among them may
      // vouch for entries a newer leader has just replaced before they were ever persisted.
      // Dropping them is no worse than losing them in the network.
      if (this.msgs.length > 0) this.msgs = this.msgs.filter((m) => m.term === 0 || m.term >= term);
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = false;
      pr.sentCommit = 0;
      pr.inflights.reset();
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.commitToSend = false;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.randomInt(this.electionTimeout);
  }

  /** Becomes a follower of `lead` (NO_NODE when unknown) in `term`. */
  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  private becomeCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  private becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: a failed pre-election disturbs nobody.
    this.trk.resetVotes();
    this.lead = NO_NODE;
    this.role = Role.PreCandidate;
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  /**
   * Accounts for proposals of `size` data bytes; false when they would push the leader past
   * its uncommitted limit. A lone proposal is always let in, however large.
   */
  increaseUncommittedSize(size: number): boolean {
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    return true;
  }

  /** Releases the bytes of entries the application has now applied. */
  reduceUncommittedSize(size: number): void {
    this.uncommittedSize = Math.max(0, this.uncommittedSize - size);
  }

  /** Takes leadership after winning an election: resets progress and appends the no-op. */
  becomeLeader(): void {
    if (this.role === Role.Follower) throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Any conf change in the log may be unapplied; hold new ones until the log is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op that lets this leader commit (and serve reads) in its own term.
    this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }]);
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  /** True when this member may campaign: a voter with no snapshot pending. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, this.maxMsgSize);
      for (const e of ents) if (e.type === EntryType.ConfChange) return true;
      lo += ents.length;
    }
    return false;
  }

  private hup(t: CampaignType): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and cannot campaign`);
      return;
    }
    // A member must not campaign while a committed conf change it has not applied may
    // change who the voters are.
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term}: conf changes are pending apply`);
      return;
    }
    this.campaign(t);
  }

  /** Starts the real election once a pre-election is won. */
  startElection(): void {
    this.campaign(CampaignType.Election);
  }

  /** Campaigns at once on the leader's TimeoutNow, skipping pre-vote and leases. */
  campaignForTransfer(): void {
    this.hup(CampaignType.Transfer);
  }

  private campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, voteMsg, true) === VoteResult.Won) {
      // A single voter wins outright.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voters()) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteMsg,
          from: this.id,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === CampaignType.Transfer ? CAMPAIGN_TRANSFER : '',
        }),
      );
    }
  }

  /** Records a vote and returns the election's outcome so far. */
  poll(id: NodeId, t: MessageType, granted: boolean): VoteResult {
    this.logger.info(`${this.id} received ${t} ${granted ? 'grant' : 'rejection'} from ${id} at term ${this.term}`);
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- time ----

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.checkQuorumActive();
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.role === Role.Leader && this.leadTransferee !== NO_NODE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  private checkQuorumActive(): void {
    const self = this.trk.progress.get(this.id);
    if (self) self.recentActive = true;
    if (!this.trk.quorumActive(this.id)) {
      this.logger.warn(`${this.id} stepped down to follower since quorum is not active`);
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
  }

  // ---- stepping ----

  /** Feeds one message (from a peer, or local) into the state machine. */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message.
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.context === CAMPAIGN_TRANSFER;
        const inLease = this.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // A member that heard from a live leader recently ignores disruptive candidates.
          this.logger.info(`${this.id} ignored ${m.type} from ${m.from} at term ${m.term}: lease not expired`);
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we would campaign at; the term moves only if
        // the pre-election wins and the real election starts.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap || m.type === MessageType.Commit) {
        this.becomeFollower(m.term, m.from);
      } else {
        // A vote request only resets our election timer if we grant it (Raft figure 2):
        // otherwise a candidate with a stale log and a fast clock, campaigning again and
        // again, would keep a better candidate from ever timing out.
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, NO_NODE);
        if (m.type === MessageType.Vote) this.electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App || m.type === MessageType.Commit)) {
        // A stale leader (perhaps isolated while we moved on) learns the newer term from this.
        this.send(this.out({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        // Answer so that a pre-candidate with a stale term learns ours.
        this.send(this.rejectVote(m));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NO_NODE && this.lead === NO_NODE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Granted answers carry the request's term: a pre-candidate counts them at its future term.
          this.send(message({ type: voteRespType(m.type), from: this.id, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(this.rejectVote(m));
        }
        return;
      }
      default:
        if (this.role === Role.Leader) stepLeader(this, m);
        else if (this.role === Role.Follower) stepFollower(this, m);
        else stepCandidate(this, m);
    }
  }

  /**
   * A vote rejection. It also carries our commit index and the term there: a candidate holding
   * that same entry knows it is committed (log matching) and may apply up to it. Without this a
   * removed leader's last voter could wait forever to learn that its removal committed.
   */
  private rejectVote(m: Message): Message {
    const commit = this.raftLog.committed;
    return this.out({ type: voteRespType(m.type), to: m.from, reject: true, commit, logTerm: this.raftLog.termOrZero(commit) });
  }

  // ---- membership ----

  /** Applies a committed conf change to the configuration; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState {
    // A new member is probed at our last entry, so that the leader's first App carries
    // something and goes out at once instead of waiting for a heartbeat.
    const next = Math.max(this.raftLog.lastIndex(), 1);
    const existing = this.trk.progress.get(cc.nodeId);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        this.trk.set(cc.nodeId, false, next);
        break;
      case ConfChangeType.AddLearnerNode:
        if (existing && !existing.isLearner && this.trk.voters().length === 1) {
          this.logger.warn(`${this.id} ignored demoting the last voter ${cc.nodeId}`);
          break;
        }
        this.trk.set(cc.nodeId, true, next);
        break;
      case ConfChangeType.RemoveNode:
        if (existing && !existing.isLearner && this.trk.voters().length === 1) {
          this.logger.warn(`${this.id} ignored removing the last voter ${cc.nodeId}`);
          break;
        }
        this.trk.remove(cc.nodeId);
        break;
    }
    const added = !existing ? this.trk.progress.get(cc.nodeId) : undefined;
    if (added) added.recentActive = true;
    return this.switchToConfig();
  }

  private switchToConfig(): ConfState {
    const cs = this.trk.confState();
    const self = this.trk.progress.get(this.id);
    if (this.role !== Role.Leader) return cs;
    if (!self || self.isLearner) {
      // A leader removed (or demoted) by a change it has committed and applied steps down.
      // A voter that already holds our whole log is told to campaign at once (as in a leader
      // transfer) instead of waiting out an election timeout.
      const last = this.raftLog.lastIndex();
      const heir = this.trk.voters().find((id) => this.trk.progress.get(id)!.match === last);
      if (heir !== undefined) sendTimeoutNow(this, heir);
      this.logger.info(`${this.id} stepping down: removed from the configuration${heir ? `; ${heir} takes over` : ''}`);
      this.becomeFollower(this.term, NO_NODE);
      return cs;
    }
    if (this.leadTransferee !== NO_NODE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // Fewer voters may make more entries committed; new members need their first App.
    if (this.maybeCommit()) bcastAppend(this);
    else for (const id of this.trk.progress.keys()) if (id !== this.id) maybeSendAppend(this, id, false);
    return cs;
  }

  /** Decodes and applies the conf change in a committed ConfChange entry. */
  applyConfChangeEntry(e: Entry): ConfState {
    return this.applyConfChange(decodeConfChange(e.data));
  }

  // ---- leader transfer ----

  /** Gives up a leader transfer under way. */
  abortLeaderTransfer(): void {
    this.leadTransferee = NO_NODE;
  }
}
