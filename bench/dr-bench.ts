// The disaster-recovery figures the side-by-side benchmark does not cover: a drill's recovery
// time phase by phase, and save and restore through an S3 server (s3rver) beside a local
// directory, for one snapshot of N keys of 1 KiB random values (default 200,000).
//
//   node --import tsx bench/dr-bench.ts [--keys N]
//
// The snapshot is generated (no cluster needed to produce it), so the figures measure the
// toolkit: archive pipeline, repositories, restore, and starting a restored cluster.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { KeyValueRecord } from '../src/kv/record.js';
import { encodeSnapshot } from '../src/snapshot/index.js';
import { saveFromStream } from '../src/dr/save.js';
import { runDrill } from '../src/dr/drill.js';
import { listSnapshots } from '../src/dr/catalog.js';
import { planRestore } from '../src/dr/restore-plan.js';
import { restoreSnapshot } from '../src/dr/restore.js';
import { LocalRepository } from '../src/repo/local-repository.js';
import { S3Repository } from '../src/repo/s3-repository.js';
import type { Repository } from '../src/repo/repository.js';
import { startS3Server } from '../test/repo/s3-server.js';

const keys = Number(process.argv[process.argv.indexOf('--keys') + 1] ?? 0) || 200_000;
const VALUE_BYTES = 1024;

function* records(): Generator<KeyValueRecord> {
  const pool = randomBytes(VALUE_BYTES * 64);
  for (let i = 0; i < keys; i++) {
    const value = Buffer.from(pool.subarray((i % 64) * VALUE_BYTES, (i % 64 + 1) * VALUE_BYTES));
    value.writeUInt32BE(i, 0); // every value differs
    yield { key: Buffer.from(`/registry/pods/default/pod-${String(i).padStart(7, '0')}`), value, createRevision: i + 2, modRevision: i + 2, version: 1 };
  }
}

function snapshot() {
  return encodeSnapshot(
    {
      clusterId: '1234567890abcdef',
      members: [{ id: 'aaaaaaaaaaaaaaaa', name: 'n1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [], isLearner: false }],
      raftIndex: keys + 10,
      raftTerm: 2,
      revision: keys + 1,
      compactRevision: 0,
      keyCount: keys,
      createdAt: new Date().toISOString(),
      sourceMember: 'aaaaaaaaaaaaaaaa',
      extra: { consistency: 'linearizable' },
    },
    records(),
  );
}

const dataMB = (keys * (VALUE_BYTES + 32)) / 1e6;
const rows: [string, string][] = [];
const row = (name: string, value: string) => {
  rows.push([name, value]);
  process.stderr.write(`${name}: ${value}\n`);
};

async function save(repo: Repository, label: string): Promise<void> {
  const t0 = Date.now();
  await saveFromStream(snapshot(), { repo, consistency: 'linearizable', source: 'bench' });
  const s = (Date.now() - t0) / 1000;
  row(`save to ${label}`, `${s.toFixed(2)} s, ${(dataMB / s).toFixed(1)} MB/s of KV data`);
}

async function restore3(repo: Repository, label: string, root: string): Promise<void> {
  const entry = (await listSnapshots(repo)).snapshots[0]!;
  const cluster = ['r1', 'r2', 'r3'].map((n, i) => `${n}=http://127.0.0.1:${24100 + i}`).join(',');
  const plan = planRestore({ initialCluster: cluster, token: `bench-${label}`, targets: ['r1', 'r2', 'r3'].map((name) => ({ name, dataDir: join(root, `${label}-${name}`) })) });
  const t0 = Date.now();
  await restoreSnapshot({ repo, ref: { kind: 'repo', entry }, plan });
  row(`restore 3 data dirs from ${label}`, `${((Date.now() - t0) / 1000).toFixed(2)} s`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-dr-bench-'));
  const s3 = await startS3Server('bench');
  try {
    process.stderr.write(`${keys} keys of ${VALUE_BYTES} B (${dataMB.toFixed(0)} MB of KV data); ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB\n`);
    const local = new LocalRepository(join(work, 'repo'));
    await save(local, 'a local directory');
    const s3repo = new S3Repository(`s3://${s3.bucket}/bench`, { endpoint: s3.endpoint });
    await save(s3repo, 's3rver');
    await restore3(local, 'local', work);
    await restore3(s3repo, 's3', work);
    s3repo.close();

    const { report, error } = await runDrill({ repo: local, snapshot: 'latest', members: 3, workDir: work });
    if (error || report.result !== 'pass') throw error ?? new Error(`drill failed: ${JSON.stringify(report.checks)}`);
    const p = report.phases;
    const sec = (ms?: number) => `${((ms ?? 0) / 1000).toFixed(2)} s`;
    row('drill: download', sec(p.downloadMs));
    row('drill: verify', sec(p.verifyMs));
    row('drill: restore (3 members, one pass)', sec(p.restoreMs));
    row('drill: start to leader', sec(p.startMs));
    row('drill: checks', sec(p.checksMs));
    row('drill: recovery time to a serving cluster', sec(p.recoveryMs));
    row('peak RSS of this process', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    process.stdout.write(['| figure | value |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n') + '\n');
  } finally {
    await s3.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
