// The safety properties checked continuously while a seed runs. Every check works on what
// members persisted or applied, never on the core's private state, so a violation is one a
// real deployment could suffer.

import { MessageType, type Entry, type HardState, type Message, type NodeId, type Snapshot } from '../../src/raft/types.js';
import type { SimDisk } from './sim-disk.js';
import type { PersistObserver } from './durable-state.js';

/** A broken safety property: `property` is a short stable name, the message says where. */
export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

/** A compact, exact identity of an entry: term, type and data. */
export function entryDigest(e: Entry): string {
  return `${e.term}/${e.type}/${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64')}`;
}

interface Committed {
  digest: string;
  /** The lowest term of any member that reported it committed: a bound on the committing leader's term. */
  minTerm: number;
}

/** Cluster-wide registries behind the safety checks. */
export class SafetyMonitor {
  private readonly leaders = new Map<number, NodeId>();
  /** Log matching: (index, term) -> the entry and the term before it, as first persisted anywhere. */
  private readonly byIndexTerm = new Map<string, { digest: string; prevTerm: number; member: NodeId }>();
  private readonly committed: (Committed | undefined)[] = [];
  private maxCommitted = 0;
  /** State machine safety: the machine's state right after applying index i. */
  private readonly stateAt = new Map<number, string>();
  /** Per member: the highest commit index already registered from its disk. */
  private readonly commitSeen = new Map<NodeId, number>();
  /** Per member: the last term and vote it made durable (a vote, once cast, binds the whole term). */
  private readonly votes = new Map<NodeId, { term: number; vote: NodeId }>();
  /** Per member: the highest commit index known synced on its disk. */
  private readonly commitSynced = new Map<NodeId, number>();
  checks = 0;
  /** Off only in the self-test that must catch a broken commit rule by its consequences alone. */
  checkCommitRule = true;

  /** The persist hooks for one member. */
  observerFor(member: NodeId, currentTerm: () => number): PersistObserver {
    return {
      entriesPersisted: (entries, prevTerm, disk) => this.entriesPersisted(member, entries, prevTerm, disk),
      hardStatePersisted: (hs, disk) => this.hardStatePersisted(member, hs, disk, currentTerm()),
      snapshotPersisted: (snap, disk) => this.snapshotPersisted(member, snap, disk),
    };
  }

  private entriesPersisted(member: NodeId, entries: readonly Entry[], prevTerm: number, disk: SimDisk): void {
    this.checks++;
    let prev = prevTerm;
    const commit = disk.hardState.commit;
    for (const e of entries) {
      const digest = entryDigest(e);
      const key = `${e.index}:${e.term}`;
      const seen = this.byIndexTerm.get(key);
      if (!seen) {
        // prev < 0 means the entry before is compacted away on this disk: nothing to compare.
        this.byIndexTerm.set(key, { digest, prevTerm: prev, member });
      } else {
        if (seen.digest !== digest) {
          throw new SafetyViolation('log-matching', `index ${e.index} term ${e.term} holds different entries on ${seen.member} and ${member}`);
        }
        if (prev >= 0 && seen.prevTerm >= 0 && seen.prevTerm !== prev) {
          throw new SafetyViolation('log-matching', `index ${e.index} term ${e.term}: ${seen.member} has term ${seen.prevTerm} before it, ${member} has ${prev}`);
        }
        if (seen.prevTerm < 0 && prev >= 0) seen.prevTerm = prev;
      }
      if (e.index <= commit) {
        const c = this.committed[e.index];
        if (c && c.digest !== digest) {
          throw new SafetyViolation('committed-entry-changed', `${member} overwrote committed index ${e.index} (commit ${commit})`);
        }
      }
      prev = e.term;
    }
  }

  private hardStatePersisted(member: NodeId, hs: HardState, disk: SimDisk, term: number): void {
    this.checks++;
    const v = this.votes.get(member);
    if (v && hs.term < v.term) throw new SafetyViolation('term-regressed', `${member} persisted term ${hs.term} after ${v.term}`);
    if (v && hs.term === v.term && v.vote !== '' && hs.vote !== v.vote) {
      throw new SafetyViolation('double-vote', `${member} voted for ${v.vote} and then ${hs.vote || 'nobody'} in term ${hs.term}`);
    }
    this.votes.set(member, { term: hs.term, vote: hs.vote });
    const from = this.commitSeen.get(member) ?? 0;
    // Only a synced commit index must never go back: an unsynced one may be lost in a crash.
    const synced = this.commitSynced.get(member) ?? 0;
    if (hs.commit < synced) {
      throw new SafetyViolation('commit-regressed', `${member} persisted commit ${hs.commit} after a synced ${synced}`);
    }
    this.commitSynced.set(member, disk.syncedHardState.commit);
    for (let i = Math.max(from + 1, disk.snapshotIndex + 1); i <= hs.commit; i++) {
      const e = disk.entryAt(i);
      if (!e) throw new SafetyViolation('commit-beyond-log', `${member} persisted commit ${hs.commit} but its disk ends at ${disk.lastIndex}`);
      this.registerCommitted(member, i, entryDigest(e), Math.max(term, hs.term));
    }
    if (hs.commit > from) this.commitSeen.set(member, hs.commit);
  }

