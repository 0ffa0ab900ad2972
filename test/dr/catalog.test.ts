import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, LifeboatError, StorageUnavailableError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { manifestKey } from '../../src/repo/snapshot-id.js';
import { saveFromStream } from '../../src/dr/save.js';
import { listSnapshots, resolveSnapshot } from '../../src/dr/catalog.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';

const at = (s: number) => () => new Date(Date.UTC(2026, 10, 25, 10, 0, s));

/** A local repository whose reads of one key fail the way a flaky bucket fails. */
class FlakyRepository extends LocalRepository {
  failing: string | undefined;
  override async readSmall(key: string): Promise<Buffer> {
    if (key === this.failing) throw new StorageUnavailableError(`cannot read ${key}: connection reset`, 'check the network');
    return super.readSmall(key);
  }
}

async function repoWithTwoSnapshots(label: string) {
  const t = await tempDir(label);
  const repo = new FlakyRepository(join(t.dir, 'repo'));
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { manifest } = await saveFromStream(snapshotStream(50 + i, 300 + i), { repo, consistency: 'linearizable', source: 'test', now: at(i) });
    ids.push(manifest.id);
  }
  return { ...t, repo, ids };
}

test('a storage failure reading the newest manifest fails "latest" with exit 14 instead of quietly choosing an older snapshot', async () => {
  const r = await repoWithTwoSnapshots('catalog-flaky');
  try {
    r.repo.failing = manifestKey(r.ids[1]!);
    await assert.rejects(resolveSnapshot(r.repo, 'latest'), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.exitCode, ExitCode.storageUnavailable, err.message);
      return true;
    });
    await assert.rejects(listSnapshots(r.repo), (err: unknown) => err instanceof LifeboatError && err.exitCode === ExitCode.storageUnavailable);
    r.repo.failing = undefined;
    const ref = await resolveSnapshot(r.repo, 'latest');
    assert.equal(ref.kind === 'repo' && ref.entry.id, r.ids[1]);
  } finally {
    await r.cleanup();
  }
});

test('a manifest that vanishes between listing and reading (a prune ran meanwhile) is simply not listed, not reported as damage', async () => {
  const r = await repoWithTwoSnapshots('catalog-vanish');
  try {
    // Emulate the race: the listing still names the manifest, the read finds it gone.
    const original = r.repo.list.bind(r.repo);
    r.repo.list = async (prefix: string) => {
      const listed = await original(prefix);
      if (prefix === 'snapshots/') await rm(join(r.repo.root, manifestKey(r.ids[0]!)));
      return listed;
    };
    const catalog = await listSnapshots(r.repo);
    assert.deepEqual(catalog.snapshots.map((s) => s.id), [r.ids[1]]);
    assert.deepEqual(catalog.problems, []);
  } finally {
    await r.cleanup();
  }
});

test('a damaged newest manifest makes "latest" an integrity error naming it and the older one, never a quiet fallback', async () => {
  const r = await repoWithTwoSnapshots('catalog-damaged-newest');
  try {
    await writeFile(join(r.repo.root, manifestKey(r.ids[1]!)), '{ not json');
    await assert.rejects(resolveSnapshot(r.repo, 'latest'), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.exitCode, ExitCode.integrity, err.message);
      assert.match(err.message, new RegExp(r.ids[1]!));
      assert.match(err.hint, new RegExp(r.ids[0]!));
      return true;
    });
    // Named explicitly, the older snapshot is still usable, and the listing reports the damage.
    const older = await resolveSnapshot(r.repo, r.ids[0]!);
    assert.equal(older.kind === 'repo' && older.entry.id, r.ids[0]);
    const catalog = await listSnapshots(r.repo);
    assert.deepEqual(catalog.damaged, [r.ids[1]]);
  } finally {
    await r.cleanup();
  }
});

test('a damaged manifest older than the newest readable snapshot does not block "latest"', async () => {
  const r = await repoWithTwoSnapshots('catalog-damaged-older');
  try {
    await writeFile(join(r.repo.root, manifestKey(r.ids[0]!)), '{ not json');
    const ref = await resolveSnapshot(r.repo, 'latest');
    assert.equal(ref.kind === 'repo' && ref.entry.id, r.ids[1]);
  } finally {
    await r.cleanup();
  }
});
