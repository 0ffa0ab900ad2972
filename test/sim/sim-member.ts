// One simulated member: a RawNode driven through the Ready loop the way the server drives it,
// a register machine applied from committed entries, periodic snapshots with compaction, and a
// disk that outlives crashes. The world (simulation.ts) feeds it ticks, messages and client
// requests and decides when it crashes; it never looks inside the raft core.

import {
  RawNode,
  ProposalDroppedError,
  decodeConfChange,
} from '../../src/raft/index.js';
import {
  ConfChangeType,
  EntryType,
  Role,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import type { MemberPersistence, PersistObserver } from './durable-state.js';
import { SimDisk } from './sim-disk.js';
import { RegisterMachine, decodePut, encodePut } from './register-machine.js';
import { SafetyViolation, type SafetyMonitor } from './safety-monitor.js';
import type { TraceHash } from './trace-hash.js';

/** What a member answers a client. 'not-leader' and 'dropped' mean the operation certainly did not happen. */
export type ClientReply =
  | { readonly op: number; readonly kind: 'ok'; readonly value?: string | null }
  | { readonly op: number; readonly kind: 'not-leader'; readonly hint: NodeId }
  | { readonly op: number; readonly kind: 'dropped' };

/** Where in a Ready a crash lands: each point loses a different amount of work. */
export type CrashPoint = 'none' | 'before-persist' | 'torn-persist' | 'io-error' | 'after-persist' | 'after-send' | 'after-apply';

/** What the world provides to a member. */
export interface MemberEnv {
  readonly monitor: SafetyMonitor;
  readonly hash: TraceHash;
  readonly electionTick: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly priorTermCounting: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  snapshotEvery(): number;
  compactKeep(): number;
  send(msg: Message): void;
  reply(from: NodeId, client: string, reply: ClientReply): void;
  crashPoint(member: NodeId): CrashPoint;
  /** Opens (or reopens after a crash) a member's durable storage. */
  openPersistence(member: NodeId, disk: SimDisk, observer: PersistObserver): MemberPersistence;
  /** The process died: the storage keeps only what it synced. */
  persistenceCrashed(member: NodeId): void;
  /** Draws how much of a torn Ready reaches the disk. */
  readonly tearRng: Prng;
  /** A conf change was applied at `index`; `replayed` when the index was already committed on disk at start. */
  confApplied(member: NodeId, cc: ConfChange, cs: ConfState, index: number, replayed: boolean): void;
  trace(line: string): void;
  /** Self-test hooks that break the member on purpose. */
  readonly inject: {
    readonly staleReads?: boolean;
    readonly dropApply?: (member: NodeId, index: number) => boolean;
    readonly sendBeforePersist?: boolean;
  };
}

export type MemberStatus = 'unborn' | 'up' | 'down' | 'removed';

interface PendingRead {
  readonly client: string;
  readonly op: number;
  readonly key: string;
  index: number; // -1 until the ReadState arrives
}

/** A simulated member and its lifecycle. */
export class SimMember {
  status: MemberStatus = 'unborn';
  paused = false;
  incarnation = 0;
  role: Role = Role.Follower;
  leader: NodeId = '';
  term = 0;
  applied = 0;
  confState: ConfState;
  /** Messages that arrived while paused, handed over on resume (a stalled process's socket buffer). */
  readonly inbox: Message[] = [];
  private node: RawNode | null = null;
  private durable: MemberPersistence | null = null;
  private machine = new RegisterMachine();
  private pendingPuts = new Map<string, { client: string; op: number }>();
  private pendingReads = new Map<string, PendingRead>();
  /** The commit index on disk when this incarnation started: conf changes at or below it are history being replayed. */
  private startCommit = 0;
  /** Set when a conf change was applied since the last snapshot. */
  private confSinceSnapshot = false;

  constructor(
    readonly id: NodeId,
    readonly disk: SimDisk,
    private readonly env: MemberEnv,
  ) {
    this.confState = disk.snapshot.metadata.confState;
  }

  get isUp(): boolean {
    return this.status === 'up';
  }

  get isLeader(): boolean {
    return this.status === 'up' && this.role === Role.Leader;
  }

  /** The register machine's canonical state (for convergence checks). */
  stateDigest(): string {
    return this.machine.snapshot();
  }

  /** The core's own view, for convergence checks. */
  raftStatus(): ReturnType<RawNode['status']> | null {
    return this.node ? this.node.status() : null;
  }

  /** Starts (or restarts) the member from its disk; volatile state starts over. */
  start(rng: Prng): void {
    this.incarnation++;
    const disk = this.disk;
    this.durable = this.env.openPersistence(this.id, disk, this.env.monitor.observerFor(this.id, () => this.term));
    const snap = disk.snapshot;
    this.machine = new RegisterMachine();
    this.machine.restore(snap.data as string);
    this.applied = snap.metadata.index;
    this.confState = snap.metadata.confState;
    this.term = disk.hardState.term;
    this.role = Role.Follower;
    this.leader = '';
    this.pendingPuts.clear();
    this.pendingReads.clear();
    this.inbox.length = 0;
    this.paused = false;
    this.startCommit = disk.hardState.commit;
    this.node = new RawNode({
      id: this.id,
      storage: this.durable.storage,
      electionTick: this.env.electionTick,
      heartbeatTick: 1,
      randomInt: (n: number) => rng.int(n),
      applied: this.applied,
      maxSizePerMsg: this.env.maxSizePerMsg,
      maxInflightMsgs: this.env.maxInflightMsgs,
      checkQuorum: this.env.checkQuorum,
      preVote: this.env.preVote,
      testingKnobs: { commitEntriesFromPriorTermsByCounting: this.env.priorTermCounting },
    });
    this.status = 'up';
    this.env.monitor.restored(this.id, this.applied, this.machine.snapshot());
  }

  /** Kills the process: everything not on the disk is gone. */
  crash(final: MemberStatus = 'down'): void {
    this.disk.loseUnsynced();
    if (this.status === 'up') this.env.persistenceCrashed(this.id);
    this.node = null;
    this.durable = null;
    this.status = final;
    this.paused = false;
    this.inbox.length = 0;
    this.pendingPuts.clear();
    this.pendingReads.clear();
    this.role = Role.Follower;
    this.leader = '';
  }

  tick(): void {
    this.node?.tick();
  }

  /** Hands a message to the core; stale or unexpected messages are the core's to judge. */
  step(msg: Message): void {
    this.node?.step(msg);
  }

  /** Asks the core to start an election now (used to heal the very first leaderless moments faster). */
  campaign(): void {
    this.node?.campaign();
  }

  reportUnreachable(to: NodeId): void {
    this.node?.reportUnreachable(to);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    this.node?.reportSnapshot(to, ok);
  }

  transferLeader(to: NodeId): void {
    this.node?.transferLeader(to);
  }

  /** Proposes a membership change; false when the core refused it outright. */
  proposeConfChange(cc: ConfChange): boolean {
    if (!this.node) return false;
    try {
      this.node.proposeConfChange(cc);
      return true;
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
  }

  /** A client's put: only the leader proposes; the answer comes when this member applies it. */
  clientPut(client: string, clientNo: number, op: number, key: string, value: string): void {
    if (!this.node) return;
    if (this.role !== Role.Leader) {
      this.env.reply(this.id, client, { op, kind: 'not-leader', hint: this.leader });
      return;
    }
    try {
      this.node.propose(encodePut({ c: clientNo, o: op, k: key, v: value }));
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        this.env.reply(this.id, client, { op, kind: 'dropped' });
        return;
      }
      throw err;
    }
    this.pendingPuts.set(`${clientNo}:${op}`, { client, op });
  }

  /** A client's linearizable read, through ReadIndex (followers forward it to the leader). */
  clientGet(client: string, op: number, key: string): void {
    if (!this.node) return;
    if (this.env.inject.staleReads) {
      // Broken on purpose: answers from local state with no quorum check.
      this.env.reply(this.id, client, { op, kind: 'ok', value: this.machine.get(key) });
      return;
    }
    if (this.role !== Role.Leader && this.leader === '') {
      this.env.reply(this.id, client, { op, kind: 'not-leader', hint: '' });
      return;
    }
    const ctx = `${this.id}/${this.incarnation}/${client}/${op}`;
    this.pendingReads.set(ctx, { client, op, key, index: -1 });
    try {
      this.node.readIndex(ctx);
    } catch (err) {
      this.pendingReads.delete(ctx);
      if (err instanceof ProposalDroppedError) {
        this.env.reply(this.id, client, { op, kind: 'dropped' });
        return;
      }
      throw err;
    }
  }

  /** Runs one Ready through persist, send, apply, advance. Returns false if the member crashed in it. */
  processReady(): boolean {
    const node = this.node;
    if (!node || !node.hasReady()) return true;
    const rd = node.ready();
    const cp = this.env.crashPoint(this.id);
    if (cp === 'before-persist') return this.crashIn(cp);
    if (cp === 'io-error') {
      this.durable!.persistFailing(rd);
      return this.crashIn(cp);
    }
    if (cp === 'torn-persist') {
      this.durable!.persistTorn(rd, this.env.tearRng);
      return this.crashIn(cp);
    }
    // Broken on purpose: messages leave before the state they vouch for is durable.
    if (this.env.inject.sendBeforePersist) for (const m of rd.messages) this.env.monitor.messageSent(this.id, m, this.disk);
    const leaderBefore = this.role === Role.Leader ? this.term : -1;
    const commitBefore = this.disk.hardState.commit;
    this.durable!.persistReady(rd);
    if (rd.hardState && leaderBefore === rd.hardState.term && rd.hardState.commit > commitBefore) {
      this.env.monitor.leaderAdvancedCommit(this.id, leaderBefore, rd.hardState.commit, this.disk.termAt(rd.hardState.commit) ?? -1);
    }
    if (rd.hardState) this.term = rd.hardState.term;
    if (rd.softState) {
      this.role = rd.softState.role;
      this.leader = rd.softState.leader;
    }
    if (this.role === Role.Leader) this.env.monitor.leader(this.id, this.term, this.disk);
    if (cp === 'after-persist') return this.crashIn(cp);
    for (const m of rd.messages) {
      this.env.monitor.messageSent(this.id, m, this.disk);
      this.env.send(m);
    }
    if (cp === 'after-send') return this.crashIn(cp);
    this.apply(node, rd);
    if (cp === 'after-apply') return this.crashIn(cp);
    node.advance(rd);
    this.maybeSnapshot();
    return true;
  }

  private crashIn(cp: CrashPoint): boolean {
    this.env.trace(`${this.id} crashes inside a Ready (${cp})`);
    this.crash('down');
    return false;
  }

  private apply(node: RawNode, rd: Ready): void {
    const monitor = this.env.monitor;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      const snap = rd.snapshot;
      if (snap.metadata.index <= this.applied) {
        throw new SafetyViolation('applied-went-back', `${this.id} was handed snapshot ${snap.metadata.index} to apply at applied ${this.applied}`);
      }
      this.machine.restore(snap.data as string);
      this.applied = snap.metadata.index;
      this.confState = snap.metadata.confState;
      this.env.hash.addString(`S${this.id}:${snap.metadata.index}`);
      monitor.restored(this.id, this.applied, this.machine.snapshot());
    }
    for (const e of rd.committedEntries) {
      if (e.index !== this.applied + 1) {
        throw new SafetyViolation('applied-went-back', `${this.id} was handed index ${e.index} to apply after ${this.applied}`);
      }
      this.applyEntry(node, e);
      this.applied = e.index;
      monitor.applied(this.id, e, this.machine.snapshot(), this.term);
    }
    for (const rs of rd.readStates) {
      const pr = this.pendingReads.get(rs.context);
      if (pr) pr.index = rs.index;
    }
    this.serveReads();
  }

  private applyEntry(node: RawNode, e: Entry): void {
    this.env.hash.addString(`A${this.id}:${e.index}:${e.term}`);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.durable!.syncBeforeConfChange();
      this.confState = node.applyConfChange(cc);
      this.confSinceSnapshot = true;
      this.env.trace(`${this.id} applies conf change ${ConfChangeType[cc.type]} ${cc.nodeId} at ${e.index}: voters [${this.confState.voters.join(',')}] learners [${this.confState.learners.join(',')}]`);
      this.env.confApplied(this.id, cc, this.confState, e.index, e.index <= this.startCommit);
      // A later entry in the same batch may add it back, so the last word about itself counts.
      return;
    }
    const cmd = decodePut(e.data);
    if (!cmd) return;
    if (!this.env.inject.dropApply?.(this.id, e.index)) this.machine.apply(cmd);
    const key = `${cmd.c}:${cmd.o}`;
    const waiter = this.pendingPuts.get(key);
    if (waiter) {
      this.pendingPuts.delete(key);
      this.env.reply(this.id, waiter.client, { op: waiter.op, kind: 'ok' });
    }
  }

  private serveReads(): void {
    for (const [ctx, pr] of this.pendingReads) {
      if (pr.index < 0 || pr.index > this.applied) continue;
      this.pendingReads.delete(ctx);
      this.env.reply(this.id, pr.client, { op: pr.op, kind: 'ok', value: this.machine.get(pr.key) });
    }
  }

  private maybeSnapshot(): void {
    // Like etcd's server, snapshot right after a membership change: a member that joins can
    // only install a snapshot whose configuration contains it, so an older one would never do.
    const every = this.env.snapshotEvery();
    const due = this.applied - this.disk.snapshotIndex >= every || (this.confSinceSnapshot && every < 1000);
    if (!due || this.applied <= this.disk.snapshotIndex) return;
    this.confSinceSnapshot = false;
    this.durable!.saveSnapshot(this.applied, this.confState, this.machine.snapshot(), this.env.compactKeep());
    this.env.trace(`${this.id} snapshots at ${this.applied}`);
  }
}

/** Whether a member is a voter or learner of a configuration. */
export function inConf(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id);
}