  private snapshotPersisted(member: NodeId, snap: Snapshot, _disk: SimDisk): void {
    // A snapshot covers only committed entries; its data must match the state others reached there.
    this.checks++;
    const i = snap.metadata.index;
    const known = this.stateAt.get(i);
    if (known !== undefined && typeof snap.data === 'string' && known !== snap.data) {
      throw new SafetyViolation('snapshot-state', `${member} installed a snapshot at ${i} whose state differs from the applied state there`);
    }
    const seen = this.commitSeen.get(member) ?? 0;
    if (i > seen) this.commitSeen.set(member, i);
  }

  private registerCommitted(member: NodeId, index: number, digest: string, term: number): void {
    const c = this.committed[index];
    if (!c) {
      this.committed[index] = { digest, minTerm: term };
      if (index > this.maxCommitted) this.maxCommitted = index;
      return;
    }
    if (c.digest !== digest) {
      throw new SafetyViolation('committed-entry-changed', `index ${index} committed as ${c.digest.slice(0, 40)} and on ${member} as ${digest.slice(0, 40)}`);
    }
    if (term < c.minTerm) c.minTerm = term;
  }

  /** A member applied entry `e`; `state` is its machine's state right after (canonical JSON). */
  applied(member: NodeId, e: Entry, state: string, term: number): void {
    this.checks++;
    this.registerCommitted(member, e.index, entryDigest(e), term);
    const known = this.stateAt.get(e.index);
    if (known === undefined) this.stateAt.set(e.index, state);
    else if (known !== state) {
      throw new SafetyViolation('state-machine-safety', `${member}'s state after applying index ${e.index} differs from another member's`);
    }
  }

  /** A member restored its machine from a snapshot at `index`. */
  restored(member: NodeId, index: number, state: string): void {
    this.checks++;
    const known = this.stateAt.get(index);
    if (known === undefined) this.stateAt.set(index, state);
    else if (known !== state) {
      throw new SafetyViolation('state-machine-safety', `${member} restored a snapshot at ${index} whose state differs from the applied state there`);
    }
  }

  /** A member reports being leader in `term`: one leader per term, and its log holds every committed entry. */
  leader(member: NodeId, term: number, disk: SimDisk): void {
    this.checks++;
    const other = this.leaders.get(term);
    if (other !== undefined && other !== member) {
      throw new SafetyViolation('election-safety', `${other} and ${member} were both leader in term ${term}`);
    }
    if (other === member) return;
    this.leaders.set(term, member);
    for (let i = disk.snapshotIndex + 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      // Entries first reported committed in a later term may legitimately be missing from a stale leader.
      if (!c || c.minTerm > term) continue;
      const e = disk.entryAt(i);
      if (!e || entryDigest(e) !== c.digest) {
        throw new SafetyViolation('leader-completeness', `${member}, leader of term ${term}, lacks committed index ${i}`);
      }
    }
  }

  /**
   * A leader moved its commit index: Raft's Figure 8 rule says only by counting replicas of an
   * entry of its own term, so the entry at the new commit index must carry the leader's term.
   */
  leaderAdvancedCommit(member: NodeId, term: number, commit: number, termAtCommit: number): void {
    this.checks++;
    if (this.checkCommitRule && termAtCommit !== term) {
      throw new SafetyViolation('leader-commit-rule', `${member}, leader of term ${term}, advanced commit to ${commit} whose entry has term ${termAtCommit}`);
    }
  }

  /**
   * A member is about to send `m`: what the message vouches for must already be durable (the
   * Ready contract). A granted vote needs the vote (or a later term) on disk, an append acknowledgement the
   * entries, and any message its term (pre-votes excepted: they run ahead of the term).
   */
  messageSent(member: NodeId, m: Message, disk: SimDisk): void {
    this.checks++;
    const hs = disk.syncedHardState;
    if (m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp) return;
    if (m.term > hs.term) {
      throw new SafetyViolation('term-not-durable', `${member} sent ${m.type} in term ${m.term} with term ${hs.term} on disk`);
    }
    // A later term on disk also binds: the member can never vote in the earlier one again.
    if (m.type === MessageType.VoteResp && !m.reject && hs.term === m.term && hs.vote !== m.to) {
      throw new SafetyViolation('vote-not-durable', `${member} granted its term-${m.term} vote to ${m.to} with ${JSON.stringify(hs)} on disk`);
    }
    // An acknowledgement in an earlier term can outlive its entries: the same Ready may hold a
    // later leader's append that truncated them. Only the deposed leader of that term can count
    // it, and quorum intersection keeps it from committing with it (see raft-bugs.md, note 3).
    if (m.type === MessageType.AppResp && !m.reject && m.term === hs.term && m.index > disk.lastIndex) {
      throw new SafetyViolation('ack-not-durable', `${member} acknowledged index ${m.index} with only ${disk.lastIndex} on disk`);
    }
  }

  /** The highest index known committed anywhere. */
  get highestCommitted(): number {
    return this.maxCommitted;
  }
}
