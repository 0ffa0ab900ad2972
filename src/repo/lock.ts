// The repository's run lock, so two cron runs never save or prune over each other.
// One lock object (locks/lock.json) created atomically; its holder renews an expiry while it
// runs. A lock whose holder is gone (expired, or a dead pid on this host) is taken over with a
// warning; a live one never is.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { LockedError, UsageError } from '../errors.js';
import type { Repository } from './repository.js';

export const LOCK_KEY = 'locks/lock.json';

/** What the lock object holds: enough for an operator to find the holder. */
export interface LockRecord {
  readonly schema: 'lifeboat.lock/v1';
  readonly token: string;
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  /** The holder renews this while it runs; past it, the lock is stale. */
  readonly expiresAt: string;
}

export type OnLocked = 'fail' | 'wait' | 'skip';

export interface LockOptions {
  readonly command: string;
  readonly onLocked: OnLocked;
  /** How long `wait` waits before giving up with exit 11. */
  readonly waitTimeoutMs?: number;
  /** How long a lock stays valid without renewal. */
  readonly ttlMs?: number;
  readonly signal?: AbortSignal;
  readonly warn?: (line: string) => void;
  /** Injected for tests: is this pid alive on this host? */
  readonly isProcessAlive?: (pid: number) => boolean;
}

/** A held lock; renews itself until released. */
export interface HeldLock {
  readonly record: LockRecord;
  /**
   * Aborted (with a LockedError) when the lock is found taken over or removed, or could not be
   * renewed before it expired: another run may hold it now, so the work must stop.
   */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

const DEFAULT_TTL_MS = 120_000;
/** First pause after losing a race for the lock; doubles per race, up to 2 s. */
const RACE_BACKOFF_MS = 20;
/** Races in a row after which fail and skip give up (wait goes on until its deadline). */
const MAX_RACES = 8;
const DEFAULT_WAIT_MS = 600_000;

/** Parses --on-locked. */
export function parseOnLocked(value: string): OnLocked {
  if (value === 'fail' || value === 'wait' || value === 'skip') return value;
  throw new UsageError(`--on-locked must be fail, wait or skip, got "${value}"`, 'use --on-locked fail (the default), wait or skip');
}

/**
 * Takes the repository lock. Returns undefined only with onLocked 'skip' when another run holds it.
 * Throws LockedError (exit 11) with 'fail', or when 'wait' runs out of time.
 */
export async function acquireLock(repo: Repository, options: LockOptions): Promise<HeldLock | undefined> {
  const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  const deadline = Date.now() + (options.waitTimeoutMs ?? DEFAULT_WAIT_MS);
  const warn = options.warn ?? (() => {});
  const alive = options.isProcessAlive ?? isProcessAlive;
  let delay = 200;
  // Lost races in a row: the lock changed hands between our create and our read.
  let races = 0;
  /** Pauses after a lost race; false when fail or skip should stop trying (other runs are busy with the lock). */
  const backOff = async (): Promise<boolean> => {
    if (options.onLocked !== 'wait' && races >= MAX_RACES) return false;
    if (options.onLocked === 'wait' && Date.now() >= deadline) throw lockedBy(repo, undefined, 'wait');
    // Jittered, so that racers do not meet again in step; never past the wait deadline.
    const ms = Math.min(RACE_BACKOFF_MS * 2 ** races, 2_000) * (0.5 + Math.random());
    races++;
    await sleep(Math.min(ms, Math.max(deadline - Date.now(), 0)), options.signal);
    return true;
  };
  const gaveUp = (): undefined => {
    if (options.onLocked === 'skip') return undefined;
    throw new LockedError(`repository ${repo.url} lock kept changing hands while this run tried to take it`, 'other runs are starting at the same moment; run again, or use --on-locked wait to queue behind them');
  };
  for (;;) {
    options.signal?.throwIfAborted();
    const record = newRecord(options.command, ttl);
    if (await repo.createExclusive(LOCK_KEY, encode(record))) {
      return holdLock(repo, record, ttl);
    }
    const read = await readHolder(repo);
    if (read === undefined) {
      // Released (or taken over) between our create and our read: the next create will probably
      // win, but two racers retrying at once could keep missing each other, so back off a little.
      if (!(await backOff())) return gaveUp();
      continue;
    }
    const holder = read.record;
    // The create stored our record but could not confirm it (an S3 read-back that failed):
    // the lock is ours, and refusing it would lock this run and the next ones out until it expires.
    if (holder.token === record.token) return holdLock(repo, record, ttl);
    const staleReason = whyStale(holder, alive);
    if (staleReason) {
      warn(`taking over a stale lock held by ${describe(holder)}: ${staleReason}`);
      // Only the very bytes we judged stale are removed: when another run took the lock over
      // first and holds a fresh one, the compare fails and that lock stays.
      if (!(await repo.compareAndDelete(LOCK_KEY, read.raw)) && !(await backOff())) return gaveUp();
      continue;
    }
    if (options.onLocked === 'skip') return undefined;
    if (options.onLocked === 'fail' || Date.now() >= deadline) throw lockedBy(repo, holder, options.onLocked);
    if (delay === 200) warn(`waiting for the lock held by ${describe(holder)}`);
    await sleep(Math.min(delay, Math.max(deadline - Date.now(), 0)), options.signal);
    delay = Math.min(delay * 2, 5_000);
  }
}

function lockedBy(repo: Repository, holder: LockRecord | undefined, onLocked: OnLocked): LockedError {
  return new LockedError(
    holder ? `repository ${repo.url} is locked by ${describe(holder)}` : `repository ${repo.url} lock kept changing hands until the wait ran out`,
    onLocked === 'fail'
      ? 'another run is in progress; use --on-locked wait to queue behind it or --on-locked skip to exit 0'
      : 'the other run did not finish in time; raise --lock-timeout or check that run',
  );
}

/** Human description of a lock holder for messages. */
export function describe(record: LockRecord): string {
  return `${record.command} (pid ${record.pid} on ${record.host}, started ${record.startedAt})`;
}

function newRecord(command: string, ttl: number): LockRecord {
  const now = Date.now();
  return {
    schema: 'lifeboat.lock/v1',
    token: randomUUID(),
    host: hostname(),
    pid: process.pid,
    command,
    startedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ttl).toISOString(),
  };
}

