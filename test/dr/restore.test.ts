import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { listSnapshots, resolveSnapshot } from '../../src/dr/catalog.js';
import { dumpSnapshotRef } from '../../src/dr/verify.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { ExitCode } from '../../src/errors.js';
import { TestCluster, TestMember, b64 } from '../helpers/test-cluster.js';
import { freePorts } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

function lifeboat(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Members of a brand-new cluster built from restored data directories, not yet started. */
async function restoredMembers(root: string, names: string[], token: string, peerPorts?: number[]): Promise<{ members: TestMember[]; initialCluster: string }> {
  const ports = await freePorts(names.length * 2);
  const peers = names.map((_, i) => `http://127.0.0.1:${peerPorts?.[i] ?? ports[2 * i]!}`);
  const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(',');
  const members = names.map((name, i) => {
    const client = `http://127.0.0.1:${ports[2 * i + 1]}`;
    const dataDir = join(root, name);
    return new TestMember(name, client, peers[i]!, peers[i]!, dataDir, undefined, () => [
      '--name', name, '--data-dir', dataDir, '--listen-client-urls', client, '--listen-peer-urls', peers[i]!,
      '--initial-advertise-peer-urls', peers[i]!, '--initial-cluster', initialCluster, '--initial-cluster-token', token,
    ]);
  });
  return { members, initialCluster };
}

async function leaderOf(members: TestMember[]): Promise<TestMember> {
  return await waitFor('a leader of the restored cluster', async () => {
    const statuses = await Promise.all(members.map((m) => m.status().catch(() => undefined)));
    const leaders = new Set(statuses.map((s) => s?.leader));
    if (leaders.size !== 1 || statuses.some((s) => !s?.leader)) return undefined;
    return members.find((_, i) => statuses[i].header.member_id === statuses[0].leader);
  });
}

async function allRecords(repo: LocalRepository, id: string): Promise<KeyValueRecord[]> {
  const out: KeyValueRecord[] = [];
  await dumpSnapshotRef(repo, await resolveSnapshot(repo, id), (batch) => {
    out.push(...batch);
  });
  return out;
}

test('a cluster saved under write load, destroyed and restored with new names, ports and token serves the same data and takes writes', { timeout: 300_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-'));
  const repoDir = join(work, 'repo');
  const old = await TestCluster.start({ members: 3 });
  let restored: TestMember[] = [];
  try {
    const leader = await old.waitForLeader();
    for (let i = 0; i < 200; i++) assert.equal((await leader.put(`/registry/pods/p${String(i).padStart(4, '0')}`, `spec-${i}`)).status, 200);
    await leader.api('/v3/kv/put', { key: b64('/bin/\u0000\u00ff'), value: Buffer.from([0, 1, 2, 255]).toString('base64') });
    await leader.put('/registry/pods/p0001', 'spec-1-updated');
    await leader.api('/v3/kv/deleterange', { key: b64('/registry/pods/p0002') });

    // Writes keep flowing while the snapshot is taken.
    let writing = true;
    let acknowledged = 0;
    const load = (async () => {
      for (let i = 0; writing; i++) {
        const r = await old.members[i % 3]!.put(`/load/${i}`, 'x').catch(() => undefined);
        if (r?.status === 200) acknowledged++;
      }
    })();
    await waitFor('writes under way', () => acknowledged > 5);
    const endpoints = old.members.map((m) => m.clientUrl).join(',');
    const save = lifeboat(['snapshot', 'save', '--endpoints', endpoints, '--repo', repoDir, '--json']);
    writing = false;
    await load;
    assert.equal(save.status, 0, save.stderr);
    const saved = JSON.parse(save.stdout);
    const oldClusterId = (await leader.status()).header.cluster_id;
    await old.destroy();

    const { members, initialCluster } = await restoredMembers(join(work, 'new'), ['r1', 'r2', 'r3'], 'restored-token');
    restored = members;
    // One restore per member, as on separate hosts: they must agree on every ID without talking.
    const clusterIds = new Set<string>();
    for (const m of members) {
      const r = lifeboat(['snapshot', 'restore', saved.id, '--repo', repoDir, '--name', m.name, '--initial-cluster', initialCluster,
        '--initial-cluster-token', 'restored-token', '--initial-advertise-peer-urls', m.peerUrl, '--data-dir', m.dataDir, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.schema, 'lifeboat.snapshot.restore/v1');
      assert.equal(doc.revision, saved.revision);
      clusterIds.add(doc.clusterId);
    }
    assert.equal(clusterIds.size, 1);
    await Promise.all(members.map((m) => m.start()));
    const newLeader = await leaderOf(members);

    const follower = members.find((m) => m !== newLeader)!;
    const status = await follower.status();
    assert.equal(status.header.cluster_id, [...clusterIds].map((h) => BigInt('0x' + h).toString())[0]);
    assert.notEqual(status.header.cluster_id, oldClusterId);

    const repo = new LocalRepository(repoDir);
    const expected = await allRecords(repo, saved.id);
    const range = await follower.api('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') });
    assert.equal(range.status, 200);
    assert.equal(range.json.header.revision, String(saved.revision));
    assert.equal(Number(range.json.count), expected.length);
    assert.equal(range.json.kvs.length, expected.length);
    range.json.kvs.forEach((kv: any, i: number) => {
      const e = expected[i]!;
      assert.equal(kv.key, e.key.toString('base64'));
      assert.equal(kv.value ?? '', e.value.toString('base64'));
      assert.equal(kv.create_revision, String(e.createRevision));
      assert.equal(kv.mod_revision, String(e.modRevision));
      assert.equal(kv.version, String(e.version));
    });
    assert.ok(expected.some((r) => r.key.equals(Buffer.from('/bin/\u0000\u00ff'))));
    assert.ok(!expected.some((r) => r.key.toString() === '/registry/pods/p0002'));

    const manifest = (await listSnapshots(repo)).snapshots[0]!.manifest;
    for (const m of members) {
      const hash = await m.api('/v3/maintenance/hashkv', { revision: String(saved.revision) });
      assert.equal(hash.status, 200);
      assert.equal(hash.json.hash, manifest.kvHash);
    }

    const put = await follower.put('/after/restore', 'yes');
    assert.equal(put.status, 200);
    assert.equal(Number(put.json.header.revision), saved.revision + 1);
    assert.equal(await newLeader.get('/after/restore'), 'yes');
  } finally {
    await Promise.all(restored.map((m) => m.kill()));
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test('--bump-revision with --mark-compacted raises the revision and answers older revisions with the compacted error', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-bump-'));
  const old = await TestCluster.start({ members: 1 });
  let restored: TestMember[] = [];
  try {
    const leader = await old.waitForLeader();
    for (let i = 0; i < 20; i++) await leader.put(`/k/${i}`, `v${i}`);
    const save = lifeboat(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', join(work, 'repo'), '--json']);
    assert.equal(save.status, 0, save.stderr);
    const saved = JSON.parse(save.stdout);
    await old.destroy();

    const { members, initialCluster } = await restoredMembers(join(work, 'new'), ['solo'], 'bumped');
    restored = members;
    const r = lifeboat(['snapshot', 'restore', 'latest', '--repo', join(work, 'repo'), '--name', 'solo', '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'bumped', '--data-dir', members[0]!.dataDir, '--bump-revision', '1000', '--mark-compacted', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).revision, saved.revision + 1000);
    await members[0]!.start();
    await leaderOf(members);
    const now = await members[0]!.api('/v3/kv/range', { key: b64('/k/1') });
    assert.ok(Number(now.json.header.revision) >= saved.revision + 1000);
    assert.equal(Buffer.from(now.json.kvs[0].value, 'base64').toString(), 'v1');
    const past = await members[0]!.api('/v3/kv/range', { key: b64('/k/1'), revision: String(saved.revision) });
    assert.equal(past.json.code, 11, JSON.stringify(past.json));
    const put = await members[0]!.put('/k/new', 'x');
    assert.equal(Number(put.json.header.revision), saved.revision + 1001);
  } finally {
    await Promise.all(restored.map((m) => m.kill()));
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test('a member of the old cluster that comes back is refused by the restored cluster, and the refusal is logged', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-old-'));
  const old = await TestCluster.start({ members: 3 });
  let restored: TestMember[] = [];
  try {
    const leader = await old.waitForLeader();
    await leader.put('/k', 'v');
    const save = lifeboat(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', join(work, 'repo')]);
    assert.equal(save.status, 0, save.stderr);
    // The new cluster reuses n1's peer address (rebuilt on the same host), so the old n2 dials it.
    // Its other ports are picked while the old members still hold theirs, so they cannot collide.
    const n1Port = Number(new URL(old.members[0]!.peerUrl).port);
    const { members, initialCluster } = await restoredMembers(join(work, 'new'), ['a', 'b', 'c'], 'new-token', [n1Port]);
    restored = members;
    await Promise.all(old.members.map((m) => m.kill()));
    for (const m of members) {
      const r = lifeboat(['snapshot', 'restore', 'latest', '--repo', join(work, 'repo'), '--name', m.name, '--initial-cluster', initialCluster, '--initial-cluster-token', 'new-token', '--data-dir', m.dataDir]);
      assert.equal(r.status, 0, r.stderr);
    }
    await Promise.all(members.map((m) => m.start()));
    await leaderOf(members);
    await old.members[1]!.start([], { waitReady: false });
    await waitFor('the refusal in the restored member\'s log', () => /refused a peer connection/.test(members[0]!.logs));
    const key = await members[0]!.get('/k');
    assert.equal(key, 'v');
  } finally {
    await Promise.all(restored.map((m) => m.kill()));
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test('bad restore input fails with the right exit code, one error line and a hint, and writes nothing', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-bad-'));
  const old = await TestCluster.start({ members: 1 });
  try {
    const leader = await old.waitForLeader();
    await leader.put('/k', 'v');
    const repoDir = join(work, 'repo');
    assert.equal(lifeboat(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', repoDir]).status, 0);
    const base = ['snapshot', 'restore', 'latest', '--repo', repoDir, '--initial-cluster-token', 't'];
    const good = ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801'];

    const nonEmpty = join(work, 'non-empty');
    mkdirSync(nonEmpty);
    writeFileSync(join(nonEmpty, 'precious'), 'keep me');

    const corruptRepo = join(work, 'corrupt');
    spawnSync('cp', ['-r', repoDir, corruptRepo]);
    const archive = readdirSync(join(corruptRepo, 'snapshots')).find((f) => f.endsWith('.tar.zst'))!;
    const bytes = readFileSync(join(corruptRepo, 'snapshots', archive));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(join(corruptRepo, 'snapshots', archive), bytes);

    const cases: { what: string; args: string[]; code: number; message: RegExp }[] = [
      { what: 'a non-empty data directory', args: [...base, ...good, '--data-dir', nonEmpty], code: ExitCode.unsafe, message: /not empty/ },
      { what: 'a corrupt snapshot', args: ['snapshot', 'restore', 'latest', '--repo', corruptRepo, '--initial-cluster-token', 't', ...good, '--data-dir', join(work, 'd1')], code: ExitCode.integrity, message: /./ },
      { what: 'a name missing from --initial-cluster', args: [...base, '--name', 'zz', '--initial-cluster', 'a=http://127.0.0.1:23801', '--data-dir', join(work, 'd2')], code: ExitCode.usage, message: /--name zz/ },
      { what: 'a malformed URL', args: [...base, '--name', 'a', '--initial-cluster', 'a=not-a-url', '--data-dir', join(work, 'd3')], code: ExitCode.usage, message: /--initial-cluster/ },
      { what: 'only one of the bump flags', args: [...base, ...good, '--data-dir', join(work, 'd4'), '--bump-revision', '10'], code: ExitCode.usage, message: /--bump-revision and --mark-compacted/ },
      { what: 'a missing snapshot', args: ['snapshot', 'restore', '20200101T000000Z-0000000000000000-r1', '--repo', repoDir, '--initial-cluster-token', 't', ...good, '--data-dir', join(work, 'd5')], code: ExitCode.notFound, message: /./ },
    ];
    for (const c of cases) {
      const r = lifeboat(c.args);
      assert.equal(r.status, c.code, `${c.what}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').filter((l) => !/NodeVersionSupportWarning|^\(Use `node/.test(l));
      assert.match(lines[0]!, /^lifeboat: /, c.what);
      assert.match(lines[0]!, c.message, c.what);
      assert.match(lines[1]!, /^hint: /, c.what);
    }
    assert.deepEqual(readdirSync(nonEmpty), ['precious']);
    for (const d of ['d1', 'd2', 'd3', 'd4', 'd5']) assert.ok(!existsSync(join(work, d)), `${d} was written`);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('restoring')), [], 'no temporary directory is left');
  } finally {
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test('--dry-run prints the plan with the new IDs and writes nothing', { timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-dry-'));
  const old = await TestCluster.start({ members: 1 });
  try {
    const leader = await old.waitForLeader();
    await leader.put('/k', 'v');
    assert.equal(lifeboat(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', join(work, 'repo')]).status, 0);
    const r = lifeboat(['snapshot', 'restore', 'latest', '--repo', join(work, 'repo'), '--name', 'a', '--initial-cluster', 'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380',
      '--initial-cluster-token', 'tok', '--data-dir', join(work, 'a'), '--dry-run', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.dryRun, true);
    assert.equal(plan.members.length, 2);
    assert.match(plan.clusterId, /^[0-9a-f]{16}$/);
    assert.ok(!existsSync(join(work, 'a')));
  } finally {
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test('an interrupted restore leaves nothing that could start', { timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-int-'));
  const old = await TestCluster.start({ members: 1 });
  try {
    const leader = await old.waitForLeader();
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 24; i++) assert.equal((await leader.put(`/big/${i}`, big + i)).status, 200);
    assert.equal(lifeboat(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', join(work, 'repo')]).status, 0);
    const child = spawn(process.execPath, [BIN, 'snapshot', 'restore', 'latest', '--repo', join(work, 'repo'), '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801', '--initial-cluster-token', 't', '--data-dir', join(work, 'a')], { stdio: 'ignore' });
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve((exited = c))));
    await waitFor('the restore to start building', () => exited !== undefined || readdirSync(work).some((f) => f.includes('restoring')), 60_000, 2);
    child.kill('SIGINT');
    const code = await exit;
    // Either the signal came before the work (130) or the restore had already finished (0): never half a directory.
    if (code === 0) {
      assert.ok(existsSync(join(work, 'a', 'member.json')));
    } else {
      assert.equal(code, ExitCode.interrupted);
      assert.ok(!existsSync(join(work, 'a')));
    }
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('restoring')), []);
  } finally {
    await old.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});
