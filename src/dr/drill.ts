// `lifeboat drill`: proves a backup restorable. Downloads and verifies a snapshot, restores it
// into a throwaway cluster of real member processes on free loopback ports, checks it against
// the manifest, measures each phase, tears everything down (also on failure and Ctrl-C), and
// stores the report in the repository.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { planLocalCluster, startLocalCluster, type LocalCluster } from '../client/local-cluster.js';
import { IntegrityError, LifeboatError, NotFoundError, StorageUnavailableError, UsageError } from '../errors.js';
import type { Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { manifestKey } from '../repo/snapshot-id.js';
import { resolveSnapshot, type CatalogEntry } from './catalog.js';
import { KeySampler, runChecks, type DrillAssertion } from './drill-checks.js';
import { DRILL_SCHEMA, storeDrillReport, type DrillCheck, type DrillPhases, type DrillReport } from './drill-report.js';
import { planRestore } from './restore-plan.js';
import { restoreSnapshot } from './restore.js';
import { trackScratch } from './restore-scratch.js';

export interface DrillOptions {
  readonly repo: Repository;
  /** A snapshot ID or "latest". */
  readonly snapshot: string;
  /** With "latest": the cluster whose newest snapshot to drill (needed when the repository holds several). */
  readonly cluster?: string;
  readonly members: number;
  readonly assertions?: readonly DrillAssertion[];
  /** Leave the cluster's directory in place when a check fails (never on success). */
  readonly keepOnFailure?: boolean;
  readonly signal?: AbortSignal;
  /** Progress lines for people (stderr). */
  readonly log?: (line: string) => void;
  /** The `lifeboat` entry the members run (default: this package's bin/lifeboat). */
  readonly binPath?: string;
  /** Where the throwaway cluster lives (default: the system temp dir). */
  readonly workDir?: string;
  /**
   * Runs work under the repository lock (the CLI's --on-locked): the drill picks and downloads
   * the snapshot under it, so a prune cannot delete the snapshot mid-download, and stores its
   * report under it. `phase` says which; `signal` aborts if the lock is lost. What it throws
   * (a LockedError, the CLI's "skipped") ends the drill before the download, or loses only the
   * stored report. Without it the drill takes no lock.
   */
  readonly withLock?: <T>(phase: 'download' | 'report', work: (signal: AbortSignal | undefined) => Promise<T>) => Promise<T>;
}

/** A finished drill: its report, and the error that stopped it early (verification, storage), if any. */
export interface DrillOutcome {
  readonly report: DrillReport;
  readonly error?: LifeboatError;
}

/**
 * Runs a drill and stores its report. A failed check is in the report (the caller exits 16);
 * a snapshot that fails verification or cannot be read comes back as `error` (exit 13, 14, ...).
 */
export async function runDrill(options: DrillOptions): Promise<DrillOutcome> {
  const log = options.log ?? (() => {});
  const withLock = options.withLock ?? (<T>(_phase: 'download' | 'report', work: (signal: AbortSignal | undefined) => Promise<T>) => work(undefined));
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const phases: DrillPhases = {};
  let checks: DrillCheck[] = [];
  let cluster: LocalCluster | undefined;
  let clusterId: string | undefined;
  let error: LifeboatError | undefined;
  let keptAt: string | undefined;
  let work: string | undefined;
  let untrack = () => {};
  const timed = async <T>(phase: keyof DrillPhases, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      phases[phase] = Date.now() - t0;
    }
  };

  // Picking the snapshot and downloading it happen under the repository lock, so a prune (which
  // takes the same lock) cannot delete it in between; the rest works on the local copy.
  const picked = await withLock('download', async (lockSignal) => {
    const ref = await resolveSnapshot(options.repo, options.snapshot, options.cluster, { oneCluster: true });
    if (ref.kind !== 'repo') {
      throw new UsageError(
        `--snapshot ${options.snapshot} is a file; a drill needs a snapshot ID or "latest" in the repository`,
        'drill what the repository holds (its manifest is what the drill checks against); to check a file, use lifeboat snapshot verify FILE',
      );
    }
    work = await mkdtemp(join(options.workDir ?? tmpdir(), 'lifeboat-drill-'));
    untrack = trackScratch(work);
    const archivePath = join(work, `${ref.entry.id}.tar.zst`);
    try {
      log(`drill ${ref.entry.id}: downloading ${ref.entry.manifest.archiveBytes} bytes from ${options.repo.url}`);
      const signal = lockSignal && options.signal ? AbortSignal.any([options.signal, lockSignal]) : (lockSignal ?? options.signal);
      await timed('downloadMs', () => download(options.repo, ref.entry, archivePath, signal));
      return { entry: ref.entry, archivePath, downloadError: undefined };
    } catch (caught) {
      // A lock lost mid-download aborts it: the failure is the lost lock (exit 11), not the abort.
      const err: unknown = lockSignal?.aborted && !options.signal?.aborted ? lockSignal.reason : caught;
      if (options.signal?.aborted || !(err instanceof LifeboatError)) throw err;
      return { entry: ref.entry, archivePath, downloadError: err };
    }
  }).catch(async (err: unknown) => {
    await teardown(undefined, work, false);
    untrack();
    throw err;
  });
  const { entry, archivePath } = picked;
  const manifest = entry.manifest;

  try {
    if (picked.downloadError) throw picked.downloadError;
    log(`verifying every chunk, the trailer and the hashes while restoring into ${options.members} throwaway member(s)`);
    const sampler = new KeySampler(manifest.keyCount);
    const fileRef = { kind: 'file' as const, path: archivePath };
    const token = `drill-${randomBytes(6).toString('hex')}`;
    const localPlan = await planLocalCluster({ members: options.members, dataRoot: join(work!, 'cluster'), token });
    const restorePlan = planRestore({ initialCluster: localPlan.initialCluster, token, targets: localPlan.members.map((m) => ({ name: m.name, dataDir: m.dataDir })) });
    clusterId = restorePlan.clusterId;
    // One pass: the archive is verified whole (every chunk, the trailer, the hashes) while the
    // members' directories are written; they go live only once it verified. verifyMs is that
    // pass, restoreMs what remains of the restore after it (the last writes, fsyncs, renames).
    const t0 = Date.now();
    let verifiedAt: number | undefined;
    await restoreSnapshot({
      repo: undefined,
      ref: fileRef,
      plan: restorePlan,
      signal: options.signal,
      onRecords: (batch) => sampler.add(batch),
      onVerified: () => (verifiedAt = Date.now()),
    }).finally(() => {
      const end = Date.now();
      phases.verifyMs = (verifiedAt ?? end) - t0;
      phases.restoreMs = end - (verifiedAt ?? end);
    });
    // The archive is intact and consistent with itself. Whether it holds what the repository's
    // manifest promises (keys, revision, hash) is for the checks to find, on the running cluster.

    log('starting the members and waiting for a leader');
    try {
      cluster = await timed('startMs', () => startLocalCluster(localPlan, { signal: options.signal, binPath: options.binPath, readyTimeoutMs: 120_000 }));
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // A restored cluster that never serves is the drill's finding, not a tool failure.
      checks = [{ name: 'the restored cluster starts and elects a leader', passed: false, expected: 'a leader', actual: (err as Error).message, message: (err as Error).message, durationMs: phases.startMs ?? 0 }];
    }
    if (cluster) {
      phases.recoveryMs = Date.now() - started;
      log('checking the restored cluster against the manifest');
      checks = [
        { name: 'the restored cluster starts and elects a leader', passed: true, expected: 'a leader', actual: 'a leader', durationMs: phases.startMs ?? 0 },
        ...(await timed('checksMs', () => runChecks({ endpoints: cluster!.endpoints, manifest, samples: sampler.samples, assertions: options.assertions ?? [], signal: options.signal }))),
      ];
    }
  } catch (err) {
    if (options.signal?.aborted || !(err instanceof LifeboatError)) {
      await teardown(cluster, work, false);
      untrack();
      throw err;
    }
    error = err;
    checks = [...checks, { name: 'the snapshot downloads, verifies and restores', passed: false, expected: 'intact', actual: err.message, message: err.message, durationMs: Date.now() - started }];
  }

  const failed = error !== undefined || checks.some((c) => !c.passed);
  const keep = failed && options.keepOnFailure === true && cluster !== undefined;
  if (keep) keptAt = join(work!, 'cluster');
  await teardown(cluster, work, keep);
  untrack();
  phases.totalMs = Date.now() - started;
  const report: DrillReport = {
    schema: DRILL_SCHEMA,
    snapshotId: entry.id,
    repository: options.repo.url,
    result: failed ? 'fail' : 'pass',
    startedAt,
    finishedAt: new Date().toISOString(),
    members: options.members,
    sourceClusterId: manifest.clusterId,
    ...(clusterId ? { clusterId } : {}),
    revision: manifest.revision,
    keyCount: manifest.keyCount,
    phases,
    checks,
    ...(error ? { error: error.message } : {}),
    ...(keptAt ? { keptAt } : {}),
  };
  await storeReportUnderLock(options, report, withLock).catch((err: Error) => log(`warning: could not store the drill report in ${options.repo.url}: ${err.message}`));
  return { report, ...(error ? { error } : {}) };
}