function whyStale(holder: LockRecord, alive: (pid: number) => boolean): string | undefined {
  if (Date.parse(holder.expiresAt) < Date.now()) return `it expired at ${holder.expiresAt}`;
  if (holder.host === hostname() && !alive(holder.pid)) return `process ${holder.pid} is no longer running`;
  return undefined;
}

/** The lock object as parsed, and its exact bytes (what a takeover may delete). */
async function readHolder(repo: Repository): Promise<{ record: LockRecord; raw: Buffer } | undefined> {
  let raw: Buffer;
  try {
    raw = await repo.readSmall(LOCK_KEY);
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode === 10) return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as LockRecord;
    if (parsed.schema === 'lifeboat.lock/v1' && typeof parsed.token === 'string') return { record: parsed, raw };
  } catch {
    // fall through: an unreadable lock (a torn write by a crashed holder) is stale by construction
  }
  return { record: { schema: 'lifeboat.lock/v1', token: '', host: 'unknown', pid: 0, command: 'unknown', startedAt: '?', expiresAt: new Date(0).toISOString() }, raw };
}

function holdLock(repo: Repository, record: LockRecord, ttl: number): HeldLock {
  let current = record;
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  const lost = new AbortController();
  const markLost = (why: string) => {
    if (lost.signal.aborted) return;
    clearInterval(timer);
    lost.abort(
      new LockedError(
        `lost the repository lock on ${repo.url}: ${why}`,
        'another run may hold the lock now, so this one stopped; check the storage, then run again',
      ),
    );
  };
  // A renewal that fails (a storage hiccup) is retried at the next tick; only once our own
  // expiry has passed could another run rightly take the lock over, and then we have lost it.
  const failedToRenew = () => {
    if (Date.parse(current.expiresAt) <= Date.now()) markLost(`it could not be renewed before it expired at ${current.expiresAt}`);
  };
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      if (released || lost.signal.aborted) return;
      let holder: LockRecord | undefined;
      try {
        holder = (await readHolder(repo))?.record;
      } catch {
        failedToRenew();
        return;
      }
      if (released) return;
      if (holder?.token !== current.token) {
        // Never overwrite another's lock: it was taken over (after a long pause) or removed.
        markLost(holder ? `it was taken over by ${describe(holder)}` : 'the lock object was removed');
        return;
      }
      const next = { ...current, expiresAt: new Date(Date.now() + ttl).toISOString() };
      try {
        await repo.writeSmall(LOCK_KEY, encode(next));
        current = next;
      } catch {
        failedToRenew();
      }
    });
  }, Math.max(Math.floor(ttl / 3), 10));
  timer.unref();
  return {
    get record() {
      return current;
    },
    lost: lost.signal,
    async release() {
      released = true;
      clearInterval(timer);
      await renewing;
      const held = await readHolder(repo);
      // Compare-and-delete: a run that took our lock over after the read keeps its lock.
      if (held?.record.token === current.token) await repo.compareAndDelete(LOCK_KEY, held.raw);
    },
  };
}

function encode(record: LockRecord): Buffer {
  return Buffer.from(JSON.stringify(record, null, 2) + '\n');
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
