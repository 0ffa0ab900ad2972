// The application's handle on a raft member: inputs (tick, step, propose, ...) go in, and
// everything to persist, send and apply comes out in a Ready, acknowledged by advance().
import { encodeConfChange } from './conf-change-codec.js';
import type { RaftConfig, RaftStatus } from './config.js';
import { ProposalDroppedError } from './errors.js';
import { Raft } from './raft.js';
import { flushProposals } from './raft-leader.js';
import { EntryType, MessageType, message, Role } from './types.js';
import { entriesSize } from './util.js';
import type { ConfChange, ConfState, HardState, Message, NodeId, Ready, SoftState } from './types.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** A raft member driven synchronously by the application (not thread-safe; one caller). */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances logical time by one tick (elections and heartbeats are counted in ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with a pre-vote round when enabled). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /**
   * Feeds a message from a peer (or a local one). A forwarded proposal or ReadIndex this
   * member cannot take is dropped silently (its proposer times out), as a network would.
   */
  step(m: Message): void {
    try {
      this.raft.step(m);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  /** Proposes `data` for the log; throws ProposalDroppedError when it cannot be taken now. */
  propose(data: Uint8Array): void {
    this.raft.step(
      message({ type: MessageType.Prop, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }),
    );
  }

  /** Proposes a membership change; throws ProposalDroppedError likewise, or when one is pending. */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed conf change (call it when its entry is applied); returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Requests a linearizable read point; the ReadState with `context` (non-empty, unique among
   * pending requests) arrives in a later Ready. Throws ProposalDroppedError without a leader.
   */
  readIndex(context: string): void {
    if (context === '') throw new TypeError('readIndex needs a non-empty context');
    this.raft.step(message({ type: MessageType.ReadIndex, context }));
  }

  /** Asks the leader to hand leadership to `to`. */
  transferLeader(to: NodeId): void {
    this.step(message({ type: MessageType.TransferLeader, from: to }));
  }

  /** Reports that `id` could not be reached: its pipelined Apps were probably lost. */
  reportUnreachable(id: NodeId): void {
    this.step(message({ type: MessageType.Unreachable, from: id }));
  }

  /** Reports the outcome of sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  /** True when ready() would return something to do. */
  hasReady(): boolean {
    const r = this.raft;
    if (r.proposalsToSend || r.commitToSend) return true;
    // Compared field by field: hasReady runs on every turn of the application's loop.
    if (r.lead !== this.prevSoftState.leader || r.role !== this.prevSoftState.role) return true;
    const hs = this.prevHardState;
    if (r.term !== hs.term || r.vote !== hs.vote || r.raftLog.committed !== hs.commit) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.entries.length > 0 || r.readStates.length > 0) return true;
    return r.raftLog.hasNextCommittedEnts();
  }

  /**
   * What the application must now persist, send and apply (see Ready in types.ts).
   * Call advance() with it before calling ready() again.
   */
  ready(): Ready {
    const r = this.raft;
    flushProposals(r);
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.raftLog.unstableEntries();
    const snapshot = r.raftLog.unstable.snapshot;
    const softChanged = soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role;
    const hardChanged = !sameHardState(hard, this.prevHardState);
    const rd: Ready = {
      softState: softChanged ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      readStates: r.readStates,
      entries,
      snapshot,
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      // Term and vote must be durable before a vote is sent; commit alone may be lost and relearned.
      mustSync:
        entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = soft;
    if (hardChanged) this.prevHardState = hard;
    return rd;
  }

  /** Tells the core that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const log = this.raft.raftLog;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      log.stableTo(last.index, last.term);
    }
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > log.applied) log.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.committedEntries.length > 0) {
      log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
      if (this.raft.role === Role.Leader) this.raft.reduceUncommittedSize(entriesSize(rd.committedEntries));
    }
  }

  /** This member's state (progress only on the leader). */
  status(): RaftStatus {
    return this.raft.status();
  }
}
