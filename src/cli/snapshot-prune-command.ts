// `snapshot prune`: retention in restic's model; prints what it keeps and why, and what it
// deletes. Holds the repository lock so it never races a save.
import type { Command } from 'commander';
import { parseDuration } from '../duration.js';
import { IntegrityError, UsageError } from '../errors.js';
import { pruneRepository, type PruneResult } from '../dr/prune.js';
import type { RetentionPolicy } from '../repo/retention.js';
import { addLockOptions, withRepositoryLock, type LockFlags } from './lock-options.js';
import { log, printJson, renderTable } from './output.js';
import { addRepoOptions, repositoryFromFlags, type RepoFlags } from './repo-options.js';
import { action } from './run-action.js';

/** The retention flags, shared with `snapshot save --prune`. */
export interface RetentionFlags {
  readonly keepLast?: string;
  readonly keepHourly?: string;
  readonly keepDaily?: string;
  readonly keepWeekly?: string;
  readonly keepMonthly?: string;
  readonly keepWithin?: string;
}

interface PruneFlags extends RepoFlags, LockFlags, RetentionFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

/** Adds the --keep-* flags to a command. */
export function addRetentionOptions(command: Command): Command {
  return command
    .option('--keep-last <n>', 'keep the newest n snapshots')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one (UTC)')
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days that have one (UTC)')
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks that have one')
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months that have one')
    .option('--keep-within <duration>', 'keep every snapshot within this long of the newest one (e.g. 36h, 7d)');
}

/** True when any --keep-* flag was given. */
export function hasRetentionFlags(flags: RetentionFlags): boolean {
  return [flags.keepLast, flags.keepHourly, flags.keepDaily, flags.keepWeekly, flags.keepMonthly, flags.keepWithin].some((v) => v !== undefined);
}

/** Reads the --keep-* flags into a policy; UsageError naming the flag on bad numbers. */
export function policyFromFlags(flags: RetentionFlags): RetentionPolicy {
  const count = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value}"`, `for example ${flag} 7`);
    return Number(value);
  };
  return {
    keepLast: count(flags.keepLast, '--keep-last'),
    keepHourly: count(flags.keepHourly, '--keep-hourly'),
    keepDaily: count(flags.keepDaily, '--keep-daily'),
    keepWeekly: count(flags.keepWeekly, '--keep-weekly'),
    keepMonthly: count(flags.keepMonthly, '--keep-monthly'),
    keepWithinMs: flags.keepWithin === undefined ? undefined : parseDuration(flags.keepWithin, '--keep-within'),
  };
}

/** Registers `snapshot prune`. */
export function registerSnapshotPruneCommand(parent: Command): void {
  const command = parent
    .command('prune')
    .description('delete snapshots that no retention rule keeps (never the newest verified one)')
    .option('--dry-run', 'print the plan and delete nothing')
    .option('--json', 'print the result as JSON on stdout');
  addRetentionOptions(command);
  addLockOptions(command);
  addRepoOptions(command);
  command.action(
    action(async (ctx, flags: PruneFlags) => {
      const policy = policyFromFlags(flags);
      const repo = repositoryFromFlags(flags);
      await repo.checkInitialized();
      const outcome = await withRepositoryLock(ctx, repo, flags, 'snapshot prune', (locked) =>
        pruneRepository({ repo, policy, dryRun: flags.dryRun === true, signal: locked.signal }),
      );
      if (outcome.skipped) {
        if (ctx.json) printJson('lifeboat.snapshot.prune/v1', { skipped: true, reason: 'locked' });
        return;
      }
      printPruneResult(outcome.value, ctx.json);
      const { problems } = outcome.value;
      if (problems.length > 0) {
        // Damage must reach the cron job's exit code, not only its log.
        throw new IntegrityError(
          `prune finished, but ${problems.length} manifest(s) in ${repo.url} are damaged: ${problems[0]}`,
          'run lifeboat snapshot verify --all to see every damaged snapshot; prune never deletes what it cannot read',
        );
      }
    }),
  );
}

/** Prints a prune's outcome for people (stderr) or as JSON (stdout). */
export function printPruneResult(result: PruneResult, json: boolean): void {
  if (json) {
    printJson('lifeboat.snapshot.prune/v1', { ...result });
    return;
  }
  const verb = result.dryRun ? 'would delete' : 'deleted';
  const rows: string[][] = [
    ...result.kept.map((k) => [k.id, 'keep', k.reasons.join(', ')]),
    ...result.deleted.map((d) => [d.id, result.dryRun ? 'would delete' : 'deleted', 'no rule keeps it']),
    ...result.incomplete.map((key) => [key, verb, 'incomplete upload (no manifest)']),
  ];
  if (rows.length > 0) process.stdout.write(renderTable(['snapshot', 'action', 'why'], rows) + '\n');
  for (const problem of result.problems) log(`warning: ${problem}`);
  log(
    `${result.dryRun ? 'dry run: ' : ''}kept ${result.kept.length}, ${verb} ${result.deleted.length} snapshot(s)` +
      (result.incomplete.length ? ` and ${result.incomplete.length} incomplete upload(s)` : '') +
      (result.abandonedUploads ? `; cleaned ${result.abandonedUploads} abandoned partial upload(s)` : ''),
  );
}
