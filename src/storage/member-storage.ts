// One member's durable state: the facade the server and the simulator use. open() checks
// and recovers the data directory; save() makes entries and hard state durable with one
// fsync; saveSnapshot() makes a snapshot file durable and current (or storeSnapshotFile()
// then markSnapshotCurrent(), for a snapshot received before raft accepts it). After any write or fsync
// error the storage is failed for good and every call throws the same StorageFailedError.

import { join } from 'node:path';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import type { FileSystem } from './file-system.js';
import { ensureDir, errorCode } from './file-system.js';
import { CorruptionError } from './corruption-error.js';
import { StorageFailedError } from './storage-failed-error.js';
import {
  listSnapshotFiles,
  removeSnapshotsBefore,
  snapshotFileName,
  snapshotSource,
  writeSnapshotFile,
  writeSnapshotFileSync,
  type SnapshotChunks,
  type SnapshotValidator,
} from './snapshot-files.js';
import { DEFAULT_SEGMENT_SIZE, Wal } from './wal.js';
import { readWal, type WalContents } from './wal-reader.js';
import { listSegments, type SegmentFile } from './wal-segment-name.js';

export interface MemberStorageOptions {
  /** WAL segment size in bytes (default 64 MiB); tests use small ones. */
  readonly segmentSize?: number;
  /** Checks the current snapshot file on open; without one, only its presence is checked. */
  readonly validateSnapshot?: SnapshotValidator;
  /** Where recovery notes go (a repaired torn tail); default stderr. */
  readonly log?: (line: string) => void;
}

export interface SaveSnapshotOptions {
  /**
   * True for a snapshot received from the leader (Ready.snapshot): the raft core discards the
   * whole log then, and so does recovery. False (the default) for a local compaction: the
   * entries after the snapshot's index stay. Getting this wrong in the safe direction (false)
   * can only bring back stale, uncommitted entries after the snapshot, as etcd's WAL does.
   */
  readonly replacesLog?: boolean;
}

/** What open() found on disk. */
export interface RecoveredState {
  /** The last durable hard state; all zero on a fresh directory. */
  readonly hardState: HardState;
  /** The current snapshot and its file, if the WAL names one. */
  readonly snapshot?: { readonly metadata: SnapshotMetadata; readonly path: string };
  /** The log after the snapshot, contiguous from snapshot index + 1 (or 1). */
  readonly entries: readonly Entry[];
  /** True when the directory held no WAL and one was created. */
  readonly fresh: boolean;
  /** Bytes of a torn last write that were cut off; 0 when the tail was clean. */
  readonly tornBytesDropped: number;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

interface Plan {
  readonly contents?: WalContents;
  readonly segments: readonly SegmentFile[];
  readonly snapshotPath?: string;
}

/** A member's WAL, snapshot files and recovery. */
export class MemberStorage {
  readonly dataDir: string;
  readonly walDir: string;
  readonly snapDir: string;
  /** What open() recovered. */
  readonly recovered: RecoveredState;
  private readonly fs: FileSystem;
  private readonly wal: Wal;
  private snapshot: SnapshotMetadata | undefined;
  private failed: StorageFailedError | undefined;
  private closed = false;

  private constructor(fs: FileSystem, dataDir: string, wal: Wal, recovered: RecoveredState) {
    this.fs = fs;
    this.dataDir = dataDir;
    this.walDir = join(dataDir, 'wal');
    this.snapDir = join(dataDir, 'snap');
    this.wal = wal;
    this.recovered = recovered;
    this.snapshot = recovered.snapshot?.metadata;
  }

  /**
   * Opens (creating if needed) the member data in `dataDir`: checks every WAL record and the
   * current snapshot file, then repairs a torn tail. Throws CorruptionError (nothing on disk
   * touched) or StorageFailedError.
   */
  static async open(fs: FileSystem, dataDir: string, options: MemberStorageOptions = {}): Promise<MemberStorage> {
    const plan = inspect(fs, dataDir);
    if (plan.contents?.snapshot && options.validateSnapshot) {
      const metadata = plan.contents.snapshot;
      await validate(plan.snapshotPath!, () => options.validateSnapshot!(snapshotSource(fs, plan.snapshotPath!), metadata));
    }
    return MemberStorage.finish(fs, dataDir, plan, options);
  }

  /** The synchronous open for the simulator: the validator, if any, must not return a promise. */
  static openSync(fs: FileSystem, dataDir: string, options: MemberStorageOptions = {}): MemberStorage {
    const plan = inspect(fs, dataDir);
    if (plan.contents?.snapshot && options.validateSnapshot) {
      const metadata = plan.contents.snapshot;
      const path = plan.snapshotPath!;
      const r = validateSync(path, () => options.validateSnapshot!(snapshotSource(fs, path), metadata));
      if (r !== undefined) throw new TypeError('openSync needs a synchronous snapshot validator');
    }
    return MemberStorage.finish(fs, dataDir, plan, options);
  }

