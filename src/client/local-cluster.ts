// A local multi-process cluster on loopback ports: `lifeboat cluster up`, the demo and the drill.
// Two steps so a restore can happen in between: planLocalCluster() picks names, ports, URLs and
// data directories (and the --initial-cluster string a restore needs); startLocalCluster() spawns
// one `lifeboat serve` per member, waits for every ready line and for a leader, and returns
// stop(), which ends every process (SIGTERM, then SIGKILL after a grace period) and waits for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterUnavailableError, UsageError } from '../errors.js';
import { LifeboatClient } from './lifeboat-client.js';

/** One member of a planned local cluster. */
export interface LocalMemberPlan {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

/** Everything needed to start (or restore into) a local cluster. */
export interface LocalClusterPlan {
  members: LocalMemberPlan[];
  /** n1=http://127.0.0.1:P1,n2=... */
  initialCluster: string;
  token: string;
  dataRoot: string;
}

export interface PlanOptions {
  members: number;
  dataRoot: string;
  /** Member i gets client port basePort+2i and peer port basePort+2i+1; default: free ports. */
  basePort?: number;
  /** Default "lifeboat-local". */
  token?: string;
  /** Default n1, n2, ... */
  names?: string[];
}

export interface StartOptions {
  /** Extra `serve` flags for every member (e.g. --snapshot-count 1000). */
  extraArgs?: string[];
  /** new (default) or existing. */
  clusterState?: 'new' | 'existing';
  /** How long to wait for every member's ready line and a leader (default 60 s). */
  readyTimeoutMs?: number;
  /** Receives every log line of every member, prefixed with its name. */
  log?: (line: string) => void;
  /** The `lifeboat` entry to run (default: this package's bin/lifeboat). */
  binPath?: string;
  /** Aborting stops the members and rejects. */
  signal?: AbortSignal;
}

/** A running local cluster. */
export interface LocalCluster {
  readonly plan: LocalClusterPlan;
  /** Client URLs, in member order. */
  readonly endpoints: string[];
  /** Process IDs, in member order. */
  readonly pids: number[];
  /** Resolves when any member exits on its own (not through stop()), with its name and exit code. */
  readonly unexpectedExit: Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops every member: SIGTERM, then SIGKILL after graceMs (default 10 s); resolves when all have exited. */
  stop(graceMs?: number): Promise<void>;
}

const PLAN_FILE = 'lifeboat-local-cluster.json';

/** The package's bin/lifeboat, found from this file (src/client or dist/client). */
export function defaultBinPath(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '../../bin/lifeboat');
}

/**
 * Picks names, ports and directories. A data root that already holds a plan reuses it, because
 * member IDs derive from peer URLs: the same members must come back on the same ports.
 */
export async function planLocalCluster(options: PlanOptions): Promise<LocalClusterPlan> {
  const dataRoot = resolve(options.dataRoot);
  const planPath = join(dataRoot, PLAN_FILE);
  if (existsSync(planPath)) {
    const saved = JSON.parse(readFileSync(planPath, 'utf8')) as LocalClusterPlan;
    if (saved.members.length !== options.members) {
      throw new UsageError(
        `--members ${options.members}: ${dataRoot} holds a cluster of ${saved.members.length} members`,
        `use --members ${saved.members.length}, or a fresh --data-root`,
      );
    }
    return saved;
  }
  if (!Number.isInteger(options.members) || options.members < 1 || options.members > 9) {
    throw new UsageError(`--members: ${options.members} is not between 1 and 9`, 'a local cluster has 1, 3 or 5 members, usually');
  }
  const names = options.names ?? Array.from({ length: options.members }, (_, i) => `n${i + 1}`);
  const ports = options.basePort !== undefined ? fixedPorts(options.basePort, options.members) : await freePorts(options.members * 2);
  const members = names.map((name, i) => ({
    name,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(dataRoot, name),
  }));
  return {
    members,
    initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    token: options.token ?? 'lifeboat-local',
    dataRoot,
  };
}

function fixedPorts(base: number, members: number): number[] {
  if (!Number.isInteger(base) || base < 1024 || base + members * 2 > 65535) {
    throw new UsageError(`--base-port: ${base} leaves no room for ${members} members`, 'use a port between 1024 and 65000');
  }
  return Array.from({ length: members * 2 }, (_, i) => base + i);
}

