import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs/promises';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { LocalRepository, type LocalFs } from '../../src/repo/local-repository.js';
import { LazyS3Repository, openRepository } from '../../src/repo/open-repository.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import { listFiles, tempDir } from '../archive/helpers.js';

function exitOf(code: number) {
  return (err: unknown) => {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.equal(err.exitCode, code, err.message);
    return true;
  };
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall });
}

/** An fs whose writes to new files fail with `code` once `okBytes` bytes went through. */
function failingWrites(code: string, okBytes = 0): LocalFs {
  return {
    ...nodeFs,
    open: (async (path: string, flags?: string, mode?: number) => {
      const handle = await nodeFs.open(path, flags, mode);
      if (flags !== 'wx') return handle;
      let written = 0;
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === 'write') {
            return async (buf: Buffer, offset = 0, length = buf.length - offset) => {
              if (written + length > okBytes) throw errno(code, 'write');
              written += length;
              return target.write(buf, offset, length);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    }) as LocalFs['open'],
  };
}

test('a streamed object appears whole under its key and reads back the same', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const seen: number[] = [];
    const { bytes } = await repo.writeStream('snapshots/a.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { onProgress: (b) => seen.push(b) });
    assert.equal(bytes, data.length);
    assert.equal(seen.at(-1), data.length);
    const parts: Buffer[] = [];
    for await (const part of await repo.read('snapshots/a.bin')) parts.push(part as Buffer);
    assert.ok(Buffer.concat(parts).equals(data));
    assert.deepEqual((await repo.list('snapshots/')).map((o) => [o.key, o.size]), [['snapshots/a.bin', data.length]]);
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json', 'snapshots/a.bin']);
  } finally {
    await t.cleanup();
  }
});

test('writing over an existing key is refused and the existing object is untouched', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    await repo.writeStream('snapshots/a.bin', Readable.from([Buffer.from('first')]));
    await assert.rejects(repo.writeStream('snapshots/a.bin', Readable.from([Buffer.from('second')])), exitOf(ExitCode.unsafe));
    assert.equal(await readFile(join(t.dir, 'snapshots/a.bin'), 'utf8'), 'first');
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json', 'snapshots/a.bin']);
  } finally {
    await t.cleanup();
  }
});

test('a body stream that fails mid-way leaves neither the object nor a temporary file', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    async function* failing() {
      yield Buffer.alloc(100_000);
      throw new Error('upstream died');
    }
    await assert.rejects(repo.writeStream('snapshots/a.bin', Readable.from(failing())), /upstream died/);
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json']);
  } finally {
    await t.cleanup();
  }
});

test('a full disk is exit 14 with a hint, and nothing half-written is left behind', async () => {
  const t = await tempDir('repo');
  try {
    await new LocalRepository(t.dir).ensureInitialized();
    const repo = new LocalRepository(t.dir, { fs: failingWrites('ENOSPC', 64 * 1024) });
    await assert.rejects(repo.writeStream('snapshots/a.bin', Readable.from([Buffer.alloc(1024 * 1024)])), (err) => {
      exitOf(ExitCode.storageUnavailable)(err);
      assert.match((err as Error).message, /no space left on device/);
      assert.match((err as LifeboatError).hint, /free space|prune/);
      return true;
    });
    await assert.rejects(repo.writeSmall('drills/r.json', Buffer.alloc(100_000)), exitOf(ExitCode.storageUnavailable));
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json']);
  } finally {
    await t.cleanup();
  }
});

test('a read-only or failing device is exit 14 naming the repository', async () => {
  const t = await tempDir('repo');
  try {
    await new LocalRepository(t.dir).ensureInitialized();
    for (const code of ['EROFS', 'EACCES', 'EIO']) {
      const fs: LocalFs = { ...nodeFs, open: (async () => { throw errno(code, 'open'); }) as LocalFs['open'] };
      const repo = new LocalRepository(t.dir, { fs });
      await assert.rejects(repo.writeStream('snapshots/a.bin', Readable.from([Buffer.from('x')])), (err) => {
        exitOf(ExitCode.storageUnavailable)(err);
        assert.ok((err as Error).message.includes(t.dir));
        assert.ok((err as Error).message.includes(code));
        return true;
      });
    }
  } finally {
    await t.cleanup();
  }
});

test('a repository path under a regular file cannot be created: exit 14', async () => {
  const t = await tempDir('repo');
  try {
    await writeFile(join(t.dir, 'file'), 'x');
    await assert.rejects(new LocalRepository(join(t.dir, 'file', 'repo')).ensureInitialized(), exitOf(ExitCode.storageUnavailable));
  } finally {
    await t.cleanup();
  }
});

test('createExclusive creates once and then reports the key as taken', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    assert.equal(await repo.createExclusive('locks/run.json', Buffer.from('a')), true);
    assert.equal(await repo.createExclusive('locks/run.json', Buffer.from('b')), false);
    assert.equal((await repo.readSmall('locks/run.json')).toString(), 'a');
    await repo.writeSmall('locks/run.json', Buffer.from('c'));
    assert.equal((await repo.readSmall('locks/run.json')).toString(), 'c');
    await repo.delete('locks/run.json');
    await repo.delete('locks/run.json');
    assert.equal(await repo.stat('locks/run.json'), undefined);
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json']);
  } finally {
    await t.cleanup();
  }
});

