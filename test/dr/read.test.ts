import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { saveFromStream } from '../../src/dr/save.js';
import { listSnapshots, resolveSnapshot } from '../../src/dr/catalog.js';
import { dumpSnapshotRef, verifyAll, verifySnapshotRef } from '../../src/dr/verify.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { records, snapshotBytes, snapshotStream, tempDir } from '../archive/helpers.js';

const at = (s: number) => () => new Date(Date.UTC(2026, 10, 25, 10, 0, s));

function exitOf(code: number, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.equal(err.exitCode, code, err.message);
    assert.ok(!err.message.includes('\n') && err.hint.length > 0);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

async function repoWithSnapshots(count = 2) {
  const t = await tempDir('read-repo');
  const repo = new LocalRepository(t.dir);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { manifest } = await saveFromStream(snapshotStream(400 + i, 1000 + i), { repo, consistency: 'linearizable', source: 'test', now: at(i) });
    ids.push(manifest.id);
  }
  return { ...t, repo, ids };
}

test('verify reads a snapshot back completely and reports what it checked', async () => {
  const r = await repoWithSnapshots(1);
  try {
    const ref = await resolveSnapshot(r.repo, r.ids[0]!);
    const report = await verifySnapshotRef(r.repo, ref);
    assert.equal(report.kind, 'repository');
    assert.equal(report.summary.trailer.recordCount, 400);
    assert.equal(report.archiveSha256, report.manifest!.archiveSha256);
  } finally {
    await r.cleanup();
  }
});

test('latest is the newest snapshot, optionally of one cluster, and a repository without snapshots is exit 10', async () => {
  const r = await repoWithSnapshots(2);
  try {
    const latest = await resolveSnapshot(r.repo, 'latest');
    assert.equal(latest.kind === 'repo' && latest.entry.id, r.ids[1]);
    await assert.rejects(resolveSnapshot(r.repo, 'latest', 'aaaaaaaaaaaaaaaa'), exitOf(ExitCode.notFound, /no snapshots of cluster/));
    await assert.rejects(resolveSnapshot(r.repo, '20200101T000000Z-cdf818194e3a8c32-r1'), exitOf(ExitCode.notFound, /not found/));
    await assert.rejects(resolveSnapshot(r.repo, 'no-such-thing'), exitOf(ExitCode.notFound));
  } finally {
    await r.cleanup();
  }
});

test('a flipped byte in a stored archive fails verification with exit 13 naming the snapshot', async () => {
  const r = await repoWithSnapshots(1);
  try {
    const path = join(r.dir, 'snapshots', `${r.ids[0]}.tar.zst`);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(path, bytes);
    const ref = await resolveSnapshot(r.repo, r.ids[0]!);
    await assert.rejects(verifySnapshotRef(r.repo, ref), exitOf(ExitCode.integrity, new RegExp(r.ids[0]!)));
    await assert.rejects(dumpSnapshotRef(r.repo, ref, () => undefined), exitOf(ExitCode.integrity));
  } finally {
    await r.cleanup();
  }
});

test('a truncated archive fails verification with exit 13', async () => {
  const r = await repoWithSnapshots(1);
  try {
    const path = join(r.dir, 'snapshots', `${r.ids[0]}.tar.zst`);
    const ref = await resolveSnapshot(r.repo, r.ids[0]!);
    await truncate(path, (await readFile(path)).length - 100);
    await assert.rejects(verifySnapshotRef(r.repo, ref), exitOf(ExitCode.integrity, /truncated|bytes/));
  } finally {
    await r.cleanup();
  }
});

test('an archive whose manifest is missing is never listed, and asking for it says it is incomplete (exit 10)', async () => {
  const r = await repoWithSnapshots(2);
  try {
    await rm(join(r.dir, 'snapshots', `${r.ids[1]}.json`));
    const { snapshots, incomplete } = await listSnapshots(r.repo);
    assert.deepEqual(snapshots.map((s) => s.id), [r.ids[0]]);
    assert.deepEqual(incomplete, [`snapshots/${r.ids[1]}.tar.zst`]);
    await assert.rejects(resolveSnapshot(r.repo, r.ids[1]!), exitOf(ExitCode.notFound, /incomplete/));
    const latest = await resolveSnapshot(r.repo, 'latest');
    assert.equal(latest.kind === 'repo' && latest.entry.id, r.ids[0]);
  } finally {
    await r.cleanup();
  }
});

test('a manifest whose archive hash does not match fails verification with exit 13', async () => {
  const r = await repoWithSnapshots(1);
  try {
    const path = join(r.dir, 'snapshots', `${r.ids[0]}.json`);
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    manifest.archiveSha256 = '0'.repeat(64);
    await writeFile(path, JSON.stringify(manifest));
    const ref = await resolveSnapshot(r.repo, r.ids[0]!);
    await assert.rejects(verifySnapshotRef(r.repo, ref), exitOf(ExitCode.integrity, /SHA-256/));
  } finally {
    await r.cleanup();
  }
});

