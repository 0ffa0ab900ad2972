import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeferredSyncFileSystem } from '../../src/server/deferred-sync-file-system.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';

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
