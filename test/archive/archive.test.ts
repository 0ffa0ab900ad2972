import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { readArchive } from '../../src/archive/archive-reader.js';
import { headFrame, storeArchive } from '../../src/archive/archive-writer.js';
import { compressFrame } from '../../src/archive/compression.js';
import { spoolCompressed } from '../../src/archive/spool.js';
import { TAR_END, tarFileHeader, tarPadding } from '../../src/archive/tar-header.js';
import { checkSnapshotBytes } from '../../src/archive/snapshot-check.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { ENTRY_MANIFEST_SCHEMA, encodeManifest, type EntryManifest } from '../../src/repo/manifest.js';
import { listFiles, snapshotBytes, tempDir } from './helpers.js';

function entryManifest(id: string, snap: Buffer): EntryManifest {
  return {
    schema: ENTRY_MANIFEST_SCHEMA, id, formatVersion: 1, toolVersion: 't', createdAt: '2026-11-25T09:00:00.000Z',
    clusterId: 'cdf818194e3a8c32', members: [], sourceMember: '8e9e05c52164694d', source: 'test', raftIndex: 1, raftTerm: 1,
    revision: 1, compactRevision: 0, keyCount: 0, dataBytes: 0, kvHash: 0, consistency: 'offline', snapshotName: `${id}.snap`,
    snapshotBytes: snap.length, snapshotSha256: createHash('sha256').update(snap).digest('hex'), compression: 'zstd', compressionLevel: 3,
  };
}

/** A .tar.zst built by hand from entries, to test what the reader refuses. */
function handmade(entries: [string, Buffer][]): Buffer {
  const tar: Buffer[] = [];
  for (const [name, body] of entries) tar.push(tarFileHeader(name, body.length, new Date(0)), body, tarPadding(body.length));
  tar.push(TAR_END);
  return compressFrame(Buffer.concat(tar), 3);
}

test('an archive of two zstd frames is one tar stream: manifest.json, then the snapshot, for tar-stream and for GNU tar', async () => {
  const t = await tempDir('archive');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const snap = await snapshotBytes(1000);
    const manifest = entryManifest('a', snap);
    const body = await spoolCompressed(Readable.from([snap]), { compressionLevel: 3, spoolDir: t.dir });
    const stored = await storeArchive(repo, 'snapshots/a.tar.zst', { entryManifest: encodeManifest(manifest), entryName: 'a.snap', body, compressionLevel: 3, mtime: new Date(0) });
    await body.dispose();
    const file = join(t.dir, 'snapshots/a.tar.zst');
    const bytes = await readFile(file);
    assert.equal(bytes.length, stored.archiveBytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), stored.archiveSha256);
    assert.match(execFileSync('zstd', ['-lv', file]).toString(), /Frames\s*:?\s*2|# Zstandard Frames: 2/);
    assert.deepEqual(execFileSync('sh', ['-c', 'zstd -dc "$0" | tar -t', file]).toString().trim().split('\n'), ['manifest.json', 'a.snap']);
    const read = await readArchive(await repo.read('snapshots/a.tar.zst'), { where: 'a', consume: checkSnapshotBytes });
    assert.equal(read.archiveSha256, stored.archiveSha256);
    assert.deepEqual(read.entryManifest, manifest);
    assert.equal(read.result.sha256, manifest.snapshotSha256);
  } finally {
    await t.cleanup();
  }
});

test('archives that are not exactly manifest.json then the snapshot are refused with exit 13', async () => {
  const snap = await snapshotBytes(10);
  const m = entryManifest('a', snap);
  const mj = encodeManifest(m);
  const cases: [string, Buffer, RegExp][] = [
    ['snapshot first', handmade([['a.snap', snap], ['manifest.json', mj]]), /does not start with manifest.json/],
    ['no snapshot', handmade([['manifest.json', mj]]), /snapshot entry is missing/],
    ['wrong name', handmade([['manifest.json', mj], ['b.snap', snap]]), /where a.snap was expected/],
    ['extra entry', handmade([['manifest.json', mj], ['a.snap', snap], ['evil.sh', Buffer.from('rm -rf /')]]), /unexpected entry/],
    ['bad manifest', handmade([['manifest.json', Buffer.from('{"schema":"something/v1"}')], ['a.snap', snap]]), /not a Lifeboat manifest/],
    ['not zstd', Buffer.from('hello world, not an archive at all'), /not a valid zstd stream/],
    ['truncated', handmade([['manifest.json', mj], ['a.snap', snap]]).subarray(0, 200), /zstd|truncated|tar/],
  ];
  for (const [name, bytes, pattern] of cases) {
    await assert.rejects(readArchive(Readable.from([bytes]), { where: 'x', consume: checkSnapshotBytes }), (err) => {
      assert.ok(err instanceof LifeboatError, `${name}: ${String(err)}`);
      assert.equal(err.exitCode, ExitCode.integrity, `${name}: ${err.message}`);
      assert.match(err.message, pattern, name);
      return true;
    });
  }
});

