// What a cron job relies on: it never overlaps itself, never reports success falsely, prunes
// only after a verified save, leaves metrics for alerting, and stops cleanly on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { acquireLock, LOCK_KEY } from '../../src/repo/lock.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { listSnapshots } from '../../src/dr/catalog.js';
import { ExitCode } from '../../src/errors.js';
import { header, records } from '../archive/helpers.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCli, spawnCli, startFakeMember } from '../archive/cli.js';

const work = mkdtempSync(join(tmpdir(), 'lifeboat-cron-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A fake member serving a new revision on every request (so IDs differ), or hanging after some bytes. */
async function snapshotServer(opts: { stallAfterBytes?: number } = {}) {
  let revision = 3000;
  const member = await startFakeMember(() => {
    revision++;
    const body = () => encodeSnapshot(header(2000, revision), records(2000, 200), { chunkBytes: 16 * 1024 });
    return opts.stallAfterBytes === undefined ? { kind: 'serve' as const, body } : { kind: 'stall' as const, body, afterBytes: opts.stallAfterBytes };
  });
  return { url: member.url, sent: member.bytesSent, close: member.close };
}

/** Runs the CLI without blocking this process, whose event loop serves the fake member. */
async function lifeboat(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runCli(args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

function freshRepo(name: string): string {
  return join(work, name);
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(lifeboat|hint): /.test(l));
}

test('a save while another run holds the lock exits 11 and names the holder; with --on-locked skip it exits 0 and says so', async () => {
  const member = await snapshotServer();
  const root = freshRepo('locked');
  const repo = new LocalRepository(root);
  await repo.ensureInitialized();
  const other = await acquireLock(repo, { command: 'snapshot save (the other cron run)', onLocked: 'fail' });
  try {
    const failed = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root]);
    assert.equal(failed.status, ExitCode.locked, failed.stderr);
    const [line, hint] = errorLines(failed.stderr);
    assert.match(line!, new RegExp(`^lifeboat: repository .* is locked by snapshot save \\(the other cron run\\) \\(pid ${process.pid} on ${hostname()}`));
    assert.match(hint!, /^hint: .*--on-locked wait/);

    const skipped = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--on-locked', 'skip', '--json']);
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.match(skipped.stderr, /skipped: another run holds the lock/);
    assert.deepEqual(JSON.parse(skipped.stdout), { schema: 'lifeboat.snapshot.save/v1', skipped: true, reason: 'another run holds the repository lock' });
    assert.equal((await listSnapshots(repo)).snapshots.length, 0, 'nothing was saved');
  } finally {
    await other!.release();
    await member.close();
  }
});

test('with --on-locked wait, a save queues behind the running one and saves once it is done', { timeout: 120_000 }, async () => {
  const member = await snapshotServer();
  const root = freshRepo('wait');
  const repo = new LocalRepository(root);
  await repo.ensureInitialized();
  const other = await acquireLock(repo, { command: 'snapshot save', onLocked: 'fail' });
  try {
    const { proc, done } = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--on-locked', 'wait', '--lock-timeout', '2m']);
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('the second save to wait for the lock', () => /waiting for the lock held by snapshot save/.test(stderr));
    assert.equal((await listSnapshots(repo)).snapshots.length, 0, 'it did not save while the lock was held');
    await other!.release();
    assert.equal((await done).code, 0, stderr);
    assert.equal((await listSnapshots(repo)).snapshots.length, 1);
    assert.equal(await repo.stat(LOCK_KEY), undefined, 'the lock is released');
  } finally {
    await member.close();
  }
});

test('two saves started together against one repository never overlap: each saves, fails with 11, or queues', { timeout: 120_000 }, async () => {
  const member = await snapshotServer();
  const root = freshRepo('together');
  const run = async () => (await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', root])).code;
  try {
    const codes = await Promise.all([run(), run()]);
    const saved = (await listSnapshots(new LocalRepository(root))).snapshots.length;
    assert.ok(codes.every((c) => c === 0 || c === ExitCode.locked), `exit codes ${codes}`);
    assert.equal(saved, codes.filter((c) => c === 0).length, 'every run that reported success saved a snapshot, and no other did');
    assert.ok(saved >= 1);
  } finally {
    await member.close();
  }
});

test('a lock left by a killed save is taken over with a warning', async () => {
  const member = await snapshotServer();
  const root = freshRepo('stale');
  const repo = new LocalRepository(root);
  await repo.ensureInitialized();
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  mkdirSync(join(root, 'locks'), { recursive: true });
  writeFileSync(
    join(root, LOCK_KEY),
    JSON.stringify({ schema: 'lifeboat.lock/v1', token: 'killed', host: hostname(), pid: deadPid, command: 'snapshot save', startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
  );
  try {
    const r = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: taking over a stale lock .* process ${deadPid} is no longer running`));
    assert.equal((await listSnapshots(repo)).snapshots.length, 1);
  } finally {
    await member.close();
  }
});

test('--prune applies retention only after the new snapshot is saved, and reports both in one JSON document', async () => {
  const member = await snapshotServer();
  const root = freshRepo('prune');
  try {
    for (let i = 0; i < 3; i++) assert.equal((await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root])).status, 0);
    const r = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--prune', '--keep-last', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.schema, 'lifeboat.snapshot.save/v1');
    assert.equal(doc.prune.kept.length, 2);
    assert.equal(doc.prune.kept[0].id, doc.id, 'the new snapshot is the newest kept');
    assert.equal(doc.prune.deleted.length, 2);
    assert.equal((await listSnapshots(new LocalRepository(root))).snapshots.length, 2);
  } finally {
    await member.close();
  }
});

test('retention flags without --prune, and a --prune policy that keeps nothing, are refused before anything is saved', async () => {
  const member = await snapshotServer();
  const root = freshRepo('prune-refused');
  try {
    const noPrune = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--keep-last', '2']);
    assert.equal(noPrune.status, ExitCode.usage, noPrune.stderr);
    assert.match(errorLines(noPrune.stderr)[0]!, /--prune/);
    const nothing = await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--prune', '--keep-last', '0']);
    assert.equal(nothing.status, ExitCode.unsafe, nothing.stderr);
    assert.equal(member.sent(), 0, 'no snapshot was even requested');
  } finally {
    await member.close();
  }
});

test('--metrics-file records success for the alerting, and a failure keeps the last success time', async () => {
  const member = await snapshotServer();
  const root = freshRepo('metrics');
  const metrics = join(work, 'lifeboat.prom');
  try {
    assert.equal((await lifeboat(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--metrics-file', metrics])).status, 0);
    const first = readFileSync(metrics, 'utf8');
    assert.match(first, /^lifeboat_last_run_exit_code\{command="snapshot save"\} 0$/m);
    assert.match(first, /^lifeboat_last_snapshot_keys\{command="snapshot save"\} 2000$/m);
    const success = /^lifeboat_last_success_timestamp_seconds\{[^}]*\} (.+)$/m.exec(first)![1];
    const failed = await lifeboat(['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', '--repo', root, '--metrics-file', metrics, '--timeout', '5s']);
    assert.equal(failed.status, ExitCode.clusterUnavailable, failed.stderr);
    const second = readFileSync(metrics, 'utf8');
    assert.match(second, /^lifeboat_last_run_exit_code\{command="snapshot save"\} 3$/m);
    assert.equal(/^lifeboat_last_success_timestamp_seconds\{[^}]*\} (.+)$/m.exec(second)![1], success);
  } finally {
    await member.close();
  }
});

test('SIGTERM during a save exits 130, commits nothing and leaves no temporary file', { timeout: 120_000 }, async () => {
  const member = await snapshotServer({ stallAfterBytes: 100_000 });
  const root = freshRepo('sigterm');
  const spool = join(work, 'spool-sigterm');
  mkdirSync(spool);
  try {
    const { proc, done } = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', root, '--spool-dir', spool]);
    await waitFor('the save to be streaming', () => member.sent() > 50_000);
    proc.kill('SIGTERM');
    const { code, stderr } = await done;
    assert.equal(code, ExitCode.interrupted, stderr);
    assert.match(stderr, /^lifeboat: .*SIGTERM/m);
    assert.match(stderr, /^hint: /m);
    const snapshots = existsSync(join(root, 'snapshots')) ? readdirSync(join(root, 'snapshots')) : [];
    assert.deepEqual(snapshots, [], 'nothing committed and no partial file');
    assert.deepEqual(readdirSync(spool), [], 'the spool is removed');
    assert.deepEqual(readdirSync(join(root, 'locks')), [], 'the lock is released');
  } finally {
    await member.close();
  }
});
