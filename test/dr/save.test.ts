import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { ExitCode, LifeboatError, StorageUnavailableError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import type { WriteOptions } from '../../src/repo/repository.js';
import { parseManifest } from '../../src/repo/manifest.js';
import { saveFromStream, saveSnapshot, type SnapshotSource } from '../../src/dr/save.js';
import { InterruptedError } from '../../src/errors.js';
import { brokenStream, listFiles, snapshotBytes, snapshotStream, stallingStream, tempDir } from '../archive/helpers.js';

const at = (s: number) => () => new Date(Date.UTC(2026, 10, 25, 9, 0, s));

async function setup() {
  const repoDir = await tempDir('save-repo');
  const spool = await tempDir('save-spool');
  const repo = new LocalRepository(repoDir.dir);
  return {
    repoDir: repoDir.dir,
    spoolDir: spool.dir,
    repo,
    cleanup: async () => {
      await repoDir.cleanup();
      await spool.cleanup();
    },
  };
}

function assertExit(err: unknown, code: number): true {
  assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
  assert.equal(err.exitCode, code, `${err.message}`);
  assert.ok(err.hint.length > 0);
  assert.ok(!err.message.includes('\n'));
  return true;
}

test('a saved snapshot is committed with a manifest that matches the archive and the snapshot', async () => {
  const s = await setup();
  try {
    const { manifest } = await saveFromStream(snapshotStream(3000), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(1) });
    assert.equal(manifest.id, '20261125T090001Z-cdf818194e3a8c32-r3001');
    assert.equal(manifest.keyCount, 3000);
    assert.equal(manifest.revision, 3001);
    assert.equal(manifest.consistency, 'linearizable');
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json', `snapshots/${manifest.id}.json`, `snapshots/${manifest.id}.tar.zst`]);
    assert.deepEqual(await listFiles(s.spoolDir), [], 'the spool is removed');
    const archive = await readFile(join(s.repoDir, 'snapshots', `${manifest.id}.tar.zst`));
    assert.equal(archive.length, manifest.archiveBytes);
    assert.equal(createHash('sha256').update(archive).digest('hex'), manifest.archiveSha256);
    const stored = parseManifest(await readFile(join(s.repoDir, 'snapshots', `${manifest.id}.json`)), 'x', manifest.id);
    assert.deepEqual(stored, manifest);
    const original = await snapshotBytes(3000);
    assert.equal(manifest.snapshotBytes, original.length);
    assert.equal(manifest.snapshotSha256, createHash('sha256').update(original).digest('hex'));
  } finally {
    await s.cleanup();
  }
});

test('standard tools open an archive: zstd -dc | tar -x gives the manifest and the snapshot file', async () => {
  const s = await setup();
  const out = await tempDir('save-extract');
  try {
    const { manifest } = await saveFromStream(snapshotStream(500), { repo: s.repo, consistency: 'offline', source: '/data', spoolDir: s.spoolDir, now: at(2) });
    execFileSync('sh', ['-c', `zstd -q -t "$0" && zstd -dc "$0" | tar -x -C "$1"`, join(s.repoDir, manifest.archiveKey), out.dir]);
    assert.deepEqual(await listFiles(out.dir), [`${manifest.id}.snap`, 'manifest.json']);
    const snap = await readFile(join(out.dir, `${manifest.id}.snap`));
    assert.equal(createHash('sha256').update(snap).digest('hex'), manifest.snapshotSha256);
    const inner = JSON.parse(await readFile(join(out.dir, 'manifest.json'), 'utf8'));
    assert.equal(inner.schema, 'lifeboat.archive-entry/v1');
    assert.equal(inner.snapshotSha256, manifest.snapshotSha256);
    assert.equal(inner.consistency, 'offline');
  } finally {
    await out.cleanup();
    await s.cleanup();
  }
});

for (const how of ['error', 'truncate'] as const) {
  test(`a snapshot stream that ${how === 'error' ? 'breaks' : 'ends early'} mid-way commits nothing and leaves earlier snapshots untouched`, async () => {
    const s = await setup();
    try {
      const first = await saveFromStream(snapshotStream(1000), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(3) });
      const before = await listFiles(s.repoDir);
      const firstArchive = await readFile(join(s.repoDir, first.manifest.archiveKey));
      const bytes = await snapshotBytes(5000, 6000);
      await assert.rejects(
        saveFromStream(brokenStream(bytes, Math.floor(bytes.length / 2), how), { repo: s.repo, consistency: 'linearizable', source: 'http://m1', spoolDir: s.spoolDir, now: at(4) }),
        (err) => assertExit(err, how === 'error' ? ExitCode.clusterUnavailable : ExitCode.integrity),
      );
      assert.deepEqual(await listFiles(s.repoDir), before, 'no manifest, no archive, no temp file');
      assert.deepEqual(await listFiles(s.spoolDir), []);
      assert.ok(firstArchive.equals(await readFile(join(s.repoDir, first.manifest.archiveKey))));
    } finally {
      await s.cleanup();
    }
  });
}

