import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { acquireLock, LOCK_KEY, parseOnLocked, type LockRecord } from '../../src/repo/lock.js';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { MemoryRepository } from './memory-repository.js';

function foreignLock(overrides: Partial<LockRecord>): Buffer {
  const record: LockRecord = {
    schema: 'lifeboat.lock/v1',
    token: 'other',
    host: 'other-host',
    pid: 4242,
    command: 'snapshot save',
    startedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    ...overrides,
  };
  return Buffer.from(JSON.stringify(record));
}

test('a free repository lock is taken, recorded with host, pid and command, and released', async () => {
  const repo = new MemoryRepository();
  const lock = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail' });
  assert.ok(lock);
  const stored = JSON.parse((await repo.readSmall(LOCK_KEY)).toString()) as LockRecord;
  assert.equal(stored.pid, process.pid);
  assert.equal(stored.host, hostname());
  assert.equal(stored.command, 'snapshot save');
  await lock.release();
  assert.equal(await repo.stat(LOCK_KEY), undefined);
});

test('a live lock makes --on-locked fail exit 11 naming the holder', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, foreignLock({}));
  await assert.rejects(acquireLock(repo, { command: 'snapshot save', onLocked: 'fail' }), (err: unknown) => {
    assert.ok(err instanceof LifeboatError);
    assert.equal(err.exitCode, ExitCode.locked);
    assert.match(err.message, /pid 4242 on other-host/);
    assert.match(err.hint, /--on-locked wait/);
    return true;
  });
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, 'other', 'a live lock is never taken over');
});

test('a live lock makes --on-locked skip return without the lock', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, foreignLock({}));
  assert.equal(await acquireLock(repo, { command: 'snapshot save', onLocked: 'skip' }), undefined);
});

test('--on-locked wait takes the lock once the holder releases it', async () => {
  const repo = new MemoryRepository();
  const first = await acquireLock(repo, { command: 'first', onLocked: 'fail' });
  const second = acquireLock(repo, { command: 'second', onLocked: 'wait', waitTimeoutMs: 60_000 });
  await first!.release();
  const lock = await second;
  assert.equal(lock!.record.command, 'second');
  await lock!.release();
});

test('--on-locked wait gives up with exit 11 when its timeout runs out', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, foreignLock({}));
  await assert.rejects(acquireLock(repo, { command: 'x', onLocked: 'wait', waitTimeoutMs: 1 }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.locked && /--lock-timeout/.test(err.hint));
});

test('an expired lock is taken over with a warning', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, foreignLock({ expiresAt: new Date(Date.now() - 1000).toISOString() }));
  const warnings: string[] = [];
  const lock = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail', warn: (l) => warnings.push(l) });
  assert.ok(lock);
  assert.match(warnings.join('\n'), /stale lock .* expired/);
  await lock.release();
});

test('a lock held by a dead process on this host is taken over; one held by a live process is not', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, foreignLock({ host: hostname(), pid: 999_999 }));
  const warnings: string[] = [];
  const lock = await acquireLock(repo, { command: 'x', onLocked: 'fail', warn: (l) => warnings.push(l), isProcessAlive: () => false });
  assert.match(warnings.join('\n'), /process 999999 is no longer running/);
  await lock!.release();

  await repo.writeSmall(LOCK_KEY, foreignLock({ host: hostname(), pid: process.pid }));
  await assert.rejects(acquireLock(repo, { command: 'x', onLocked: 'fail' }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.locked);
});

test('an unreadable lock object (a torn write) counts as stale', async () => {
  const repo = new MemoryRepository();
  await repo.writeSmall(LOCK_KEY, Buffer.from('{"schema":"lifeb'));
  const lock = await acquireLock(repo, { command: 'x', onLocked: 'fail' });
  assert.ok(lock);
  await lock.release();
});

test('releasing never deletes a lock that another run took over meanwhile', async () => {
  const repo = new MemoryRepository();
  const lock = await acquireLock(repo, { command: 'x', onLocked: 'fail' });
  await repo.writeSmall(LOCK_KEY, foreignLock({ token: 'newer' }));
  await lock!.release();
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, 'newer');
});

test('a running holder renews its expiry', { timeout: 30_000 }, async () => {
  const repo = new MemoryRepository();
  const lock = await acquireLock(repo, { command: 'x', onLocked: 'fail', ttlMs: 60 });
  const firstExpiry = lock!.record.expiresAt;
  const renewed = await new Promise<string>((resolve) => {
    const poll = setInterval(async () => {
      const stored = JSON.parse((await repo.readSmall(LOCK_KEY)).toString()) as LockRecord;
      if (stored.expiresAt !== firstExpiry) {
        clearInterval(poll);
        resolve(stored.expiresAt);
      }
    }, 5);
  });
  assert.ok(Date.parse(renewed) > Date.parse(firstExpiry));
  await lock!.release();
});

test('--on-locked accepts only fail, wait and skip', () => {
  assert.equal(parseOnLocked('wait'), 'wait');
  assert.throws(() => parseOnLocked('retry'), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.usage);
});

/**
 * Resolves with the reason once the signal aborts (the test's own timeout is the deadline).
 * The renewal timer is unref'd, as a lock must never keep a process alive, so the wait holds a
 * timer of its own, as a running job's work would.
 */
function whenAborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  const keepAlive = setInterval(() => {}, 1000);
  return new Promise((resolve) =>
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        resolve(signal.reason);
      },
      { once: true },
    ),
  );
}

test('a holder whose lock was taken over learns it through its lost signal and never overwrites the new holder', { timeout: 30_000 }, async () => {
  const repo = new MemoryRepository();
  const lock = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail', ttlMs: 60 });
  assert.equal(lock!.lost.aborted, false);
  await repo.writeSmall(LOCK_KEY, foreignLock({ token: 'newer', command: 'snapshot prune' }));
  const reason = await whenAborted(lock!.lost);
  assert.ok(reason instanceof LifeboatError);
  assert.equal(reason.exitCode, ExitCode.locked);
  assert.match(reason.message, /lost the repository lock .*taken over by snapshot prune/);
  assert.ok(reason.hint.length > 0);
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, 'newer');
  await lock!.release();
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, 'newer');
});

test('a holder that cannot renew its lock before it expires learns it has lost it', { timeout: 30_000 }, async () => {
  class UnwritableRepository extends MemoryRepository {
    failWrites = false;
    override async writeSmall(key: string, data: Buffer): Promise<void> {
      if (this.failWrites) throw new Error('the bucket is unreachable');
      return super.writeSmall(key, data);
    }
  }
  const repo = new UnwritableRepository();
  const lock = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail', ttlMs: 60 });
  repo.failWrites = true;
  const reason = await whenAborted(lock!.lost);
  assert.ok(reason instanceof LifeboatError);
  assert.equal(reason.exitCode, ExitCode.locked);
  assert.match(reason.message, /could not be renewed before it expired/);
  await lock!.release();
});

test('a holder that keeps renewing never reports its lock lost', { timeout: 30_000 }, async () => {
  const repo = new MemoryRepository();
  const lock = await acquireLock(repo, { command: 'x', onLocked: 'fail', ttlMs: 30 });
  const first = lock!.record.expiresAt;
  // Wait for several renewals (each pushes the expiry forward), then check nothing was lost.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (Date.parse(lock!.record.expiresAt) > Date.parse(first) + 60) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  assert.equal(lock!.lost.aborted, false);
  await lock!.release();
  assert.equal(await repo.stat(LOCK_KEY), undefined);
});

test('a create that stored the lock but reported failure (a read-back that failed on S3) is recognised as our own lock, not a foreign one', async () => {
  class ForgetfulRepository extends MemoryRepository {
    override async createExclusive(key: string, data: Buffer): Promise<boolean> {
      await super.createExclusive(key, data);
      return false;
    }
  }
  const repo = new ForgetfulRepository();
  const lock = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail' });
  assert.ok(lock, 'the run holds the lock it wrote');
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, lock.record.token);
  await lock.release();
  assert.equal(await repo.stat(LOCK_KEY), undefined, 'and releases it, leaving nothing to block the next run');
});

test('a stale lock replaced by another run\'s fresh lock after it was judged stale is not deleted: the takeover compares the exact bytes', async () => {
  const repo = new MemoryRepository();
  const stale = foreignLock({ token: 'stale', expiresAt: new Date(Date.now() - 1000).toISOString() });
  await repo.writeSmall(LOCK_KEY, stale);
  // The other run wins the takeover right after this run read the stale lock.
  const readSmall = repo.readSmall.bind(repo);
  let raced = false;
  repo.readSmall = async (key: string) => {
    const data = await readSmall(key);
    if (key === LOCK_KEY && !raced) {
      raced = true;
      await repo.delete(LOCK_KEY);
      await repo.writeSmall(LOCK_KEY, foreignLock({ token: 'fresh' }));
    }
    return data;
  };
  await assert.rejects(acquireLock(repo, { command: 'x', onLocked: 'fail' }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.locked);
  assert.equal(JSON.parse((await repo.readSmall(LOCK_KEY)).toString()).token, 'fresh', 'the fresh lock is still there');
});

test('a lock that keeps reading as absent after a failed create is retried with a growing pause, and fail gives up with exit 11 instead of spinning', { timeout: 60_000 }, async () => {
  const repo = new MemoryRepository();
  let creates = 0;
  repo.createExclusive = async () => {
    creates++;
    return false; // as if another run took the lock and released it before our read, every time
  };
  await assert.rejects(acquireLock(repo, { command: 'x', onLocked: 'fail' }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.locked && /changing hands/.test(err.message));
  assert.equal(creates, 9, 'eight retries after the first attempt, each after a pause');
  creates = 0;
  assert.equal(await acquireLock(repo, { command: 'x', onLocked: 'skip' }), undefined, 'skip skips');
  assert.equal(creates, 9);
});

test('--on-locked wait keeps retrying a lock that reads absent until its timeout, then exits 11', { timeout: 60_000 }, async () => {
  const repo = new MemoryRepository();
  let creates = 0;
  repo.createExclusive = async () => {
    creates++;
    return false;
  };
  await assert.rejects(acquireLock(repo, { command: 'x', onLocked: 'wait', waitTimeoutMs: 2_000 }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.locked);
  assert.ok(creates >= 2 && creates < 100, `${creates} attempts: more than one, and not a tight loop`);
});
