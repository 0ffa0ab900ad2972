// `lifeboat demo`: the whole toolkit on a fresh machine, with no flags. A local 3-member
// cluster, sample data shaped like a Kubernetes registry, a snapshot saved to
// ./lifeboat-backups, verified, drilled into a throwaway cluster, and everything stopped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LifeboatClient } from '../client/lifeboat-client.js';
import { planLocalCluster, startLocalCluster, type LocalCluster } from '../client/local-cluster.js';
import { LocalRepository } from '../repo/local-repository.js';
import type { Manifest } from '../repo/manifest.js';
import type { DrillOutcome } from './drill.js';
import { runDrill } from './drill.js';
import { saveSnapshot } from './save.js';
import { verifySnapshotRef } from './verify.js';
import { listSnapshots } from './catalog.js';
import { trackScratch } from './restore-scratch.js';

export interface DemoOptions {
  /** Where backups go (default ./lifeboat-backups). */
  readonly backupDir?: string;
  readonly keys?: number;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
}

export interface DemoResult {
  readonly manifest: Manifest;
  readonly drill: DrillOutcome;
}

const KINDS = ['pods', 'configmaps', 'secrets', 'services', 'deployments', 'serviceaccounts'];
const NAMESPACES = ['default', 'kube-system', 'monitoring', 'payments'];

/** Runs the tour; the members are stopped whatever happens. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log;
  const dataRoot = await mkdtemp(join(tmpdir(), 'lifeboat-demo-'));
  // Everything temporary (the members' directories, the save's spool) lives under dataRoot, so
  // one removal cleans up, and a second Ctrl-C that skips the clean stop still removes it.
  const untrack = trackScratch(dataRoot);
  let cluster: LocalCluster | undefined;
  try {
    log('1/5 starting a local 3-member cluster');
    const plan = await planLocalCluster({ members: 3, dataRoot, token: 'lifeboat-demo' });
    cluster = await startLocalCluster(plan, { signal: options.signal });
    log(`    members: ${cluster.endpoints.join(', ')}`);

    const keys = options.keys ?? 3000;
    log(`2/5 loading ${keys} sample keys (/registry/<kind>/<namespace>/<name>)`);
    const client = new LifeboatClient(cluster.endpoints, { signal: options.signal });
    try {
      await loadSampleData(client, keys);

      const backupDir = resolve(options.backupDir ?? 'lifeboat-backups');
      const repo = new LocalRepository(backupDir);
      log(`3/5 saving a snapshot to ${backupDir}`);
      const { manifest } = await saveSnapshot({ client, repo, signal: options.signal, spoolDir: dataRoot });
      log(`    saved ${manifest.id}: ${manifest.keyCount} keys at revision ${manifest.revision}, ${manifest.snapshotBytes} bytes -> ${manifest.archiveBytes} compressed`);

      log('4/5 verifying it: every chunk, the trailer, the KV hash, the archive hash');
      const entry = (await listSnapshots(repo, { drills: false })).snapshots.find((s) => s.id === manifest.id)!;
      await verifySnapshotRef(repo, { kind: 'repo', entry }, { signal: options.signal });
      log('    ok');

      log('5/5 drilling it: restoring into a throwaway 3-member cluster and checking it');
      const drill = await runDrill({ repo, snapshot: manifest.id, members: 3, signal: options.signal, log: (l) => log(`    ${l}`), workDir: dataRoot });
      return { manifest, drill };
    } finally {
      client.close();
    }
  } finally {
    if (cluster) {
      log('stopping the demo cluster');
      await cluster.stop(5_000);
    }
    await rm(dataRoot, { recursive: true, force: true });
    untrack();
  }
}

/** Puts `count` keys that look like a Kubernetes registry, 32 at a time. */
async function loadSampleData(client: LifeboatClient, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const kind = KINDS[i % KINDS.length]!;
      const ns = NAMESPACES[Math.floor(i / KINDS.length) % NAMESPACES.length]!;
      const name = `${kind.slice(0, -1)}-${String(i).padStart(5, '0')}`;
      const value = JSON.stringify({ kind, metadata: { name, namespace: ns, uid: `uid-${i.toString(16).padStart(8, '0')}`, labels: { app: `app-${i % 37}` } }, spec: { replicas: (i % 5) + 1 } });
      await client.put(`/registry/${kind}/${ns}/${name}`, value);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}
