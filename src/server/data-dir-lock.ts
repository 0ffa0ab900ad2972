// The data-directory lock: <data-dir>/member.lock says which process uses the directory, so a
// member never runs twice on one directory and an offline backup never reads one that a running
// member is writing. The file is written whole under a temporary name and then hard-linked into
// place: link() fails with EEXIST like O_EXCL does, and a reader never sees a half-written lock.
//
// A lock left by a process that died (SIGKILL, power loss) is stale and is taken over. Staleness
// is decided only on the host that wrote the lock: its pid is gone, the host rebooted since (the
// kernel's boot_id changed), or the pid now belongs to a newer process (its start time differs).
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UnsafeOperationError, UsageError } from '../errors.js';

export const LOCK_FILE = 'member.lock';

/** What the lock file records about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly startedAt: string;
  /** The holder's kernel boot ID (Linux); a different one now means the host restarted. */
  readonly bootId?: string;
  /** The holder's process start time in clock ticks since boot (Linux), to detect a reused pid. */
  readonly processStart?: string;
}

/** A held data-directory lock. */
export interface DataDirLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this process's; safe to call twice. */
  release(): void;
}

/** Lock files this process holds right now: a pid equal to ours in any other file is a past life. */
const heldHere = new Set<string>();

/**
 * Takes `<dataDir>/member.lock` for this process (creating the directory if needed). A stale lock
 * is taken over with a log line; a live one throws UsageError naming the holder's pid.
 */
export function acquireDataDirLock(dataDir: string, log: (line: string) => void = () => undefined): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const holder = currentHolder();
  const text = JSON.stringify(holder) + '\n';
  const tmp = `${path}.${process.pid}.tmp`;
  writeDurably(tmp, text);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path);
        heldHere.add(path);
        return lockHandle(path, holder, text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const found = readLock(path);
      if (found === undefined) continue; // removed meanwhile: try again
      const verdict = judge(path, found.holder);
      if (verdict.live) {
        const who = found.holder ? `pid ${found.holder.pid}${verdict.foreign ? ` on host ${found.holder.host}` : ''}` : 'an unknown process';
        throw new UsageError(
          `another member (${who}) is using --data-dir ${dataDir}`,
          verdict.foreign
            ? `stop the member on ${found.holder!.host} first; if nothing runs there any more, delete ${path}`
            : `stop that member first, or give this one its own --data-dir`,
        );
      }
      log(`taking over a stale lock on ${dataDir}: ${verdict.why}`);
      removeIfUnchanged(path, found.text, dataDir);
    }
    throw new UsageError(`could not take the lock on --data-dir ${dataDir}: other processes keep taking it`, 'make sure only one member is started on this directory');
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

/**
 * For readers of a data directory (offline backup): throws UnsafeOperationError (exit 17) when a
 * live member holds it. Returns the stale holder, if any, without touching its file.
 */
export function checkDataDirFree(dataDir: string): { stale?: LockHolder; why?: string } {
  const path = join(dataDir, LOCK_FILE);
  const found = readLock(path);
  if (found === undefined) return {};
  const verdict = judge(path, found.holder);
  if (verdict.live) {
    const who = found.holder ? `pid ${found.holder.pid} on host ${found.holder.host}` : 'an unknown process';
    throw new UnsafeOperationError(
      `a running member (${who}) is using --data-dir ${dataDir}`,
      verdict.foreign
        ? `stop that member first; if nothing runs on ${found.holder!.host} any more, delete ${path}`
        : 'stop the member first, or back up from the live cluster with --endpoints (a member that is running answers there)',
    );
  }
  return found.holder ? { stale: found.holder, why: verdict.why } : { why: verdict.why };
}

function lockHandle(path: string, holder: LockHolder, text: string): DataDirLock {
  let released = false;
  return {
    path,
    holder,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      // Only our own lock goes: a file someone else put there after a takeover stays.
      if (readLock(path)?.text === text) {
        try {
          unlinkSync(path);
        } catch {
          /* gone already */
        }
      }
    },
  };
}

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The lock file's text and parsed holder (undefined holder: unreadable); undefined when there is no file. */
function readLock(path: string): { text: string; holder: LockHolder | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as LockHolder;
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { text, holder: v };
  } catch {
    /* unreadable, judged below */
  }
  return { text, holder: undefined };
}

/** Decides whether a lock's holder may still be running. */
function judge(path: string, h: LockHolder | undefined): { live: boolean; foreign?: boolean; why?: string } {
  // Locks are written whole and linked into place, so an unreadable one was damaged after the fact.
  if (!h) return { live: false, why: 'the lock file is unreadable' };
  if (h.host !== hostname()) return { live: true, foreign: true };
  const bootId = readBootId();
  if (h.bootId && bootId && h.bootId !== bootId) return { live: false, why: `pid ${h.pid} ran before this host restarted` };
  if (h.pid === process.pid) {
    return heldHere.has(path) ? { live: true } : { live: false, why: `pid ${h.pid} is this process, which never took this lock (an earlier run had the same pid)` };
  }
  if (!pidAlive(h.pid)) return { live: false, why: `pid ${h.pid} is no longer running` };
  const start = processStart(h.pid);
  if (h.processStart && start && h.processStart !== start) return { live: false, why: `pid ${h.pid} now belongs to another process` };
  return { live: true };
}

/** Removes the stale lock only if it is still the one judged stale (another starter may have replaced it). */
function removeIfUnchanged(path: string, staleText: string, dataDir: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readLock(aside);
  if (moved && moved.text !== staleText) {
    // Another starter took the lock between our read and the rename: give it back and stand down.
    try {
      linkSync(aside, path);
    } finally {
      unlinkSync(aside);
    }
    throw new UsageError(`another member started on --data-dir ${dataDir} at the same moment`, 'start only one member on this directory');
  }
  unlinkSync(aside);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (start time after boot), read past the parenthesised command name. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function currentHolder(): LockHolder {
  const bootId = readBootId();
  const start = processStart(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...(bootId ? { bootId } : {}),
    ...(start ? { processStart: start } : {}),
  };
}
