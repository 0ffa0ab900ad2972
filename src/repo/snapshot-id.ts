// Snapshot IDs: `YYYYMMDDTHHMMSSZ-<cluster-id hex>-r<revision>`. The time comes first so that
// a plain sort of object keys (local readdir, S3 listing) is a sort by time.

/** What an ID says about its snapshot. */
export interface SnapshotIdParts {
  /** Whole seconds, UTC. */
  readonly createdAt: Date;
  /** 16 lowercase hex digits. */
  readonly clusterId: string;
  readonly revision: number;
}

const ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([0-9a-f]{16})-r(\d{1,16})$/;

/** Builds the ID of a snapshot taken at `createdAt` of cluster `clusterId` at `revision`. */
export function formatSnapshotId(createdAt: Date, clusterId: string, revision: number): string {
  if (!/^[0-9a-f]{16}$/.test(clusterId)) throw new RangeError(`cluster ID must be 16 hex digits: ${clusterId}`);
  if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`revision must be a non-negative integer: ${revision}`);
  const stamp = createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${stamp}-${clusterId}-r${revision}`;
}

/** Parses an ID; undefined when `text` is not one (so callers can treat it as a path instead). */
export function parseSnapshotId(text: string): SnapshotIdParts | undefined {
  const m = ID_PATTERN.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, clusterId, rev] = m;
  const createdAt = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Date.UTC rolls 2026-02-31 over into March; a real ID never does.
  if (formatSnapshotId(createdAt, clusterId!, Number(rev)) !== text) return undefined;
  return { createdAt, clusterId: clusterId!, revision: Number(rev) };
}

/** True when `text` is a well-formed snapshot ID. */
export function isSnapshotId(text: string): boolean {
  return parseSnapshotId(text) !== undefined;
}

/** Repository key of a snapshot's archive. */
export function archiveKey(id: string): string {
  return `snapshots/${id}.tar.zst`;
}

/** Repository key of a snapshot's manifest (the commit marker). */
export function manifestKey(id: string): string {
  return `snapshots/${id}.json`;
}

/** Name of the snapshot file inside the archive. */
export function snapshotEntryName(id: string): string {
  return `${id}.snap`;
}
