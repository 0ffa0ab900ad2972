// Real `lifeboat serve` processes on free loopback ports, for the server tests: start N members
// (optionally behind PeerProxy so tests can partition them), kill, restart, add, and talk to
// them through the HTTP API with plain fetch. Requires `npm run build` (the processes run dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from './free-port.js';
import { PeerProxy } from './tcp-proxy.js';
import { waitFor } from './wait-for.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

/** One member process and its addresses. */
export class TestMember {
  proc: ChildProcess | undefined;
  logs = '';
  exitCode: number | null | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    /** What the cluster dials (the proxy when there is one). */
    readonly peerUrl: string,
    readonly listenPeerUrl: string,
    readonly dataDir: string,
    readonly proxy: PeerProxy | undefined,
    private readonly baseArgs: () => string[],
  ) {}

  /** Spawns the process; resolves once it prints its ready line. */
  async start(extraArgs: string[] = [], opts: { waitReady?: boolean } = {}): Promise<void> {
    this.exitCode = undefined;
    const logStart = this.logs.length;
    // LIFEBOAT_TEST_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the members.
    const nodeArgs = (process.env.LIFEBOAT_TEST_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const proc = spawn(process.execPath, [...nodeArgs, BIN, 'serve', ...this.baseArgs(), ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => (this.logs += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.logs += d.toString()));
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    if (opts.waitReady === false) return;
    // Logs accumulate over restarts: look for the ready line of this run only.
    const from = logStart;
    await waitFor(`${this.name} to print its ready line`, () => {
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited with ${this.exitCode}:\n${this.logs}`);
      return this.logs.indexOf('ready: serving clients on', from) >= 0;
    });
  }

  /** Sends a signal (SIGKILL, SIGTERM, SIGSTOP, SIGCONT) to the process. */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** Kills with SIGKILL and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.proc || this.exitCode !== undefined) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Stops with SIGTERM and waits for the exit. */
  async stop(): Promise<void> {
    if (!this.proc || this.exitCode !== undefined) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }

  /** Resolves when the process has exited. */
  async waitExit(): Promise<number | null> {
    await this.exited;
    return this.exitCode ?? null;
  }

  get running(): boolean {
    return this.proc !== undefined && this.exitCode === undefined;
  }

  /** POSTs JSON to the member's client API. */
  async api(path: string, body: unknown = {}, timeoutMs = 20_000): Promise<{ status: number; json: any }> {
    const res = await fetch(this.clientUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  async put(key: string, value: string): Promise<{ status: number; json: any }> {
    return this.api('/v3/kv/put', { key: b64(key), value: b64(value) });
  }

  /** The value of `key` (undefined when absent); throws on an API error. */
  async get(key: string, opts: { serializable?: boolean } = {}): Promise<string | undefined> {
    const r = await this.api('/v3/kv/range', { key: b64(key), ...(opts.serializable ? { serializable: true } : {}) });
    if (r.status !== 200) throw new Error(`range on ${this.name}: ${r.status} ${JSON.stringify(r.json)}`);
    const kv = r.json.kvs?.[0];
    return kv ? Buffer.from(kv.value ?? '', 'base64').toString() : undefined;
  }

  async status(): Promise<any> {
    const r = await this.api('/v3/maintenance/status', {}, 5_000);
    if (r.status !== 200) throw new Error(`status on ${this.name}: ${r.status}`);
    return r.json;
  }
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

export interface TestClusterOptions {
  readonly members?: number;
  readonly snapshotCount?: number;
  /** Put a PeerProxy in front of every member's peer port. */
  readonly proxies?: boolean;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  readonly token?: string;
}

/** N members of one cluster. */
export class TestCluster {
  readonly members: TestMember[] = [];
  readonly root: string;
  private readonly opts: Required<Omit<TestClusterOptions, 'members'>>;

  private constructor(opts: TestClusterOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'lifeboat-cluster-'));
    this.opts = {
      snapshotCount: opts.snapshotCount ?? 10_000,
      proxies: opts.proxies ?? false,
      heartbeatMs: opts.heartbeatMs ?? 100,
      electionMs: opts.electionMs ?? 1000,
      token: opts.token ?? 'test-token',
    };
  }

  /** Starts `members` members and waits until one of them leads. */
  static async start(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(opts);
    const n = opts.members ?? 3;
    for (let i = 1; i <= n; i++) await c.prepare(`n${i}`);
    try {
      await Promise.all(c.members.map((m) => m.start()));
      await c.waitForLeader();
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  private initialCluster(members: readonly TestMember[]): string {
    return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** Creates a member's ports, proxy and arguments without starting it. */
  async prepare(name: string, opts: { state?: 'new' | 'existing' } = {}): Promise<TestMember> {
    const [client, peer, proxyPort] = await freePorts(3);
    const listenPeerUrl = `http://127.0.0.1:${peer}`;
    let proxy: PeerProxy | undefined;
    if (this.opts.proxies) {
      proxy = new PeerProxy(proxyPort!, peer!);
      await proxy.start();
    }
    const peerUrl = proxy ? proxy.url : listenPeerUrl;
    const state = opts.state ?? 'new';
    const frozen = state === 'existing' ? undefined : this.members;
    const m: TestMember = new TestMember(name, `http://127.0.0.1:${client}`, peerUrl, listenPeerUrl, join(this.root, name), proxy, () => [
      '--name', name,
      '--data-dir', join(this.root, name),
      '--listen-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', listenPeerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', this.initialCluster(frozen ?? this.members),
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.opts.token,
      '--snapshot-count', String(this.opts.snapshotCount),
      '--heartbeat-interval', String(this.opts.heartbeatMs),
      '--election-timeout', String(this.opts.electionMs),
    ]);
    this.members.push(m);
    return m;
  }

  /** The member every running member agrees leads (by status), waiting for one. */
  async waitForLeader(among: readonly TestMember[] = this.members.filter((m) => m.running)): Promise<TestMember> {
    return await waitFor('a leader every running member agrees on', async () => {
      const statuses = await Promise.all(among.map((m) => m.status().catch(() => undefined)));
      const leaders = new Set(statuses.map((s) => s?.leader));
      if (leaders.size !== 1 || statuses.some((s) => !s?.leader)) return undefined;
      const leaderId = statuses[0].leader as string;
      return among.find((m, i) => statuses[i].header.member_id === leaderId);
    });
  }

  /** Decimal member ID as the API prints it. */
  async idOf(m: TestMember): Promise<string> {
    return (await m.status()).header.member_id as string;
  }

  /** Kills every member and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    await Promise.all(this.members.map((m) => m.proxy?.close()));
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Runs `fn`, and on failure adds the tail of every member's log to the error (for CI diagnosis). */
  async run(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const tail = this.members.map((m) => `---- ${m.name}\n${m.logs.split('\n').slice(-60).join('\n')}`).join('\n');
      if (err instanceof Error) err.message += `\nmember logs:\n${tail}`;
      throw err;
    }
  }

  /** Every member's logs, for failure messages. */
  logs(): string {
    return this.members.map((m) => `---- ${m.name}\n${m.logs}`).join('\n');
  }
}
