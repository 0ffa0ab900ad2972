// Backing up a stopped member's data directory (`snapshot save --from-data-dir`), against real
// `lifeboat serve` processes (needs `npm run build`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, LifeboatError, UnsafeOperationError } from '../../src/errors.js';
import { CorruptionError } from '../../src/storage/corruption-error.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { resolveSnapshot } from '../../src/dr/catalog.js';
import { dumpSnapshotRef } from '../../src/dr/verify.js';
import { saveFromDataDir } from '../../src/dr/offline-backup.js';
import { loadDataDirReadOnly } from '../../src/server/offline-state.js';
import { runOfflineSave } from '../../src/cli/snapshot-save-offline.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { TestCluster, TestMember, b64 } from '../helpers/test-cluster.js';
import { freePorts } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';
import { listFiles, tempDir } from '../archive/helpers.js';
import { runCli } from '../archive/cli.js';

/** Every file under `dir` with the SHA-256 of its bytes: proof that a reader changed nothing. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function dump(repo: LocalRepository, id: string): Promise<Map<string, KeyValueRecord>> {
  const seen = new Map<string, KeyValueRecord>();
  await dumpSnapshotRef(repo, await resolveSnapshot(repo, id), (batch) => {
    for (const r of batch) seen.set(r.key.toString(), r);
  });
  return seen;
}

async function ok(p: Promise<{ status: number; json: any }>): Promise<any> {
  const r = await p;
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

test('replaying a stopped member\'s data directory gives the live member\'s revision, hashkv and member list, and changes no byte of it', async () => {
  // A small snapshot count, so replay starts from a local snapshot with entries after it.
  const c = await TestCluster.start({ members: 1, snapshotCount: 40 });
  try {
    await c.run(async () => {
      const [m] = c.members;
      for (let i = 0; i < 130; i++) await ok(m!.put(`k/${i % 50}`, `v${i}`));
      await ok(m!.api('/v3/kv/deleterange', { key: b64('k/1'), range_end: b64('k/2') }));
      await ok(m!.api('/v3/kv/txn', {
        compare: [{ key: b64('k/3'), target: 'VERSION', result: 'GREATER', version: '0' }],
        success: [{ request_put: { key: b64('txn/yes'), value: b64('1') } }],
        failure: [{ request_put: { key: b64('txn/no'), value: b64('1') } }],
      }));
      const mid = Number((await ok(m!.api('/v3/kv/range', { key: b64('k/0') }))).header.revision);
      await ok(m!.api('/v3/kv/compaction', { revision: String(mid - 20) }));
      // A request the store refuses is in the log too; replay must skip it as the member did.
      const refused = await m!.api('/v3/kv/compaction', { revision: String(mid - 30) });
      assert.notEqual(refused.status, 200);
      for (let i = 0; i < 7; i++) await ok(m!.put(`tail/${i}`, `t${i}`));
      const status = await m!.status();
      const revision = Number(status.header.revision);
      const live = await ok(m!.api('/v3/maintenance/hashkv', { revision: String(revision) }));
      const liveMembers = (await ok(m!.api('/v3/cluster/member/list'))).members;
      await m!.stop();

      const before = fingerprint(m!.dataDir);
      const state = await loadDataDirReadOnly(m!.dataDir);
      assert.deepEqual(fingerprint(m!.dataDir), before, 'the data directory is byte for byte as it was');
      assert.ok(state.snapshotIndex > 0, 'a local snapshot was taken, so replay started from it');
      assert.ok(state.appliedIndex > state.snapshotIndex, 'and entries were applied after it');
      assert.equal(state.kv.revision, revision);
      const hash = state.kv.hashKV(revision);
      assert.equal(hash.hash, Number(live.hash));
      assert.equal(hash.compactRevision, Number(live.compact_revision));
      assert.equal(state.entriesLeftOut, 0);
      assert.deepEqual(state.members.map((x) => [BigInt('0x' + x.id).toString(), x.name]), liveMembers.map((x: any) => [x.ID, x.name]));
      assert.equal(BigInt('0x' + state.memberId).toString(), status.header.member_id);
    });
  } finally {
    await c.destroy();
  }
});

test('a lone member killed with SIGKILL in the middle of a write load: the offline backup holds every write it acknowledged, and restores to a cluster that serves them', async () => {
  const c = await TestCluster.start({ members: 1, snapshotCount: 300 });
  const t = await tempDir('offline');
  let writing = true;
  const restored: TestMember[] = [];
  try {
    await c.run(async () => {
      const [m] = c.members;
      const acked = new Map<string, string>();
      let n = 0;
      const writers = Array.from({ length: 16 }, async () => {
        while (writing) {
          const i = n++;
          const key = `load/${String(i).padStart(6, '0')}`;
          const r = await m!.put(key, `value-${i}`).catch(() => undefined);
          if (r?.status === 200) acked.set(key, `value-${i}`);
        }
      });
      await waitFor('many acknowledged writes', () => acked.size >= 800);
      await m!.kill();
      writing = false;
      await Promise.all(writers);
      const ackedAtKill = new Map(acked);

      const repo = new LocalRepository(t.dir);
      const { manifest, offline } = await saveFromDataDir({ dataDir: m!.dataDir, repo });
      assert.equal(manifest.consistency, 'offline');
      assert.equal(manifest.source, resolve(m!.dataDir));
      assert.equal(offline.entriesLeftOut, 0);
      const seen = await dump(repo, manifest.id);
      for (const [key, value] of ackedAtKill) assert.equal(seen.get(key)?.value.toString(), value, `${key} was acknowledged before the kill`);
      assert.equal(manifest.keyCount, seen.size);

      // Restore it as a new one-member cluster and read the writes back from a running member.
      const [client, peer] = await freePorts(2);
      const peerUrl = `http://127.0.0.1:${peer}`;
      const dataDir = join(t.dir, 'restored');
      const r = await runCli(['snapshot', 'restore', manifest.id, '--repo', t.dir, '--name', 'r1', '--initial-cluster', `r1=${peerUrl}`, '--initial-cluster-token', 'offline-restore', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const member = new TestMember('r1', `http://127.0.0.1:${client}`, peerUrl, peerUrl, dataDir, undefined, () => [
        '--name', 'r1', '--data-dir', dataDir, '--listen-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', peerUrl,
        '--initial-cluster', `r1=${peerUrl}`, '--initial-cluster-token', 'offline-restore',
      ]);
      restored.push(member);
      await member.start();
      await waitFor('the restored member to lead', async () => (await member.status()).leader);
      const count = await ok(member.api('/v3/kv/range', { key: b64('load/'), range_end: b64('load0'), count_only: true }));
      assert.equal(Number(count.count), [...seen.keys()].filter((k) => k.startsWith('load/')).length);
      for (const key of [...ackedAtKill.keys()].slice(-20)) assert.equal(await member.get(key), ackedAtKill.get(key));
      const hash = await ok(member.api('/v3/maintenance/hashkv', { revision: String(manifest.revision) }));
      assert.equal(Number(hash.hash), manifest.kvHash);
    });
  } finally {
    writing = false;
    await Promise.all(restored.map((m) => m.kill()));
    await c.destroy();
    await t.cleanup();
  }
});

test('a lone member killed with SIGKILL right after writes acknowledged one at a time: every one of them is in the offline replay', async () => {
  const c = await TestCluster.start({ members: 1 });
  try {
    await c.run(async () => {
      const [m] = c.members;
      // One write at a time: nothing after the last write moves the commit index on disk again.
      for (let i = 0; i < 5; i++) await ok(m!.put(`seq/${i}`, `v${i}`));
      await m!.kill();
      const state = await loadDataDirReadOnly(m!.dataDir);
      for (let i = 0; i < 5; i++) {
        const r = state.kv.apply({ kind: 'range', key: Buffer.from(`seq/${i}`) });
        assert.equal(r.kvs[0]?.value.toString(), `v${i}`, `seq/${i} was acknowledged before the kill`);
      }
      assert.equal(state.entriesLeftOut, 0);
    });
  } finally {
    await c.destroy();
  }
});

test('a 3-member cluster killed under write load: the default replay stops at the commit each member wrote down and counts what it left out, and includeUncommitted keeps every acknowledged write', async () => {
  const c = await TestCluster.start({ members: 3 });
  let writing = true;
  try {
    await c.run(async () => {
      const leader = await c.waitForLeader();
      const acked = new Map<string, string>();
      let n = 0;
      const writers = Array.from({ length: 16 }, async () => {
        while (writing) {
          const i = n++;
          const r = await leader.put(`load/${i}`, `v${i}`).catch(() => undefined);
          if (r?.status === 200) acked.set(`load/${i}`, `v${i}`);
        }
      });
      await waitFor('many acknowledged writes', () => acked.size >= 400);
      await Promise.all(c.members.map((m) => m.kill()));
      writing = false;
      await Promise.all(writers);
      const value = (s: Awaited<ReturnType<typeof loadDataDirReadOnly>>, key: string) =>
        s.kv.apply({ kind: 'range', key: Buffer.from(key) }).kvs[0]?.value.toString();
      const whole = await loadDataDirReadOnly(leader.dataDir, { includeUncommitted: true });
      for (const [key, v] of acked) assert.equal(value(whole, key), v, `${key} was acknowledged by the leader`);
      for (const m of c.members) {
        const notes: string[] = [];
        const committed = await loadDataDirReadOnly(m.dataDir, { log: (l) => notes.push(l) });
        const all = await loadDataDirReadOnly(m.dataDir, { includeUncommitted: true });
        assert.equal(committed.appliedIndex, committed.recordedCommit);
        assert.equal(all.entriesLeftOut, 0);
        assert.ok(all.appliedIndex >= committed.appliedIndex + committed.entriesLeftOut);
        assert.equal(notes.some((l) => l.includes(`${committed.entriesLeftOut} entries after index ${committed.appliedIndex} were left out`)), committed.entriesLeftOut > 0);
        // What the default keeps is a prefix of the whole log: never a value the log does not end with.
        let missing = 0;
        for (const [key, v] of acked) {
          const got = value(committed, key);
          if (got === undefined) missing++;
          else assert.equal(got, v);
        }
        // The member that acknowledged the writes has them all in its log; a slow follower may not.
        if (m === leader) assert.ok(missing <= committed.entriesLeftOut, `${missing} acknowledged writes missing, ${committed.entriesLeftOut} entries left out`);
      }
    });
  } finally {
    writing = false;
    await c.destroy();
  }
});

test('a data directory a running member holds is refused with exit 17, and nothing is written to the repository', async () => {
  const c = await TestCluster.start({ members: 1 });
  const t = await tempDir('offline');
  try {
    const [m] = c.members;
    await ok(m!.put('k', 'v'));
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const before = await listFiles(t.dir);
    await assert.rejects(saveFromDataDir({ dataDir: m!.dataDir, repo }), (err) => {
      assert.ok(err instanceof UnsafeOperationError, String(err));
      assert.equal(err.exitCode, ExitCode.unsafe);
      assert.match(err.message, new RegExp(`pid ${m!.proc!.pid}`));
      return true;
    });
    assert.deepEqual(await listFiles(t.dir), before);
  } finally {
    await c.destroy();
    await t.cleanup();
  }
});

test('a WAL damaged in the middle fails the offline backup with the storage\'s error naming the file, commits nothing and leaves the directory as it was', async () => {
  const c = await TestCluster.start({ members: 1 });
  const t = await tempDir('offline');
  try {
    const [m] = c.members;
    for (let i = 0; i < 200; i++) await ok(m!.put(`k/${i}`, 'x'.repeat(100)));
    await m!.stop();
    const walDir = join(m!.dataDir, 'wal');
    const segment = join(walDir, readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort().at(-1)!);
    const bytes = readFileSync(segment);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    const at = Math.floor(end / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(segment, bytes);
    const before = fingerprint(m!.dataDir);
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const files = await listFiles(t.dir);
    await assert.rejects(runOfflineSave({ signal: new AbortController().signal, json: false }, { fromDataDir: m!.dataDir, repo: t.dir }), (err) => {
      assert.ok(err instanceof CorruptionError, String(err));
      assert.ok(err instanceof LifeboatError && err.exitCode !== ExitCode.ok);
      assert.equal(err.file, segment);
      return true;
    });
    assert.deepEqual(await listFiles(t.dir), files);
    assert.deepEqual(fingerprint(m!.dataDir), before);
  } finally {
    await c.destroy();
    await t.cleanup();
  }
});

test('a directory that is not a member\'s is a usage error naming --from-data-dir', async () => {
  const t = await tempDir('offline');
  try {
    await assert.rejects(loadDataDirReadOnly(t.dir), (err) => err instanceof LifeboatError && err.exitCode === ExitCode.usage && /--from-data-dir/.test(err.message));
    await assert.rejects(loadDataDirReadOnly(join(t.dir, 'missing')), (err) => err instanceof LifeboatError && err.exitCode === ExitCode.usage);
  } finally {
    await t.cleanup();
  }
});
