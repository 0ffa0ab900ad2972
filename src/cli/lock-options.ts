// --on-locked and --lock-timeout, shared by the commands that write to a repository
// (save, prune), and the wrapper that holds the lock around their work.
import { setMaxListeners } from 'node:events';
import { Option, type Command } from 'commander';
import { parseDuration } from '../duration.js';
import { acquireLock, parseOnLocked } from '../repo/lock.js';
import type { Repository } from '../repo/repository.js';
import { log } from './output.js';
import type { ActionContext } from './run-action.js';

export interface LockFlags {
  readonly onLocked?: string;
  readonly lockTimeout?: string;
}

/** Adds --on-locked fail|wait|skip and --lock-timeout to a command. */
export function addLockOptions(command: Command): Command {
  return command
    .addOption(new Option('--on-locked <mode>', 'when another run holds the repository lock: fail (exit 11), wait, or skip (exit 0)').default('fail').env('LIFEBOAT_ON_LOCKED'))
    .addOption(new Option('--lock-timeout <duration>', 'how long --on-locked wait waits (default 10m)').env('LIFEBOAT_LOCK_TIMEOUT'));
}

/**
 * Runs work while holding the repository lock. Returns { skipped: true } without running it
 * when another run holds the lock and --on-locked is skip. The work gets a context whose signal
 * also aborts (exit 11) if the lock is lost while it runs, so it stops instead of racing the
 * run that took the lock over.
 */
export async function withRepositoryLock<T>(
  ctx: ActionContext,
  repo: Repository,
  flags: LockFlags,
  command: string,
  work: (locked: ActionContext) => Promise<T>,
): Promise<{ skipped: true } | { skipped: false; value: T }> {
  const onLocked = parseOnLocked(flags.onLocked ?? 'fail');
  const waitTimeoutMs = flags.lockTimeout === undefined ? undefined : parseDuration(flags.lockTimeout, '--lock-timeout');
  await repo.ensureInitialized();
  const lock = await acquireLock(repo, { command, onLocked, waitTimeoutMs, signal: ctx.signal, warn: (line) => log(`warning: ${line}`) });
  if (!lock) {
    log(`skipped: another run holds the lock on ${repo.url} (--on-locked skip)`);
    return { skipped: true };
  }
  try {
    const signal = AbortSignal.any([ctx.signal, lock.lost]);
    setMaxListeners(0, signal);
    return { skipped: false, value: await work({ ...ctx, signal }) };
  } finally {
    await lock.release().catch((err: Error) => log(`warning: could not release the lock on ${repo.url}: ${err.message}`));
  }
}
