// An in-memory RaftStorage: the reference implementation the tests and the simulator use,
// and the read side the server keeps in front of its WAL. ents[0] is a dummy entry whose
// index and term are the snapshot's.
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import { EntryType, NO_NODE } from './types.js';
import type { ConfState, Entry, HardState, RaftStorage, Snapshot } from './types.js';
import { limitSize } from './util.js';

const EMPTY = new Uint8Array(0);

function dummy(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: EMPTY };
}

/** RaftStorage held in memory; the application writes it as each Ready instructs. */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState;
  private snap: Snapshot;
  private confState: ConfState;
  private ents: Entry[];

  constructor(initial?: { confState?: ConfState; snapshot?: Snapshot; hardState?: HardState }) {
    const confState = initial?.snapshot?.metadata.confState ?? initial?.confState ?? { voters: [], learners: [] };
    this.snap = initial?.snapshot ?? { metadata: { index: 0, term: 0, confState } };
    this.confState = initial?.confState ?? confState;
    this.ents = [dummy(this.snap.metadata.index, this.snap.metadata.term)];
    this.hardState = initial?.hardState ?? { term: 0, vote: NO_NODE, commit: 0 };
  }

  /** The persisted hard state and the membership to start from. */
  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState };
  }

  /** Records the hard state of a Ready. */
  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /**
   * Records the membership the application has applied (after applyConfChange), so that a
   * restart with `applied` past the change starts from the right configuration.
   */
  setConfState(cs: ConfState): void {
    this.confState = cs;
  }

  /** Entries in [lo, hi), cut to about maxSize bytes but never empty. */
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    // Only the dummy left: nothing to give.
    if (this.ents.length === 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  /** The term of entry `i` (the dummy's term for the snapshot index). */
  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new CompactedError();
    if (i - offset >= this.ents.length) throw new UnavailableError();
    return this.ents[i - offset]!.term;
  }

  /** The index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  /** One past the snapshot index. */
  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  /** The latest snapshot. */
  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot (one received from the leader). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index && snap.metadata.index > 0) throw new SnapshotOutOfDateError();
    this.snap = snap;
    this.confState = snap.metadata.confState;
    this.ents = [dummy(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot the application took at applied index `index` (with the membership
   * at that index); entries stay until compact() drops them.
   */
  createSnapshot(index: number, confState: ConfState, data?: unknown): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    const offset = this.ents[0]!.index;
    if (index > this.lastIndex()) throw new Error(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index, term: this.ents[index - offset]!.term, confState }, data };
    return this.snap;
  }

  /** Drops the entries up to and including `index`; the entry at `index` becomes the dummy. */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) throw new CompactedError();
    if (index > this.lastIndex()) throw new Error(`compact ${index} is out of bound lastindex(${this.lastIndex()})`);
    const i = index - offset;
    const rest = this.ents.slice(i);
    rest[0] = dummy(this.ents[i]!.index, this.ents[i]!.term);
    this.ents = rest;
  }

  /** Appends entries, truncating any persisted entries they replace. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // All already compacted away.
    // Skip the part that is already compacted.
    const toAppend = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = toAppend[0]!.index - this.ents[0]!.index;
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${toAppend[0]!.index}]`);
    }
    if (offset < this.ents.length) this.ents.length = offset;
    for (let k = 0; k < toAppend.length; k++) this.ents.push(toAppend[k]!);
  }
}
