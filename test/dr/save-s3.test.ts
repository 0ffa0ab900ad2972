import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import { saveFromStream } from '../../src/dr/save.js';
import { listSnapshots, resolveSnapshot } from '../../src/dr/catalog.js';
import { verifySnapshotRef } from '../../src/dr/verify.js';
import { startS3Server, useS3rverCredentials, type S3Server } from '../repo/s3-server.js';
import { snapshotStream } from '../archive/helpers.js';

let s3: S3Server;
before(async () => {
  useS3rverCredentials();
  s3 = await startS3Server();
});
after(async () => {
  await s3.stop();
});

const repoAt = (prefix: string) => new S3Repository(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint, forcePathStyle: true, partSizeBytes: 5 * 1024 * 1024 });

test('a snapshot saved into an S3 repository is listed, resolved as latest and verifies end to end', async () => {
  const repo = repoAt('round-trip');
  const { manifest } = await saveFromStream(snapshotStream(3000), { repo, consistency: 'linearizable', source: 'test' });
  const { snapshots } = await listSnapshots(repo);
  assert.deepEqual(snapshots.map((s) => s.id), [manifest.id]);
  const ref = await resolveSnapshot(repo, 'latest');
  const report = await verifySnapshotRef(repo, ref);
  assert.equal(report.archiveSha256, manifest.archiveSha256);
  assert.equal(report.summary.trailer.recordCount, 3000);
});

test('an S3 server that dies during the upload fails the save with exit 14 and no manifest is committed', async () => {
  const repo = repoAt('dies');
  let killed: Promise<void> | undefined;
  await assert.rejects(
    saveFromStream(snapshotStream(60_000, 60_001, 400), {
      repo,
      consistency: 'linearizable',
      source: 'test',
      compressionLevel: 1,
      onProgress: (p) => {
        if (p.phase === 'store' && p.bytes > 0) killed ??= s3.kill();
      },
    }),
    (err) => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.equal(err.exitCode, ExitCode.storageUnavailable, err.message);
      return true;
    },
  );
  await killed;
  await s3.restart();
  assert.deepEqual((await repo.list('snapshots/')).filter((o) => o.key.endsWith('.json')), []);
});
