// `lifeboat drill`: restore a backup into a throwaway cluster and check it, for CI.
import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDuration } from '../duration.js';
import { DrillFailedError, UsageError } from '../errors.js';
import { show, toJUnit, type DrillReport } from '../dr/drill-report.js';
import type { DrillOptions } from '../dr/drill.js';
import { acquireLock, parseOnLocked } from '../repo/lock.js';
import type { Repository } from '../repo/repository.js';
import { addLockOptions, type LockFlags } from './lock-options.js';
import { formatDuration, log, printJson, renderTable } from './output.js';
import { addRepoOptions, repositoryFromFlags, type RepoFlags } from './repo-options.js';
import { action } from './run-action.js';
import { clusterIdFlag } from './flag-values.js';

interface DrillFlags extends RepoFlags, LockFlags {
  readonly snapshot: string;
  readonly cluster?: string;
  readonly members: string;
  readonly junit?: string;
  readonly assert?: string;
  readonly keepOnFailure?: boolean;
  readonly json?: boolean;
}

/** Registers `drill`. */
export function registerDrillCommand(program: Command): void {
  const command = program
    .command('drill')
    .description('prove a backup restorable: restore it into a throwaway cluster, check it, report, tear down')
    .option('--snapshot <id>', 'the snapshot to drill: an ID or "latest"', 'latest')
    .option('--cluster <id>', 'with "latest": the source cluster whose newest snapshot to drill (needed when the repository holds several)')
    .option('--members <n>', 'members of the throwaway cluster', '3')
    .option('--junit <file>', 'also write the report as JUnit XML (one test case per check)')
    .option('--assert <file>', 'extra assertions: a JSON file of {key, exists} / {key, value} / {prefix, minKeys, maxKeys}')
    .option('--keep-on-failure', 'leave the failed cluster\'s directory in place and print how to start it')
    .option('--json', 'print the report as JSON on stdout');
  addRepoOptions(command);
  addLockOptions(command);
  command.action(
    action(async (ctx, flags: DrillFlags) => {
      const members = Number(flags.members);
      if (!Number.isInteger(members) || members < 1 || members > 7) {
        throw new UsageError(`--members must be a whole number from 1 to 7, got "${flags.members}"`, 'for example --members 3');
      }
      const cluster = clusterIdFlag(flags.cluster);
      const onLocked = parseOnLocked(flags.onLocked ?? 'fail');
      const waitTimeoutMs = flags.lockTimeout === undefined ? undefined : parseDuration(flags.lockTimeout, '--lock-timeout');
      // Loaded here, not at the top: every `lifeboat` start (a member's `serve` too) would pay for them.
      const [{ readAssertions }, { runDrill }] = await Promise.all([import('../dr/drill-checks.js'), import('../dr/drill.js')]);
      const assertions = flags.assert ? await readAssertions(flags.assert) : [];
      const repo = repositoryFromFlags(flags);
      const withLock = drillLock(repo, { onLocked, waitTimeoutMs, signal: ctx.signal });
      let outcome;
      try {
        outcome = await runDrill({ repo, snapshot: flags.snapshot, cluster, members, assertions, keepOnFailure: flags.keepOnFailure, signal: ctx.signal, log, withLock });
      } catch (err) {
        if (!(err instanceof LockSkipped)) throw err;
        log(`skipped: another run holds the lock on ${repo.url} (--on-locked skip)`);
        // One document under --json, as a skipped save or prune prints; the drill report schema is kept for real drills.
        if (ctx.json) printJson('lifeboat.drill/v1', { skipped: true, reason: 'another run holds the repository lock' });
        return;
      }
      const { report, error } = outcome;
      if (flags.junit) await writeFile(flags.junit, toJUnit(report));
      if (ctx.json) printJson(report.schema, { ...report });
      else printReport(report);
      if (report.keptAt) log(`the cluster was kept: start it with  lifeboat cluster up --members ${report.members} --data-root ${report.keptAt}`);
      if (error) throw error;
      const failed = report.checks.filter((c) => !c.passed);
      if (failed.length > 0) {
        throw new DrillFailedError(
          `drill of ${report.snapshotId} failed: ${failed.map((c) => c.message ?? c.name).join('; ')}`,
          'the backup did not restore as its manifest promises; drill an older snapshot and investigate this one (lifeboat snapshot verify)',
        );
      }
    }),
  );
}

/** Thrown out of the drill when --on-locked skip met a held lock: the drill did not run. */
class LockSkipped extends Error {}

/**
 * The drill's use of the repository lock, the one save and prune take: held while the snapshot
 * is picked and downloaded (as --on-locked says), and again to store the report (waiting for
 * it whatever --on-locked says, since the drill has run by then and its result must not be lost
 * to a save that happens to hold the lock for a minute).
 */
export function drillLock(
  repo: Repository,
  options: { onLocked: 'fail' | 'wait' | 'skip'; waitTimeoutMs?: number; signal: AbortSignal },
): NonNullable<DrillOptions['withLock']> {
  let readOnly = false;
  return async (phase, work) => {
    if (phase === 'download') await repo.checkInitialized();
    if (readOnly) return work(options.signal);
    let lock: Awaited<ReturnType<typeof acquireLock>>;
    try {
      lock = await acquireLock(repo, {
        command: `lifeboat drill (${phase === 'download' ? 'downloading the snapshot' : 'storing its report'})`,
        onLocked: phase === 'download' ? options.onLocked : 'wait',
        waitTimeoutMs: options.waitTimeoutMs,
        signal: options.signal,
        warn: (line) => log(`warning: ${line}`),
      });
    } catch (err) {
      // CI often drills with read-only access to the backups: the drill still proves the backup
      // restorable; it only cannot keep a concurrent prune away, nor store its report.
      if (!writeRefused(err)) throw err;
      readOnly = true;
      log(`warning: cannot take the lock on ${repo.url}, it refuses writes (${(err as Error).message}); drilling without it, so a prune running now could delete the snapshot mid-download`);
      return work(options.signal);
    }
    if (!lock) throw new LockSkipped();
    try {
      setMaxListeners(0, lock.lost);
      return await work(lock.lost);
    } finally {
      await lock.release().catch((err: Error) => log(`warning: could not release the lock on ${repo.url}: ${err.message}`));
    }
  };
}

/** True when the error (or one it wraps) says the storage refuses writes: read-only or access denied. */
function writeRefused(err: unknown): boolean {
  for (let e = err as { code?: string; name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM') return true;
    if (e.Code === 'AccessDenied' || e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) return true;
  }
  return false;
}

/** The report as a table for people. */
export function printReport(report: DrillReport): void {
  process.stdout.write(
    renderTable(
      ['check', 'result', 'expected', 'actual'],
      report.checks.map((c) => [c.name, c.passed ? 'pass' : 'FAIL', clip(show(c.expected)), clip(show(c.actual))]),
    ) + '\n',
  );
  const p = report.phases;
  const phase = (label: string, ms: number | undefined) => (ms === undefined ? [] : [`${label} ${formatDuration(ms)}`]);
  log(
    [
      ...phase('download', p.downloadMs),
      ...phase('verify', p.verifyMs),
      ...phase('restore', p.restoreMs),
      ...phase('start', p.startMs),
      ...phase('checks', p.checksMs),
    ].join(', '),
  );
  log(
    `drill ${report.result === 'pass' ? 'PASSED' : 'FAILED'}: ${report.snapshotId}, ${report.keyCount} keys at revision ${report.revision}` +
      (p.recoveryMs !== undefined ? `; recovery time to a serving cluster ${formatDuration(p.recoveryMs)}` : ''),
  );
}

function clip(text: string): string {
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