/** Free loopback ports, all held at once while choosing so none is handed out twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(0, '127.0.0.1', () => res());
      });
      servers.push(server);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}

/** Starts every member of the plan and waits until each is ready and a leader is elected. */
export async function startLocalCluster(plan: LocalClusterPlan, options: StartOptions = {}): Promise<LocalCluster> {
  mkdirSync(plan.dataRoot, { recursive: true });
  writeFileSync(join(plan.dataRoot, PLAN_FILE), JSON.stringify(plan, null, 2) + '\n');
  const bin = options.binPath ?? defaultBinPath();
  const log = options.log ?? (() => {});
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const procs: ChildProcess[] = [];
  const exited: Promise<void>[] = [];
  let stopping = false;
  let reportExit: (e: { name: string; code: number | null; signal: NodeJS.Signals | null }) => void = () => {};
  const unexpectedExit = new Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null }>((res) => (reportExit = res));
  const readyWaiters: Promise<void>[] = [];

  // Last resort: if this process exits without stop(), take the members with it. First among
  // the exit listeners, so the members are gone before anything removes their directories.
  const onExit = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.prependListener('exit', onExit);

  const stop = async (graceMs = 10_000): Promise<void> => {
    stopping = true;
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
    process.off('exit', onExit);
  };

  for (const m of plan.members) {
    mkdirSync(m.dataDir, { recursive: true });
    const args = [
      bin, 'serve',
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', plan.initialCluster,
      '--initial-cluster-state', options.clusterState ?? 'new',
      '--initial-cluster-token', plan.token,
      ...(options.extraArgs ?? []),
    ];
    // Members must not inherit LIFEBOAT_* settings meant for the parent command.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIFEBOAT_') || k === 'LIFEBOAT_DEBUG'));
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    procs.push(proc);
    let tail = '';
    let ready = false;
    let onReady: () => void = () => {};
    let onFail: (err: Error) => void = () => {};
    readyWaiters.push(new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    }));
    const onLine = (line: string) => {
      tail = (tail + line + '\n').slice(-4000);
      log(`[${m.name}] ${line}`);
      if (!ready && line.includes('ready: serving clients on')) {
        ready = true;
        onReady();
      }
    };
    lineReader(proc.stdout!, onLine);
    lineReader(proc.stderr!, onLine);
    exited.push(new Promise<void>((res) => {
      proc.once('exit', (code, signal) => {
        if (!ready) onFail(new ClusterUnavailableError(`member ${m.name} exited (${signal ?? code}) before it was ready: ${lastLine(tail)}`, `see its log above; its data directory is ${m.dataDir}`));
        if (!stopping) reportExit({ name: m.name, code, signal });
        res();
      });
      proc.once('error', (err) => {
        onFail(err);
        res();
      });
    }));
  }

  const cluster: LocalCluster = {
    plan,
    endpoints: plan.members.map((m) => m.clientUrl),
    pids: procs.map((p) => p.pid ?? 0),
    unexpectedExit,
    stop,
  };
  try {
    await withDeadline(Promise.all(readyWaiters), readyTimeoutMs, options.signal, 'every member to print its ready line');
    const leader = await waitForLeader(cluster.endpoints, readyTimeoutMs, options.signal);
    await waitForPublishedMembers(leader, cluster.endpoints.length, readyTimeoutMs, options.signal);
  } catch (err) {
    await stop(2000);
    throw err;
  }
  return cluster;
}

/** Polls the members' status until one of them is the leader. */
export async function waitForLeader(endpoints: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const client = new LifeboatClient(endpoints, { timeoutMs: 2000, deadlineMs: 2000, signal });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const leader = await client.findLeader();
      if (leader) return leader.endpoint;
      if (signal?.aborted) throw signal.reason;
      if (Date.now() > deadline) {
        throw new ClusterUnavailableError(`no leader was elected within ${timeoutMs} ms among ${endpoints.join(', ')}`, 'see the members\' logs; check that their peer ports are free');
      }
      // Short: every poll is one small status request, and the time to a serving cluster (what a
      // drill and the restore benchmark report) should not include most of a poll interval.
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    client.close();
  }
}

/**
 * Polls the member list until every member has published its client URLs. A member publishes
 * them through raft after a leader exists, so without this wait a client that discovers
 * endpoints through the member list could briefly see members without any.
 */
export async function waitForPublishedMembers(endpoint: string, members: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const client = new LifeboatClient([endpoint], { timeoutMs: 2000, deadlineMs: timeoutMs, signal });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const list = await client.memberList();
      const published = list.members.filter((m) => m.clientURLs.length > 0).length;
      if (published >= members) return;
      if (signal?.aborted) throw signal.reason;
      if (Date.now() > deadline) {
        throw new ClusterUnavailableError(`only ${published} of ${members} members published their client URLs within ${timeoutMs} ms`, 'see the members\' logs');
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    client.close();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new ClusterUnavailableError(`timed out after ${ms} ms waiting for ${what}`, 'see the members\' logs')), ms);
    const onAbort = () => rej(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        res(v);
      },
      (e) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        rej(e);
      },
    );
  });
}

function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-3).join(' | ') || '(no output)';
}
