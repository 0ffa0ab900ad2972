// A stopped member's state, read from its data directory without changing a byte of it: the WAL
// is read with the storage module's reader (which only reads; repairing a torn tail is the
// writer's job, and it is left undone here), the current snapshot file is loaded, and the
// entries after it are applied with the same building blocks the member's apply step uses.
import { join } from 'node:path';
import { KvError } from '../kv/kv-errors.js';
import type { MvccStore } from '../kv/mvcc-store.js';
import { ConfChangeType, EntryType, decodeConfChange, type Entry } from '../raft/index.js';
import type { SnapshotMember } from '../snapshot/header.js';
import { CorruptionError } from '../storage/corruption-error.js';
import { readIdentity } from '../storage/identity.js';
import { NodeFileSystem } from '../storage/node-file-system.js';
import { snapshotFileName } from '../storage/snapshot-files.js';
import { readWal } from '../storage/wal-reader.js';
import { listSegments } from '../storage/wal-segment-name.js';
import { UsageError } from '../errors.js';
import { decodeEntry } from './entry-envelope.js';
import { loadSnapshotFile } from './member-snapshots.js';
import { Membership, decodeConfChangeContext } from './membership.js';

export interface OfflineLoadOptions {
  /**
   * Apply every entry in the log, not only those known to be committed. Off by default: entries
   * past the recorded commit index of a multi-voter cluster may never have been committed.
   */
  readonly includeUncommitted?: boolean;
  /** Where notes go (a torn tail, entries left out). */
  readonly log?: (line: string) => void;
}

/** What a stopped member's data directory holds, replayed to its last committed entry. */
export interface OfflineState {
  readonly clusterId: string;
  readonly memberId: string;
  readonly name: string;
  readonly kv: MvccStore;
  readonly members: SnapshotMember[];
  /** Members removed from the cluster (refused if they come back); carried in snapshot headers. */
  readonly removedMembers: string[];
  /** The last entry applied (the snapshot's index when none followed it). */
  readonly appliedIndex: number;
  /** The term of that entry. */
  readonly term: number;
  /** Where replay started: the current snapshot's index. */
  readonly snapshotIndex: number;
  /** The commit index the WAL's last hard state records. */
  readonly recordedCommit: number;
  /** Entries in the log after appliedIndex that were not applied (not known to be committed). */
  readonly entriesLeftOut: number;
  /** Bytes of a torn last write at the WAL's end, ignored as the member would drop them on start. */
  readonly tornBytes: number;
}

const FLAG_HINT = 'point --from-data-dir at a member\'s data directory (the one given to `lifeboat serve --data-dir`)';

/**
 * Loads a stopped member's key-value state and member table from `dataDir`, read-only. Throws
 * CorruptionError (naming file and offset) for damaged data, UsageError for a directory that is
 * not a member's.
 */
