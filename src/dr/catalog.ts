// The catalog: which snapshots a repository holds, and what `<id|latest|file>` means.
// A snapshot exists when its manifest does (the commit marker); an archive without one is an
// incomplete upload and is never listed. Drill reports (drills/<id>--<time>.json, written by
// `lifeboat drill`) are joined in so `snapshot list` shows each snapshot's last drill.
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { IntegrityError, NotFoundError, UsageError } from '../errors.js';
import { parseManifest, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { archiveKey, isSnapshotId, manifestKey, parseSnapshotId } from '../repo/snapshot-id.js';

/** The last drill of a snapshot, as its report says. */
export interface DrillSummary {
  readonly key: string;
  readonly result: 'pass' | 'fail';
  readonly finishedAt: string;
}

/** One listed snapshot. Also a retention candidate (id, createdAt, clusterId, verified). */
export interface CatalogEntry {
  readonly id: string;
  readonly createdAt: Date;
  readonly clusterId: string;
  /** The save read the archive back and verified it before committing (every committed snapshot). */
  readonly verified: boolean;
  readonly manifest: Manifest;
  /** False when the manifest is there but its archive is gone (a damaged repository). */
  readonly archivePresent: boolean;
  readonly lastDrill?: DrillSummary;
}

export interface Catalog {
  /** Oldest first (IDs sort by time). */
  readonly snapshots: CatalogEntry[];
  /** Manifests that could not be read, one line each; listed so damage is never silent. */
  readonly problems: string[];
  /** Archive keys without a manifest: interrupted saves, never listed, removed by prune. */
  readonly incomplete: string[];
  /** IDs whose manifest is there but could not be read (the damage behind some `problems`). */
  readonly damaged: string[];
}

export interface ListOptions {
  /** Join the last drill report of each snapshot (default true). */
  readonly drills?: boolean;
}

const MANIFEST_KEY = /^snapshots\/([^/]+)\.json$/;
const ARCHIVE_KEY = /^snapshots\/([^/]+)\.tar\.zst$/;
const DRILL_KEY = /^drills\/(.+)--([^/]+)\.json$/;

/** Lists the committed snapshots of a repository (which must exist: NotFoundError otherwise). */
export async function listSnapshots(repo: Repository, options: ListOptions = {}): Promise<Catalog> {
  await repo.checkInitialized();
  const objects = await repo.list('snapshots/');
  const keys = new Set(objects.map((o) => o.key));
  const ids = objects.map((o) => MANIFEST_KEY.exec(o.key)?.[1]).filter((id): id is string => id !== undefined && isSnapshotId(id));
  const problems: string[] = [];
  const damaged: string[] = [];
  const manifests = await mapLimited(ids, 8, async (id) => {
    try {
      return parseManifest(await repo.readSmall(manifestKey(id)), manifestKey(id), id);
    } catch (err) {
      // Gone since the listing (a prune ran meanwhile): it is simply no longer there.
      if (err instanceof NotFoundError) return undefined;
      // A damaged manifest is reported; a storage failure must fail the listing, or `latest`
      // would quietly pick an older snapshot and prune would judge an incomplete set.
      if (!(err instanceof IntegrityError)) throw err;
      problems.push(err.message);
      damaged.push(id);
      return undefined;
    }
  });
  const drills = options.drills === false ? new Map<string, DrillSummary>() : await lastDrills(repo, problems);
  const snapshots: CatalogEntry[] = [];
  for (const manifest of manifests) {
    if (!manifest) continue;
    const archivePresent = keys.has(manifest.archiveKey) && manifest.archiveKey === archiveKey(manifest.id);
    if (!archivePresent) problems.push(`snapshot ${manifest.id}: its archive ${manifest.archiveKey} is missing`);
    snapshots.push({
      id: manifest.id,
      createdAt: new Date(manifest.createdAt),
      clusterId: manifest.clusterId,
      verified: typeof manifest.verifiedAt === 'string',
      manifest,
      archivePresent,
      lastDrill: drills.get(manifest.id),
    });
  }
  snapshots.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const incomplete = objects
    .map((o) => o.key)
    .filter((key) => ARCHIVE_KEY.test(key) && !keys.has(key.replace(ARCHIVE_KEY, 'snapshots/$1.json')));
  return { snapshots, problems, incomplete, damaged: damaged.sort() };
}

/** What a `<id|latest|file>` argument points at. */
export type SnapshotRef =
  | { readonly kind: 'repo'; readonly entry: CatalogEntry }
  | { readonly kind: 'file'; readonly path: string };

export interface ResolveOptions {
  /**
   * Refuse `latest` when the repository holds snapshots of several clusters and no cluster was
   * named (restore, drill): the newest of them all may be another cluster's.
   */
  readonly oneCluster?: boolean;
}

/**
 * Resolves `latest` (newest snapshot, optionally of one cluster), an ID, or a path to a
 * snapshot or archive file. A repository is needed for `latest` and IDs only.
 */
export async function resolveSnapshot(repo: Repository | undefined, ref: string, clusterId?: string, options: ResolveOptions = {}): Promise<SnapshotRef> {
  if (ref === 'latest' || isSnapshotId(ref)) {
    if (!repo) throw new UsageError(`--repo is required to find snapshot ${ref}`, 'pass --repo (or set LIFEBOAT_REPO), or give the path of a snapshot file');
    return { kind: 'repo', entry: await findInRepo(repo, ref, clusterId, options) };
  }
  const path = resolvePath(ref);
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return { kind: 'file', path };
  throw new NotFoundError(
    `snapshot ${ref} not found: it is not a snapshot ID, "latest", or an existing file`,
    'list the repository\'s snapshots with lifeboat snapshot list, or check the file path',
  );
}

async function findInRepo(repo: Repository, ref: string, clusterId: string | undefined, options: ResolveOptions): Promise<CatalogEntry> {
  if (ref !== 'latest') {
    await repo.checkInitialized();
    let manifest: Manifest;
    try {
      manifest = parseManifest(await repo.readSmall(manifestKey(ref)), manifestKey(ref), ref);
    } catch (err) {
      if (err instanceof NotFoundError) {
        const orphan = await repo.stat(archiveKey(ref));
        throw new NotFoundError(
          orphan ? `snapshot ${ref} in ${repo.url} is incomplete: its archive has no manifest` : `snapshot ${ref} not found in ${repo.url}`,
          orphan ? 'an interrupted save left it; it is never restored and prune removes it; use another snapshot' : 'list the snapshots with lifeboat snapshot list',
        );
      }
      throw err;
    }
    const present = (await repo.stat(manifest.archiveKey)) !== undefined;
    return { id: manifest.id, createdAt: new Date(manifest.createdAt), clusterId: manifest.clusterId, verified: true, manifest, archivePresent: present };
  }
  const { snapshots, damaged } = await listSnapshots(repo, { drills: false });
  const candidates = snapshots.filter((s) => clusterId === undefined || s.clusterId === clusterId);
  const clusters = [...new Set(candidates.map((s) => s.clusterId))];
  if (options.oneCluster && clusters.length > 1) {
    throw new UsageError(
      `"latest" is ambiguous: ${repo.url} holds snapshots of ${clusters.length} clusters (${clusters.join(', ')})`,
      `name the cluster with --cluster ${clusters[clusters.length - 1]} (or another), or give a snapshot ID from lifeboat snapshot list`,
    );
  }
  const newest = candidates[candidates.length - 1];
  refuseDamagedNewer(repo, damaged, newest, clusterId);
  if (!newest) {
    throw new NotFoundError(
      `no snapshots${clusterId ? ` of cluster ${clusterId}` : ''} in ${repo.url}`,
      'take one with lifeboat snapshot save --endpoints URLS --repo ' + repo.url,
    );
  }
  return newest;
}

/**
 * `latest` must never quietly mean an older snapshot: when the newest manifest (of the cluster
 * asked for) cannot be read, the operator has to choose, knowing the newest backup is damaged.
 */
function refuseDamagedNewer(repo: Repository, damaged: readonly string[], newest: CatalogEntry | undefined, clusterId: string | undefined): void {
  const newer = damaged.filter((id) => {
    const parts = parseSnapshotId(id)!;
    if (clusterId !== undefined && parts.clusterId !== clusterId) return false;
    if (!newest) return true;
    const t = parts.createdAt.getTime() - newest.createdAt.getTime();
    return t > 0 || (t === 0 && id > newest.id);
  });
  const worst = newer[newer.length - 1];
  if (worst === undefined) return;
  throw new IntegrityError(
    `the newest snapshot in ${repo.url}, ${worst}, has a damaged manifest, so "latest" cannot be trusted`,
    newest
      ? `inspect it with lifeboat snapshot list; to use the newest readable one, name it: ${newest.id}`
      : 'inspect it with lifeboat snapshot list; no older readable snapshot exists',
  );
}

/** The newest drill report per snapshot ID. */
async function lastDrills(repo: Repository, problems: string[]): Promise<Map<string, DrillSummary>> {
  const newestKey = new Map<string, string>();
  for (const { key } of await repo.list('drills/')) {
    const m = DRILL_KEY.exec(key);
    if (!m) continue;
    const previous = newestKey.get(m[1]!);
    if (previous === undefined || key > previous) newestKey.set(m[1]!, key);
  }
  const out = new Map<string, DrillSummary>();
  await mapLimited([...newestKey], 8, async ([id, key]) => {
    try {
      const report = JSON.parse((await repo.readSmall(key)).toString('utf8')) as { result?: unknown; finishedAt?: unknown };
      if ((report.result === 'pass' || report.result === 'fail') && typeof report.finishedAt === 'string') {
        out.set(id, { key, result: report.result, finishedAt: report.finishedAt });
      } else {
        problems.push(`drill report ${key} has no result/finishedAt`);
      }
    } catch (err) {
      problems.push(`drill report ${key} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return out;
}

/** Maps with at most `limit` calls in flight, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
