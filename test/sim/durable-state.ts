// The boundary "what is persisted before advance", kept in one small class so the simulated
// disk can later be swapped for the real durable storage (src/storage) without touching the
// member loop: persistReady() is the fsync point of a Ready, saveSnapshot() the member's own
// snapshot-and-compact, and open() is what a restarted member reads back.

import type { ConfState, Entry, HardState, Ready, Snapshot } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/raft/index.js';
import type { SimDisk } from './sim-disk.js';
import type { Prng } from './prng.js';

/** Told about every durable write, so the safety monitor sees exactly what reached the disk. */
export interface PersistObserver {
  /** New entries are durable; prevTerm is the term of the entry just before the first one. */
  entriesPersisted(entries: readonly Entry[], prevTerm: number, disk: SimDisk): void;
  hardStatePersisted(hs: HardState, disk: SimDisk): void;
  snapshotPersisted(snap: Snapshot, disk: SimDisk): void;
}

/**
 * What a member's Ready loop needs from its durable storage. Two implementations: DurableState
 * (the simulated disk alone) and WalDurableState (the real WAL and snapshot files of src/storage
 * on the fault-injecting in-memory file system, with the simulated disk kept as the expectation).
 */
export interface MemberPersistence {
  /** The log the raft core reads. */
  readonly storage: MemoryStorage;
  persistReady(rd: Ready): void;
  persistTorn(rd: Ready, rng: Prng): void;
  /** Persisting the Ready fails with EIO at fsync; the member must stop (never retry). */
  persistFailing(rd: Ready): void;
  syncBeforeConfChange(): void;
  saveSnapshot(index: number, confState: ConfState, data: string, keep: number): void;
}

/** The durable half of a member: its disk and the MemoryStorage the raft core reads. */
export class DurableState implements MemberPersistence {
  private constructor(
    readonly disk: SimDisk,
    readonly storage: MemoryStorage,
    private readonly observer: PersistObserver,
  ) {}

  /** Rebuilds the core's storage from what is on disk (a start or a restart after a crash). */
  static open(disk: SimDisk, observer: PersistObserver): DurableState {
    const storage = new MemoryStorage({ snapshot: disk.snapshot, hardState: disk.hardState });
    if (disk.entries.length > 0) storage.append(disk.entries);
    return new DurableState(disk, storage, observer);
  }

  /** Step 1 of the Ready contract: snapshot, then entries, then hard state, as one fsync. */
  persistReady(rd: Ready): void {
    const disk = this.disk;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      disk.installSnapshot(rd.snapshot);
      this.storage.applySnapshot(rd.snapshot);
      this.observer.snapshotPersisted(rd.snapshot, disk);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const prevTerm = disk.termAt(first - 1);
      disk.append(rd.entries);
      this.storage.append(rd.entries as Entry[]);
      this.observer.entriesPersisted(rd.entries, prevTerm ?? -1, disk);
    }
    if (rd.hardState) {
      disk.setHardState(rd.hardState);
      this.storage.setHardState(rd.hardState);
    }
    // A Ready that only moves the commit index need not fsync: a crash may lose it and the
    // member relearns it. Everything else must be durable before a message goes out.
    if (rd.mustSync) disk.sync();
    if (rd.hardState) this.observer.hardStatePersisted(rd.hardState, disk);
  }

  /**
   * A crash in the middle of persisting a Ready (before its fsync returned): a prefix of its
   * writes reaches the disk, in write order (snapshot, entries, hard state), the rest is lost.
   * The member must crash right after; nothing of this Ready was sent.
   */
  persistTorn(rd: Ready, rng: Prng): void {
    const disk = this.disk;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      if (!rng.chance(0.5)) return;
      disk.installSnapshot(rd.snapshot);
      this.observer.snapshotPersisted(rd.snapshot, disk);
    }
    const k = rng.int(rd.entries.length + 1);
    if (k > 0) {
      const part = rd.entries.slice(0, k);
      const prevTerm = disk.termAt(part[0]!.index - 1);
      disk.append(part);
      this.observer.entriesPersisted(part, prevTerm ?? -1, disk);
    }
    const wroteHardState = k === rd.entries.length && rd.hardState !== undefined && rng.chance(0.5);
    if (wroteHardState) disk.setHardState(rd.hardState!);
    // What reached the disk before the tear is durable, and so is every earlier write.
    if (k > 0 || wroteHardState || rd.snapshot) disk.sync();
    if (wroteHardState) this.observer.hardStatePersisted(rd.hardState!, disk);
  }

  /**
   * Makes the commit index that let a membership change apply durable before the change takes
   * effect. etcd gets this from its backend, which records applied membership; without it a
   * member could restart not knowing the change committed, and wait for a removed member's vote.
   */
  syncBeforeConfChange(): void {
    this.disk.sync();
  }

  /** The simulated disk has no I/O errors: a failed write simply never happened. */
  persistFailing(_rd: Ready): void {}

  /** Takes a snapshot at the applied index and compacts: the disk drops everything it covers,
   * the in-memory log keeps `keep` entries behind it for slow followers. */
  saveSnapshot(index: number, confState: ConfState, data: string, keep: number): void {
    const snap = this.storage.createSnapshot(index, confState, data);
    // Saving a snapshot syncs the log first (etcd writes a WAL snapshot record and fsyncs), so
    // the commit index that let these entries be applied is durable before the snapshot is.
    this.disk.sync();
    this.disk.compactTo(snap);
    const compactTo = index - keep;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
  }
}
