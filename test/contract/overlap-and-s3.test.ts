// Two cron runs on top of each other, and a bucket that dies mid-save (PRODUCT.md sections 4-6):
// the second run never overlaps the first (exit 11 with fail, exit 0 and a note with skip, exit 11
// when wait runs out), and a save whose S3 server is killed under it ends in exit 14 with no
// snapshot listed, after which the next run saves normally.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ExitCode } from '../../src/errors.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';
import { runCli, spawnCli, startFakeMember } from '../archive/cli.js';
import { startS3Server, type S3Server } from '../repo/s3-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { assertFailure, assertSuccess, singleJson, tinyRepository } from '../cli/contract.js';
import { DISK_FAULTS, committedIds, fingerprint, incompressibleSnapshot, mountSmallDisk, startGatedMember } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let s3: S3Server | undefined;

const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_PROFILE: undefined };

before(async () => {
  work = await tempDir('contract-overlap');
});

after(async () => {
  await s3?.stop();
  await work?.cleanup();
});

test('a second save started while the first holds the lock exits 11 with fail, 0 with skip, 11 when wait runs out, and the first still commits', async () => {
  const repoDir = join(work.dir, 'overlap');
  const { ids } = await tinyRepository(repoDir);
  const member = await startGatedMember(() => snapshotStream(2000), 32 * 1024);
  const other = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(30, 700) }));
  try {
    const first = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repoDir]);
    await member.held;
    const second = ['snapshot', 'save', '--endpoints', other.url, '--repo', repoDir];

    const failed = await runCli(second);
    assertFailure('second save, --on-locked fail', failed, ExitCode.locked, /locked by snapshot save/, /--on-locked wait|--on-locked skip/);
    assert.equal(failed.stdout, '');

    const skipped = await runCli([...second, '--on-locked', 'skip', '--json']);
    assertSuccess('second save, --on-locked skip', skipped);
    assert.match(skipped.stderr, /skip/i, 'a skipped run says it skipped');
    const skipDoc = singleJson('skip', skipped, 'lifeboat.snapshot.save/v1');
    assert.equal(skipDoc.skipped, true, 'the --json summary says the run was skipped rather than saved');

    const waited = await runCli([...second, '--on-locked', 'wait', '--lock-timeout', '1s']);
    assertFailure('second save, --on-locked wait', waited, ExitCode.locked, /lock|locked/);

    assert.deepEqual(committedIds(repoDir), ids, 'none of the refused runs committed anything');
    member.release();
    assertSuccess('the first save', await first.done);
    assert.equal(committedIds(repoDir).length, 2, 'the first save committed its snapshot');
  } finally {
    await member.close();
    await other.close();
  }
});

test('an S3 server killed in the middle of a save ends it with exit 14, lists nothing new, and the next run saves', { timeout: 120_000 }, async () => {
  s3 = await startS3Server('contract-bucket');
  const repo = `s3://${s3.bucket}/cron`;
  const s3Flags = ['--repo', repo, '--s3-endpoint', s3.endpoint, '--s3-force-path-style'];
  const seed = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(20, 500) }));
  const member = await startGatedMember(() => snapshotStream(3000), 64 * 1024);
  try {
    assertSuccess('the first save', await runCli(['snapshot', 'save', '--endpoints', seed.url, ...s3Flags], S3_ENV));
    const save = spawnCli(['snapshot', 'save', '--endpoints', member.url, ...s3Flags, '--timeout', '60s'], S3_ENV);
    await member.held;
    await s3.kill();
    member.release();
    const r = await save.done;
    assertFailure('save with S3 killed', r, ExitCode.storageUnavailable, /ECONNREFUSED|unreachable|connect/i, /--s3-endpoint|check|again/i);
    await s3.restart();
    const listed = await runCli(['snapshot', 'list', ...s3Flags, '--json'], S3_ENV);
    assertSuccess('list after the failure', listed);
    assert.equal(singleJson('list', listed, 'lifeboat.snapshot.list/v1').snapshots.length, 1, 'only the first snapshot is listed');
    const next = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(25, 600) }));
    try {
      assertSuccess('the next save', await runCli(['snapshot', 'save', '--endpoints', next.url, ...s3Flags], S3_ENV));
    } finally {
      await next.close();
    }
    const after = await runCli(['snapshot', 'verify', '--all', ...s3Flags, '--json'], S3_ENV);
    assertSuccess('verify --all', after);
    assert.deepEqual(singleJson('verify', after, 'lifeboat.snapshot.verify/v1').results.map((x: { ok: boolean }) => x.ok), [true, true]);
  } finally {
    await seed.close();
    await member.close();
  }
});