  private static finish(fs: FileSystem, dataDir: string, plan: Plan, options: MemberStorageOptions): MemberStorage {
    const walDir = join(dataDir, 'wal');
    const snapDir = join(dataDir, 'snap');
    const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
    return ioSync('open', () => {
      ensureDir(fs, dataDir);
      ensureDir(fs, walDir);
      ensureDir(fs, snapDir);
      for (const tmp of [...listSegments(fs, walDir).temporaries, ...listSnapshotFiles(fs, snapDir).temporaries]) fs.unlink(tmp);
      const c = plan.contents;
      if (!c) {
        const wal = Wal.create(fs, walDir, segmentSize);
        return new MemberStorage(fs, dataDir, wal, { hardState: EMPTY_HARD_STATE, entries: [], fresh: true, tornBytesDropped: 0 });
      }
      if (c.tail.tornBytes > 0) {
        log(`storage: repaired a torn write at the end of ${c.tail.segment.path}: dropped ${c.tail.tornBytes} bytes after offset ${c.tail.end}`);
      }
      const wal = Wal.resume(fs, walDir, c, plan.segments, segmentSize);
      return new MemberStorage(fs, dataDir, wal, {
        hardState: c.hardState ?? EMPTY_HARD_STATE,
        snapshot: c.snapshot ? { metadata: c.snapshot, path: plan.snapshotPath! } : undefined,
        entries: c.entries,
        fresh: false,
        tornBytesDropped: c.tail.tornBytes,
      });
    });
  }

  /**
   * Appends `entries` (which may replace a conflicting suffix: a later record for an index
   * wins) and then `hardState`, with one fdatasync. Returns once they are durable.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[]): void {
    this.check();
    this.guard(() => this.wal.append(entries, hardState));
  }

  /**
   * Writes the snapshot file from `chunks` (temporary name, fsync, rename, directory fsync),
   * then records it as current in the WAL and releases older snapshot files and WAL segments.
   * A producer error abandons the file and leaves the storage healthy.
   */
  async saveSnapshot(metadata: SnapshotMetadata, chunks: SnapshotChunks | (() => SnapshotChunks), options: SaveSnapshotOptions = {}): Promise<void> {
    await this.storeSnapshotFile(metadata, chunks);
    this.markSnapshotCurrent(metadata, options);
  }

  /** The synchronous saveSnapshot, for the simulator. */
  saveSnapshotSync(metadata: SnapshotMetadata, chunks: Iterable<Uint8Array>, options: SaveSnapshotOptions = {}): void {
    this.storeSnapshotFileSync(metadata, chunks);
    this.markSnapshotCurrent(metadata, options);
  }

  /**
   * Makes a snapshot file durable without making it current: for a snapshot received from the
   * leader before raft has accepted it. Recovery ignores it until markSnapshotCurrent().
   * Returns the file's path.
   */
  async storeSnapshotFile(metadata: SnapshotMetadata, chunks: SnapshotChunks | (() => SnapshotChunks)): Promise<string> {
    this.check();
    this.refuseOlder(metadata);
    return this.guardAsync(() => writeSnapshotFile(this.fs, this.snapDir, metadata, typeof chunks === 'function' ? chunks() : chunks));
  }

  /** The synchronous storeSnapshotFile, for the simulator. */
  storeSnapshotFileSync(metadata: SnapshotMetadata, chunks: Iterable<Uint8Array>): string {
    this.check();
    this.refuseOlder(metadata);
    return this.guard(() => writeSnapshotFileSync(this.fs, this.snapDir, metadata, chunks));
  }

  /**
   * Records a stored snapshot file as current (a WAL marker, fsynced), then releases older
   * snapshot files and the WAL segments it covers. For a snapshot raft accepted from the
   * leader (Ready.snapshot) pass { replacesLog: true }, before saving that Ready's entries.
   * Marking the current snapshot again does nothing.
   */
  markSnapshotCurrent(metadata: SnapshotMetadata, options: SaveSnapshotOptions = {}): void {
    this.check();
    const cur = this.snapshot;
    if (cur && cur.index === metadata.index && cur.term === metadata.term) return;
    this.refuseOlder(metadata);
    if (!this.fs.stat(this.snapshotPath(metadata))) {
      throw new Error(`no snapshot file for ${metadata.term}/${metadata.index}: store it before marking it current`);
    }
    this.guard(() => this.commitSnapshot(metadata, options.replacesLog ?? false));
  }

  /**
   * Deletes WAL segments whose entries are all below `index`, never past the current
   * snapshot (what it does not cover must stay). Returns how many segments were deleted.
   */
  releaseBefore(index: number): number {
    this.check();
    const limit = Math.min(index, (this.snapshot?.index ?? 0) + 1);
    return this.guard(() => this.wal.releaseBefore(limit));
  }

