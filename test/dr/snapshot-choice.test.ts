import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { resolveSnapshot } from '../../src/dr/catalog.js';
import { runDrill } from '../../src/dr/drill.js';
import { header, records, tempDir } from '../archive/helpers.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');
const PROD = 'aaaaaaaaaaaaaaaa';
const STAGING = 'bbbbbbbbbbbbbbbb';

async function saveOf(repo: LocalRepository, clusterId: string, second: number): Promise<string> {
  const stream = encodeSnapshot(header(20, 100 + second, clusterId), records(20), { chunkBytes: 16 * 1024 });
  const { manifest } = await saveFromStream(stream, { repo, consistency: 'linearizable', source: 'test', now: () => new Date(Date.UTC(2026, 10, 25, 3, 0, second)) });
  return manifest.id;
}

function usageNaming(...words: string[]) {
  return (err: unknown) => {
    assert.ok(err instanceof LifeboatError, String(err));
    assert.equal(err.exitCode, ExitCode.usage, err.message);
    assert.ok(!err.message.includes('\n') && err.hint.length > 0);
    for (const w of words) assert.ok(err.message.includes(w) || err.hint.includes(w), `${w} is not named in: ${err.message} / ${err.hint}`);
    return true;
  };
}

test('"latest" in a repository shared by two clusters is refused for a restore or drill, naming both clusters, until one is chosen', async () => {
  const t = await tempDir('choice-clusters');
  try {
    const repo = new LocalRepository(join(t.dir, 'repo'));
    const prod = await saveOf(repo, PROD, 1);
    const staging = await saveOf(repo, STAGING, 2);
    // The staging snapshot is the newest: a 3 a.m. restore of production must not silently get it.
    await assert.rejects(resolveSnapshot(repo, 'latest', undefined, { oneCluster: true }), usageNaming(PROD, STAGING, '--cluster'));
    await assert.rejects(runDrill({ repo, snapshot: 'latest', members: 1, workDir: t.dir }), usageNaming(PROD, STAGING));
    const chosen = await resolveSnapshot(repo, 'latest', PROD, { oneCluster: true });
    assert.equal(chosen.kind === 'repo' && chosen.entry.id, prod);
    // An explicit ID is never ambiguous, and read-only commands keep the newest of all.
    const byId = await resolveSnapshot(repo, staging, undefined, { oneCluster: true });
    assert.equal(byId.kind === 'repo' && byId.entry.id, staging);
    const newest = await resolveSnapshot(repo, 'latest');
    assert.equal(newest.kind === 'repo' && newest.entry.id, staging);
  } finally {
    await t.cleanup();
  }
});

test('a drill given a file instead of a repository snapshot is a usage error naming --snapshot, and leaves no work directory', async () => {
  const t = await tempDir('choice-file');
  try {
    const repo = new LocalRepository(join(t.dir, 'repo'));
    await saveOf(repo, PROD, 3);
    const file = join(t.dir, 'some.tar.zst');
    writeFileSync(file, 'not used');
    await assert.rejects(runDrill({ repo, snapshot: file, members: 1, workDir: t.dir }), usageNaming('--snapshot'));
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    await t.cleanup();
  }
});

test('snapshot restore latest from a shared repository exits 2 without --cluster and restores the named cluster with it', async () => {
  const t = await tempDir('choice-cli');
  try {
    const root = join(t.dir, 'repo');
    const repo = new LocalRepository(root);
    await saveOf(repo, PROD, 4);
    await saveOf(repo, STAGING, 5);
    const restore = (...extra: string[]) =>
      spawnSync(process.execPath, [
        BIN, 'snapshot', 'restore', 'latest', '--repo', root, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801',
        '--initial-cluster-token', 'new', '--data-dir', join(t.dir, 'a'), '--json', ...extra,
      ], { encoding: 'utf8' });
    const refused = restore();
    assert.equal(refused.status, ExitCode.usage, refused.stderr);
    assert.match(refused.stderr, /^lifeboat: "latest" is ambiguous.*\nhint: .*--cluster/m);
    assert.ok(!existsSync(join(t.dir, 'a')));
    const done = restore('--cluster', PROD);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(JSON.parse(done.stdout).sourceClusterId, PROD);
  } finally {
    await t.cleanup();
  }
});
