import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { pruneRepository } from '../../src/dr/prune.js';
import { listSnapshots } from '../../src/dr/catalog.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import type { Repository } from '../../src/repo/repository.js';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { header, records, tempDir, listFiles } from '../archive/helpers.js';
import { startS3Server, type S3Server } from '../repo/s3-server.js';

/** Saves a small real snapshot of cluster `clusterId` as if taken at `iso`. */
async function saveAt(repo: Repository, iso: string, revision: number, clusterId = 'cdf818194e3a8c32', spoolDir?: string) {
  const stream = encodeSnapshot(header(5, revision, clusterId), records(5), { chunkBytes: 16 * 1024 });
  const { manifest } = await saveFromStream(stream, { repo, consistency: 'linearizable', source: 'test', spoolDir, now: () => new Date(iso) });
  return manifest.id;
}

const DAYS = ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25'];

async function fillRepository(repo: Repository): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, day] of DAYS.entries()) {
    ids.push(await saveAt(repo, `${day}T06:00:00Z`, 100 + i * 2));
    ids.push(await saveAt(repo, `${day}T18:00:00Z`, 101 + i * 2));
  }
  return ids;
}

async function committedIds(repo: Repository): Promise<string[]> {
  return (await listSnapshots(repo, { drills: false })).snapshots.map((s) => s.id);
}

test('prune on a local repository keeps what the policy keeps, deletes the rest, and says why', async () => {
  const tmp = await tempDir('prune-local');
  try {
    const repo = new LocalRepository(join(tmp.dir, 'repo'));
    const ids = await fillRepository(repo);
    const result = await pruneRepository({ repo, policy: { keepLast: 2, keepDaily: 4 }, dryRun: false });
    // last 2 = the two of 11-25; daily 4 = the evening snapshots of 11-25, 24, 23, 22.
    const expected = [ids[11], ids[10], ids[9], ids[7], ids[5]];
    assert.deepEqual(result.kept.map((k) => k.id), expected);
    assert.deepEqual(result.kept[0]!.reasons, ['last 1', 'daily 2026-11-25', 'newest verified']);
    assert.equal(result.deleted.length, 7);
    assert.deepEqual(await committedIds(repo), [...expected].reverse());
    const files = await listFiles(join(tmp.dir, 'repo'));
    for (const d of result.deleted) assert.ok(!files.some((f) => f.includes(d.id)), `${d.id} left files behind`);
  } finally {
    await tmp.cleanup();
  }
});

test('a dry run plans the same prune and deletes nothing', async () => {
  const tmp = await tempDir('prune-dry');
  try {
    const repo = new LocalRepository(join(tmp.dir, 'repo'));
    const ids = await fillRepository(repo);
    const result = await pruneRepository({ repo, policy: { keepLast: 3 }, dryRun: true });
    assert.equal(result.deleted.length, 9);
    assert.deepEqual(await committedIds(repo), ids);
  } finally {
    await tmp.cleanup();
  }
});

