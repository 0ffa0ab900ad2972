import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeferredSyncFileSystem } from '../../src/server/deferred-sync-file-system.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';
import { MemberStorage } from '../../src/storage/member-storage.js';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { StorageDurability } from '../../src/server/storage-adapter.js';
import { EntryType, type Entry } from '../../src/raft/index.js';

test('an fdatasync asked for while deferring runs later off the loop, and one outside runs at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-deferred-'));
  try {
    const fs = new DeferredSyncFileSystem();
    const fd = fs.open(join(dir, 'f'), 'replace');
    fs.write(fd, Buffer.from('hello'), 0);
    fs.deferring = true;
    fs.fdatasync(fd);
    fs.deferring = false;
    await fs.flushAsync();
    fs.fdatasync(fd);
    fs.close(fd);
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed deferred fdatasync fails every later sync for good', async () => {
  const fs = new DeferredSyncFileSystem();
  const err = fs.fail(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
  assert.ok(err instanceof StorageFailedError);
  assert.throws(() => fs.fdatasync(3), StorageFailedError);
  await assert.rejects(fs.flushAsync(), StorageFailedError);
});

/** Counts the deferred flushes that actually run an fdatasync. */
class CountingFileSystem extends DeferredSyncFileSystem {
  flushes = 0;
  inlineFlushes = 0;
  override async flushAsync(): Promise<void> {
    this.flushes++;
    await super.flushAsync();
  }
  override flushSync(): void {
    this.inlineFlushes++;
    super.flushSync();
  }
}

function entry(index: number): Entry {
  return { term: 1, index, type: EntryType.Normal, data: Buffer.from(`e${index}`) };
}

test('a hard state that only moves the commit index reaches the WAL without an fdatasync of its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-deferred-'));
  try {
    const fs = new CountingFileSystem();
    const durability = new StorageDurability(await MemberStorage.open(fs, dir, { log: () => {} }), fs);
    await durability.save({ term: 1, vote: 'a', commit: 0 }, [entry(1), entry(2)], true);
    assert.equal(fs.flushes, 1);
    await durability.save({ term: 1, vote: 'a', commit: 2 }, [], false);
    assert.equal(fs.flushes, 1, 'a commit-only hard state must not wait for an fdatasync');
    durability.close();
    const reopened = await MemberStorage.open(new NodeFileSystem(), dir, { log: () => {} });
    assert.deepEqual(reopened.recovered.hardState, { term: 1, vote: 'a', commit: 2 });
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit-only hard state between two synced appends reads back in order with both appends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-deferred-'));
  try {
    const fs = new CountingFileSystem();
    const durability = new StorageDurability(await MemberStorage.open(fs, dir, { log: () => {} }), fs);
    await durability.save({ term: 1, vote: 'a', commit: 0 }, [entry(1)], true);
    await durability.save({ term: 1, vote: 'a', commit: 1 }, [], false);
    await durability.save(undefined, [entry(2)], true);
    assert.equal(fs.flushes, 2);
    durability.close();
    const reopened = await MemberStorage.open(new NodeFileSystem(), dir, { log: () => {} });
    assert.deepEqual(reopened.recovered.hardState, { term: 1, vote: 'a', commit: 1 });
    assert.deepEqual(reopened.recovered.entries.map((e) => e.index), [1, 2]);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a member that syncs inline (a follower) fdatasyncs on the calling thread, and still skips the sync of a commit-only hard state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-deferred-'));
  try {
    const fs = new CountingFileSystem();
    const durability = new StorageDurability(await MemberStorage.open(fs, dir, { log: () => {} }), fs);
    durability.syncInline = true;
    await durability.save({ term: 2, vote: 'b', commit: 0 }, [entry(1), entry(2)], true);
    await durability.save({ term: 2, vote: 'b', commit: 2 }, [], false);
    assert.deepEqual([fs.inlineFlushes, fs.flushes], [1, 0]);
    durability.syncInline = false;
    await durability.save(undefined, [entry(3)], true);
    assert.deepEqual([fs.inlineFlushes, fs.flushes], [1, 1]);
    durability.close();
    const reopened = await MemberStorage.open(new NodeFileSystem(), dir, { log: () => {} });
    assert.deepEqual(reopened.recovered.hardState, { term: 2, vote: 'b', commit: 2 });
    assert.deepEqual(reopened.recovered.entries.map((e) => e.index), [1, 2, 3]);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
