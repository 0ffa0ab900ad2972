// The snapshot header: which cluster, which members, which raft position and KV revision.
// It travels as length-prefixed JSON because it is small and must stay readable by eye
// (`head -c 600 file`); its CRC covers the magic, the version and the length as well.
import { crc32 } from 'node:zlib';
import {
  FORMAT_VERSION,
  MAGIC,
  MAX_HEADER_BYTES,
  PREAMBLE_BYTES,
  hex32,
  isCount,
  isHexId,
} from './format.js';
import { corruptSnapshot } from './integrity.js';

/** One member of the cluster at the snapshot's raft index, shaped like etcd's member list. */
export interface SnapshotMember {
  /** 16 lowercase hex digits. */
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** Consistency marks and other open-ended facts; `consistency` is the one the toolkit sets. */
export interface SnapshotExtra {
  readonly consistency?: 'linearizable' | 'serializable' | 'offline';
  readonly [key: string]: unknown;
}

/** What a snapshot says about itself. Every field is checked by the reader before any record is read. */
export interface SnapshotHeader {
  readonly formatVersion: number;
  /** 16 lowercase hex digits. */
  readonly clusterId: string;
  readonly members: readonly SnapshotMember[];
  /** The last raft log index the state covers, and its term. */
  readonly raftIndex: number;
  readonly raftTerm: number;
  /** The KV revision R the records are read at: no record has a mod revision above it. */
  readonly revision: number;
  /** History below this revision was compacted away; <= revision. */
  readonly compactRevision: number;
  /** Number of records; equals the trailer's record count. */
  readonly keyCount: number;
  /** ISO 8601 time, taken by the caller (so fixtures and tests are reproducible). */
  readonly createdAt: string;
  /** The member that produced the snapshot, 16 hex digits. */
  readonly sourceMember: string;
  readonly extra: SnapshotExtra;
}

/** A header as the encoder's caller gives it: the format version is the encoder's business. */
export type SnapshotHeaderInput = Omit<SnapshotHeader, 'formatVersion'> & { readonly formatVersion?: number };

/** Rebuilds the header with its fields in the documented order, so the bytes are reproducible. */
function canonical(header: SnapshotHeaderInput): SnapshotHeader {
  return {
    formatVersion: FORMAT_VERSION,
    clusterId: header.clusterId,
    members: header.members.map((m) => ({
      id: m.id,
      name: m.name,
      peerURLs: [...m.peerURLs],
      clientURLs: [...m.clientURLs],
      isLearner: m.isLearner,
    })),
    raftIndex: header.raftIndex,
    raftTerm: header.raftTerm,
    revision: header.revision,
    compactRevision: header.compactRevision,
    keyCount: header.keyCount,
    createdAt: header.createdAt,
    sourceMember: header.sourceMember,
    extra: { ...header.extra },
  };
}

/** The first problem with a header's fields, or undefined when it is well formed. */
export function headerProblem(h: Record<string, unknown>): string | undefined {
  if (!isHexId(h.clusterId)) return 'clusterId is not 16 hex digits';
  if (!isHexId(h.sourceMember)) return 'sourceMember is not 16 hex digits';
  if (!Array.isArray(h.members)) return 'members is not a list';
  for (const [i, m] of (h.members as unknown[]).entries()) {
    const problem = memberProblem(m);
    if (problem) return `members[${i}] ${problem}`;
  }
  for (const field of ['raftIndex', 'raftTerm', 'revision', 'compactRevision', 'keyCount'] as const) {
    if (!isCount(h[field])) return `${field} is not a non-negative integer`;
  }
  if ((h.compactRevision as number) > (h.revision as number)) return 'compactRevision is above revision';
  if (typeof h.createdAt !== 'string' || Number.isNaN(Date.parse(h.createdAt))) return 'createdAt is not an ISO time';
  if (typeof h.extra !== 'object' || h.extra === null || Array.isArray(h.extra)) return 'extra is not an object';
  return undefined;
}

function memberProblem(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null) return 'is not an object';
  const r = m as Record<string, unknown>;
  if (!isHexId(r.id)) return 'id is not 16 hex digits';
  if (typeof r.name !== 'string') return 'name is not a string';
  for (const field of ['peerURLs', 'clientURLs'] as const) {
    const urls = r[field];
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) return `${field} is not a list of strings`;
  }
  if (typeof r.isLearner !== 'boolean') return 'isLearner is not a boolean';
  return undefined;
}

/** Encodes magic, version, header length, header JSON and its CRC: the first bytes of every snapshot. */
export function encodeHeaderFrame(input: SnapshotHeaderInput): { header: SnapshotHeader; bytes: Buffer } {
  if (input.formatVersion !== undefined && input.formatVersion !== FORMAT_VERSION) {
    throw new RangeError(`this build writes snapshot format version ${FORMAT_VERSION}, not ${input.formatVersion}`);
  }
  const header = canonical(input);
  const problem = headerProblem(header as unknown as Record<string, unknown>);
  if (problem) throw new RangeError(`invalid snapshot header: ${problem}`);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new RangeError(`snapshot header is ${json.length} bytes, over ${MAX_HEADER_BYTES}`);
  const bytes = Buffer.allocUnsafe(PREAMBLE_BYTES + json.length + 4);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(FORMAT_VERSION, 8);
  bytes.writeUInt32BE(json.length, 12);
  json.copy(bytes, PREAMBLE_BYTES);
  bytes.writeUInt32BE(crc32(bytes.subarray(0, PREAMBLE_BYTES + json.length)), PREAMBLE_BYTES + json.length);
  return { header, bytes };
}

/**
 * Checks and parses the header frame (preamble, JSON, CRC), whose magic and version were
 * already checked. Unknown top-level fields are dropped: version 1 readers ignore additions.
 */
export function decodeHeaderFrame(frame: Buffer): SnapshotHeader {
  const jsonEnd = frame.length - 4;
  const stored = frame.readUInt32BE(jsonEnd);
  const computed = crc32(frame.subarray(0, jsonEnd));
  if (stored !== computed) {
    throw corruptSnapshot(`header (bytes 0-${frame.length - 1}) fails its CRC (stored ${hex32(stored)}, computed ${hex32(computed)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8', PREAMBLE_BYTES, jsonEnd));
  } catch {
    throw corruptSnapshot('header at byte 16 is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw corruptSnapshot('header at byte 16 is not a JSON object');
  }
  const h = parsed as Record<string, unknown>;
  if (h.formatVersion !== FORMAT_VERSION) {
    throw corruptSnapshot(`header says format version ${String(h.formatVersion)} but the preamble says ${FORMAT_VERSION}`);
  }
  const problem = headerProblem(h);
  if (problem) throw corruptSnapshot(`header at byte 16: ${problem}`);
  return canonical(h as unknown as SnapshotHeader);
}