test('compareAndDelete deletes only an object that still holds exactly the expected bytes', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    assert.equal(await repo.compareAndDelete('locks/lock.json', Buffer.from('a')), false, 'nothing to delete');
    await repo.writeSmall('locks/lock.json', Buffer.from('fresh'));
    assert.equal(await repo.compareAndDelete('locks/lock.json', Buffer.from('stale')), false);
    assert.equal((await repo.readSmall('locks/lock.json')).toString(), 'fresh');
    assert.equal(await repo.compareAndDelete('locks/lock.json', Buffer.from('fresh')), true);
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json']);
  } finally {
    await t.cleanup();
  }
});

test('compareAndDelete leaves an object that another run put there after the compare read it, and leaves no temporary file', async () => {
  const t = await tempDir('repo');
  try {
    const lock = join(t.dir, 'locks', 'lock.json');
    // Between the compare's first read and its move, another run takes the stale lock over.
    const racing: LocalFs = {
      ...nodeFs,
      rename: (async (from: string, to: string) => {
        if (from === lock) await writeFile(lock, 'fresh lock of another run');
        return nodeFs.rename(from, to);
      }) as LocalFs['rename'],
    };
    const repo = new LocalRepository(t.dir, { fs: racing });
    await repo.ensureInitialized();
    await new LocalRepository(t.dir).writeSmall('locks/lock.json', Buffer.from('stale'));
    assert.equal(await repo.compareAndDelete('locks/lock.json', Buffer.from('stale')), false);
    assert.equal((await readFile(lock)).toString(), 'fresh lock of another run');
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json', 'locks/lock.json']);
  } finally {
    await t.cleanup();
  }
});

test('cleanupIncomplete removes only partial files older than the cutoff', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    await mkdir(join(t.dir, 'snapshots'));
    const old = join(t.dir, 'snapshots', '.x.tar.zst.partial-abc123');
    const fresh = join(t.dir, 'snapshots', '.y.tar.zst.partial-def456');
    await writeFile(old, 'old');
    await writeFile(fresh, 'fresh');
    await writeFile(join(t.dir, 'snapshots', 'z.tar.zst'), 'kept');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(old, hourAgo, hourAgo);
    assert.equal(await repo.cleanupIncomplete(new Date(Date.now() - 60_000)), 1);
    assert.deepEqual(await listFiles(t.dir), ['lifeboat-repo.json', 'snapshots/.y.tar.zst.partial-def456', 'snapshots/z.tar.zst']);
    assert.deepEqual((await repo.list('snapshots/')).map((o) => o.key), ['snapshots/z.tar.zst'], 'partial files are never listed');
  } finally {
    await t.cleanup();
  }
});

test('reading a repository that is missing, unmarked, foreign or newer says which', async () => {
  const t = await tempDir('repo');
  try {
    await assert.rejects(new LocalRepository(join(t.dir, 'nope')).checkInitialized(), exitOf(ExitCode.notFound));
    await mkdir(join(t.dir, 'empty'));
    await assert.rejects(new LocalRepository(join(t.dir, 'empty')).checkInitialized(), exitOf(ExitCode.notFound));
    await mkdir(join(t.dir, 'foreign'));
    await writeFile(join(t.dir, 'foreign', 'lifeboat-repo.json'), '{"hello":1}');
    await assert.rejects(new LocalRepository(join(t.dir, 'foreign')).checkInitialized(), exitOf(ExitCode.integrity));
    await mkdir(join(t.dir, 'newer'));
    await writeFile(join(t.dir, 'newer', 'lifeboat-repo.json'), '{"schema":"lifeboat.repository/v1","formatVersion":2}');
    await assert.rejects(new LocalRepository(join(t.dir, 'newer')).checkInitialized(), (err) => exitOf(ExitCode.integrity)(err) && /upgrade/.test((err as LifeboatError).hint));
    await assert.rejects(new LocalRepository(join(t.dir, 'nope')).read('snapshots/x'), exitOf(ExitCode.notFound));
  } finally {
    await t.cleanup();
  }
});

test('the first save refuses a non-empty directory that is not a repository', async () => {
  const t = await tempDir('repo');
  try {
    await writeFile(join(t.dir, 'important.txt'), 'do not mix');
    await assert.rejects(new LocalRepository(t.dir).ensureInitialized(), exitOf(ExitCode.unsafe));
    assert.deepEqual(await listFiles(t.dir), ['important.txt']);
  } finally {
    await t.cleanup();
  }
});

test('keys that would escape the repository are refused', async () => {
  const t = await tempDir('repo');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    await assert.rejects(repo.readSmall('../outside'), exitOf(ExitCode.integrity));
    await assert.rejects(repo.writeSmall('snapshots/../../x', Buffer.from('x')), exitOf(ExitCode.integrity));
  } finally {
    await t.cleanup();
  }
});

test('--repo URLs choose the implementation, and unknown schemes are a usage error naming --repo', async () => {
  assert.ok(openRepository('/var/backups/etcd') instanceof LocalRepository);
  assert.equal(openRepository('file:///var/backups/etcd').url, '/var/backups/etcd');
  const s3 = openRepository('s3://bucket/prefix/');
  assert.ok(s3 instanceof LazyS3Repository);
  assert.equal(s3.url, 's3://bucket/prefix');
  assert.ok((await s3.resolve()) instanceof S3Repository);
  for (const bad of ['http://example.com/x', 'file://host/x', '', 's3://']) {
    assert.throws(() => openRepository(bad), (err) => exitOf(ExitCode.usage)(err) && /--repo/.test((err as Error).message));
  }
});