  /** The current snapshot's metadata and file, if any. */
  currentSnapshot(): { metadata: SnapshotMetadata; path: string } | undefined {
    const m = this.snapshot;
    return m ? { metadata: m, path: this.snapshotPath(m) } : undefined;
  }

  /** Where the snapshot file for `metadata` lives. */
  snapshotPath(metadata: SnapshotMetadata): string {
    return join(this.snapDir, snapshotFileName(metadata.term, metadata.index));
  }

  /** The WAL segment files, oldest first (for inspection and tests). */
  walSegments(): readonly string[] {
    return this.wal.segmentFiles().map((s) => s.path);
  }

  /** The failure that stopped this storage, if any. */
  get failure(): StorageFailedError | undefined {
    return this.failed;
  }

  /** Closes the files. Safe to call on a failed storage. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.wal.close();
    } catch (err) {
      if (!this.failed) throw err;
    }
  }

  /** Markers must move forward (recovery treats one that goes back as corruption); refuse before writing. */
  private refuseOlder(metadata: SnapshotMetadata): void {
    const cur = this.snapshot;
    if (cur && (metadata.index < cur.index || (metadata.index === cur.index && metadata.term !== cur.term))) {
      throw new RangeError(`snapshot ${metadata.term}/${metadata.index} is older than the current ${cur.term}/${cur.index}`);
    }
  }

  private commitSnapshot(metadata: SnapshotMetadata, replacesLog: boolean): void {
    this.wal.appendSnapshotMarker(metadata, replacesLog);
    this.snapshot = metadata;
    try {
      removeSnapshotsBefore(this.fs, this.snapDir, metadata);
    } catch (err) {
      throw new StorageFailedError('release of old snapshot files', err);
    }
    this.wal.releaseBefore(metadata.index + 1);
  }

  private check(): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error('member storage is closed');
  }

  /** Runs a write step; a StorageFailedError from it fails the storage for good. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.fail(err);
    }
  }

  private async guardAsync<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.fail(err);
    }
  }

  private fail(err: unknown): unknown {
    if (!(err instanceof StorageFailedError)) return err;
    this.failed ??= err;
    return this.failed;
  }
}

function ioSync<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CorruptionError || err instanceof StorageFailedError) throw err;
    throw new StorageFailedError(operation, err);
  }
}

/** Read-only checks: the WAL's records and the presence of the snapshot file it names. */
function inspect(fs: FileSystem, dataDir: string): Plan {
  const walDir = join(dataDir, 'wal');
  const snapDir = join(dataDir, 'snap');
  return ioSync('open', () => {
    const segments = fs.stat(walDir)?.isDirectory ? listSegments(fs, walDir).segments : [];
    if (segments.length === 0) {
      const snaps = fs.stat(snapDir)?.isDirectory ? listSnapshotFiles(fs, snapDir).files : [];
      if (snaps.length > 0) {
        throw new CorruptionError(walDir, 0, `no WAL segments, but ${snaps.length} snapshot file(s) exist: the WAL was lost`);
      }
      return { segments };
    }
    const contents = readWal(fs, segments);
    if (!contents.snapshot) return { contents, segments };
    const snapshotPath = join(snapDir, snapshotFileName(contents.snapshot.term, contents.snapshot.index));
    if (!fs.stat(snapshotPath)) {
      throw new CorruptionError(snapshotPath, 0, 'the WAL names this snapshot as current but the file is missing');
    }
    return { contents, segments, snapshotPath };
  });
}

/**
 * Where a validator says the damage is: its error's numeric `offset` property, else the first
 * "byte N" / "bytes N" / "offset N" in its message (the snapshot format's errors say so), else 0.
 */
function damageOffset(err: unknown, detail: string): number {
  if (typeof err === 'object' && err !== null && typeof (err as { offset?: unknown }).offset === 'number') return (err as { offset: number }).offset;
  const m = /\b(?:bytes?|offset) (\d+)/.exec(detail);
  return m ? Number(m[1]) : 0;
}

function asCorruption(path: string, err: unknown): CorruptionError {
  const detail = err instanceof Error ? err.message : String(err);
  const offset = damageOffset(err, detail);
  return new CorruptionError(path, offset, `the snapshot file failed validation: ${detail}`, { cause: err });
}

function isReadFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EIO' || code === 'EACCES' || code === 'EMFILE';
}

async function validate(path: string, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isReadFailure(err)) throw new StorageFailedError('snapshot validation read', err);
    throw asCorruption(path, err);
  }
}

function validateSync(path: string, fn: () => void | Promise<void>): Promise<void> | undefined {
  try {
    const r = fn();
    if (r === undefined) return undefined;
    r.catch(() => undefined); // refused below; keep a late rejection from going unhandled
    return r;
  } catch (err) {
    if (isReadFailure(err)) throw new StorageFailedError('snapshot validation read', err);
    throw asCorruption(path, err);
  }
}
