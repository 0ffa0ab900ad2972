import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { join } from 'node:path';
import { runCli, spawnCli, failureLines, startFakeMember, type FakeMode } from '../archive/cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { listFiles, snapshotStream, tempDir } from '../archive/helpers.js';

test('snapshot save --json prints one summary object and commits a snapshot that list, verify, inspect and dump read', async () => {
  const member = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(2000) }));
  const t = await tempDir('save-cli');
  try {
    const repo = join(t.dir, 'repo');
    const saved = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo, '--json']);
    assert.equal(saved.code, 0, saved.stderr);
    const summary = JSON.parse(saved.stdout);
    assert.equal(summary.schema, 'lifeboat.snapshot.save/v1');
    assert.equal(summary.keys, 2000);
    assert.equal(summary.revision, 2001);
    assert.match(summary.sha256, /^[0-9a-f]{64}$/);
    assert.ok(summary.archiveBytes > 0 && summary.bytes > summary.archiveBytes);
    for (const k of ['streamMs', 'uploadMs', 'verifyMs', 'totalMs']) assert.equal(typeof summary.durations[k], 'number');
    assert.deepEqual(await listFiles(repo), ['lifeboat-repo.json', `snapshots/${summary.id}.json`, `snapshots/${summary.id}.tar.zst`]);

    const listed = await runCli(['snapshot', 'list', '--json'], { LIFEBOAT_REPO: repo });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).snapshots.map((s: { id: string }) => s.id), [summary.id]);
    const table = await runCli(['snapshot', 'list', '--repo', repo]);
    assert.match(table.stdout, new RegExp(summary.id));

    const verified = await runCli(['snapshot', 'verify', 'latest', '--repo', repo]);
    assert.equal(verified.code, 0, verified.stderr);
    const inspected = await runCli(['snapshot', 'inspect', summary.id, '--repo', repo, '--json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(JSON.parse(inspected.stdout).header.revision, 2001);
    const dumped = await runCli(['snapshot', 'dump', 'latest', '--repo', repo]);
    assert.equal(dumped.code, 0, dumped.stderr);
    const lines = dumped.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2000);
    assert.equal(Buffer.from(lines[0].key, 'base64').toString(), '/registry/pods/00000000');
    assert.equal(lines[0].create_revision, 1);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('a member that dies mid-stream makes save exit 3 with one line and a hint, leaving earlier snapshots as they were', async () => {
  let mode: FakeMode = { kind: 'serve', body: () => snapshotStream(500) };
  const member = await startFakeMember(() => mode);
  const t = await tempDir('save-cli');
  try {
    const repo = join(t.dir, 'repo');
    assert.equal((await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo])).code, 0);
    const before = await listFiles(repo);
    mode = { kind: 'cut', body: () => snapshotStream(20_000), afterBytes: 300_000 };
    const r = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo]);
    assert.ok(r.code === 3 || r.code === 13, r.stderr);
    const { error, hint } = failureLines(r);
    assert.ok(error.startsWith('lifeboat: ') && error.includes(member.url), error);
    assert.match(hint, /^hint: /);
    assert.deepEqual(await listFiles(repo), before);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('a cluster without quorum makes save exit 3 naming the endpoint, and --allow-stale is what would ask for a serializable one', async () => {
  const member = await startFakeMember(() => ({ kind: 'refuse', status: 503, code: 14, message: 'etcdserver: no leader' }));
  const t = await tempDir('save-cli');
  try {
    const r = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', join(t.dir, 'repo')]);
    assert.equal(r.code, 3, r.stderr);
    const { error, hint } = failureLines(r);
    assert.ok(error.startsWith('lifeboat: ') && error.includes(member.url), error);
    assert.match(hint, /--allow-stale/);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('an unwritable repository makes save exit 14 before the cluster is asked', async () => {
  const member = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(10) }));
  const t = await tempDir('save-cli');
  try {
    await writeFile(join(t.dir, 'file'), 'x');
    const r = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', join(t.dir, 'file', 'repo')]);
    assert.equal(r.code, 14, r.stderr);
    const { error, hint } = failureLines(r);
    assert.match(error, /not a directory/);
    assert.match(hint, /--repo/);
    assert.equal(member.requests(), 0);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('bad save flags are exit 2 naming the flag', async () => {
  const t = await tempDir('save-cli');
  try {
    const cases: [string[], RegExp][] = [
      [['snapshot', 'save', '--repo', t.dir, '--endpoints', 'ftp://x'], /--endpoints/],
      [['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', '--repo', t.dir, '--compression-level', '99'], /--compression-level/],
      [['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', '--repo', 'ftp://x/y'], /--repo/],
      [['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', '--repo', t.dir, '--timeout', 'soon'], /--timeout/],
      [['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', '--repo', t.dir, '--s3-region', 'eu-west-1'], /--s3-region/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(failureLines(r).error, pattern);
      assert.match(failureLines(r).hint, /^hint: /);
    }
  } finally {
    await t.cleanup();
  }
});

test('SIGINT during a save exits 130 and leaves neither a snapshot nor a spool file', async () => {
  const member = await startFakeMember(() => ({ kind: 'stall', body: () => snapshotStream(5000), afterBytes: 100_000 }));
  const t = await tempDir('save-cli');
  try {
    const repo = join(t.dir, 'repo');
    const spool = join(t.dir, 'spool');
    await mkdir(spool);
    const child = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo, '--spool-dir', spool]);
    await waitFor('the member to have sent the first bytes', () => member.bytesSent() >= 100_000);
    child.proc.kill('SIGINT');
    const r = await child.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^lifeboat: interrupted by SIGINT$/m);
    assert.match(r.stderr, /^hint: /m);
    assert.deepEqual(await listFiles(repo), ['lifeboat-repo.json']);
    assert.deepEqual(await listFiles(spool), []);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('a member that stops sending makes save exit 3 once --timeout passes', async () => {
  const member = await startFakeMember(() => ({ kind: 'stall', body: () => snapshotStream(5000), afterBytes: 50_000 }));
  const t = await tempDir('save-cli');
  try {
    const r = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', join(t.dir, 'repo'), '--timeout', '1s']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(failureLines(r).error, /timed out/);
    assert.match(failureLines(r).hint, /--timeout/);
    assert.deepEqual(await listFiles(join(t.dir, 'repo')), ['lifeboat-repo.json']);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('a save process killed with SIGKILL mid-stream leaves the repository as it was', async () => {
  let mode: FakeMode = { kind: 'serve', body: () => snapshotStream(200) };
  const member = await startFakeMember(() => mode);
  const t = await tempDir('save-cli');
  try {
    const repo = join(t.dir, 'repo');
    assert.equal((await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo])).code, 0);
    const before = await listFiles(repo);
    mode = { kind: 'stall', body: () => snapshotStream(5000), afterBytes: 200_000 };
    const sentBefore = member.bytesSent();
    const child = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo, '--spool-dir', t.dir]);
    await waitFor('the member to have sent bytes to the second save', () => member.bytesSent() >= sentBefore + 200_000);
    child.proc.kill('SIGKILL');
    assert.equal((await child.done).code, null);
    // The killed run could not release its repository lock; everything else is as it was.
    assert.deepEqual(await listFiles(repo), [...before, 'locks/lock.json'].sort());
    const verified = await runCli(['snapshot', 'verify', '--all', '--repo', repo]);
    assert.equal(verified.code, 0, verified.stderr);
    // The next run sees the holder is dead, takes the lock over and saves.
    mode = { kind: 'serve', body: () => snapshotStream(200, 300) };
    const next = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /warning: taking over a stale lock .* is no longer running/);
  } finally {
    await member.close();
    await t.cleanup();
  }
});

test('a save killed with SIGKILL while it writes the archive in place leaves only a hidden temporary file: never listed, and removed by the incomplete-upload cleanup', async () => {
  let mode: FakeMode = { kind: 'serve', body: () => snapshotStream(200) };
  const member = await startFakeMember(() => mode);
  const t = await tempDir('save-cli');
  try {
    const repo = join(t.dir, 'repo');
    assert.equal((await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo])).code, 0);
    const before = await listFiles(repo);
    const listed = async () => JSON.parse((await runCli(['snapshot', 'list', '--repo', repo, '--json'])).stdout) as { snapshots: { id: string }[]; incomplete: unknown[] };
    const idsBefore = (await listed()).snapshots.map((s) => s.id);
    mode = { kind: 'stall', body: () => snapshotStream(30_000), afterBytes: 2_000_000 };
    // Without zstd's worker threads compressed bytes reach the file every block, long before the stall.
    const child = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo], { LIFEBOAT_ZSTD_WORKERS: '0' });
    const partial = await waitFor('compressed bytes in the archive\'s temporary file', async () => {
      const names = await readdir(join(repo, 'snapshots')).catch(() => [] as string[]);
      for (const name of names.filter((n) => /^\..+\.tar\.zst\.partial-[0-9a-f]+$/.test(n))) {
        if ((await stat(join(repo, 'snapshots', name))).size > 64 * 1024) return `snapshots/${name}`;
      }
      return undefined;
    });
    child.proc.kill('SIGKILL');
    assert.equal((await child.done).code, null);
    assert.deepEqual(await listFiles(repo), [...before, 'locks/lock.json', partial].sort());
    const after = await listed();
    assert.deepEqual(after.snapshots.map((s) => s.id), idsBefore, 'the temporary file is not a snapshot');
    assert.deepEqual(after.incomplete, []);
    const verified = await runCli(['snapshot', 'verify', '--all', '--repo', repo]);
    assert.equal(verified.code, 0, verified.stderr);
    // What prune runs for abandoned uploads; a cutoff in the future stands for "old enough".
    assert.equal(await new LocalRepository(repo).cleanupIncomplete(new Date(Date.now() + 60_000)), 1);
    assert.deepEqual(await listFiles(repo), [...before, 'locks/lock.json'].sort());
  } finally {
    await member.close();
    await t.cleanup();
  }
});
