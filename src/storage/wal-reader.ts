// Reads a WAL directory back: checks every record, replays them into hard state, the
// current snapshot marker and the log, and decides whether damage at the end of the last
// segment is a torn write (repairable) or corruption (fatal). It never writes: repair is the
// writer's job, after everything else has been checked, so a refused start leaves the data
// directory exactly as it was.

import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import type { FileSystem } from './file-system.js';
import { readWholeFile } from './file-system.js';
import { CorruptionError } from './corruption-error.js';
import { RecordType, decodeRecordAt, lastNonZeroEnd, looksTorn, HEADER_SIZE, RECORD_ALIGN, type WalRecord } from './wal-record.js';
import { PayloadError, readEntryPayload, readHardStatePayload, readSegmentHeaderPayload, readSnapshotPayload } from './wal-payloads.js';
import { segmentName, type SegmentFile } from './wal-segment-name.js';

/** Where the valid data of the last segment ends, and what a torn write left behind it. */
export interface WalTail {
  readonly segment: SegmentFile;
  /** Offset just past the last valid record: appends continue here. */
  readonly end: number;
  /** The segment file's size (its preallocated capacity). */
  readonly fileSize: number;
  /** Bytes of a torn write between `end` and the last non-zero byte; 0 when the tail is clean. */
  readonly tornBytes: number;
}

export interface WalContents {
  readonly hardState?: HardState;
  readonly snapshot?: SnapshotMetadata;
  /** The log after the snapshot: contiguous, starting at snapshot index + 1 (or 1). */
  readonly entries: Entry[];
  /** The highest batch number seen; the next append uses lastSeq + 1. */
  readonly lastSeq: number;
  readonly tail: WalTail;
}

interface Location {
  readonly file: string;
  readonly offset: number;
}

/** Replays records in order, applying the overwrite and snapshot rules of docs/wal-format.md. */
class Replay {
  hardState: HardState | undefined;
  snapshot: SnapshotMetadata | undefined;
  entries: Entry[] = [];
  /** Where entries[0] came from, to name it if the log turns out not to connect to the snapshot. */
  firstAt: Location | undefined;

  apply(rec: WalRecord, at: Location): void {
    switch (rec.type) {
      case RecordType.Entry:
        this.entry(readEntryPayload(rec.payload), at);
        break;
      case RecordType.HardState:
        this.hardState = readHardStatePayload(rec.payload);
        break;
      case RecordType.Snapshot: {
        const marker = readSnapshotPayload(rec.payload);
        this.marker(marker.metadata, marker.replacesLog, at);
        break;
      }
      case RecordType.SegmentHeader:
        throw new CorruptionError(at.file, at.offset, 'a segment header in the middle of a segment');
    }
  }

  private entry(e: Entry, at: Location): void {
    const ents = this.entries;
    if (ents.length > 0 && e.index <= ents[ents.length - 1]!.index) {
      // A later record for an index replaces it and everything after it (a conflicting suffix).
      ents.length = Math.max(0, e.index - ents[0]!.index);
    }
    if (ents.length > 0 && e.index !== ents[ents.length - 1]!.index + 1) {
      // A jump forward: only legal right after a snapshot that covers the gap; checked at the end.
      ents.length = 0;
    }
    if (ents.length === 0) this.firstAt = at;
    ents.push(e);
  }

  private marker(m: SnapshotMetadata, replacesLog: boolean, at: Location): void {
    const cur = this.snapshot;
    if (cur && m.index === cur.index && m.term === cur.term) return; // repeated in each segment header
    if (cur && m.index <= cur.index) {
      throw new CorruptionError(at.file, at.offset, `snapshot marker ${m.term}/${m.index} is not newer than ${cur.term}/${cur.index}`);
    }
    const ents = this.entries;
    const first = ents[0]?.index;
    if (replacesLog) {
      // A snapshot from the leader: the log written before it is gone, as it is in the raft core.
      ents.length = 0;
    } else if (first !== undefined && first <= m.index) {
      // A compaction: what the snapshot covers goes, the log after it stays.
      ents.splice(0, Math.min(ents.length, m.index - first + 1));
    }
    if (ents.length === 0) this.firstAt = undefined;
    this.snapshot = m;
  }

  /** Drops what the snapshot covers and checks that the log connects to it. */
  finish(): Entry[] {
    const base = this.snapshot?.index ?? 0;
    let ents = this.entries;
    const first = ents[0]?.index;
    if (first !== undefined && first <= base) ents = ents.slice(base - first + 1);
    if (ents.length > 0 && ents[0]!.index !== base + 1) {
      const at = this.firstAt!;
      throw new CorruptionError(at.file, at.offset, `entries resume at index ${ents[0]!.index} but everything up to ${base} is all that is covered (missing entries or a missing segment)`);
    }
    return ents;
  }
}

/** Finds a valid record of batch `minSeq` or later in [from, to): proof that committed data follows damage. */
function findLaterBatch(buf: Buffer, from: number, to: number, minSeq: number): number | undefined {
  for (let q = Math.ceil(from / RECORD_ALIGN) * RECORD_ALIGN; q + HEADER_SIZE <= to; q += RECORD_ALIGN) {
    const type = buf[q + 12]!;
    if (type < 1 || type > RecordType.SegmentHeader || buf[q + 13]! > 1) continue;
    const r = decodeRecordAt(buf, q);
    if (r.kind === 'record' && r.record.seq >= minSeq) return q;
  }
  return undefined;
}

