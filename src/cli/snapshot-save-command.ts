// `snapshot save`: what the cron job runs. One JSON summary on stdout under --json, a progress
// bar on stderr when it is a terminal, and the exit codes of PRODUCT.md section 5.
//
// Hooks for the locking/retention engineer: runSnapshotSave() is the whole save; wrap it with
// the lock (--on-locked), follow it with prune (--prune) and the metrics file (--metrics-file).
import { Option, type Command } from 'commander';
import { DEFAULT_COMPRESSION_LEVEL, checkCompressionLevel } from '../archive/compression.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import { LifeboatClient } from '../client/lifeboat-client.js';
import { DEFAULT_ENDPOINT, parseEndpoints } from '../client/endpoints.js';
import { saveSnapshot, type SaveProgress, type SaveResult } from '../dr/save.js';
import type { Repository } from '../repo/repository.js';
import type { Manifest } from '../repo/manifest.js';
import { formatBytes, formatDuration, log, printJson } from './output.js';
import { createProgress, type Progress } from './progress.js';
import { addRepoOptions, repositoryFromFlags, type RepoFlags } from './repo-options.js';
import { action, type ActionContext } from './run-action.js';

/** The parsed flags of `snapshot save`. */
export interface SaveFlags extends RepoFlags {
  readonly endpoints?: string;
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
    .option('--compression-level <n>', `zstd level 1-19 (default ${DEFAULT_COMPRESSION_LEVEL})`)
    .option('--timeout <duration>', 'give up after this long (default: 5m plus 1s per MiB received, and 2m without data)')
    .addOption(new Option('--spool-dir <dir>', 'where the compressed snapshot is staged before upload (default: the system temp dir)').env('LIFEBOAT_SPOOL_DIR'))
    .option('--json', 'print one JSON summary on stdout');
  addRepoOptions(command);
  command.action(action(async (ctx, flags: SaveFlags) => {
    const { repo, result } = await runSnapshotSave(ctx, flags);
    printSaveResult(ctx, repo, result.manifest);
  }));
}

/** Parses the flags, runs the save with a progress bar, and returns the committed manifest. */
export async function runSnapshotSave(ctx: ActionContext, flags: SaveFlags): Promise<{ repo: Repository; result: SaveResult }> {
  const endpoints = parseEndpoints(flags.endpoints ?? DEFAULT_ENDPOINT);
  const repo = repositoryFromFlags(flags);
  const compressionLevel = flags.compressionLevel === undefined ? DEFAULT_COMPRESSION_LEVEL : checkCompressionLevel(parseLevel(flags.compressionLevel));
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout');
  if (timeoutMs !== undefined && timeoutMs <= 0) throw new UsageError('--timeout must be more than zero', 'for example --timeout 30m');
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
export function printSaveResult(ctx: ActionContext, repo: Repository, m: Manifest): void {
  if (ctx.json) {
    printJson('lifeboat.snapshot.save/v1', {
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

function parseLevel(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--compression-level must be a whole number, not ${text}`, 'for example --compression-level 3');
  return n;
}

/** One bar per phase: receiving (size unknown), then storing and reading back (size known). */
class PhaseBars {
  private phase: SaveProgress['phase'] | undefined;
  private bar: Progress | undefined;
  update(p: SaveProgress): void {
    if (p.phase !== this.phase) {
      this.bar?.finish();
      this.phase = p.phase;
      this.bar = createProgress({ receive: 'receiving', store: 'storing', verify: 'verifying' }[p.phase], p.total);
    }
    this.bar?.update(p.bytes);
  }
  finish(): void {
    this.bar?.finish();
  }
}
