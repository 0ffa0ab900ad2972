// etcd's half of the benchmark: a local 3-member etcd (Debian's 3.4.23 binaries) on free loopback
// ports, driven through its gRPC API with the etcd3 package; `etcdctl snapshot save` then `zstd -3`
// for the save row; `etcdctl snapshot restore` x3 plus start until a put succeeds for the restore row.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePorts, onInterrupt, runTimed, spawnTracked, terminate, waitFor } from './processes.js';
import type { BenchSide, KvDriver, RestoreRun, SaveRun } from './side.js';

interface EtcdMemberPlan {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

/** Whether etcd and etcdctl are on the PATH; their version when they are. */
export function etcdVersion(): string | undefined {
  try {
    execFileSync('etcdctl', ['version'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
    const out = execFileSync('etcd', ['--version'], { encoding: 'utf8' });
    return /etcd Version: (\S+)/.exec(out)?.[1] ?? out.split('\n')[0];
  } catch {
    return undefined;
  }
}

const ETCDCTL_ENV = { ...process.env, ETCDCTL_API: '3' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function planMembers(root: string, prefix: string): Promise<EtcdMemberPlan[]> {
  const ports = await freePorts(6);
  return [0, 1, 2].map((i) => ({
    name: `${prefix}${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(root, `${prefix}${i + 1}`),
  }));
}

function initialCluster(members: readonly EtcdMemberPlan[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}

/** POSTs to etcd's JSON gateway with a per-call timeout; undefined unless it answered 200. */
async function gateway(url: string, path: string, body: unknown, timeoutMs = 1000): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const json = await res.json();
  return res.ok ? json : undefined;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return `(no log at ${path})`;
  }
}

/** The etcd side of the benchmark. */
export class EtcdSide implements BenchSide {
  readonly name = 'etcd' as const;
  private members: EtcdMemberPlan[] = [];
  private procs: ChildProcess[] = [];
  private leader = '';
  private lastSnapshot = '';
  private readonly removeGuard: () => void;

  constructor(private readonly workDir: string, private readonly log: (line: string) => void) {
    this.removeGuard = onInterrupt(() => this.stopProcs(this.procs));
  }

  async start(): Promise<void> {
    this.members = await planMembers(join(this.workDir, 'cluster'), 'm');
    this.procs = await this.spawnMembers(this.members, 'bench-etcd');
    this.leader = await waitFor('an etcd leader', 60_000, () => this.findLeader(), 50);
    this.log(`etcd: 3 members up, leader ${this.leader}`);
  }

  async driver(): Promise<KvDriver> {
    // One client on the leader, as a careful operator's client would be after its first redirect.
    const client = new Etcd3({ hosts: this.leader });
    return {
      put: async (key, value) => {
        await client.put(key).value(value).exec();
      },
      get: async (key) => {
        await client.get(key).buffer();
      },
      close: async () => client.close(),
    };
  }

  memberPids(): readonly number[] {
    return this.procs.map((p) => p.pid ?? 0);
  }

  async save(run: number): Promise<SaveRun> {
    const dir = join(this.workDir, 'snapshots');
    await mkdir(dir, { recursive: true });
    if (this.lastSnapshot) await rm(this.lastSnapshot, { force: true });
    const file = join(dir, `snap-${run}.db`);
    const saved = await runTimed('etcdctl', [`--endpoints=${this.leader}`, 'snapshot', 'save', file], { env: ETCDCTL_ENV });
    const compressed = await runTimed('zstd', ['-3', '-q', '-f', file, '-o', `${file}.zst`]);
    const storedBytes = (await stat(`${file}.zst`)).size;
    const dbBytes = (await stat(file)).size;
    await rm(`${file}.zst`, { force: true });
    this.lastSnapshot = file;
    return {
      seconds: saved.seconds + compressed.seconds,
      peakRssMiB: Math.max(saved.peakRssMiB, compressed.peakRssMiB),
      storedBytes,
      detail: {
        etcdctlSeconds: saved.seconds,
        etcdctlPeakRssMiB: saved.peakRssMiB,
        zstdSeconds: compressed.seconds,
        zstdPeakRssMiB: compressed.peakRssMiB,
        dbBytes,
      },
    };
  }

  async stop(): Promise<void> {
    await this.stopProcs(this.procs);
    this.procs = [];
  }

  async restore(run: number): Promise<RestoreRun> {
    if (!this.lastSnapshot) throw new Error('etcd: no snapshot saved to restore');
    const root = join(this.workDir, `restore-${run}`);
    await mkdir(root, { recursive: true });
    const members = await planMembers(root, 'r');
    const token = `bench-etcd-restore-${run}`;
    const started = process.hrtime.bigint();
    // On three hosts the three restores run at once; here too.
    const restores = await Promise.all(members.map((m) =>
      runTimed('etcdctl', [
        'snapshot', 'restore', this.lastSnapshot,
        '--name', m.name, '--data-dir', m.dataDir,
        '--initial-cluster', initialCluster(members), '--initial-cluster-token', token,
        '--initial-advertise-peer-urls', m.peerUrl,
      ], { env: ETCDCTL_ENV })));
    const restoreSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const procs = await this.spawnMembers(members, token);
    try {
      // Serving means a write goes through: it needs a leader and a quorum that accepts entries.
      await waitFor('the restored etcd to accept a put', 120_000, async () => {
        for (const m of members) {
          const ok = await gateway(m.clientUrl, '/v3/kv/put', { key: b64('bench-restore-probe'), value: b64('x') }).catch(() => undefined);
          if (ok?.header) return true;
        }
        return undefined;
      }, 20);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { seconds, restoreSeconds, peakRssMiB: Math.max(...restores.map((r) => r.peakRssMiB)) };
    } finally {
      await this.stopProcs(procs);
      await rm(root, { recursive: true, force: true });
    }
  }

  diagnostics(): string {
    return this.members.map((m) => `${m.name}: ${logTail(`${m.dataDir}.log`)}`).join('\n');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.removeGuard();
    await rm(this.workDir, { recursive: true, force: true });
  }

  private async spawnMembers(members: readonly EtcdMemberPlan[], token: string): Promise<ChildProcess[]> {
    const cluster = initialCluster(members);
    const procs: ChildProcess[] = [];
    for (const m of members) {
      await mkdir(m.dataDir, { recursive: true });
      const args = [
        '--name', m.name, '--data-dir', m.dataDir,
        '--initial-advertise-peer-urls', m.peerUrl, '--listen-peer-urls', m.peerUrl,
        '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
        '--initial-cluster', cluster, '--initial-cluster-token', token, '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-outputs', `${m.dataDir}.log`,
      ];
      const proc = spawnTracked('etcd', args, { stdio: 'ignore' });
      procs.push(proc);
      proc.once('exit', (code, signal) => {
        if (!this.stopping.has(proc)) this.log(`etcd member ${m.name} exited on its own (${signal ?? code}): ${logTail(`${m.dataDir}.log`)}`);
      });
    }
    return procs;
  }

  private readonly stopping = new Set<ChildProcess>();

  /** All at once: a leader whose followers are already gone waits to hand over before it exits. */
  private async stopProcs(procs: readonly ChildProcess[]): Promise<void> {
    for (const p of procs) this.stopping.add(p);
    await Promise.all(procs.map((p) => terminate(p, 5000)));
  }

  private async findLeader(): Promise<string | undefined> {
    for (const m of this.members) {
      const status = await gateway(m.clientUrl, '/v3/maintenance/status', {}).catch(() => undefined);
      if (status && status.leader && status.leader !== '0' && status.leader === status.header?.member_id) return m.clientUrl;
    }
    return undefined;
  }
}
