// The WAL writer: appends batches to the last segment with one write and one fdatasync
// each, rolls over to a new preallocated segment when a batch does not fit, and releases
// segments that a snapshot has made unnecessary. Any file-system error is wrapped in
// StorageFailedError; the caller must treat it as the end of this WAL.

import { join } from 'node:path';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import type { FileHandle, FileSystem } from './file-system.js';
import { StorageFailedError } from './storage-failed-error.js';
import { batchSize, encodeBatch, type BatchParts } from './wal-batch.js';
import type { WalContents } from './wal-reader.js';
import { TEMP_SUFFIX, segmentName, type SegmentFile } from './wal-segment-name.js';

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

function io<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new StorageFailedError(operation, err);
  }
}

/** An open WAL, positioned after its last valid record. */
export class Wal {
  private readonly fs: FileSystem;
  private readonly dir: string;
  private readonly segmentSize: number;
  private segments: SegmentFile[];
  private fd: FileHandle | undefined;
  /** Where the next batch goes in the last segment. */
  private offset: number;
  /** The last segment's file size. */
  private capacity: number;
  /** Where the last segment's data batches start (after its header batch). */
  private dataStart: number;
  private seq: number;
  /** Index of the last entry appended; names the next segment (every live entry before it is below lastIndex + 1). */
  private lastIndex: number;
  private hardState: HardState | undefined;
  private snapshot: SnapshotMetadata | undefined;

  private constructor(fs: FileSystem, dir: string, segmentSize: number) {
    this.fs = fs;
    this.dir = dir;
    this.segmentSize = segmentSize;
    this.segments = [];
    this.offset = 0;
    this.capacity = 0;
    this.dataStart = 0;
    this.seq = 0;
    this.lastIndex = 0;
  }

  /** Starts a WAL in an empty directory with its first segment. */
  static create(fs: FileSystem, dir: string, segmentSize = DEFAULT_SEGMENT_SIZE): Wal {
    const wal = new Wal(fs, dir, segmentSize);
    wal.startSegment(0, 0);
    return wal;
  }

  /**
   * Reopens a WAL that readWal() checked, first repairing a torn tail: the bytes after the
   * last valid record are cut and the preallocated zeros restored, durably.
   */
  static resume(fs: FileSystem, dir: string, contents: WalContents, segments: readonly SegmentFile[], segmentSize = DEFAULT_SEGMENT_SIZE): Wal {
    const wal = new Wal(fs, dir, segmentSize);
    const { tail } = contents;
    wal.segments = [...segments];
    wal.seq = contents.lastSeq;
    wal.hardState = contents.hardState;
    wal.snapshot = contents.snapshot;
    const last = contents.entries[contents.entries.length - 1];
    wal.lastIndex = last ? last.index : (contents.snapshot?.index ?? 0);
    wal.fd = io('open of the last WAL segment', () => fs.open(tail.segment.path, 'read-write'));
    if (tail.tornBytes > 0) {
      io('repair of a torn WAL tail', () => {
        fs.truncate(wal.fd!, tail.end);
        fs.preallocate(wal.fd!, tail.fileSize);
        fs.fsync(wal.fd!);
      });
    }
    wal.offset = tail.end;
    wal.capacity = tail.fileSize;
    // Conservative: a resumed segment is treated as holding data, so a big batch rolls over.
    wal.dataStart = 0;
    return wal;
  }