test('prune removes incomplete uploads older than an hour and leaves younger ones to the save that may own them', async () => {
  const tmp = await tempDir('prune-incomplete');
  try {
    const root = join(tmp.dir, 'repo');
    const repo = new LocalRepository(root);
    await saveAt(repo, '2026-11-25T06:00:00Z', 10);
    const old = join(root, 'snapshots', '20261124T060000Z-cdf818194e3a8c32-r9.tar.zst');
    const young = join(root, 'snapshots', '20261125T070000Z-cdf818194e3a8c32-r11.tar.zst');
    writeFileSync(old, 'half an upload');
    writeFileSync(young, 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const result = await pruneRepository({ repo, policy: { keepLast: 5 }, dryRun: false });
    assert.deepEqual(result.incomplete, ['snapshots/20261124T060000Z-cdf818194e3a8c32-r9.tar.zst']);
    const files = await listFiles(root);
    assert.ok(!files.includes('snapshots/20261124T060000Z-cdf818194e3a8c32-r9.tar.zst'));
    assert.ok(files.includes('snapshots/20261125T070000Z-cdf818194e3a8c32-r11.tar.zst'));
  } finally {
    await tmp.cleanup();
  }
});

test('two clusters in one repository are pruned separately', async () => {
  const tmp = await tempDir('prune-clusters');
  try {
    const repo = new LocalRepository(join(tmp.dir, 'repo'));
    for (const day of DAYS) {
      await saveAt(repo, `${day}T01:00:00Z`, 50, 'aaaaaaaaaaaaaaaa');
      await saveAt(repo, `${day}T02:00:00Z`, 60, 'bbbbbbbbbbbbbbbb');
    }
    const result = await pruneRepository({ repo, policy: { keepLast: 1 }, dryRun: false });
    assert.deepEqual(result.kept.map((k) => k.clusterId).sort(), ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    assert.equal((await committedIds(repo)).length, 2);
  } finally {
    await tmp.cleanup();
  }
});

test('a policy that keeps nothing is refused before anything is deleted', async () => {
  const tmp = await tempDir('prune-refuse');
  try {
    const repo = new LocalRepository(join(tmp.dir, 'repo'));
    const ids = await fillRepository(repo);
    await assert.rejects(pruneRepository({ repo, policy: { keepLast: 0 }, dryRun: false }), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.unsafe);
    assert.deepEqual(await committedIds(repo), ids);
  } finally {
    await tmp.cleanup();
  }
});

let s3: S3Server;
before(async () => {
  s3 = await startS3Server('prune-bucket');
});
after(async () => {
  await s3.stop();
});

test('prune on an S3 repository deletes manifests, archives and drill reports of pruned snapshots', async () => {
  const tmp = await tempDir('prune-s3-spool');
  const repo = new S3Repository(`s3://${s3.bucket}/cluster-a`, { endpoint: s3.endpoint });
  try {
    const ids = await fillRepository(repo);
    await repo.writeSmall(`drills/${ids[0]}--20261125T100000Z.json`, Buffer.from('{"result":"pass"}'));
    await repo.writeSmall(`snapshots/20261119T000000Z-cdf818194e3a8c32-r1.tar.zst`, Buffer.from('orphan'));
    const result = await pruneRepository({ repo, policy: { keepDaily: 2 }, dryRun: false, incompleteGraceMs: 0 });
    assert.deepEqual(result.kept.map((k) => k.id), [ids[11], ids[9]]);
    assert.deepEqual(result.incomplete, ['snapshots/20261119T000000Z-cdf818194e3a8c32-r1.tar.zst']);
    const keys = (await repo.list('')).map((o) => o.key);
    assert.deepEqual(keys.filter((k) => k.startsWith('drills/')), []);
    assert.deepEqual(keys.filter((k) => k.startsWith('snapshots/')).sort(), [`snapshots/${ids[9]}.json`, `snapshots/${ids[9]}.tar.zst`, `snapshots/${ids[11]}.json`, `snapshots/${ids[11]}.tar.zst`].sort());
  } finally {
    repo.close();
    await tmp.cleanup();
  }
});

test('the prune command refuses a policy that keeps nothing with exit 17, one error line and a hint', async () => {
  const tmp = await tempDir('prune-cli');
  try {
    const repo = new LocalRepository(join(tmp.dir, 'repo'));
    await saveAt(repo, '2026-11-25T06:00:00Z', 10);
    const run = spawnSync(process.execPath, ['bin/lifeboat', 'snapshot', 'prune', '--repo', join(tmp.dir, 'repo'), '--keep-last', '0'], { encoding: 'utf8' });
    assert.equal(run.status, ExitCode.unsafe, run.stderr);
    assert.match(run.stderr, /^lifeboat: refusing a retention policy that keeps nothing\nhint: .*--keep-last/m);
  } finally {
    await tmp.cleanup();
  }
});

test('the prune command prints its plan as JSON with --dry-run --json and leaves the repository as it was', async () => {
  const tmp = await tempDir('prune-cli-json');
  try {
    const root = join(tmp.dir, 'repo');
    const repo = new LocalRepository(root);
    const ids = await fillRepository(repo);
    const run = spawnSync(process.execPath, ['bin/lifeboat', 'snapshot', 'prune', '--repo', root, '--keep-last', '1', '--dry-run', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.schema, 'lifeboat.snapshot.prune/v1');
    assert.equal(doc.dryRun, true);
    assert.deepEqual(doc.kept.map((k: { id: string }) => k.id), [ids[11]]);
    assert.equal(doc.deleted.length, 11);
    assert.deepEqual(await committedIds(repo), ids);
    assert.deepEqual((await listFiles(root)).filter((f) => f.startsWith('locks/')), [], 'the lock is released');
  } finally {
    await tmp.cleanup();
  }
});

test('when the newest snapshot has lost its archive, prune still keeps the newest restorable one', async () => {
  const tmp = await tempDir('prune-damaged-newest');
  try {
    const root = join(tmp.dir, 'repo');
    const repo = new LocalRepository(root);
    const ids = await fillRepository(repo);
    // The newest manifest survives but its archive is gone (a damaged bucket, a manual delete).
    await repo.delete(`snapshots/${ids[11]}.tar.zst`);
    const result = await pruneRepository({ repo, policy: { keepLast: 1 }, dryRun: false });
    const kept = new Map(result.kept.map((k) => [k.id, k.reasons]));
    assert.deepEqual(kept.get(ids[10]!), ['newest verified'], 'the newest snapshot that can still be restored survives');
    assert.ok(kept.has(ids[11]!), 'the damaged one is kept by its rule and stays visible for the operator');
    const survivors = (await listSnapshots(repo, { drills: false })).snapshots.filter((s) => s.archivePresent).map((s) => s.id);
    assert.deepEqual(survivors, [ids[10]]);
  } finally {
    await tmp.cleanup();
  }
});

test('a prune that meets a damaged manifest still prunes what it can read, leaves the damage in place and exits 13', async () => {
  const tmp = await tempDir('prune-damaged');
  try {
    const root = join(tmp.dir, 'repo');
    const repo = new LocalRepository(root);
    const ids = await fillRepository(repo);
    const damaged = 'snapshots/20261119T000000Z-cdf818194e3a8c32-r7.json';
    writeFileSync(join(root, damaged), '{"schema": "lifeboat.manifest/v1", "id": ');
    const run = spawnSync(process.execPath, ['bin/lifeboat', 'snapshot', 'prune', '--repo', root, '--keep-last', '2'], { encoding: 'utf8' });
    assert.equal(run.status, ExitCode.integrity, run.stderr);
    assert.match(run.stderr, /^lifeboat: prune finished, but 1 manifest\(s\) .* are damaged/m);
    assert.match(run.stderr, /^hint: run lifeboat snapshot verify --all/m);
    assert.deepEqual(await committedIds(repo), ids.slice(-2));
    assert.ok((await listFiles(root)).includes(damaged), 'what prune cannot read, it never deletes');
  } finally {
    await tmp.cleanup();
  }
});
