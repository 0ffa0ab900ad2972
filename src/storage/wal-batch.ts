// Encodes one append batch (what one fsync covers) into a single Buffer.

import type { Entry, HardState } from '../raft/types.js';
import { RecordType, recordSize, writeRecord } from './wal-record.js';
import {
  SEGMENT_HEADER_PAYLOAD_SIZE,
  entryPayloadSize,
  hardStatePayloadSize,
  snapshotPayloadSize,
  writeEntryPayload,
  writeHardStatePayload,
  writeSegmentHeaderPayload,
  writeSnapshotPayload,
  type SegmentHeader,
  type SnapshotMarker,
} from './wal-payloads.js';

/** What a batch holds, written in this order: segment header, snapshot marker, entries, hard state. */
export interface BatchParts {
  readonly segmentHeader?: SegmentHeader;
  readonly snapshot?: SnapshotMarker;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

/** The encoded size of a batch in bytes. */
export function batchSize(parts: BatchParts): number {
  let n = 0;
  if (parts.segmentHeader) n += recordSize(SEGMENT_HEADER_PAYLOAD_SIZE);
  if (parts.snapshot) n += recordSize(snapshotPayloadSize(parts.snapshot));
  for (const e of parts.entries ?? []) n += recordSize(entryPayloadSize(e));
  if (parts.hardState) n += recordSize(hardStatePayloadSize(parts.hardState));
  return n;
}

/** Encodes a batch whose records all carry batch number `seq`; the last one is flagged as ending it. */
export function encodeBatch(seq: number, parts: BatchParts, size = batchSize(parts)): Buffer {
  const buf = Buffer.alloc(size);
  let pos = 0;
  const { segmentHeader, snapshot, hardState } = parts;
  const ends = (next: number): boolean => next === size;
  if (segmentHeader) {
    const n = recordSize(SEGMENT_HEADER_PAYLOAD_SIZE);
    pos = writeRecord(buf, pos, RecordType.SegmentHeader, seq, SEGMENT_HEADER_PAYLOAD_SIZE, (b, o) => writeSegmentHeaderPayload(b, o, segmentHeader), ends(pos + n));
  }
  if (snapshot) {
    const len = snapshotPayloadSize(snapshot);
    pos = writeRecord(buf, pos, RecordType.Snapshot, seq, len, (b, o) => writeSnapshotPayload(b, o, snapshot), ends(pos + recordSize(len)));
  }
  for (const e of parts.entries ?? []) {
    const len = entryPayloadSize(e);
    pos = writeRecord(buf, pos, RecordType.Entry, seq, len, (b, o) => writeEntryPayload(b, o, e), ends(pos + recordSize(len)));
  }
  if (hardState) {
    const len = hardStatePayloadSize(hardState);
    pos = writeRecord(buf, pos, RecordType.HardState, seq, len, (b, o) => writeHardStatePayload(b, o, hardState), true);
  }
  return buf;
}
