// A member's "disk": what survives a crash. Only DurableState writes it, and only with what a
// Ready asked to persist (or a snapshot the member took), so a crash before persisting a Ready
// loses exactly what a real member would lose.

import type { Entry, HardState, Snapshot, ConfState } from '../../src/raft/types.js';
import { EMPTY_MACHINE_SNAPSHOT } from './register-machine.js';

/** The durable state of one member. Invariant: entries[i].index === snapshot.metadata.index + 1 + i. */
export class SimDisk {
  /** The hard state as last written; it may not be synced yet (a commit-only Ready skips fsync). */
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  /** The hard state as of the last fsync: what survives a crash. */
  syncedHardState: HardState = this.hardState;
  snapshot: Snapshot;
  entries: Entry[] = [];

  constructor(genesis: ConfState) {
    // A new cluster's shared starting point: index 0, term 0, the initial voters, an empty machine.
    this.snapshot = { metadata: { index: 0, term: 0, confState: genesis }, data: EMPTY_MACHINE_SNAPSHOT };
  }

  get snapshotIndex(): number {
    return this.snapshot.metadata.index;
  }

  /** The last index on disk (the snapshot's when the log after it is empty). */
  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** The term of the entry at `index`, or undefined if it is not on disk (compacted or beyond). */
  termAt(index: number): number | undefined {
    const s = this.snapshotIndex;
    if (index === s) return this.snapshot.metadata.term;
    if (index < s || index > this.lastIndex) return undefined;
    return this.entries[index - s - 1]!.term;
  }

  /** The entry at `index`, if it is on disk after the snapshot. */
  entryAt(index: number): Entry | undefined {
    const s = this.snapshotIndex;
    if (index <= s || index > this.lastIndex) return undefined;
    return this.entries[index - s - 1];
  }

  /** Appends entries, first discarding whatever is on disk at or after the first new index. */
  append(entries: readonly Entry[]): void {
    let list = entries;
    const s = this.snapshotIndex;
    if (list.length > 0 && list[0]!.index <= s) list = list.filter((e) => e.index > s);
    if (list.length === 0) return;
    const first = list[0]!.index;
    if (first > this.lastIndex + 1) {
      throw new Error(`disk append leaves a gap: last index ${this.lastIndex}, first new ${first}`);
    }
    this.entries.length = first - s - 1;
    for (const e of list) this.entries.push(e);
  }

  /** Writes the hard state without syncing it. */
  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /** fsync: everything written so far survives a crash. */
  sync(): void {
    this.syncedHardState = this.hardState;
  }

  /** A crash: writes since the last fsync are gone (here only a commit-only hard state can be). */
  loseUnsynced(): void {
    this.hardState = this.syncedHardState;
  }

  /** Replaces the log with a snapshot received from the leader (the etcd MemoryStorage rule). */
  installSnapshot(snap: Snapshot): void {
    this.snapshot = snap;
    this.entries = [];
  }

  /** Records a snapshot the member took itself at `index` and drops the entries it covers. */
  compactTo(snap: Snapshot): void {
    const keepFrom = snap.metadata.index - this.snapshotIndex;
    this.entries = this.entries.slice(keepFrom);
    this.snapshot = snap;
  }
}
