// The payloads of the four WAL record types (docs/wal-format.md), written straight into a
// batch buffer so an append encodes into one allocation.

import type { ConfState, Entry, EntryType, HardState, SnapshotMetadata } from '../raft/types.js';
import { readU64, writeU64 } from './wal-record.js';

export const SEGMENT_MAGIC = 0x4c57424c; // "LBWL" read as bytes
export const WAL_FORMAT_VERSION = 1;

/** The first record of every segment: names the segment so a misplaced file is caught. */
export interface SegmentHeader {
  readonly seq: number;
  /** The index the segment's first new entry was expected to have (lastIndex + 1 at creation). */
  readonly firstIndex: number;
}

/**
 * A snapshot marker: which snapshot is current, and whether it replaced the log (a snapshot
 * from the leader, installed because the log did not match) or compacted it (entries after
 * its index stay).
 */
export interface SnapshotMarker {
  readonly metadata: SnapshotMetadata;
  readonly replacesLog: boolean;
}

/** A payload decoder's complaint; the reader turns it into a CorruptionError with file and offset. */
export class PayloadError extends Error {}

function stringsSize(list: readonly string[]): number {
  let n = 4;
  for (const s of list) n += 2 + Buffer.byteLength(s);
  return n;
}

function writeStrings(buf: Buffer, offset: number, list: readonly string[]): number {
  buf.writeUInt32LE(list.length, offset);
  let pos = offset + 4;
  for (const s of list) {
    const n = buf.write(s, pos + 2, 'utf8');
    buf.writeUInt16LE(n, pos);
    pos += 2 + n;
  }
  return pos;
}

function readStrings(buf: Buffer, offset: number): { list: string[]; next: number } {
  need(buf, offset + 4);
  const count = buf.readUInt32LE(offset);
  const list: string[] = [];
  let pos = offset + 4;
  for (let i = 0; i < count; i++) {
    need(buf, pos + 2);
    const n = buf.readUInt16LE(pos);
    need(buf, pos + 2 + n);
    list.push(buf.toString('utf8', pos + 2, pos + 2 + n));
    pos += 2 + n;
  }
  return { list, next: pos };
}

function need(buf: Buffer, end: number): void {
  if (end > buf.length) throw new PayloadError('payload shorter than its fields');
}

function u64(buf: Buffer, offset: number, what: string): number {
  need(buf, offset + 8);
  const v = readU64(buf, offset);
  if (v === undefined) throw new PayloadError(`${what} does not fit a safe integer`);
  return v;
}

// ---- entry: u64 term, u64 index, u8 type, data ----------------------------------------

export function entryPayloadSize(e: Entry): number {
  return 17 + e.data.length;
}

export function writeEntryPayload(buf: Buffer, offset: number, e: Entry): void {
  writeU64(buf, offset, e.term);
  writeU64(buf, offset + 8, e.index);
  buf[offset + 16] = e.type;
  buf.set(e.data, offset + 17);
}

export function readEntryPayload(p: Buffer): Entry {
  const term = u64(p, 0, 'entry term');
  const index = u64(p, 8, 'entry index');
  need(p, 17);
  const type = p[16]!;
  if (type > 1) throw new PayloadError(`unknown entry type ${type}`);
  // A copy, so the entry does not pin the whole segment buffer in memory.
  return { term, index, type: type as EntryType, data: Uint8Array.prototype.slice.call(p, 17) };
}

// ---- hard state: u64 term, u64 commit, u16 vote length, vote ---------------------------

export function hardStatePayloadSize(hs: HardState): number {
  return 18 + Buffer.byteLength(hs.vote);
}

export function writeHardStatePayload(buf: Buffer, offset: number, hs: HardState): void {
  writeU64(buf, offset, hs.term);
  writeU64(buf, offset + 8, hs.commit);
  const n = buf.write(hs.vote, offset + 18, 'utf8');
  buf.writeUInt16LE(n, offset + 16);
}

export function readHardStatePayload(p: Buffer): HardState {
  const term = u64(p, 0, 'hard state term');
  const commit = u64(p, 8, 'hard state commit');
  need(p, 18);
  const n = p.readUInt16LE(16);
  if (18 + n !== p.length) throw new PayloadError('hard state payload has the wrong length');
  return { term, commit, vote: p.toString('utf8', 18, 18 + n) };
}

// ---- snapshot marker: u64 index, u64 term, u8 flags, voters, learners ------------------

const REPLACES_LOG = 1;

export function snapshotPayloadSize(m: SnapshotMarker): number {
  return 17 + stringsSize(m.metadata.confState.voters) + stringsSize(m.metadata.confState.learners);
}

export function writeSnapshotPayload(buf: Buffer, offset: number, marker: SnapshotMarker): void {
  const m = marker.metadata;
  writeU64(buf, offset, m.index);
  writeU64(buf, offset + 8, m.term);
  buf[offset + 16] = marker.replacesLog ? REPLACES_LOG : 0;
  const next = writeStrings(buf, offset + 17, m.confState.voters);
  writeStrings(buf, next, m.confState.learners);
}

export function readSnapshotPayload(p: Buffer): SnapshotMarker {
  const index = u64(p, 0, 'snapshot index');
  const term = u64(p, 8, 'snapshot term');
  need(p, 17);
  const flags = p[16]!;
  if ((flags & ~REPLACES_LOG) !== 0) throw new PayloadError(`unknown snapshot marker flags ${flags}`);
  const voters = readStrings(p, 17);
  const learners = readStrings(p, voters.next);
  if (learners.next !== p.length) throw new PayloadError('snapshot marker payload has the wrong length');
  const confState: ConfState = { voters: voters.list, learners: learners.list };
  return { metadata: { index, term, confState }, replacesLog: flags === REPLACES_LOG };
}

// ---- segment header: u32 magic, u16 version, u16 zero, u64 seq, u64 first index --------

export const SEGMENT_HEADER_PAYLOAD_SIZE = 24;

export function writeSegmentHeaderPayload(buf: Buffer, offset: number, h: SegmentHeader): void {
  buf.writeUInt32LE(SEGMENT_MAGIC, offset);
  buf.writeUInt16LE(WAL_FORMAT_VERSION, offset + 4);
  buf.writeUInt16LE(0, offset + 6);
  writeU64(buf, offset + 8, h.seq);
  writeU64(buf, offset + 16, h.firstIndex);
}

export function readSegmentHeaderPayload(p: Buffer): SegmentHeader {
  if (p.length !== SEGMENT_HEADER_PAYLOAD_SIZE) throw new PayloadError('segment header has the wrong length');
  if (p.readUInt32LE(0) !== SEGMENT_MAGIC) throw new PayloadError('not a Lifeboat WAL segment (bad magic)');
  const version = p.readUInt16LE(4);
  if (version !== WAL_FORMAT_VERSION) throw new PayloadError(`unsupported WAL format version ${version}`);
  return { seq: u64(p, 8, 'segment sequence'), firstIndex: u64(p, 16, 'segment first index') };
}
