// `snapshot save` throughput and peak memory: 200,000 records of 1 KiB served over HTTP from a
// pre-generated snapshot file (standing in for a member), saved by the real CLI
// (`node bin/lifeboat snapshot save`) into a local repository: receive + verify every chunk +
// zstd -3 + store + read back and verify everything. Peak RSS is the child's VmHWM.
// Run after `npm run build`: node --import tsx bench/save-bench.ts [records] [runs] [random|mixed]
// A/B on a busy machine: LIFEBOAT_BENCH_BINS=/old/bin/lifeboat,bin/lifeboat alternates the builds
// run by run (same served snapshot), so a burst of load falls on both alike; one line per build.
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import type { KeyValueRecord } from '../src/kv/record.js';
import { encodeSnapshot } from '../src/snapshot/index.js';

export interface SaveBenchResult {
  readonly records: number;
  readonly values: 'random' | 'mixed';
  /** Key + value bytes. */
  readonly dataBytes: number;
  readonly snapshotBytes: number;
  readonly archiveBytes: number;
  /** Median wall time of the whole CLI run, in seconds (process start to exit). */
  readonly seconds: number;
  /** MB/s (10^6) of key-value data over the median wall time. */
  readonly dataMBps: number;
  /** Median peak RSS of the saving process, MiB. */
  readonly peakRssMiB: number;
  /** Median CPU seconds (user + system) of the saving process: less sensitive than wall time to a busy machine. */
  readonly cpuSeconds: number;
  /** Median phase timings from the manifest (ms). */
  readonly streamMs: number;
  readonly uploadMs: number;
  readonly verifyMs: number;
  /** `zstd -3` of the raw snapshot file alone, seconds (reference: etcd's pipeline compresses after saving). */
  readonly zstdCliSeconds?: number;
  /** The same, CPU seconds (user + system). */
  readonly zstdCliCpuSeconds?: number;
  readonly runs: readonly { seconds: number; cpuSeconds: number; peakRssMiB: number }[];
}

/** Records whose values are random bytes (incompressible) or a k8s-like mix (JSON text with random IDs, ~3x). */
function* benchRecords(count: number, values: 'random' | 'mixed'): Generator<KeyValueRecord> {
  const slab = Buffer.allocUnsafe(1024 * 256);
  for (let i = 0; i < count; i++) {
    if (i % 256 === 0) randomFillSync(slab);
    let value: Buffer;
    if (values === 'random') {
      value = Buffer.from(slab.subarray((i % 256) * 1024, (i % 256 + 1) * 1024));
    } else {
      const uid = slab.toString('hex', (i % 256) * 1024, (i % 256) * 1024 + 16);
      const data = slab.toString('base64', (i % 256) * 1024 + 16, (i % 256) * 1024 + 16 + 300);
      const text = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"pod-${i}","namespace":"default","uid":"${uid}","labels":{"app":"web","tier":"frontend"}},"spec":{"containers":[{"name":"web","image":"nginx:1.25","ports":[{"containerPort":80}]}]},"data":"${data}"}`;
      value = Buffer.alloc(1024, 0x20);
      value.write(text.slice(0, 1024));
    }
    yield { key: Buffer.from(`/registry/pods/default/pod-${String(i).padStart(8, '0')}`), value, createRevision: i + 2, modRevision: i + 2, version: 1 };
  }
}

async function writeSnapshotFile(path: string, count: number, values: 'random' | 'mixed'): Promise<number> {
  const header = {
    clusterId: '0123456789abcdef',
    members: [{ id: '0123456789abcdef', name: 'bench', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'], isLearner: false }],
    raftIndex: count + 10,
    raftTerm: 2,
    revision: count + 1,
    compactRevision: 0,
    keyCount: count,
    createdAt: new Date().toISOString(),
    sourceMember: '0123456789abcdef',
    extra: { consistency: 'linearizable' as const },
  };
  await pipeline(encodeSnapshot(header, benchRecords(count, values)), createWriteStream(path));
  return (await stat(path)).size;
}

function serveFile(path: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(path, { highWaterMark: 1024 * 1024 }).pipe(res);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    resolve({ server, url: `http://127.0.0.1:${address.port}` });
  }));
}

/** Runs the CLI once; resolves with its wall time, peak RSS (VmHWM, sampled) and JSON summary. */
function runSave(url: string, repo: string, bin = process.env.LIFEBOAT_BENCH_BIN ?? 'bin/lifeboat'): Promise<{ seconds: number; cpuSeconds: number; peakRssMiB: number; summary: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'snapshot', 'save', '--endpoints', url, '--repo', repo, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let peakKiB = 0;
    let cpuTicks = 0;
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const sample = async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      // utime and stime, in clock ticks (100 per second on Linux), fields 14 and 15 after the command name.
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields.length > 13) cpuTicks = Math.max(cpuTicks, Number(fields[11]) + Number(fields[12]));
    };
    const timer = setInterval(() => void sample(), 20);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        reject(new Error(`snapshot save exited ${code}: ${err}`));
        return;
      }
      resolve({ seconds, cpuSeconds: cpuTicks / 100, peakRssMiB: peakKiB / 1024, summary: JSON.parse(out) });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The whole benchmark; the caller prints or tabulates the result. */
