// The data-directory lock in one process: who may take it, when a leftover lock is stale, and
// what readers (offline backup) are told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, UnsafeOperationError, UsageError } from '../../src/errors.js';
import { LOCK_FILE, acquireDataDirLock, checkDataDirFree, type LockHolder } from '../../src/server/data-dir-lock.js';

function tempDataDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-lock-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function writeLock(dir: string, holder: Partial<LockHolder> & { pid: number }): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), startedAt: new Date().toISOString(), ...holder }) + '\n');
}

/** A process that runs until killed, and a way to stop it. */
async function liveProcess(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise<void>((ok, fail) => {
    child.once('spawn', ok);
    child.once('error', fail);
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise<void>((ok) => child.once('exit', () => ok()));
  return child.pid!;
}

test('taking the lock writes the pid, host and start time, and releasing it removes the file', () => {
  const t = tempDataDir();
  try {
    const lock = acquireDataDirLock(t.dir);
    const stored = JSON.parse(readFileSync(join(t.dir, LOCK_FILE), 'utf8')) as LockHolder;
    assert.equal(stored.pid, process.pid);
    assert.equal(stored.host, hostname());
    assert.ok(!Number.isNaN(Date.parse(stored.startedAt)));
    lock.release();
    lock.release();
    assert.deepEqual(readdirSync(t.dir), []);
  } finally {
    t.cleanup();
  }
});

test('a data directory that does not exist yet is created by the lock', () => {
  const t = tempDataDir();
  try {
    const dir = join(t.dir, 'a', 'b');
    const lock = acquireDataDirLock(dir);
    assert.ok(existsSync(join(dir, LOCK_FILE)));
    lock.release();
  } finally {
    t.cleanup();
  }
});

test('a second lock in the same process is refused while the first is held', () => {
  const t = tempDataDir();
  try {
    const lock = acquireDataDirLock(t.dir);
    assert.throws(() => acquireDataDirLock(t.dir), (err) => err instanceof UsageError && err.message.includes(`pid ${process.pid}`));
    lock.release();
    acquireDataDirLock(t.dir).release();
  } finally {
    t.cleanup();
  }
});

test('a lock held by a live process is refused with exit 2 naming its pid and the directory', async () => {
  const t = tempDataDir();
  const p = await liveProcess();
  try {
    writeLock(t.dir, { pid: p.pid });
    assert.throws(
      () => acquireDataDirLock(t.dir),
      (err) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.exitCode, ExitCode.usage);
        assert.equal(err.message, `another member (pid ${p.pid}) is using --data-dir ${t.dir}`);
        assert.ok(err.hint.length > 0);
        return true;
      },
    );
    assert.equal(JSON.parse(readFileSync(join(t.dir, LOCK_FILE), 'utf8')).pid, p.pid, 'a live lock is never touched');
  } finally {
    await p.stop();
    t.cleanup();
  }
});

test('a lock whose pid is dead is taken over, with a log line saying so', async () => {
  const t = tempDataDir();
  try {
    const pid = await deadPid();
    writeLock(t.dir, { pid });
    const lines: string[] = [];
    const lock = acquireDataDirLock(t.dir, (l) => lines.push(l));
    assert.equal(JSON.parse(readFileSync(join(t.dir, LOCK_FILE), 'utf8')).pid, process.pid);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`stale lock.*pid ${pid} is no longer running`));
    lock.release();
    assert.deepEqual(readdirSync(t.dir), []);
  } finally {
    t.cleanup();
  }
});

test('a live pid that belongs to a newer process than the one that wrote the lock is stale', async () => {
  const t = tempDataDir();
  const p = await liveProcess();
  try {
    writeLock(t.dir, { pid: p.pid, processStart: '1' });
    const lock = acquireDataDirLock(t.dir);
    lock.release();
  } finally {
    await p.stop();
    t.cleanup();
  }
});

test('a lock written before the host restarted is stale even if its pid is alive now', async () => {
  const t = tempDataDir();
  const p = await liveProcess();
  try {
    if (!existsSync('/proc/sys/kernel/random/boot_id')) return; // the check needs Linux; nothing to prove elsewhere
    writeLock(t.dir, { pid: p.pid, bootId: '00000000-0000-0000-0000-000000000000' });
    acquireDataDirLock(t.dir).release();
  } finally {
    await p.stop();
    t.cleanup();
  }
});

test('a lock that names this process\'s pid but was never taken by it is a past run\'s, and stale', () => {
  const t = tempDataDir();
  try {
    writeLock(t.dir, { pid: process.pid });
    acquireDataDirLock(t.dir).release();
  } finally {
    t.cleanup();
  }
});

test('a lock from another host is never taken over', () => {
  const t = tempDataDir();
  try {
    writeLock(t.dir, { pid: 1, host: 'some-other-host.invalid' });
    assert.throws(() => acquireDataDirLock(t.dir), (err) => err instanceof UsageError && /pid 1 on host some-other-host\.invalid/.test(err.message) && err.hint.includes(LOCK_FILE));
    assert.throws(() => checkDataDirFree(t.dir), (err) => err instanceof UnsafeOperationError && err.exitCode === ExitCode.unsafe);
  } finally {
    t.cleanup();
  }
});

test('an unreadable lock file is stale', () => {
  const t = tempDataDir();
  try {
    writeFileSync(join(t.dir, LOCK_FILE), '{"pid": 12');
    acquireDataDirLock(t.dir).release();
  } finally {
    t.cleanup();
  }
});

test('readers are refused with exit 17 while a live member holds the directory, and pass a free or stale one untouched', async () => {
  const t = tempDataDir();
  const p = await liveProcess();
  try {
    assert.deepEqual(checkDataDirFree(t.dir), {});
    writeLock(t.dir, { pid: p.pid });
    assert.throws(
      () => checkDataDirFree(t.dir),
      (err) => err instanceof UnsafeOperationError && err.exitCode === ExitCode.unsafe && err.message.includes(`pid ${p.pid}`) && err.message.includes(t.dir),
    );
    const dead = await deadPid();
    writeLock(t.dir, { pid: dead });
    const before = readFileSync(join(t.dir, LOCK_FILE), 'utf8');
    assert.equal(checkDataDirFree(t.dir).stale?.pid, dead);
    assert.equal(readFileSync(join(t.dir, LOCK_FILE), 'utf8'), before, 'a reader leaves the stale lock where it is');
    const mine = acquireDataDirLock(t.dir);
    assert.throws(() => checkDataDirFree(t.dir), UnsafeOperationError);
    mine.release();
  } finally {
    await p.stop();
    t.cleanup();
  }
});