test('a flipped bit inside a chunk fails the save with an integrity error and commits nothing', async () => {
  const s = await setup();
  try {
    const bytes = await snapshotBytes(2000);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    await assert.rejects(
      saveFromStream(brokenStream(bytes, bytes.length, 'truncate'), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(5) }),
      (err) => assertExit(err, ExitCode.integrity),
    );
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
  } finally {
    await s.cleanup();
  }
});

test('an interrupted save ends with the interruption and commits nothing', async () => {
  const s = await setup();
  try {
    const controller = new AbortController();
    const bytes = await snapshotBytes(2000);
    const stream = stallingStream(bytes.subarray(0, 4096));
    const saving = saveFromStream(stream, { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, signal: controller.signal, now: at(6) });
    stream.once('data', () => controller.abort(new InterruptedError('interrupted by SIGINT')));
    await assert.rejects(saving, (err) => assertExit(err, ExitCode.interrupted));
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
    assert.deepEqual(await listFiles(s.spoolDir), []);
  } finally {
    await s.cleanup();
  }
});

test('a member that stops sending fails the save with exit 3 once the timeout passes', async () => {
  const s = await setup();
  try {
    const bytes = await snapshotBytes(2000);
    await assert.rejects(
      saveFromStream(stallingStream(bytes.subarray(0, 4096)), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, timeoutMs: 100, now: at(7) }),
      (err) => assertExit(err, ExitCode.clusterUnavailable) && /timed out/.test((err as Error).message),
    );
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
  } finally {
    await s.cleanup();
  }
});

test('a repository that stops taking the archive fails the save with exit 14 pointing at the storage, not at the cluster', async () => {
  const s = await setup();
  // Takes the first bytes of the archive, then hangs until the save gives up, as a stuck bucket does.
  class HangingRepository extends LocalRepository {
    override async writeStream(_key: string, body: Readable, options: WriteOptions = {}): Promise<{ bytes: number }> {
      body.resume();
      return new Promise((_resolve, reject) => {
        const signal = options.signal!;
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => {
          body.destroy();
          reject(signal.reason);
        }, { once: true });
      });
    }
  }
  try {
    const repo = new HangingRepository(s.repoDir);
    // As a bucket: no staging in place, so the archive goes through writeStream.
    (repo as { stage?: unknown }).stage = undefined;
    await assert.rejects(
      saveFromStream(snapshotStream(500), { repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, timeoutMs: 100, now: at(9) }),
      (err) => assertExit(err, ExitCode.storageUnavailable) && /storing the archive/.test((err as Error).message) && /storage|bucket|repository/.test((err as LifeboatError).hint),
    );
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
    assert.deepEqual(await listFiles(s.spoolDir), []);
  } finally {
    await s.cleanup();
  }
});

test('a manifest write that fails after the store kept it (a lost S3 response) leaves no manifest behind pointing at a removed archive', async () => {
  const s = await setup();
  class LostResponseRepository extends LocalRepository {
    override async createExclusive(key: string, data: Buffer): Promise<boolean> {
      const created = await super.createExclusive(key, data);
      if (key.endsWith('.json') && key.startsWith('snapshots/')) throw new StorageUnavailableError(`cannot create ${key}: socket hang up`, 'check the network');
      return created;
    }
  }
  try {
    const repo = new LostResponseRepository(s.repoDir);
    await assert.rejects(
      saveFromStream(snapshotStream(200), { repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(10) }),
      (err) => assertExit(err, ExitCode.storageUnavailable),
    );
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
  } finally {
    await s.cleanup();
  }
});

test('saving the same revision twice in the same second refuses to overwrite the first', async () => {
  const s = await setup();
  try {
    const first = await saveFromStream(snapshotStream(100), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(8) });
    const manifestBefore = await readFile(join(s.repoDir, 'snapshots', `${first.manifest.id}.json`));
    await assert.rejects(
      saveFromStream(snapshotStream(100), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(8) }),
      (err) => assertExit(err, ExitCode.unsafe),
    );
    assert.ok(manifestBefore.equals(await readFile(join(s.repoDir, 'snapshots', `${first.manifest.id}.json`))));
    assert.equal((await listFiles(s.repoDir)).length, 3);
  } finally {
    await s.cleanup();
  }
});