test('a manifest of an unknown schema version or a damaged one is exit 13, and list reports it without failing', async () => {
  const r = await repoWithSnapshots(2);
  try {
    const path = join(r.dir, 'snapshots', `${r.ids[0]}.json`);
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...manifest, schema: 'lifeboat.manifest/v9' }));
    await assert.rejects(resolveSnapshot(r.repo, r.ids[0]!), (err) => exitOf(ExitCode.integrity, /v9/)(err) && /upgrade/.test((err as LifeboatError).hint));
    const listed = await listSnapshots(r.repo);
    assert.deepEqual(listed.snapshots.map((s) => s.id), [r.ids[1]]);
    assert.equal(listed.problems.length, 1);
    await writeFile(path, '{"schema": "lifeboat.manifest/v1", "id": ');
    await assert.rejects(resolveSnapshot(r.repo, r.ids[0]!), exitOf(ExitCode.integrity, /not valid JSON/));
  } finally {
    await r.cleanup();
  }
});

test('a foreign file given as the snapshot is exit 13, a missing one exit 10', async () => {
  const t = await tempDir('read-files');
  try {
    const foreign = join(t.dir, 'notes.txt');
    await writeFile(foreign, 'these are not the bytes you are looking for');
    const ref = await resolveSnapshot(undefined, foreign);
    await assert.rejects(verifySnapshotRef(undefined, ref), exitOf(ExitCode.integrity, /neither a Lifeboat archive/));
    await assert.rejects(resolveSnapshot(undefined, join(t.dir, 'missing.tar.zst')), exitOf(ExitCode.notFound));
    const empty = join(t.dir, 'empty.snap');
    await writeFile(empty, '');
    await assert.rejects(verifySnapshotRef(undefined, await resolveSnapshot(undefined, empty)), exitOf(ExitCode.integrity, /empty/));
  } finally {
    await t.cleanup();
  }
});

test('a raw snapshot file of a future format version is exit 13 with an upgrade hint', async () => {
  const t = await tempDir('read-files');
  try {
    const bytes = await snapshotBytes(10);
    bytes.writeUInt32BE(99, 8);
    const path = join(t.dir, 'future.snap');
    await writeFile(path, bytes);
    await assert.rejects(verifySnapshotRef(undefined, await resolveSnapshot(undefined, path)), exitOf(ExitCode.integrity));
  } finally {
    await t.cleanup();
  }
});

test('dump yields every record in key order from an archive file and from a raw snapshot file', async () => {
  const r = await repoWithSnapshots(1);
  try {
    const raw = join(r.dir, 'raw.snap');
    await writeFile(raw, await snapshotBytes(400, 1000));
    const archive = join(r.dir, 'snapshots', `${r.ids[0]}.tar.zst`);
    const expected = [...records(400)].map((x) => x.key.toString());
    for (const path of [raw, archive]) {
      const seen: KeyValueRecord[] = [];
      const report = await dumpSnapshotRef(undefined, await resolveSnapshot(undefined, path), (batch) => {
        seen.push(...batch);
      });
      assert.equal(report.kind, path === raw ? 'snapshot-file' : 'archive-file');
      assert.deepEqual(seen.map((x) => x.key.toString()), expected);
    }
  } finally {
    await r.cleanup();
  }
});

test('verify --all goes on past a damaged snapshot and an unreadable manifest and reports each', async () => {
  const r = await repoWithSnapshots(3);
  try {
    await truncate(join(r.dir, 'snapshots', `${r.ids[1]}.tar.zst`), 50);
    await writeFile(join(r.dir, 'snapshots', `${r.ids[2]}.json`), 'garbage');
    const { outcomes, problems } = await verifyAll(r.repo);
    assert.deepEqual(outcomes.map((o) => [o.entry.id, o.error?.exitCode ?? 0]), [
      [r.ids[0], 0],
      [r.ids[1], ExitCode.integrity],
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, new RegExp(r.ids[2]!));
  } finally {
    await r.cleanup();
  }
});

test('list shows the last drill of each snapshot', async () => {
  const r = await repoWithSnapshots(2);
  try {
    await r.repo.writeSmall(`drills/${r.ids[0]}--20261125T110000Z.json`, Buffer.from(JSON.stringify({ result: 'fail', finishedAt: '2026-11-25T11:00:00Z' })));
    await r.repo.writeSmall(`drills/${r.ids[0]}--20261125T120000Z.json`, Buffer.from(JSON.stringify({ result: 'pass', finishedAt: '2026-11-25T12:00:00Z' })));
    const { snapshots } = await listSnapshots(r.repo);
    assert.equal(snapshots[0]!.lastDrill?.result, 'pass');
    assert.equal(snapshots[0]!.lastDrill?.finishedAt, '2026-11-25T12:00:00Z');
    assert.equal(snapshots[1]!.lastDrill, undefined);
  } finally {
    await r.cleanup();
  }
});
