// The real durable storage under the simulator: src/storage's MemberStorage (WAL segments and
// snapshot files) on its fault-injecting in-memory file system. The SimDisk stays alongside as
// the expectation: after every restart, what the WAL recovered must equal what the member had
// made durable (or, after a crash torn inside a write, the state before or after that write).

import type { ConfState, Entry, HardState, Ready, Snapshot } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/raft/index.js';
import { FaultyFileSystem, MemberStorage, readWholeFile } from '../../src/storage/index.js';
import type { MemberPersistence, PersistObserver } from './durable-state.js';
import type { SimDisk } from './sim-disk.js';
import type { Prng } from './prng.js';
import { SafetyViolation, entryDigest } from './safety-monitor.js';

const DIR = '/member';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A write that a crash tore: recovery may show the state before it or after it. */
interface Tear {
  readonly before: { hardState: HardState; snapshot: Snapshot; entries: Entry[] };
  readonly rd: Ready;
}

/** One member's file system and the tear pending on it; survives crashes like a disk. */
export class WalDisk {
  readonly fs: FaultyFileSystem;
  tear: Tear | undefined;
  constructor(rng: Prng) {
    this.fs = new FaultyFileSystem({ random: () => rng.float() });
  }
}

/** MemberPersistence over the real WAL; every save is one fdatasync, as the server's. */
export class WalDurableState implements MemberPersistence {
  private constructor(
    private readonly disk: SimDisk,
    private readonly wal: WalDisk,
    private readonly ms: MemberStorage,
    readonly storage: MemoryStorage,
    private readonly observer: PersistObserver,
    private readonly member: string,
  ) {}

  /** Recovers the member's directory and checks it against what was made durable. */
  static open(member: string, disk: SimDisk, wal: WalDisk, observer: PersistObserver): WalDurableState {
    const ms = MemberStorage.openSync(wal.fs, DIR, { segmentSize: 8 * 1024, log: () => {} });
    const rec = ms.recovered;
    const snapshot: Snapshot = rec.snapshot
      ? { metadata: rec.snapshot.metadata, data: decoder.decode(readWholeFile(wal.fs, rec.snapshot.path)) }
      : disk.snapshot.metadata.index === 0
        ? disk.snapshot
        : { metadata: { index: 0, term: 0, confState: disk.snapshot.metadata.confState }, data: '[]' };
    const self = new WalDurableState(disk, wal, ms, new MemoryStorage({ snapshot, hardState: rec.hardState }), observer, member);
    if (rec.entries.length > 0) self.storage.append(rec.entries);
    if (wal.tear) self.adoptTorn(wal.tear, rec.hardState, snapshot, rec.entries);
    else self.verify(rec.hardState, snapshot, rec.entries);
    wal.tear = undefined;
    return self;
  }

  private fail(detail: string): never {
    throw new SafetyViolation('storage-recovery', `${this.member}: ${detail}`);
  }

  /** After a clean crash the WAL must give back exactly what was durable. */
  private verify(hs: HardState, snap: Snapshot, entries: readonly Entry[]): void {
    const d = this.disk;
    const want = d.syncedHardState;
    if (hs.term !== want.term || hs.vote !== want.vote || hs.commit !== want.commit) {
      this.fail(`recovered hard state ${JSON.stringify(hs)}, durable was ${JSON.stringify(want)}`);
    }
    if (snap.metadata.index !== d.snapshotIndex || snap.metadata.term !== d.snapshot.metadata.term) {
      this.fail(`recovered snapshot ${snap.metadata.index}/${snap.metadata.term}, durable was ${d.snapshotIndex}/${d.snapshot.metadata.term}`);
    }
    if (snap.data !== d.snapshot.data) this.fail(`snapshot ${snap.metadata.index} came back with different data`);
    const got = entries.filter((e) => e.index > d.snapshotIndex);
    if (got.length !== d.entries.length) this.fail(`recovered ${got.length} entries after the snapshot, durable were ${d.entries.length}`);
    for (let i = 0; i < got.length; i++) {
      if (entryDigest(got[i]!) !== entryDigest(d.entries[i]!) || got[i]!.index !== d.entries[i]!.index) {
        this.fail(`entry ${d.entries[i]!.index} came back different`);
      }
    }
  }