/**
 * Stores the report under the lock, and only while the drilled snapshot is still listed: a
 * prune that removed it during the drill also removed its reports, and a report stored after
 * that would belong to no snapshot.
 */
async function storeReportUnderLock(options: DrillOptions, report: DrillReport, withLock: NonNullable<DrillOptions['withLock']>): Promise<void> {
  await withLock('report', async () => {
    if (!(await options.repo.stat(manifestKey(report.snapshotId)))) {
      throw new NotFoundError(`snapshot ${report.snapshotId} was pruned while the drill ran`, 'the drill result is printed but not stored; drill a snapshot the retention policy keeps');
    }
    await storeDrillReport(options.repo, report);
  });
}

/** Streams the archive to a local file, checking its size and SHA-256 against the manifest. */
async function download(repo: Repository, entry: CatalogEntry, path: string, signal?: AbortSignal): Promise<void> {
  const manifest: Manifest = entry.manifest;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // A committed snapshot without its archive is a damaged backup (exit 13, as verify says), not a missing one.
  const missing = () =>
    new IntegrityError(
      `snapshot ${entry.id}: its archive ${manifest.archiveKey} is missing from ${repo.url}`,
      'the backup is damaged; drill another snapshot (lifeboat snapshot verify --all finds the good ones) and check the storage',
    );
  if (!entry.archivePresent) throw missing();
  try {
    await pipeline(await repo.read(manifest.archiveKey), tap, createWriteStream(path), { signal });
  } catch (err) {
    if (err instanceof NotFoundError) throw missing();
    if (signal?.aborted || err instanceof LifeboatError) throw err;
    // A connection dropped mid-download (or a full temp disk) is a storage failure the drill
    // reports and stores like any other, not an unexpected crash without a report.
    throw new StorageUnavailableError(
      `cannot download ${manifest.archiveKey} from ${repo.url}: ${err instanceof Error ? err.message : String(err)}`,
      'check the storage endpoint and the network, and that the temporary directory has room for the archive, then run the drill again',
      { cause: err },
    );
  }
  const sha = hash.digest('hex');
  if (bytes !== manifest.archiveBytes || sha !== manifest.archiveSha256) {
    throw new IntegrityError(
      `snapshot ${entry.id}: the archive is ${bytes} bytes with SHA-256 ${sha.slice(0, 16)}..., the manifest says ${manifest.archiveBytes} bytes, ${manifest.archiveSha256.slice(0, 16)}...`,
      'the backup is damaged or was replaced; drill another snapshot (lifeboat snapshot verify --all finds the good ones)',
    );
  }
}

async function teardown(cluster: LocalCluster | undefined, work: string | undefined, keep: boolean): Promise<void> {
  if (cluster) await cluster.stop(5_000);
  if (!keep && work !== undefined) await rm(work, { recursive: true, force: true });
}