interface PendingBatch {
  readonly seq: number;
  /** Where the batch starts in its segment; 0 for a segment's header batch. */
  readonly start: number;
  readonly records: { readonly rec: WalRecord; readonly at: Location }[];
}

/**
 * Reads and checks every segment. Throws CorruptionError naming the file and offset for a
 * missing segment, a bad record before the tail, or damage at the tail that a torn write
 * cannot explain. Records are replayed a whole batch at a time, so a torn batch is dropped
 * whole. `segments` is the sorted, non-empty list from listSegments().
 */
export function readWal(fs: FileSystem, segments: readonly SegmentFile[]): WalContents {
  const replay = new Replay();
  /** The number of the last complete batch. */
  let lastSeq = 0;
  let tail: WalTail | undefined;
  const applyBatch = (batch: PendingBatch): void => {
    for (const { rec, at } of batch.records) {
      try {
        replay.apply(rec, at);
      } catch (err) {
        if (err instanceof PayloadError) throw new CorruptionError(at.file, at.offset, err.message);
        throw err;
      }
    }
    lastSeq = batch.seq;
  };
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const isLast = i === segments.length - 1;
    if (i > 0 && seg.seq !== segments[i - 1]!.seq + 1) {
      const missing = segments[i - 1]!.seq + 1;
      throw new CorruptionError(seg.path, 0, `segment ${missing} (a file named ${missing.toString(16).padStart(16, '0')}-*.wal) is missing before this one`);
    }
    const raw = readWholeFile(fs, seg.path);
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const head = decodeRecordAt(buf, 0);
    if (head.kind !== 'record' || head.record.type !== RecordType.SegmentHeader) {
      throw new CorruptionError(seg.path, 0, head.kind === 'bad' ? `bad segment header: ${head.reason}` : 'the segment does not start with a segment header');
    }
    try {
      const h = readSegmentHeaderPayload(head.record.payload);
      if (h.seq !== seg.seq || h.firstIndex !== seg.firstIndex) {
        throw new PayloadError(`the header says ${segmentName(h.seq, h.firstIndex)}, the file name disagrees`);
      }
    } catch (err) {
      if (err instanceof PayloadError) throw new CorruptionError(seg.path, 0, err.message);
      throw err;
    }
    if (head.record.seq <= lastSeq) throw new CorruptionError(seg.path, 0, 'batch numbers go backwards');
    let batch: PendingBatch | undefined = { seq: head.record.seq, start: 0, records: [] };
    if (head.record.endsBatch) {
      applyBatch(batch);
      batch = undefined;
    }
    let pos = head.next;
    for (;;) {
      const r = decodeRecordAt(buf, pos);
      if (r.kind === 'record') {
        const rec = r.record;
        if (batch ? rec.seq !== batch.seq : rec.seq <= lastSeq) {
          throw new CorruptionError(seg.path, pos, batch ? `batch ${batch.seq} ends without its last record` : 'batch numbers go backwards');
        }
        batch ??= { seq: rec.seq, start: pos, records: [] };
        batch.records.push({ rec, at: { file: seg.path, offset: pos } });
        if (rec.endsBatch) {
          applyBatch(batch);
          batch = undefined;
        }
        pos = r.next;
        continue;
      }
      const dirtyEnd = lastNonZeroEnd(buf, pos);
      const clean = r.kind === 'zero' && dirtyEnd === pos;
      if (clean && !batch) {
        if (isLast) tail = { segment: seg, end: pos, fileSize: buf.length, tornBytes: 0 };
        break;
      }
      const reason = clean ? `batch ${batch!.seq} is cut off before its last record` : r.kind === 'zero' ? 'data after the end-of-log zeros' : r.reason;
      const at = clean ? batch!.start : pos;
      if (!isLast) throw new CorruptionError(seg.path, at, `${reason} (not in the last segment, so not a torn write)`);
      if (batch?.start === 0) throw new CorruptionError(seg.path, at, `${reason} (in the segment's first batch, which is synced before the segment gets its name)`);
      if (!clean) {
        // A torn write leaves a sector of zeros in the first record it damaged, and nothing of
        // a batch after the one in flight; anything else is damage to acknowledged data.
        const torn = r.kind === 'zero' || r.cutOff === true || looksTorn(buf, pos, r.end);
        if (!torn) throw new CorruptionError(seg.path, pos, reason);
        const inFlight = batch ? batch.seq : lastSeq + 1;
        const later = findLaterBatch(buf, pos + RECORD_ALIGN, dirtyEnd, inFlight + 1);
        if (later !== undefined) throw new CorruptionError(seg.path, pos, `${reason}; a later batch follows at offset ${later}`);
      }
      // The batch in flight is dropped whole, from its first record.
      const end = batch ? batch.start : pos;
      tail = { segment: seg, end, fileSize: buf.length, tornBytes: Math.max(dirtyEnd, pos) - end };
      break;
    }
  }
  return { hardState: replay.hardState, snapshot: replay.snapshot, entries: replay.finish(), lastSeq, tail: tail! };
}
