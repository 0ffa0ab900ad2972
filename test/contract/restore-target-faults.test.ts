// The 3 a.m. restore when the target is the problem (PRODUCT.md sections 4-6): a data directory
// that is not empty, is a file, sits on a disk that fills up mid-restore, or on a disk that is
// read-only. Each ends in one error line and a hint, with the directory exactly as it was and no
// half-built copy beside it; a retry onto a good target then succeeds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { tempDir } from '../archive/helpers.js';
import { runCli } from '../archive/cli.js';
import { assertFailure, assertJsonFailure, assertSuccess, singleJson } from '../cli/contract.js';
import { saveFromStream } from '../../src/dr/save.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { DISK_FAULTS, fingerprint, incompressibleSnapshot, mountSmallDisk, restoreFlags } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let repoDir: string;

before(async () => {
  work = await tempDir('contract-restore');
  repoDir = join(work.dir, 'repo');
  // About 2 MiB of state: more than the small disks below can hold.
  await saveFromStream(incompressibleSnapshot(2000), { repo: new LocalRepository(repoDir), consistency: 'linearizable', source: 'test' });
});

after(async () => {
  await work?.cleanup();
});

test('a restore into a non-empty directory or onto a file is refused with exit 17 and touches neither', async () => {
  const occupied = join(work.dir, 'occupied');
  mkdirSync(join(occupied, 'wal'), { recursive: true });
  writeFileSync(join(occupied, 'wal', '0000.wal'), 'the old member');
  const file = join(work.dir, 'a-file');
  writeFileSync(file, 'not a directory');
  const before = { occupied: fingerprint(occupied), file: fingerprint(work.dir)['a-file'] };
  const [r1, r2] = await Promise.all([
    runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(occupied)]),
    runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(file), '--json']),
  ]);
  assertFailure('restore into a non-empty directory', r1, ExitCode.unsafe, /not empty/, /empty directory|move the old one/);
  assertJsonFailure('restore onto a file', r2, ExitCode.unsafe, /not a directory/);
  assert.deepEqual(fingerprint(occupied), before.occupied);
  assert.equal(fingerprint(work.dir)['a-file'], before.file);
});

test('a restore onto a disk that fills up fails with one line naming ENOSPC and leaves the directory as it was', DISK_FAULTS, async () => {
  const disk = mountSmallDisk(work.dir, 512 * 1024);
  try {
    const prepared = join(disk.dir, 'member');
    mkdirSync(prepared);
    const fresh = join(disk.dir, 'fresh');
    // One after the other: side by side, the first would fill the disk for the second.
    const r1 = await runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(prepared)]);
    const r2 = await runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(fresh)]);
    for (const [what, r] of [['into an empty directory', r1], ['into a new directory', r2]] as const) {
      assertFailure(`restore ${what}`, r, ExitCode.storageUnavailable, /--data-dir .*(ENOSPC|no space left)/, /disk is full.*nothing was restored/);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(readdirSync(prepared), [], 'the prepared directory is still empty');
    assert.equal(existsSync(fresh), false, 'no new directory is left behind');
    assert.deepEqual(readdirSync(disk.dir).sort(), ['member'], 'no half-built copy is left beside it');
  } finally {
    disk.unmount();
  }
  // The same restore onto a disk with room succeeds: the failure was the disk, not the backup.
  const roomy = join(work.dir, 'roomy');
  const ok = await runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(roomy), '--json']);
  assertSuccess('restore with room', ok);
  assert.equal(singleJson('restore', ok, 'lifeboat.snapshot.restore/v1').keys, 2000);
});

test('a restore onto a read-only disk fails with one line naming EROFS and writes nothing', DISK_FAULTS, async () => {
  const disk = mountSmallDisk(work.dir, 8 * 1024 * 1024);
  try {
    const prepared = join(disk.dir, 'member');
    mkdirSync(prepared);
    disk.readOnly();
    const r = await runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(prepared)]);
    assertFailure('restore onto a read-only disk', r, ExitCode.storageUnavailable, /--data-dir .*(EROFS|read-only)/, /read-only.*nothing was restored/);
    disk.writable();
    assert.deepEqual(readdirSync(disk.dir), ['member']);
    assert.deepEqual(readdirSync(prepared), []);
  } finally {
    disk.unmount();
  }
});