export async function loadDataDirReadOnly(dataDir: string, options: OfflineLoadOptions = {}): Promise<OfflineState> {
  const fs = new NodeFileSystem();
  const log = options.log ?? (() => undefined);
  if (!fs.stat(dataDir)?.isDirectory) throw new UsageError(`--from-data-dir ${dataDir} does not exist or is not a directory`, FLAG_HINT);
  const identity = readIdentity(fs, dataDir);
  const walDir = join(dataDir, 'wal');
  const segments = fs.stat(walDir)?.isDirectory ? listSegments(fs, walDir).segments : [];
  if (!identity || segments.length === 0) {
    throw new UsageError(`--from-data-dir ${dataDir} is not a member data directory (${identity ? 'no WAL segments' : 'no member identity file'})`, FLAG_HINT);
  }
  const wal = readWal(fs, segments);
  if (wal.tail.tornBytes > 0) {
    log(`the WAL ends in a torn write (${wal.tail.tornBytes} bytes after offset ${wal.tail.end} of ${wal.tail.segment.path}); ignored, as the member would drop it on start`);
  }
  if (!wal.snapshot) {
    throw new UsageError(`--from-data-dir ${dataDir} holds no snapshot yet: the member never finished joining its cluster, so it has no state to back up`, 'back up another member');
  }
  const snapshotPath = join(dataDir, 'snap', snapshotFileName(wal.snapshot.term, wal.snapshot.index));
  if (!fs.stat(snapshotPath)) throw new CorruptionError(snapshotPath, 0, 'the WAL names this snapshot as current but the file is missing');
  const loaded = await loadSnapshotFile(snapshotPath);
  if (loaded.header.clusterId !== identity.clusterId) {
    throw new CorruptionError(snapshotPath, 0, `the snapshot is of cluster ${loaded.header.clusterId}, but the member identity says ${identity.clusterId}`);
  }
  const replay = new Replay(loaded.kv, loaded.membership, identity.memberId, wal.snapshot.index, wal.snapshot.term);
  const recordedCommit = Math.max(wal.hardState?.commit ?? 0, wal.snapshot.index);
  const entriesLeftOut = replay.run(wal.entries, recordedCommit, options.includeUncommitted === true);
  if (entriesLeftOut > 0) {
    log(`${entriesLeftOut} entries after index ${replay.applied} were left out: the member recorded no commit for them and was not its cluster's only voter`);
  }
  return {
    clusterId: identity.clusterId,
    memberId: identity.memberId,
    name: identity.name,
    kv: replay.kv,
    members: replay.membership.list(),
    removedMembers: replay.membership.removed(),
    appliedIndex: replay.applied,
    term: replay.term,
    snapshotIndex: wal.snapshot.index,
    recordedCommit,
    entriesLeftOut,
    tornBytes: wal.tail.tornBytes,
  };
}

/** Applies log entries to a loaded snapshot the way the member's apply step does. */
class Replay {
  constructor(
    readonly kv: MvccStore,
    readonly membership: Membership,
    private readonly memberId: string,
    public applied: number,
    public term: number,
  ) {}

  /**
   * Applies entries up to `commit`, or further while this member is the only voter: a lone
   * voter's log is committed as it is appended, and would be on its next start anyway (its
   * first entry as leader commits every one before it). Past the commit of a multi-voter
   * cluster nothing is known: a leader acknowledges writes once followers confirm them, and a
   * hard state whose only change is the commit index is not written (storage-adapter.ts), so
   * the last acknowledged writes may lie there, next to entries that were never committed.
   * Returns how many entries were left out.
   */
  run(entries: readonly Entry[], commit: number, all: boolean): number {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.index <= this.applied) continue;
      if (!all && e.index > commit && !this.soleVoter()) return entries.length - i;
      this.apply(e);
      this.applied = e.index;
      this.term = e.term;
    }
    return 0;
  }

  private soleVoter(): boolean {
    const voters = this.membership.list().filter((m) => !m.isLearner);
    return voters.length === 1 && voters[0]!.id === this.memberId;
  }

  private apply(e: Entry): void {
    if (e.type === EntryType.ConfChange) {
      this.applyConfChange(e);
      return;
    }
    const payload = decodeEntry(e.data);
    switch (payload.kind) {
      case 'kv':
        try {
          this.kv.apply(payload.request);
        } catch (err) {
          // A KvError changes nothing, on every member alike.
          if (!(err instanceof KvError)) throw err;
        }
        return;
      case 'attributes':
        this.membership.publish(payload.attributes);
        return;
      case 'noop':
      case 'unknown':
        return;
    }
  }

  /** The member's rule (membership-changes.ts): a change the table no longer allows is skipped. */
  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    const ctx = decodeConfChangeContext(cc.context);
    const table = this.membership;
    const known = table.has(cc.nodeId);
    const valid =
      cc.type === ConfChangeType.RemoveNode ? known : cc.type === ConfChangeType.AddLearnerNode ? !known && !table.isRemoved(cc.nodeId) : !table.isRemoved(cc.nodeId);
    if (!valid) return;
    if (cc.type === ConfChangeType.RemoveNode) table.remove(cc.nodeId);
    else table.add(cc.nodeId, cc.type === ConfChangeType.AddLearnerNode, ctx.member);
  }
}
