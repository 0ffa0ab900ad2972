// `snapshot save`: what the cron job runs. One JSON summary on stdout under --json, a progress
// bar on stderr when it is a terminal, and the exit codes of PRODUCT.md section 5. The save
// holds the repository lock (--on-locked), can prune right after a verified save (--prune
// with --keep-*), and can leave a Prometheus textfile behind (--metrics-file).
import { Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { DEFAULT_COMPRESSION_LEVEL } from '../archive/compression.js';
import { LifeboatError, UsageError } from '../errors.js';
import { LifeboatClient } from '../client/lifeboat-client.js';
import { DEFAULT_ENDPOINT, parseEndpoints } from '../client/endpoints.js';
import { saveSnapshot, type SaveResult } from '../dr/save.js';
import type { PruneResult } from '../dr/prune.js';
import { validatePolicy } from '../repo/retention.js';
import type { Repository } from '../repo/repository.js';
import type { Manifest } from '../repo/manifest.js';
import { formatBytes, formatDuration, log, printJson } from './output.js';
import { PhaseBars, compressionLevelFlag, timeoutFlag } from './save-options.js';
import { addRepoOptions, repositoryFromFlags, type RepoFlags } from './repo-options.js';
import { action, type ActionContext } from './run-action.js';
import { addLockOptions, withRepositoryLock, type LockFlags } from './lock-options.js';
import { runOfflineSave } from './snapshot-save-offline.js';
import { addRetentionOptions, hasRetentionFlags, policyFromFlags, printPruneResult, type RetentionFlags } from './snapshot-prune-command.js';

/** The parsed flags of `snapshot save`. */
export interface SaveFlags extends RepoFlags, LockFlags, RetentionFlags {
  readonly endpoints?: string;
  readonly fromDataDir?: string;
  readonly includeUncommitted?: boolean;
  readonly prune?: boolean;
  readonly metricsFile?: string;
  readonly allowStale?: boolean;
  readonly compressionLevel?: string;
  readonly timeout?: string;
  readonly spoolDir?: string;
  readonly json?: boolean;
}

/** Registers `snapshot save`. */
export function registerSnapshotSaveCommand(parent: Command): void {
  const command = parent
    .command('save')
    .description('stream a consistent snapshot from the cluster into the repository, verified end to end')
    .addOption(new Option('--endpoints <urls>', 'client URLs of the cluster, comma-separated').env('LIFEBOAT_ENDPOINTS').default(DEFAULT_ENDPOINT))
    .option('--allow-stale', 'take a serializable snapshot from any member that answers, even without quorum')
    .option('--from-data-dir <dir>', "back up a stopped member's data directory instead of a live cluster (marked offline)")
    .option('--include-uncommitted', 'with --from-data-dir: also apply log entries past the recorded commit index')
    .option('--compression-level <n>', `zstd level 1-19 (default ${DEFAULT_COMPRESSION_LEVEL})`)
    .option('--timeout <duration>', 'give up after this long (default: 5m plus 1s per MiB received, and 2m without data)')
    .addOption(new Option('--spool-dir <dir>', 'where the compressed snapshot is staged before an S3 upload (default: the system temp dir; a local repository stages it in place, beside its final name)').env('LIFEBOAT_SPOOL_DIR'))
    .option('--json', 'print one JSON summary on stdout')
    .option('--prune', 'after the snapshot is saved and verified, apply the --keep-* retention policy (as snapshot prune)')
    .addOption(new Option('--metrics-file <path>', "write a Prometheus textfile for node_exporter's textfile collector after the run").env('LIFEBOAT_METRICS_FILE'));
  addRetentionOptions(command);
  addLockOptions(command);
  addRepoOptions(command);
  command.action(action((ctx, flags: SaveFlags) => saveAction(ctx, flags)));
}

/** The whole cron run: lock, save, optional prune, metrics. */
async function saveAction(ctx: ActionContext, flags: SaveFlags): Promise<void> {
  const started = Date.now();
  let manifest: Manifest | undefined;
  let exitCode = 0;
  let skipped = false;
  try {
    if (hasRetentionFlags(flags) && !flags.prune) {
      throw new UsageError('--keep-* flags on snapshot save need --prune', 'add --prune to prune after the save, or run lifeboat snapshot prune');
    }
    const policy = flags.prune ? policyFromFlags(flags) : undefined;
    // A policy that keeps nothing is refused before anything is saved, not after.
    if (policy) validatePolicy(policy);
    checkSaveFlags(flags);
    const repo = repositoryFromFlags(flags);
    const outcome = await withRepositoryLock(ctx, repo, flags, 'snapshot save', async (locked) => {
      const { result } =
        flags.fromDataDir !== undefined ? await runOfflineSave(locked, { ...flags, fromDataDir: flags.fromDataDir }, repo) : await runSnapshotSave(locked, flags, repo);
      manifest = result.manifest;
      if (!ctx.json) printSaveResult(ctx, repo, result.manifest);
      let pruned: PruneResult | undefined;
      if (policy) {
        const { pruneRepository } = await import('../dr/prune.js');
        try {
          pruned = await pruneRepository({ repo, policy, dryRun: false, signal: locked.signal });
        } catch (err) {
          if (err instanceof LifeboatError) {
            throw new LifeboatError(`snapshot ${result.manifest.id} was saved, but the prune failed: ${err.message}`, err.hint, err.exitCode, { cause: err });
          }
          throw err;
        }
        if (!ctx.json) printPruneResult(pruned, false);
      }
      return { result, pruned };
    });
    if (outcome.skipped) {
      skipped = true;
      if (ctx.json) printJson('lifeboat.snapshot.save/v1', { skipped: true, reason: 'another run holds the repository lock' });
      return;
    }
    if (ctx.json) printSaveResult(ctx, repo, outcome.value.result.manifest, outcome.value.pruned ? { prune: outcome.value.pruned } : {});
  } catch (err) {
    exitCode = err instanceof LifeboatError ? err.exitCode : 1;
    throw err;
  } finally {
    // A skipped run saved nothing: it must not look like a success to the alert on the last-success time.
    if (flags.metricsFile && !skipped) {
      const { writeMetricsFile } = await import('../dr/metrics-file.js');
      await writeMetricsFile(flags.metricsFile, {
        command: 'snapshot save',
        exitCode,
        durationSeconds: (Date.now() - started) / 1000,
        finishedAt: new Date(),
        ...(manifest ? { snapshot: { bytes: manifest.snapshotBytes, archiveBytes: manifest.archiveBytes, revision: manifest.revision, keys: manifest.keyCount } } : {}),
      }).catch((err: Error) => log(`warning: ${err.message}`));
    }
  }
}

/**
 * Every flag value is checked before the lock is taken: a typo must be exit 2 naming the flag,
 * not hidden behind another run's lock (exit 11, or a silent 0 with --on-locked skip).
 */
function checkSaveFlags(flags: SaveFlags): void {
  if (flags.fromDataDir !== undefined && flags.allowStale) {
    throw new UsageError('--allow-stale and --from-data-dir do not go together', 'use --from-data-dir for a stopped member, --allow-stale for a running one without quorum');
  }
  if (flags.includeUncommitted && flags.fromDataDir === undefined) {
    throw new UsageError('--include-uncommitted applies only with --from-data-dir', 'add --from-data-dir DIR of a stopped member, or drop --include-uncommitted');
  }
  if (flags.fromDataDir !== undefined && !statSync(flags.fromDataDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--from-data-dir ${flags.fromDataDir} is not a directory`, "give the stopped member's --data-dir, for example --from-data-dir /var/lib/lifeboat/n1");
  }
  if (flags.fromDataDir === undefined) parseEndpoints(flags.endpoints ?? DEFAULT_ENDPOINT);
  compressionLevelFlag(flags.compressionLevel);
  timeoutFlag(flags.timeout);
}

/** Parses the flags, runs the save with a progress bar, and returns the committed manifest. */
export async function runSnapshotSave(ctx: ActionContext, flags: SaveFlags, repo: Repository = repositoryFromFlags(flags)): Promise<{ repo: Repository; result: SaveResult }> {
  const endpoints = parseEndpoints(flags.endpoints ?? DEFAULT_ENDPOINT);
  const compressionLevel = compressionLevelFlag(flags.compressionLevel);
  const timeoutMs = timeoutFlag(flags.timeout);
  const bars = new PhaseBars();
  // The client fails over between endpoints until the first byte, then a cut-off stream is an error.
  const client = new LifeboatClient(endpoints, { signal: ctx.signal });
  try {
    const result = await saveSnapshot({
      client,
      repo,
      allowStale: flags.allowStale === true,
      compressionLevel,
      timeoutMs,
      spoolDir: flags.spoolDir,
      signal: ctx.signal,
      onProgress: (p) => bars.update(p),
    });
    return { repo, result };
  } finally {
    bars.finish();
    client.close();
  }
}

/** Prints the outcome: one JSON object, or a few lines for people. */
export function printSaveResult(ctx: ActionContext, repo: Repository, m: Manifest, extra: Record<string, unknown> = {}): void {
  if (ctx.json) {
    printJson('lifeboat.snapshot.save/v1', {
      ...extra,
      id: m.id,
      repository: repo.url,
      clusterId: m.clusterId,
      revision: m.revision,
      keys: m.keyCount,
      bytes: m.snapshotBytes,
      dataBytes: m.dataBytes,
      archiveBytes: m.archiveBytes,
      sha256: m.archiveSha256,
      snapshotSha256: m.snapshotSha256,
      kvHash: m.kvHash,
      consistency: m.consistency,
      source: m.source,
      durations: m.timings,
    });
    return;
  }
  const ratio = m.archiveBytes > 0 ? (m.snapshotBytes / m.archiveBytes).toFixed(1) : '-';
  const seconds = Math.max(m.timings.totalMs, 1) / 1000;
  log(`saved and verified snapshot ${m.id}`);
  log(`  ${m.keyCount} keys at revision ${m.revision} (${m.consistency}, from ${m.source})`);
  log(`  ${formatBytes(m.snapshotBytes)} -> ${formatBytes(m.archiveBytes)} (zstd -${m.compressionLevel}, ${ratio}x) in ${formatDuration(m.timings.totalMs)}, ${formatBytes(m.snapshotBytes / seconds)}/s`);
  log(`  ${repo.url}/${m.archiveKey}`);
}
