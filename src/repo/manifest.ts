// The manifest: everything a restore, a drill or an auditor needs to know about one snapshot,
// stored as snapshots/<id>.json. It is written last, after the archive is durable, so its
// presence is the commit marker: an archive without it is an incomplete upload.
//
// Two documents share these fields. The archive's own first entry, manifest.json, is the
// "entry manifest": written once the snapshot was received and checked, it knows the snapshot's
// size and hashes but cannot know the archive's own size and hash. The repository's <id>.json
// is the full manifest, with the archive's bytes and SHA-256 and the timings added.
import { IntegrityError } from '../errors.js';
import type { SnapshotMember } from '../snapshot/index.js';

export const MANIFEST_SCHEMA = 'lifeboat.manifest/v1';
export const ENTRY_MANIFEST_SCHEMA = 'lifeboat.archive-entry/v1';

export type Consistency = 'linearizable' | 'serializable' | 'offline';

/** What the archive's manifest.json says: the snapshot, as checked on the way in. */
export interface EntryManifest {
  readonly schema: string;
  readonly id: string;
  /** Snapshot format version of the .snap entry. */
  readonly formatVersion: number;
  /** The lifeboat release that wrote it. */
  readonly toolVersion: string;
  /** ISO 8601; the time the save started (the ID's time, to the millisecond). */
  readonly createdAt: string;
  readonly clusterId: string;
  readonly members: readonly SnapshotMember[];
  readonly sourceMember: string;
  /** The client URL the snapshot was streamed from, or the data directory. */
  readonly source: string;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly keyCount: number;
  /** Sum of key and value lengths. */
  readonly dataBytes: number;
  /** The hashkv of the snapshot's revision (CRC32, see kv/kv-hash.ts). */
  readonly kvHash: number;
  readonly consistency: Consistency;
  /** Name of the snapshot entry in the archive: <id>.snap. */
  readonly snapshotName: string;
  /** Size and SHA-256 of the whole .snap file (trailer included): `sha256sum <id>.snap` matches. */
  readonly snapshotBytes: number;
  readonly snapshotSha256: string;
  readonly compression: 'zstd';
  readonly compressionLevel: number;
}

/** How long each phase of the save took, in milliseconds. */
export interface SaveTimings {
  /** Receiving, checking, compressing and spooling the snapshot. */
  readonly streamMs: number;
  /** Writing the archive into the repository. */
  readonly uploadMs: number;
  /** Reading the archive back and checking it. */
  readonly verifyMs: number;
  readonly totalMs: number;
}

/** The repository's <id>.json. */
export interface Manifest extends EntryManifest {
  /** Repository key of the archive. */
  readonly archiveKey: string;
  readonly archiveBytes: number;
  readonly archiveSha256: string;
  /** ISO 8601: when the archive was read back and verified by the save. */
  readonly verifiedAt: string;
  readonly timings: SaveTimings;
}

const HINT = 'the manifest is damaged or was not written by lifeboat; verify the snapshot or use another one (lifeboat snapshot list)';

/** Serializes a manifest (pretty, one trailing newline, stable field order). */
export function encodeManifest(manifest: Manifest | EntryManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
}

/** Parses and checks a repository manifest; IntegrityError naming `where` when it is bad. */
export function parseManifest(bytes: Buffer, where: string, expectedId?: string): Manifest {
  const m = parseJson(bytes, where);
  checkSchema(m, MANIFEST_SCHEMA, where);
  const problem = entryProblem(m) ?? manifestProblem(m);
  if (problem) throw new IntegrityError(`manifest ${where} is invalid: ${problem}`, HINT);
  const manifest = m as unknown as Manifest;
  if (expectedId !== undefined && manifest.id !== expectedId) {
    throw new IntegrityError(`manifest ${where} names snapshot ${manifest.id}, not ${expectedId}`, HINT);
  }
  return manifest;
}