  /** After a torn write: accept the state before or (a prefix of) after it, then make it the expectation. */
  private adoptTorn(tear: Tear, hs: HardState, snap: Snapshot, entries: readonly Entry[]): void {
    const d = this.disk;
    const { before, rd } = tear;
    const okHard = (x: HardState) => hs.term === x.term && hs.vote === x.vote && hs.commit === x.commit;
    if (!okHard(before.hardState) && !(rd.hardState && okHard(rd.hardState))) {
      this.fail(`after a torn write, hard state ${JSON.stringify(hs)} is neither the old nor the new one`);
    }
    const newSnap = rd.snapshot && rd.snapshot.metadata.index > 0 ? rd.snapshot : undefined;
    const snapIsNew = newSnap !== undefined && snap.metadata.index === newSnap.metadata.index;
    if (!snapIsNew && snap.metadata.index !== before.snapshot.metadata.index) {
      this.fail(`after a torn write, snapshot ${snap.metadata.index} is neither the old nor the new one`);
    }
    const snapIndex = snap.metadata.index;
    const got = entries.filter((e) => e.index > snapIndex);
    const same = (a: readonly Entry[], b: readonly Entry[]) =>
      a.length === b.length && a.every((e, i) => e.index === b[i]!.index && entryDigest(e) === entryDigest(b[i]!));
    const base = (snapIsNew ? [] : before.entries).filter((e) => e.index > snapIndex);
    const added = rd.entries.filter((e) => e.index > snapIndex);
    const firstNew = added[0]?.index ?? Infinity;
    const head = base.filter((e) => e.index < firstNew);
    const tail = got.slice(head.length);
    // Either nothing of the new entries landed, or the old log up to them plus a prefix of them.
    const persisted = same(got, base) ? [] : tail;
    if (!same(got, base) && !(same(got.slice(0, head.length), head) && tail.length <= added.length && same(tail, added.slice(0, tail.length)))) {
      this.fail(`after a torn write, the log [${got.map((e) => `${e.index}/${e.term}`).join(' ')}] is neither the old one nor the old one plus a prefix of the new entries`);
    }
    // What the WAL holds is now the durable truth; the expectation follows it.
    d.snapshot = snap;
    d.entries = entries.filter((e) => e.index > snap.metadata.index);
    d.setHardState(hs);
    d.sync();
    if (snapIsNew) this.observer.snapshotPersisted(snap, d);
    if (persisted.length > 0) {
      const prev = d.termAt(persisted[0]!.index - 1);
      this.observer.entriesPersisted(persisted, prev ?? -1, d);
    }
    if (rd.hardState && okHard(rd.hardState) && !okHard(before.hardState)) this.observer.hardStatePersisted(hs, d);
  }

  persistReady(rd: Ready): void {
    const d = this.disk;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      this.writeReceivedSnapshot(rd.snapshot);
      d.installSnapshot(rd.snapshot);
      this.storage.applySnapshot(rd.snapshot);
      this.observer.snapshotPersisted(rd.snapshot, d);
    }
    if (rd.entries.length > 0 || rd.hardState) this.ms.save(rd.hardState, rd.entries);
    if (rd.entries.length > 0) {
      const prevTerm = d.termAt(rd.entries[0]!.index - 1);
      d.append(rd.entries);
      this.storage.append(rd.entries as Entry[]);
      this.observer.entriesPersisted(rd.entries, prevTerm ?? -1, d);
    }
    if (rd.hardState) {
      d.setHardState(rd.hardState);
      this.storage.setHardState(rd.hardState);
    }
    // save() always fsyncs, so nothing the WAL acknowledged can be lost.
    d.sync();
    if (rd.hardState) this.observer.hardStatePersisted(rd.hardState, d);
  }

  private writeReceivedSnapshot(snap: Snapshot): void {
    this.ms.storeSnapshotFileSync(snap.metadata, [encoder.encode(snap.data as string)]);
    this.ms.markSnapshotCurrent(snap.metadata, { replacesLog: true });
  }

  persistTorn(rd: Ready, rng: Prng): void {
    const d = this.disk;
    this.wal.tear = {
      before: { hardState: d.syncedHardState, snapshot: d.snapshot, entries: d.entries.slice() },
      rd,
    };
    // The power fails at the next fsync; the write before it may be torn at a sector boundary.
    this.wal.fs.crashAtNext('fsync', rng.chance(0.5) ? 'tear-last' : 'sectors');
    try {
      if (rd.snapshot && rd.snapshot.metadata.index > 0) this.writeReceivedSnapshot(rd.snapshot);
      this.ms.save(rd.hardState, rd.entries);
    } catch {
      // The simulated power cut: the process is gone.
    }
    this.wal.fs.clearFaults();
  }

  persistFailing(rd: Ready): void {
    // Like Linux after a failed fsync, the file system drops the dirty data; nothing of this
    // Ready may come back on restart, which the strict recovery check then verifies.
    if (!(rd.snapshot && rd.snapshot.metadata.index > 0) && rd.entries.length === 0 && !rd.hardState) return;
    this.wal.fs.failNext('fsync', 'EIO');
    let threw = false;
    try {
      if (rd.snapshot && rd.snapshot.metadata.index > 0) this.writeReceivedSnapshot(rd.snapshot);
      this.ms.save(rd.hardState, rd.entries);
    } catch {
      threw = true;
    }
    this.wal.fs.clearFaults();
    if (!threw) this.fail('an fsync that failed with EIO was reported as a successful save');
  }

  syncBeforeConfChange(): void {
    // Every save already fsynced.
  }

  saveSnapshot(index: number, confState: ConfState, data: string, keep: number): void {
    const snap = this.storage.createSnapshot(index, confState, data);
    this.ms.saveSnapshotSync(snap.metadata, [encoder.encode(data)]);
    this.ms.releaseBefore(index + 1);
    this.disk.sync();
    this.disk.compactTo(snap);
    const compactTo = index - keep;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
  }

  /** A crash of the process: the file system keeps only what was synced. */
  static crash(wal: WalDisk, rng: Prng): void {
    wal.fs.crash(rng.chance(0.5) ? 'drop' : 'sectors');
  }
}