test('a bucket deleted in the middle of a save ends it with exit 10 saying the bucket is gone, and list says the same', { timeout: 120_000 }, async () => {
  const gone = await startS3Server('contract-vanishing');
  const s3Flags = ['--repo', `s3://${gone.bucket}/cron`, '--s3-endpoint', gone.endpoint, '--s3-force-path-style'];
  const member = await startGatedMember(() => snapshotStream(3000), 64 * 1024);
  try {
    const save = spawnCli(['snapshot', 'save', '--endpoints', member.url, ...s3Flags, '--timeout', '60s'], S3_ENV);
    await member.held;
    // An operator (or a lifecycle rule) empties and deletes the bucket while the snapshot streams.
    const client = new S3Client({ endpoint: gone.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const objects = (await client.send(new ListObjectsV2Command({ Bucket: gone.bucket }))).Contents ?? [];
    assert.ok(objects.some((o) => o.Key === 'cron/locks/lock.json'), 'the save holds its lock in the bucket');
    await client.send(new DeleteObjectsCommand({ Bucket: gone.bucket, Delete: { Objects: objects.map((o) => ({ Key: o.Key! })) } }));
    await client.send(new DeleteBucketCommand({ Bucket: gone.bucket }));
    client.destroy();
    member.release();
    const r = await save.done;
    assertFailure('save into a deleted bucket', r, ExitCode.notFound, /the bucket does not exist/, /bucket/);
    const listed = await runCli(['snapshot', 'list', ...s3Flags], S3_ENV);
    assertFailure('list of the deleted bucket', listed, ExitCode.notFound, /no Lifeboat repository|does not exist/);
  } finally {
    await member.close();
    await gone.stop();
  }
});

test('a save to S3 whose spool directory fills up exits 14 naming the disk, uploads nothing and removes its spool file', { ...DISK_FAULTS, timeout: 120_000 }, async () => {
  const bucket = await startS3Server('contract-spool');
  const s3Flags = ['--repo', `s3://${bucket.bucket}/cron`, '--s3-endpoint', bucket.endpoint, '--s3-force-path-style'];
  const disk = mountSmallDisk(work.dir, 128 * 1024);
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => incompressibleSnapshot(600) }));
  try {
    const r = await runCli(['snapshot', 'save', '--endpoints', fake.url, ...s3Flags, '--spool-dir', disk.dir], S3_ENV);
    assertFailure('save with a full spool disk', r, ExitCode.storageUnavailable, /no space left on device|ENOSPC/, /--spool-dir|free space/);
    assert.deepEqual(fingerprint(disk.dir), {}, 'the spool file is removed');
    const listed = await runCli(['snapshot', 'list', ...s3Flags, '--json'], S3_ENV);
    assertSuccess('list', listed);
    const doc = singleJson('list', listed, 'lifeboat.snapshot.list/v1');
    assert.deepEqual([doc.snapshots, doc.incomplete], [[], []], 'nothing was uploaded');
  } finally {
    await fake.close();
    disk.unmount();
    await bucket.stop();
  }
});

test('an S3 server killed while a restore downloads from it ends the restore with exit 14 and leaves no data directory', { timeout: 180_000 }, async () => {
  const bucket = await startS3Server('contract-restore');
  const s3Flags = ['--repo', `s3://${bucket.bucket}/prod`, '--s3-endpoint', bucket.endpoint, '--s3-force-path-style'];
  // About 30 MiB, so the download is still running when the server dies.
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => incompressibleSnapshot(30_000) }));
  try {
    assertSuccess('save', await runCli(['snapshot', 'save', '--endpoints', fake.url, ...s3Flags], S3_ENV));
    const parent = join(work.dir, 'restore-target');
    mkdirSync(parent);
    const dataDir = join(parent, 'member');
    const restore = spawnCli(['snapshot', 'restore', 'latest', ...s3Flags, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801', '--initial-cluster-token', 'contract', '--data-dir', dataDir], S3_ENV);
    await waitFor('the restore to start building its copy', () => readdirSync(parent).length > 0 || restore.proc.exitCode !== null, 120_000, 5);
    await bucket.kill();
    const r = await restore.done;
    assertFailure('restore with S3 killed', r, ExitCode.storageUnavailable, /ECONNREFUSED|ECONNRESET|socket|unreachable|connect|aborted|terminated/i);
    assert.equal(existsSync(dataDir), false, 'no data directory');
    assert.deepEqual(readdirSync(parent), [], 'no half-built copy');
  } finally {
    await fake.close();
    await bucket.stop();
  }
});