/** Parses and checks the archive's manifest.json entry. */
export function parseEntryManifest(bytes: Buffer, where: string): EntryManifest {
  const m = parseJson(bytes, where);
  checkSchema(m, ENTRY_MANIFEST_SCHEMA, where);
  const problem = entryProblem(m);
  if (problem) throw new IntegrityError(`manifest.json in ${where} is invalid: ${problem}`, HINT);
  return m as unknown as EntryManifest;
}

/** Builds the entry manifest from a full one (the fields both carry). */
export function entryPart(manifest: Manifest): EntryManifest {
  const { archiveKey: _k, archiveBytes: _b, archiveSha256: _s, verifiedAt: _v, timings: _t, ...rest } = manifest;
  return { ...rest, schema: ENTRY_MANIFEST_SCHEMA };
}

function parseJson(bytes: Buffer, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(`manifest ${where} is not valid JSON`, HINT);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new IntegrityError(`manifest ${where} is not a JSON object`, HINT);
  }
  return value as Record<string, unknown>;
}

function checkSchema(m: Record<string, unknown>, expected: string, where: string): void {
  if (m.schema === expected) return;
  const family = expected.slice(0, expected.lastIndexOf('/') + 1);
  if (typeof m.schema === 'string' && m.schema.startsWith(family)) {
    throw new IntegrityError(
      `manifest ${where} has schema ${m.schema}; this build reads ${expected}`,
      'upgrade lifeboat to a release that reads this manifest version',
    );
  }
  throw new IntegrityError(`manifest ${where} is not a Lifeboat manifest (schema ${JSON.stringify(m.schema)})`, HINT);
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isHex = (v: unknown, digits: number): boolean => typeof v === 'string' && new RegExp(`^[0-9a-f]{${digits}}$`).test(v);

function entryProblem(m: Record<string, unknown>): string | undefined {
  if (typeof m.id !== 'string' || m.id === '') return 'id is missing';
  for (const f of ['formatVersion', 'raftIndex', 'raftTerm', 'revision', 'compactRevision', 'keyCount', 'dataBytes', 'snapshotBytes', 'compressionLevel']) {
    if (!isCount(m[f])) return `${f} is not a non-negative integer`;
  }
  if (typeof m.kvHash !== 'number' || !Number.isInteger(m.kvHash) || m.kvHash < 0 || m.kvHash > 0xffffffff) return 'kvHash is not a 32-bit hash';
  if (!isHex(m.clusterId, 16)) return 'clusterId is not 16 hex digits';
  if (!isHex(m.sourceMember, 16)) return 'sourceMember is not 16 hex digits';
  if (!isHex(m.snapshotSha256, 64)) return 'snapshotSha256 is not a SHA-256';
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) return 'createdAt is not a time';
  if (typeof m.toolVersion !== 'string') return 'toolVersion is missing';
  if (typeof m.source !== 'string') return 'source is missing';
  if (m.snapshotName !== `${m.id}.snap`) return 'snapshotName is not <id>.snap';
  if (m.consistency !== 'linearizable' && m.consistency !== 'serializable' && m.consistency !== 'offline') return 'consistency is unknown';
  if (m.compression !== 'zstd') return `compression ${JSON.stringify(m.compression)} is unknown`;
  if (!Array.isArray(m.members)) return 'members is not a list';
  if ((m.compactRevision as number) > (m.revision as number)) return 'compactRevision is above revision';
  return undefined;
}

function manifestProblem(m: Record<string, unknown>): string | undefined {
  if (m.archiveKey !== `snapshots/${m.id}.tar.zst`) return 'archiveKey is not snapshots/<id>.tar.zst';
  if (!isCount(m.archiveBytes)) return 'archiveBytes is not a non-negative integer';
  if (!isHex(m.archiveSha256, 64)) return 'archiveSha256 is not a SHA-256';
  if (typeof m.verifiedAt !== 'string') return 'verifiedAt is missing';
  const t = m.timings as Record<string, unknown> | undefined;
  if (!t || typeof t !== 'object') return 'timings are missing';
  return undefined;
}