export async function runSaveBench(records = 200_000, runs = 3, values: 'random' | 'mixed' = 'random'): Promise<SaveBenchResult> {
  return (await runSaveBenchAB([process.env.LIFEBOAT_BENCH_BIN ?? 'bin/lifeboat'], records, runs, values))[0]!;
}

/** The benchmark for several builds of the CLI, taking turns run by run; one result per build, in order. */
export async function runSaveBenchAB(bins: readonly string[], records = 200_000, runs = 3, values: 'random' | 'mixed' = 'random'): Promise<SaveBenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-save-bench-'));
  const snap = join(dir, 'source.snap');
  let server: Server | undefined;
  try {
    const snapshotBytes = await writeSnapshotFile(snap, records, values);
    const served = await serveFile(snap);
    server = served.server;
    const byBin: Awaited<ReturnType<typeof runSave>>[][] = bins.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [b, bin] of bins.entries()) {
        const repo = join(dir, `repo-${i}-${b}`);
        byBin[b]!.push(await runSave(served.url, repo, bin));
        await rm(repo, { recursive: true, force: true });
      }
    }
    let zstdCliSeconds: number | undefined;
    let zstdCliCpuSeconds: number | undefined;
    if (spawnSync('zstd', ['--version']).status === 0) {
      const t = performance.now();
      const timed = spawnSync('bash', ['-c', 'TIMEFORMAT="%U %S"; time zstd -3 -q -f -o "$0" "$1"', join(dir, 'source.snap.zst'), snap], { encoding: 'utf8' });
      zstdCliSeconds = (performance.now() - t) / 1000;
      const [user, sys] = timed.stderr.trim().split(/\s+/).map(Number);
      if (Number.isFinite(user) && Number.isFinite(sys)) zstdCliCpuSeconds = user! + sys!;
    }
    return byBin.map((results) => {
      const last = results[results.length - 1]!.summary;
      const seconds = median(results.map((r) => r.seconds));
      return {
        records,
        values,
        dataBytes: last.dataBytes,
        snapshotBytes,
        archiveBytes: last.archiveBytes,
        seconds,
        dataMBps: last.dataBytes / 1e6 / seconds,
        peakRssMiB: median(results.map((r) => r.peakRssMiB)),
        cpuSeconds: median(results.map((r) => r.cpuSeconds)),
        streamMs: median(results.map((r) => r.summary.durations.streamMs)),
        uploadMs: median(results.map((r) => r.summary.durations.uploadMs)),
        verifyMs: median(results.map((r) => r.summary.durations.verifyMs)),
        zstdCliSeconds,
        zstdCliCpuSeconds,
        runs: results.map((r) => ({ seconds: Math.round(r.seconds * 1000) / 1000, cpuSeconds: r.cpuSeconds, peakRssMiB: Math.round(r.peakRssMiB) })),
      };
    });
  } finally {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const records = Number(process.argv[2] ?? 200_000);
  const runs = Number(process.argv[3] ?? 3);
  const values = (process.argv[4] ?? 'random') as 'random' | 'mixed';
  const bins = (process.env.LIFEBOAT_BENCH_BINS ?? process.env.LIFEBOAT_BENCH_BIN ?? 'bin/lifeboat').split(',');
  const all = await runSaveBenchAB(bins, records, runs, values);
  console.log(JSON.stringify(all.length === 1 ? all[0] : all, null, 2));
  for (const [b, r] of all.entries()) {
    console.log(
      `${bins.length > 1 ? `${bins[b]}: ` : ''}snapshot save, ${records} x 1 KiB (${values} values): ${r.seconds.toFixed(2)} s wall, ${r.dataMBps.toFixed(1)} MB/s of key-value data, ` +
        `${r.cpuSeconds.toFixed(2)} CPU s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB; phases (median ms) stream ${r.streamMs}, store ${r.uploadMs}, read-back ${r.verifyMs}; ` +
        `zstd -3 alone ${r.zstdCliSeconds?.toFixed(2)} s (${r.zstdCliCpuSeconds?.toFixed(2)} CPU s); snapshot ${(r.snapshotBytes / 1e6).toFixed(0)} MB -> archive ${(r.archiveBytes / 1e6).toFixed(0)} MB`,
    );
  }
}
