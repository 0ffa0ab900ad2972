// `snapshot prune`: applies a retention policy to a repository. Deletes a snapshot by removing
// its manifest first (which uncommits it) and then its archive and drill reports, so a crash
// midway leaves at worst an incomplete upload that the next prune removes. Also removes
// incomplete uploads (archives without a manifest, partial files, stale multipart uploads)
// older than an hour: younger ones may belong to a save that is still running.
import type { Repository } from '../repo/repository.js';
import { applyRetention, type RetentionPolicy } from '../repo/retention.js';
import { archiveKey, isSnapshotId, manifestKey } from '../repo/snapshot-id.js';
import { listSnapshots } from './catalog.js';

export interface PruneOptions {
  readonly repo: Repository;
  readonly policy: RetentionPolicy;
  readonly dryRun: boolean;
  /** Incomplete uploads younger than this are left alone (default one hour). */
  readonly incompleteGraceMs?: number;
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

export interface PruneResult {
  readonly dryRun: boolean;
  readonly kept: { id: string; clusterId: string; reasons: readonly string[] }[];
  readonly deleted: { id: string; clusterId: string }[];
  /** Repository keys of archives that never got a manifest, removed (or, in a dry run, to remove). */
  readonly incomplete: string[];
  /** Partial files or multipart uploads cleaned up by the backend. */
  readonly abandonedUploads: number;
  /** Manifests that could not be read; never deleted, reported so damage is never silent. */
  readonly problems: string[];
}

const HOUR_MS = 3_600_000;
const ARCHIVE_KEY = /^snapshots\/([^/]+)\.tar\.zst$/;
const DRILL_KEY = /^drills\/(.+)--[^/]+\.json$/;

/** Plans and (unless dryRun) carries out a prune. The caller holds the repository lock. */
export async function pruneRepository(options: PruneOptions): Promise<PruneResult> {
  const { repo, policy, dryRun } = options;
  const now = options.now ?? new Date();
  const catalog = await listSnapshots(repo, { drills: false });
  // "Never delete the newest verified snapshot" means one that can still be restored: a
  // manifest whose archive is gone must not take that protection from the one before it.
  const candidates = catalog.snapshots.map((s) => ({ ...s, verified: s.verified && s.archivePresent }));
  const decisions = applyRetention(candidates, policy);
  const doomed = decisions.filter((d) => !d.keep).map((d) => d.snapshot);

  const objects = await repo.list('snapshots/');
  const committed = new Set(objects.map((o) => o.key));
  const graceCutoff = now.getTime() - (options.incompleteGraceMs ?? HOUR_MS);
  const incomplete = objects
    .filter((o) => {
      const id = ARCHIVE_KEY.exec(o.key)?.[1];
      return id !== undefined && isSnapshotId(id) && !committed.has(manifestKey(id)) && o.lastModified.getTime() < graceCutoff;
    })
    .map((o) => o.key);

  let abandonedUploads = 0;
  if (!dryRun) {
    const drillKeys = (await repo.list('drills/')).map((o) => o.key);
    for (const snapshot of doomed) {
      options.signal?.throwIfAborted();
      await repo.delete(manifestKey(snapshot.id));
      await repo.delete(archiveKey(snapshot.id));
      for (const key of drillKeys) {
        if (DRILL_KEY.exec(key)?.[1] === snapshot.id) await repo.delete(key);
      }
    }
    for (const key of incomplete) await repo.delete(key);
    abandonedUploads = await repo.cleanupIncomplete(new Date(graceCutoff));
  }

  return {
    dryRun,
    kept: decisions.filter((d) => d.keep).map((d) => ({ id: d.snapshot.id, clusterId: d.snapshot.clusterId, reasons: d.reasons })),
    deleted: doomed.map((s) => ({ id: s.id, clusterId: s.clusterId })),
    incomplete,
    abandonedUploads,
    problems: catalog.problems,
  };
}
