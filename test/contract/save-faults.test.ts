// The cron job's contract (PRODUCT.md sections 3, 5 and 6) under faults that come from outside:
// the repository's disk fills up or turns read-only in the middle of a save. Each run is a real
// `node bin/lifeboat snapshot save` (npm run build first) and must end with the documented exit
// code, one error line and one hint, and a repository that lists only what it listed before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';
import { runCli, spawnCli, startFakeMember } from '../archive/cli.js';
import { assertFailure, assertSuccess, singleJson, tinyRepository } from '../cli/contract.js';
import { DISK_FAULTS, committedIds, fingerprint, incompressibleSnapshot, mountSmallDisk, startGatedMember } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  work = await tempDir('contract-save');
});

after(async () => {
  await work?.cleanup();
});

test('a save onto a full disk exits 14 saying so, and the repository keeps exactly what it had', DISK_FAULTS, async () => {
  const disk = mountSmallDisk(work.dir, 256 * 1024);
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => incompressibleSnapshot(600) }));
  try {
    const repoDir = join(disk.dir, 'repo');
    const { ids } = await tinyRepository(repoDir);
    const before = fingerprint(repoDir);
    const r = await runCli(['snapshot', 'save', '--endpoints', fake.url, '--repo', repoDir]);
    assertFailure('save on a full disk', r, ExitCode.storageUnavailable, /no space left on device \(ENOSPC\)/, /free space|prune/);
    assert.equal(r.stdout, '', 'a failed save prints nothing on stdout');
    assert.deepEqual(fingerprint(repoDir), before, 'no archive, manifest, partial file or lock is left behind');
    assert.deepEqual(committedIds(repoDir), ids);
    // The disk is not left full by the failed run: the next, smaller save fits and succeeds.
    const small = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(50, 900) }));
    try {
      assertSuccess('the next save', await runCli(['snapshot', 'save', '--endpoints', small.url, '--repo', repoDir]));
    } finally {
      await small.close();
    }
    assert.equal(committedIds(repoDir).length, 2);
  } finally {
    await fake.close();
    disk.unmount();
  }
});

test('a save under --json onto a full disk prints one error document and exit 14', DISK_FAULTS, async () => {
  const disk = mountSmallDisk(work.dir, 128 * 1024);
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => incompressibleSnapshot(300) }));
  try {
    const repoDir = join(disk.dir, 'repo');
    const r = await runCli(['snapshot', 'save', '--endpoints', fake.url, '--repo', repoDir, '--json']);
    assertFailure('save --json on a full disk', r, ExitCode.storageUnavailable, /ENOSPC/);
    const doc = singleJson('save --json', r, 'lifeboat.error/v1');
    assert.equal(doc.exitCode, ExitCode.storageUnavailable);
    assert.deepEqual(committedIds(repoDir), []);
  } finally {
    await fake.close();
    disk.unmount();
  }
});

test('a repository remounted read-only while the snapshot streams fails the save with exit 14 and commits nothing', DISK_FAULTS, async () => {
  const disk = mountSmallDisk(work.dir, 8 * 1024 * 1024);
  // Held after 16 KiB: the save holds the lock, but zstd has not yet emitted a block, so the
  // archive's temporary file is not open yet (Linux refuses to remount a file system read-only
  // while a file on it is open for writing).
  const member = await startGatedMember(() => snapshotStream(3000), 16 * 1024);
  try {
    const repoDir = join(disk.dir, 'repo');
    const { ids } = await tinyRepository(repoDir);
    const save = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repoDir]);
    await member.held;
    disk.readOnly();
    member.release();
    const r = await save.done;
    disk.writable();
    assertFailure('save onto a read-only repository', r, ExitCode.storageUnavailable, /read-only file system \(EROFS\)/, /remount it read-write|another --repo/);
    assert.deepEqual(committedIds(repoDir), ids, 'no new snapshot is listed');
    const left = Object.keys(fingerprint(repoDir)).filter((f) => f.startsWith('snapshots/') && !ids.some((id) => f.startsWith(`snapshots/${id}.`)));
    assert.deepEqual(left, [], 'no archive or partial file of the failed run is in the repository');
    // The lock it could not remove belongs to a dead process: the next cron run takes it over and saves.
    const again = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(40, 800) }));
    try {
      const next = await runCli(['snapshot', 'save', '--endpoints', again.url, '--repo', repoDir]);
      assertSuccess('the next save', next);
    } finally {
      await again.close();
    }
    assert.equal(committedIds(repoDir).length, 2);
  } finally {
    await member.close();
    disk.unmount();
  }
});

/** Bytes in use on the file system holding `dir`. */
function usedBytes(dir: string): number {
  return Number(execFileSync('df', ['--output=used', '-B1', dir]).toString().trim().split('\n')[1]);
}

test('a disk with room for the archive but not for its manifest fails the save with exit 14 and removes the archive', DISK_FAULTS, async () => {
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(4000, 5000) }));
  try {
    // First measure what one good save of this snapshot takes on a roomy disk of the same kind.
    const roomy = mountSmallDisk(work.dir, 64 * 1024 * 1024);
    let needed: number;
    try {
      await tinyRepository(join(roomy.dir, 'repo'));
      const before = usedBytes(roomy.dir);
      assertSuccess('the measuring save', await runCli(['snapshot', 'save', '--endpoints', fake.url, '--repo', join(roomy.dir, 'repo')]));
      needed = usedBytes(roomy.dir) - before;
    } finally {
      roomy.unmount();
    }
    // Then offer exactly that, and a page or two less: the run also holds its lock (one page)
    // while it writes, so one of these disks fills up exactly at the commit marker.
    const failedAt: string[] = [];
    for (let short = 0; short <= 2; short++) {
      const base = mountSmallDisk(work.dir, 64 * 1024 * 1024);
      let floor: number;
      try {
        await tinyRepository(join(base.dir, 'repo'));
        floor = usedBytes(base.dir);
      } finally {
        base.unmount();
      }
      const disk = mountSmallDisk(work.dir, floor + needed - short * 4096);
      try {
        const repoDir = join(disk.dir, 'repo');
        const { ids } = await tinyRepository(repoDir);
        const original = fingerprint(repoDir);
        const r = await runCli(['snapshot', 'save', '--endpoints', fake.url, '--repo', repoDir]);
        assertFailure(`save ${short} page(s) short`, r, ExitCode.storageUnavailable, /cannot write snapshots\/.* no space left on device \(ENOSPC\)/);
        failedAt.push(/\.json in /.test(r.stderr) ? 'manifest' : 'archive');
        assert.deepEqual(fingerprint(repoDir), original, `${short} page(s) short: the repository is as it was`);
        assert.deepEqual(committedIds(repoDir), ids);
      } finally {
        disk.unmount();
      }
    }
    assert.ok(failedAt.includes('manifest'), `one of the disks filled up at the manifest (they failed at: ${failedAt.join(', ')})`);
  } finally {
    await fake.close();
  }
});
