// Lifeboat's half of the benchmark: a local 3-member cluster of real `lifeboat serve` processes
// (src/client/local-cluster.ts), driven through LifeboatClient; `lifeboat snapshot save` into a
// local repository for the save row; `lifeboat snapshot restore` x3 plus start until a leader
// answers a linearizable read for the restore row. Every command is the compiled CLI (dist/).
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { defaultBinPath, planLocalCluster, startLocalCluster, type LocalCluster } from '../../src/client/local-cluster.js';
import { onInterrupt, runTimed } from './processes.js';
import type { BenchSide, KvDriver, RestoreRun, SaveRun } from './side.js';

const PROFILER_HOOK = fileURLToPath(new URL('./cpu-prof-hook.mjs', import.meta.url));

export interface LifeboatSideOptions {
  readonly workDir: string;
  readonly log: (line: string) => void;
  /** When set, members are CPU-profiled into this directory (CPU.<pid>.cpuprofile, written on a clean stop). */
  readonly cpuProfDir?: string;
  /** Extra `lifeboat serve` flags for every member (e.g. --snapshot-count 100000). */
  readonly serveArgs?: readonly string[];
  /** Members write /tmp/perf-<pid>.map so `perf report` can name JavaScript functions. */
  readonly perfMap?: boolean;
}

/** The Lifeboat side of the benchmark. */
export class LifeboatSide implements BenchSide {
  readonly name = 'lifeboat' as const;
  private cluster: LocalCluster | undefined;
  private readonly repoDir: string;
  private readonly bin = defaultBinPath();
  private readonly memberLog: WriteStream;
  private readonly removeGuard: () => void;
  private saved = false;

  constructor(private readonly options: LifeboatSideOptions) {
    this.repoDir = join(options.workDir, 'repo');
    this.memberLog = createWriteStream(join(options.workDir, 'members.log'));
    this.removeGuard = onInterrupt(() => this.cluster?.stop(3000) ?? Promise.resolve());
  }

  async start(): Promise<void> {
    const plan = await planLocalCluster({ members: 3, dataRoot: join(this.options.workDir, 'cluster'), token: 'bench-lifeboat' });
    this.cluster = await this.startWith(plan, this.options.cpuProfDir, this.options.perfMap);
    this.options.log(`lifeboat: 3 members up at ${this.cluster.endpoints.join(', ')}`);
  }

  async driver(): Promise<KvDriver> {
    // etcd3 waits for an answer without a deadline; a 5 s default here would turn a stall that
    // etcd's client sits out into a failure. Stalls show in p99 instead, on both sides.
    const client = new LifeboatClient(this.running().endpoints, { maxSockets: 128, timeoutMs: 60_000, deadlineMs: 120_000 });
    return {
      put: async (key, value) => {
        await client.put(key, value);
      },
      get: async (key) => {
        await client.range(key);
      },
      close: async () => client.close(),
    };
  }

  /** Client URLs of the running cluster, in member order (pids() is in the same order). */
  endpoints(): readonly string[] {
    return this.running().endpoints;
  }

  memberPids(): readonly number[] {
    return this.running().pids;
  }

  async save(_run: number): Promise<SaveRun> {
    const run = await runTimed(process.execPath, [
      this.bin, 'snapshot', 'save', '--endpoints', this.running().endpoints.join(','), '--repo', this.repoDir, '--json',
    ]);
    this.saved = true;
    const summary = JSON.parse(run.stdout) as { archiveBytes?: number; bytes?: number; durations?: Record<string, number> };
    const detail: Record<string, number> = { snapshotBytes: summary.bytes ?? 0 };
    for (const [k, v] of Object.entries(summary.durations ?? {})) if (typeof v === 'number') detail[k] = v;
    return { seconds: run.seconds, peakRssMiB: run.peakRssMiB, storedBytes: summary.archiveBytes ?? 0, detail };
  }

  async stop(): Promise<void> {
    await this.cluster?.stop(10_000);
    this.cluster = undefined;
  }

  async restore(run: number): Promise<RestoreRun> {
    if (!this.saved) throw new Error('lifeboat: no snapshot saved to restore');
    const root = join(this.options.workDir, `restore-${run}`);
    const token = `bench-lifeboat-restore-${run}`;
    const plan = await planLocalCluster({ members: 3, dataRoot: root, token });
    let cluster: LocalCluster | undefined;
    const started = process.hrtime.bigint();
    try {
      // On three hosts the three restores run at once; here too.
      const restores = await Promise.all(plan.members.map((m) =>
        runTimed(process.execPath, [
          this.bin, 'snapshot', 'restore', 'latest', '--repo', this.repoDir,
          '--name', m.name, '--data-dir', m.dataDir,
          '--initial-cluster', plan.initialCluster, '--initial-cluster-token', token,
          '--initial-advertise-peer-urls', m.peerUrl,
        ])));
      const restoreSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      cluster = await this.startWith(plan, undefined, false);
      const client = new LifeboatClient(cluster.endpoints, { timeoutMs: 2000, deadlineMs: 60_000 });
      try {
        await client.range('bench-restore-probe');
      } finally {
        client.close();
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { seconds, restoreSeconds, peakRssMiB: Math.max(...restores.map((r) => r.peakRssMiB)) };
    } finally {
      await cluster?.stop(10_000);
      await rm(root, { recursive: true, force: true });
    }
  }

  diagnostics(): string {
    try {
      return `last lines of the members' logs:\n${readFileSync(join(this.options.workDir, 'members.log'), 'utf8').trim().split('\n').slice(-40).join('\n')}`;
    } catch {
      return '(no member log)';
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.removeGuard();
    await new Promise<void>((res) => this.memberLog.end(() => res()));
    await rm(this.options.workDir, { recursive: true, force: true });
  }

  private running(): LocalCluster {
    if (!this.cluster) throw new Error('lifeboat: the cluster is not running');
    return this.cluster;
  }

  private async startWith(plan: Awaited<ReturnType<typeof planLocalCluster>>, cpuProfDir: string | undefined, perfMap = false): Promise<LocalCluster> {
    // startLocalCluster copies process.env while it spawns, synchronously, before its first await:
    // setting the variables around the call profiles the members and nothing else. Node 20 refuses
    // --cpu-prof in NODE_OPTIONS, so a preloaded hook runs the profiler instead.
    const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, BENCH_CPU_PROF_DIR: process.env.BENCH_CPU_PROF_DIR };
    if (cpuProfDir) {
      process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import ${PROFILER_HOOK}`.trim();
      process.env.BENCH_CPU_PROF_DIR = cpuProfDir;
    }
    if (perfMap) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --perf-basic-prof-only-functions`.trim();
    const starting = startLocalCluster(plan, {
      log: (line) => {
        if (!this.memberLog.writableEnded) this.memberLog.write(line + '\n');
      },
      readyTimeoutMs: 120_000,
      extraArgs: [...(this.options.serveArgs ?? [])],
    });
    if (cpuProfDir || perfMap) {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const cluster = await starting;
    cluster.unexpectedExit.then((e) => this.options.log(`lifeboat member ${e.name} exited on its own (${e.signal ?? e.code}); see ${join(this.options.workDir, 'members.log')}`));
    return cluster;
  }
}
