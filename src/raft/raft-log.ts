// The member's log as the core sees it: the persisted part (read through RaftStorage) plus
// the unstable tail, with the commit and applied indexes.
// Invariants: applied <= committed <= lastIndex(); firstIndex() - 1 is the snapshot index.
import { CompactedError, UnavailableError } from './errors.js';
import { Unstable } from './log-unstable.js';
import type { Entry, RaftStorage, Snapshot } from './types.js';
import { limitSize } from './util.js';

/** The log: storage + unstable entries, and the commit/applied watermarks. */
export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index the application has applied (reported through advance()). */
  applied: number;
  /** Cap on the data bytes of committed entries handed out per Ready. */
  readonly maxNextCommittedSize: number;

  constructor(storage: RaftStorage, maxNextCommittedSize: number) {
    this.storage = storage;
    this.maxNextCommittedSize = maxNextCommittedSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /** The first index still available (one past the snapshot). */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** The index of the last entry. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry `i`. Valid for [firstIndex()-1, lastIndex()]; throws CompactedError
   * below and UnavailableError above.
   */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.storage.term(i);
  }

  /**
   * The term of entry `i`, or undefined when it is compacted or not present. Checks bounds
   * first: building an Error (with its stack) per miss is the dominant cost on the hot path.
   */
  maybeTerm(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  /** The term of entry `i`, or 0 when it is compacted or not present. */
  termOrZero(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  /** True when the log has entry `i` with term `t`. */
  matchTerm(i: number, t: number): boolean {
    return this.maybeTerm(i) === t;
  }

  /** True when a log ending at (lastIndex, lastTerm) is at least as up to date as this one. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends a leader's entries that follow (index, logTerm), truncating conflicts, and
   * advances commit; returns the last new index, or undefined if the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      const offset = index + 1;
      this.append(ci === offset ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries (truncating what they replace); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry in `ents` that is new or conflicts with the log; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: where a log with
   * `term` at `index` might match this one. Used for fast back-off on rejection.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (;;) {
      const t = this.maybeTerm(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
      index--;
    }
  }

  /** Raises commit to `toCommit`; never lowers it. */
  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return;
    if (this.lastIndex() < toCommit) {
      throw new Error(`commit index ${toCommit} is out of range [last index ${this.lastIndex()}]: was the log lost?`);
    }
    this.committed = toCommit;
  }

  /** Commits `maxIndex` if it is above commit and (unless `anyTerm`) of term `term`. */
  maybeCommit(maxIndex: number, term: number, anyTerm = false): boolean {
    if (maxIndex > this.committed && (anyTerm || this.termOrZero(maxIndex) === term)) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Records that the application applied through `i`. */
  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
  }

  /** The entries not yet persisted. */
  unstableEntries(): Entry[] {
    return this.unstable.entries.length === 0 ? [] : this.unstable.entries.slice();
  }

  /** True when committed entries wait to be applied (and no snapshot must be applied first). */
  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot) return false;
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  /** The committed entries not yet applied, cut to the per-Ready size limit. */
  nextCommittedEnts(): Entry[] {
    if (!this.hasNextCommittedEnts()) return [];
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.slice(off, this.committed + 1, this.maxNextCommittedSize);
  }

  /** The current snapshot: the unstable one if any, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** True when a snapshot received from the leader is not yet persisted. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Entries from `i` to the end, cut to about `maxSize` bytes. */
  entries(i: number, maxSize: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSize);
  }

  /** Entries in [lo, hi), cut to about `maxSize` bytes but never empty when lo < hi. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError(`slice [${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const stableHi = Math.min(hi, off);
      ents = this.storage.entries(lo, stableHi, maxSize);
      // Storage cut the range short on size: the unstable part cannot follow.
      if (ents.length < stableHi - lo) return ents;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      // concat, not push: storage may hand back an array it keeps.
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }

  /** Persisted through (i, t). */
  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  /** The snapshot at `i` was persisted. */
  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }
}
