// Restoring from a backup disk mounted read-only (the safe way to bring it to a recovery host):
// every command that only reads must work there, since it is exactly when the operator needs
// them; prune must refuse with exit 14 and delete nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { tempDir } from '../archive/helpers.js';
import { runCli } from '../archive/cli.js';
import { assertFailure, assertSuccess, singleJson, tinyRepository } from '../cli/contract.js';
import { DISK_FAULTS, fingerprint, mountSmallDisk, restoreFlags, type SmallDisk } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let disk: SmallDisk;
let repoDir: string;
let ids: string[];
let original: Record<string, string>;

before(async () => {
  if (DISK_FAULTS.skip) return;
  work = await tempDir('contract-read-only');
  const staging = join(work.dir, 'staging');
  ids = (await tinyRepository(staging, 2)).ids;
  disk = mountSmallDisk(work.dir, 4 * 1024 * 1024);
  repoDir = join(disk.dir, 'repo');
  cpSync(staging, repoDir, { recursive: true });
  disk.readOnly();
  original = fingerprint(repoDir);
});

after(async () => {
  disk?.unmount();
  await work?.cleanup();
});

test('list, inspect, dump, verify --all and restore all work from a read-only repository', DISK_FAULTS, async () => {
  const dataDir = join(work.dir, 'restored');
  const [list, inspect, dump, verify, restore] = await Promise.all([
    runCli(['snapshot', 'list', '--repo', repoDir, '--json']),
    runCli(['snapshot', 'inspect', 'latest', '--repo', repoDir, '--json']),
    runCli(['snapshot', 'dump', ids[0]!, '--repo', repoDir]),
    runCli(['snapshot', 'verify', '--all', '--repo', repoDir, '--json']),
    runCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(dataDir), '--json']),
  ]);
  for (const [what, r] of [['list', list], ['inspect', inspect], ['dump', dump], ['verify', verify], ['restore', restore]] as const) assertSuccess(what, r);
  assert.deepEqual(singleJson('list', list, 'lifeboat.snapshot.list/v1').snapshots.map((s: { id: string }) => s.id), ids);
  assert.equal(singleJson('inspect', inspect, 'lifeboat.snapshot.inspect/v1').target, ids[1]);
  assert.equal(dump.stdout.trim().split('\n').length, 50);
  assert.deepEqual(singleJson('verify', verify, 'lifeboat.snapshot.verify/v1').results.map((x: { ok: boolean }) => x.ok), [true, true]);
  assert.equal(singleJson('restore', restore, 'lifeboat.snapshot.restore/v1').keys, 50);
  assert.ok(readdirSync(dataDir).includes('member.json'), 'the member directory was built');
  assert.deepEqual(fingerprint(repoDir), original);
});

test('prune on a read-only repository is refused with exit 14 and deletes nothing', DISK_FAULTS, async () => {
  const r = await runCli(['snapshot', 'prune', '--repo', repoDir, '--keep-last', '1']);
  assertFailure('prune', r, ExitCode.storageUnavailable, /read-only file system \(EROFS\)/, /remount it read-write/);
  assert.deepEqual(fingerprint(repoDir), original);
});

test('a drill from a read-only repository proves the backup restorable and warns that it could neither lock nor store its report', { ...DISK_FAULTS, timeout: 240_000 }, async () => {
  const r = await runCli(['drill', '--repo', repoDir, '--members', '1', '--json'], { TMPDIR: work.dir });
  assertSuccess('drill', r);
  const report = singleJson('drill', r, 'lifeboat.drill/v1');
  assert.equal(report.result, 'pass');
  assert.equal(report.snapshotId, ids[1]);
  assert.match(r.stderr, /cannot take the lock .*refuses writes/);
  assert.match(r.stderr, /could not store the drill report/);
  assert.deepEqual(fingerprint(repoDir), original);
});