  /** Appends entries (then the hard state) as one batch and fdatasyncs once. */
  append(entries: readonly Entry[], hardState?: HardState): void {
    if (entries.length === 0 && !hardState) return;
    // A gap would read back as missing entries and stop the member at its next start, so a
    // caller's bug is refused here, before anything is written.
    if (entries.length > 0 && (entries[0]!.index < 1 || entries[0]!.index > this.lastIndex + 1)) {
      throw new RangeError(`entries start at index ${entries[0]!.index}, after a gap (the last index is ${this.lastIndex})`);
    }
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.index !== entries[i - 1]!.index + 1) throw new RangeError(`entries are not contiguous at index ${entries[i]!.index}`);
    }
    this.write({ entries, hardState });
    if (entries.length > 0) this.lastIndex = entries[entries.length - 1]!.index;
    if (hardState) this.hardState = hardState;
  }

  /**
   * Records that the snapshot file for `metadata` is durable and current; `replacesLog`
   * says the log before this record is gone (a leader's snapshot) rather than compacted.
   */
  appendSnapshotMarker(metadata: SnapshotMetadata, replacesLog: boolean): void {
    this.write({ snapshot: { metadata, replacesLog } });
    this.snapshot = metadata;
    this.lastIndex = replacesLog ? metadata.index : Math.max(this.lastIndex, metadata.index);
  }

  /**
   * Deletes segments from the front whose live entries are all below `index` (the next
   * segment was created when the next index was at most `index`). The last segment stays.
   * Returns how many were deleted.
   */
  releaseBefore(index: number): number {
    let removed = 0;
    while (this.segments.length > 1 && this.segments[1]!.firstIndex <= index) {
      const seg = this.segments[0]!;
      // Oldest first, each deletion durable before the next: unsynced deletions may reach the
      // disk in any order, and a later segment gone before an earlier one reads as a gap.
      io('release of a WAL segment', () => {
        this.fs.unlink(seg.path);
        this.fs.fsyncDir(this.dir);
      });
      this.segments.shift();
      removed++;
    }
    return removed;
  }

  /** The segment files, oldest first. */
  segmentFiles(): readonly SegmentFile[] {
    return this.segments;
  }

  close(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      io('close of a WAL segment', () => this.fs.close(fd));
    }
  }

  private write(parts: BatchParts): void {
    const size = batchSize(parts);
    if (this.offset + size > this.capacity && this.offset > this.dataStart) {
      this.rollover(size);
    }
    const batch = encodeBatch(this.seq + 1, parts, size);
    const fd = this.fd!;
    io('WAL append', () => {
      this.fs.write(fd, batch, this.offset);
      this.fs.fdatasync(fd);
    });
    this.seq++;
    this.offset += size;
    // A batch bigger than a fresh segment extends it rather than splitting across files.
    this.capacity = Math.max(this.capacity, this.offset);
  }

  private rollover(needed: number): void {
    const fd = this.fd!;
    io('WAL segment trim', () => {
      // The old segment keeps only its data: trimmed, synced, closed.
      this.fs.truncate(fd, this.offset);
      this.fs.fsync(fd);
      this.fs.close(fd);
    });
    this.fd = undefined;
    this.startSegment(this.segments[this.segments.length - 1]!.seq + 1, needed);
  }

  /**
   * Creates segment `seq` under a temporary name, preallocated, with a header batch that
   * repeats the hard state and snapshot marker (so older segments can be deleted), fsyncs
   * it, renames it into place and fsyncs the directory.
   */
  private startSegment(seq: number, needed: number): void {
    const firstIndex = this.lastIndex + 1;
    const name = segmentName(seq, firstIndex);
    const path = join(this.dir, name);
    const tmp = path + TEMP_SUFFIX;
    // The repeated marker never replaces the log: the original did already, or it sits in a
    // released segment and this header is the first record any replay will see.
    const snapshot = this.snapshot ? { metadata: this.snapshot, replacesLog: false } : undefined;
    const header = encodeBatch(this.seq + 1, { segmentHeader: { seq, firstIndex }, snapshot, hardState: this.hardState });
    const capacity = Math.max(this.segmentSize, header.length + needed);
    const fd = io('WAL segment creation', () => {
      const fd = this.fs.open(tmp, 'replace');
      this.fs.preallocate(fd, capacity);
      this.fs.write(fd, header, 0);
      this.fs.fsync(fd);
      this.fs.rename(tmp, path);
      this.fs.fsyncDir(this.dir);
      return fd;
    });
    this.seq++;
    this.fd = fd;
    this.offset = header.length;
    this.dataStart = header.length;
    this.capacity = capacity;
    this.segments.push({ seq, firstIndex, path });
  }
}