test('tar headers carry sizes beyond 8 GiB in base-256, as GNU tar and tar-stream read them', async () => {
  const size = 9 * 1024 ** 3 + 5;
  const header = tarFileHeader('big.snap', size, new Date(0));
  const untar = extract();
  const seen = new Promise<number>((ok) => untar.on('entry', (h) => ok(h.size)));
  untar.write(header);
  assert.equal(await seen, size);
  untar.destroy();
  assert.equal(tarPadding(512).length, 0);
  assert.equal(tarPadding(513).length, 511);
});

test('the spool counts and hashes the body, appends the tar tail, and leaves nothing when its source fails', async () => {
  const t = await tempDir('spool');
  try {
    const data = Buffer.alloc(100_000, 3);
    const body = await spoolCompressed(Readable.from([data]), { compressionLevel: 3, spoolDir: t.dir });
    assert.equal(body.bodyBytes, data.length);
    assert.equal(body.bodySha256, createHash('sha256').update(data).digest('hex'));
    const raw = execFileSync('zstd', ['-dc', body.path]);
    assert.equal(raw.length, data.length + tarPadding(data.length).length + 1024);
    await body.dispose();
    assert.deepEqual(await listFiles(t.dir), []);
    async function* failing() {
      yield Buffer.alloc(10_000);
      throw new Error('boom');
    }
    await assert.rejects(spoolCompressed(Readable.from(failing()), { compressionLevel: 3, spoolDir: t.dir }), /boom/);
    assert.deepEqual(await listFiles(t.dir), []);
    await mkdir(join(t.dir, 'x'));
    await writeFile(join(t.dir, 'x', 'f'), '');
    await assert.rejects(spoolCompressed(Readable.from([data]), { compressionLevel: 3, spoolDir: join(t.dir, 'x', 'f') }), (err) => err instanceof LifeboatError && err.exitCode === ExitCode.storageUnavailable);
  } finally {
    await t.cleanup();
  }
});

test('the head frame decompresses to the two headers and the manifest, block aligned', () => {
  const mj = Buffer.from('{"a":1}');
  const frame = headFrame(mj, 'x.snap', 12345, new Date(0), 3);
  const plain = execFileSync('zstd', ['-dc'], { input: frame });
  assert.equal(plain.length, 512 + 512 + 512);
});

test('a spool folder left by a killed save is removed by the next save once it is a day old', async () => {
  const t = await tempDir('spool');
  try {
    await mkdir(join(t.dir, 'lifeboat-spool-old'));
    await writeFile(join(t.dir, 'lifeboat-spool-old', 'body.zst'), 'x');
    await mkdir(join(t.dir, 'lifeboat-spool-recent'));
    await mkdir(join(t.dir, 'unrelated-old'));
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(join(t.dir, 'lifeboat-spool-old'), twoDaysAgo, twoDaysAgo);
    await utimes(join(t.dir, 'unrelated-old'), twoDaysAgo, twoDaysAgo);
    const body = await spoolCompressed(Readable.from([Buffer.from('x')]), { compressionLevel: 3, spoolDir: t.dir });
    await body.dispose();
    assert.deepEqual((await readdir(t.dir)).sort(), ['lifeboat-spool-recent', 'unrelated-old']);
  } finally {
    await t.cleanup();
  }
});

test('the tar layout inside an archive is pinned: the same inputs always decompress to the same bytes', async () => {
  const t = await tempDir('archive');
  try {
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const snap = Buffer.from('LBSNAP\r\n' + 'x'.repeat(1000));
    const body = await spoolCompressed(Readable.from([snap]), { compressionLevel: 3, spoolDir: t.dir });
    await storeArchive(repo, 'snapshots/p.tar.zst', { entryManifest: Buffer.from('{"pinned":true}\n'), entryName: 'p.snap', body, compressionLevel: 3, mtime: new Date(Date.UTC(2026, 0, 1)) });
    await body.dispose();
    const tar = execFileSync('zstd', ['-dc', join(t.dir, 'snapshots/p.tar.zst')]);
    assert.equal(tar.length, 512 + 512 + 512 + 1024 + 1024);
    // Changing this hash changes what `tar -x` produces from every new archive: that is a format change.
    assert.equal(createHash('sha256').update(tar).digest('hex'), PINNED_TAR_SHA256);
  } finally {
    await t.cleanup();
  }
});

const PINNED_TAR_SHA256 = '5f694cdc0456df6141fb500411ca3151f1d76209345244c6f10a520bcf129c9d';
