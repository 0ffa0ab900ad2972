import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import type { Repository } from '../../src/repo/repository.js';
import { saveFromStream } from '../../src/dr/save.js';
import { resolveSnapshot } from '../../src/dr/catalog.js';
import { planRestore } from '../../src/dr/restore-plan.js';
import { restoreSnapshot } from '../../src/dr/restore.js';
import { loadDataDirReadOnly } from '../../src/server/offline-state.js';
import { startS3Server, useS3rverCredentials, type S3Server } from '../repo/s3-server.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';

let s3: S3Server;
before(async () => {
  useS3rverCredentials();
  s3 = await startS3Server('restore-bucket');
});
after(async () => {
  await s3.stop();
});

const INITIAL = 'a=http://127.0.0.1:23801,b=http://127.0.0.1:23802,c=http://127.0.0.1:23803';

/** Saves one snapshot into repo and restores member `a` of a new cluster from `latest` into dataDir. */
async function saveAndRestore(repo: Repository, dataDir: string) {
  const { manifest } = await saveFromStream(snapshotStream(2500, 4000), { repo, consistency: 'linearizable', source: 'test' });
  const plan = planRestore({ initialCluster: INITIAL, token: 'restored', targets: [{ name: 'a', dataDir }] });
  const result = await restoreSnapshot({ repo, ref: await resolveSnapshot(repo, 'latest'), plan });
  return { manifest, result };
}

test('a restore from an S3 repository builds the same member state as one from a local repository', async () => {
  const t = await tempDir('restore-sources');
  try {
    const local = await saveAndRestore(new LocalRepository(join(t.dir, 'repo')), join(t.dir, 'from-local'));
    const repo = new S3Repository(`s3://${s3.bucket}/restore`, { endpoint: s3.endpoint, forcePathStyle: true, partSizeBytes: 5 * 1024 * 1024 });
    const remote = await saveAndRestore(repo, join(t.dir, 'from-s3'));
    assert.equal(remote.manifest.kvHash, local.manifest.kvHash);
    for (const [dir, { manifest, result }] of [['from-local', local], ['from-s3', remote]] as const) {
      assert.equal(result.keyCount, manifest.keyCount);
      assert.equal(result.kvHash, manifest.kvHash);
      const state = await loadDataDirReadOnly(join(t.dir, dir));
      assert.equal(state.kv.revision, manifest.revision);
      assert.equal(state.kv.hashKV(manifest.revision).hash, manifest.kvHash);
      assert.equal(state.clusterId, result.clusterId);
      assert.notEqual(state.clusterId, manifest.clusterId);
      assert.deepEqual(state.members.map((m) => m.name).sort(), ['a', 'b', 'c']);
    }
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.includes('restoring')), []);
  } finally {
    await t.cleanup();
  }
});

test('a data directory that fills up while the restore runs is refused with exit 17 and the restored copy is removed', async () => {
  const t = await tempDir('restore-race');
  try {
    const repo = new LocalRepository(join(t.dir, 'repo'));
    await saveFromStream(snapshotStream(300, 400), { repo, consistency: 'linearizable', source: 'test' });
    const dataDir = join(t.dir, 'member');
    mkdirSync(dataDir);
    const plan = planRestore({ initialCluster: INITIAL, token: 'restored', targets: [{ name: 'a', dataDir }] });
    // Something (an old member started by a confused unit file) writes there after the plan was checked.
    writeFileSync(join(dataDir, 'intruder'), 'x');
    await assert.rejects(restoreSnapshot({ repo, ref: await resolveSnapshot(repo, 'latest'), plan }), (err: unknown) => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.equal(err.exitCode, ExitCode.unsafe, err.message);
      assert.match(err.message, /--data-dir .*member/);
      assert.ok(!err.message.includes('\n') && err.hint.length > 0);
      return true;
    });
    assert.deepEqual(readdirSync(dataDir), ['intruder']);
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.includes('restoring')), []);
    assert.ok(!existsSync(join(dataDir, 'member.json')));
  } finally {
    await t.cleanup();
  }
});
