// Child processes of the benchmark: every one is registered so that an exit, an error or Ctrl-C
// takes all of them down (a benchmark that leaves three etcd members running poisons the next
// one). Also: timed runs with peak memory, /proc memory readings, and free loopback ports.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();

/** Spawns a child that is killed if the benchmark ends for any reason. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** Registers an async teardown (stopping a cluster) to run on SIGINT/SIGTERM; returns its remover. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** SIGKILLs every child still alive (synchronous: safe inside process.on('exit')). */
export function killAllNow(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Installs the exit and signal handlers once: signals run the registered teardowns, then kill what is left. */
export function installProcessGuards(log: (line: string) => void): void {
  process.on('exit', killAllNow);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      killAllNow();
      process.exit(130);
    }
    interrupted = true;
    log(`\n${signal}: stopping every cluster and child process...`);
    const deadline = setTimeout(() => {
      killAllNow();
      process.exit(130);
    }, 15_000);
    Promise.allSettled([...cleanups].map((c) => c())).finally(() => {
      clearTimeout(deadline);
      killAllNow();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Resolves when the child exits (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the child is gone. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** What a timed command did. */
export interface TimedRun {
  readonly seconds: number;
  /** Peak resident set of the command (its own process), MiB. */
  readonly peakRssMiB: number;
  readonly stdout: string;
}

const GNU_TIME = '/usr/bin/time';

/**
 * Runs a command to completion, timing it and measuring its peak RSS: with GNU time (-f '%M'
 * from getrusage) when installed, else by sampling /proc/<pid>/status VmHWM until it exits.
 * A non-zero exit rejects with the command's stderr tail.
 */
export async function runTimed(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<TimedRun> {
  const useTime = existsSync(GNU_TIME);
  const dir = useTime ? await mkdtemp(join(tmpdir(), 'lifeboat-bench-time-')) : '';
  const timeFile = join(dir, 'time.txt');
  const [cmd, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', timeFile, command, ...args]] : [command, [...args]];
  const started = process.hrtime.bigint();
  const child = spawnTracked(cmd, argv, { env: options.env ?? process.env, cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let sampledKiB = 0;
  const sampler = useTime ? undefined : setInterval(() => (sampledKiB = Math.max(sampledKiB, readStatusKiB(child.pid!, 'VmHWM') ?? 0)), 20);
  const code = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (c) => res(c));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (sampler) clearInterval(sampler);
  try {
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    const peakKiB = useTime ? Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop()) : sampledKiB;
    return { seconds, peakRssMiB: peakKiB / 1024, stdout };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or undefined when the process is gone. */
export function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The largest VmRSS and VmHWM (MiB) among the processes. */
export function memberMemory(pids: readonly number[]): { rssMiB: number; hwmMiB: number } {
  let rss = 0;
  let hwm = 0;
  for (const pid of pids) {
    rss = Math.max(rss, readStatusKiB(pid, 'VmRSS') ?? 0);
    hwm = Math.max(hwm, readStatusKiB(pid, 'VmHWM') ?? 0);
  }
  return { rssMiB: rss / 1024, hwmMiB: hwm / 1024 };
}

export { freePorts } from '../../src/client/local-cluster.js';

/** Polls until check() returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system) the processes have used so far, from /proc/<pid>/stat. Unlike a
 * wall-clock profile this is not inflated when other work on the machine preempts them.
 */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // A process that is gone has nothing more to add.
    }
  }
  return ticks / CLOCK_TICKS;
}