test('--allow-stale asks the client for a serializable snapshot and records it in the manifest', async () => {
  const s = await setup();
  try {
    const asked: boolean[] = [];
    const client: SnapshotSource = {
      async snapshot({ serializable }) {
        asked.push(serializable);
        return { stream: snapshotStream(50), endpoint: 'http://127.0.0.1:2379' };
      },
    };
    const { manifest } = await saveSnapshot({ client, repo: s.repo, allowStale: true, spoolDir: s.spoolDir, now: at(9) });
    assert.deepEqual(asked, [true]);
    assert.equal(manifest.consistency, 'serializable');
    assert.equal(manifest.source, 'http://127.0.0.1:2379');
  } finally {
    await s.cleanup();
  }
});

test('a client that cannot reach a quorum makes the save fail with exit 3 before anything is written', async () => {
  const s = await setup();
  try {
    const client: SnapshotSource = {
      async snapshot() {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2379'), { code: 'ECONNREFUSED' });
      },
    };
    await assert.rejects(saveSnapshot({ client, repo: s.repo, spoolDir: s.spoolDir }), (err) => assertExit(err, ExitCode.clusterUnavailable));
    assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
  } finally {
    await s.cleanup();
  }
});

test('a repository path under a regular file fails the save with exit 14 before the cluster is asked', async () => {
  const s = await setup();
  try {
    await writeFile(join(s.repoDir, 'plain-file'), 'x');
    let asked = false;
    const client: SnapshotSource = {
      async snapshot() {
        asked = true;
        return { stream: snapshotStream(10), endpoint: 'x' };
      },
    };
    const repo = new LocalRepository(join(s.repoDir, 'plain-file', 'repo'));
    await assert.rejects(saveSnapshot({ client, repo, spoolDir: s.spoolDir }), (err) => assertExit(err, ExitCode.storageUnavailable));
    assert.equal(asked, false);
  } finally {
    await s.cleanup();
  }
});

for (const path of ['staged in place', 'spooled and uploaded'] as const) {
  test(`an archive that reads back damaged (${path}) fails the save with exit 13 and commits nothing`, async () => {
    const s = await setup();
    // Stores faithfully, but every read returns the archive with one byte flipped in its middle.
    class DamagingRepository extends LocalRepository {
      override async read(key: string): Promise<Readable> {
        const bytes = Buffer.from(await readFile(join(s.repoDir, ...key.split('/'))));
        bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
        return Readable.from([bytes]);
      }
    }
    try {
      const repo = new DamagingRepository(s.repoDir);
      if (path === 'spooled and uploaded') (repo as { stage?: unknown }).stage = undefined;
      await assert.rejects(
        saveFromStream(snapshotStream(3000), { repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(10) }),
        (err) => assertExit(err, ExitCode.integrity),
      );
      assert.deepEqual(await listFiles(s.repoDir), ['lifeboat-repo.json']);
      assert.deepEqual(await listFiles(s.spoolDir), []);
    } finally {
      await s.cleanup();
    }
  });
}

test('an archive staged in place keeps the standard layout: head frame first, then a skippable frame, then the body, and every zstd reader skips the padding', async () => {
  const s = await setup();
  try {
    const { manifest } = await saveFromStream(snapshotStream(500), { repo: s.repo, consistency: 'linearizable', source: 'test', spoolDir: s.spoolDir, now: at(11) });
    const archive = await readFile(join(s.repoDir, manifest.archiveKey));
    assert.deepEqual([...archive.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame comes first');
    const skippable = archive.indexOf(Buffer.from([0x50, 0x2a, 0x4d, 0x18]));
    assert.ok(skippable > 0, 'a skippable frame follows the head frame');
    const bodyAt = skippable + 8 + archive.readUInt32LE(skippable + 4);
    assert.equal(bodyAt % 4096, 0, 'the body frame starts where the reserved room ends');
    assert.deepEqual([...archive.subarray(bodyAt, bodyAt + 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    const listed = execFileSync('sh', ['-c', 'zstd -dc "$0" | tar -tv', join(s.repoDir, manifest.archiveKey)]).toString();
    assert.match(listed, new RegExp(`${manifest.snapshotBytes} .*${manifest.id}\\.snap`));
  } finally {
    await s.cleanup();
  }
});
