// --json when things go wrong (PRODUCT.md section 4: "stdout carries only JSON"): a CI pipeline
// parses stdout whatever happened, so every failure below must leave exactly one JSON document
// there (lifeboat.error/v1, or the command's own report for drill) whose exitCode is the process's
// exit code, with the two human lines and any progress on stderr only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { acquireLock } from '../../src/repo/lock.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';
import { runCli, spawnCli } from '../archive/cli.js';
import { freePort } from '../helpers/free-port.js';
import { assertFailure, assertJsonFailure, assertSuccess, singleJson, tinyRepository } from '../cli/contract.js';
import { committedIds, restoreFlags, startGatedMember } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let good: string;
let newest: string;
let deadUrl: string;

before(async () => {
  work = await tempDir('contract-json');
  good = join(work.dir, 'good');
  newest = (await tinyRepository(good, 2)).ids[1]!;
  deadUrl = `http://127.0.0.1:${await freePort()}`;
});

after(async () => {
  await work?.cleanup();
});

function copyOf(name: string): string {
  const dir = join(work.dir, name);
  cpSync(good, dir, { recursive: true });
  return dir;
}

test('a locked repository answers save and prune under --json with one error document and exit 11', async () => {
  const repoDir = copyOf('locked');
  const held = await acquireLock(new LocalRepository(repoDir), { command: 'snapshot save (the hourly run)', onLocked: 'fail' });
  try {
    const [save, prune] = await Promise.all([
      runCli(['snapshot', 'save', '--endpoints', deadUrl, '--repo', repoDir, '--json']),
      runCli(['snapshot', 'prune', '--repo', repoDir, '--keep-last', '1', '--json']),
    ]);
    assertJsonFailure('save', save, ExitCode.locked, /locked by snapshot save \(the hourly run\)/);
    assertJsonFailure('prune', prune, ExitCode.locked, /locked by/);
    assert.equal(committedIds(repoDir).length, 2, 'the refused prune deleted nothing');
  } finally {
    await held!.release();
  }
});

test('damaged and missing snapshots answer verify, inspect and restore under --json with one error document each', async () => {
  const truncated = copyOf('truncated-json');
  truncateSync(join(truncated, 'snapshots', `${newest}.tar.zst`), 500);
  const orphaned = copyOf('orphaned-json');
  unlinkSync(join(orphaned, 'snapshots', `${newest}.json`));
  const dataDir = join(work.dir, 'never-restored');
  const runs: Array<[string, string[], number, RegExp]> = [
    ['verify truncated', ['snapshot', 'verify', 'latest', '--repo', truncated], ExitCode.integrity, /truncated|500 bytes/],
    ['inspect truncated', ['snapshot', 'inspect', newest, '--repo', truncated], ExitCode.integrity, /truncated|500 bytes/],
    ['restore truncated', ['snapshot', 'restore', 'latest', '--repo', truncated, ...restoreFlags(dataDir)], ExitCode.integrity, /truncated|500 bytes/],
    ['inspect incomplete', ['snapshot', 'inspect', newest, '--repo', orphaned], ExitCode.notFound, /incomplete/],
    ['verify absent', ['snapshot', 'verify', '20200101T000000Z-0000000000000000-r1', '--repo', good], ExitCode.notFound, /not found/],
    ['list nowhere', ['snapshot', 'list', '--repo', join(work.dir, 'nowhere')], ExitCode.notFound, /no repository/],
  ];
  const results = await Promise.all(runs.map(([, args]) => runCli([...args, '--json'])));
  results.forEach((r, i) => assertJsonFailure(runs[i]![0], r, runs[i]![2], runs[i]![3]));
  assert.equal(existsSync(dataDir), false);
});

test('an unreachable cluster under --json is one error document with exit 3', async () => {
  // (An unreachable S3 endpoint takes the same error path with exit 14: test/cli/exit-codes.test.ts.)
  const save = await runCli(['snapshot', 'save', '--endpoints', deadUrl, '--repo', join(work.dir, 'new-repo'), '--json']);
  assertJsonFailure('save', save, ExitCode.clusterUnavailable, /connection refused/);
});

test('SIGTERM during a --json save leaves one error document with exit 130 and nothing committed', async () => {
  const repoDir = copyOf('interrupted-json');
  const member = await startGatedMember(() => snapshotStream(3000), 64 * 1024);
  try {
    const save = spawnCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repoDir, '--json']);
    await member.held;
    save.proc.kill('SIGTERM');
    const r = await save.done;
    assertJsonFailure('save', r, ExitCode.interrupted, /interrupted by SIGTERM/);
    assert.equal(committedIds(repoDir).length, 2);
    assert.deepEqual(readdirSync(join(repoDir, 'snapshots')).filter((f) => !f.includes('-r100') && !f.includes('-r101')), []);
  } finally {
    await member.close();
  }
});

test('list --json reports damage it found in its document and still exits 0 with a warning on stderr', async () => {
  const repoDir = copyOf('damaged-list');
  unlinkSync(join(repoDir, 'snapshots', `${newest}.tar.zst`));
  const r = await runCli(['snapshot', 'list', '--repo', repoDir, '--json']);
  assertSuccess('list', r);
  const doc = singleJson('list', r, 'lifeboat.snapshot.list/v1');
  assert.equal(doc.problems.length, 1);
  assert.match(doc.problems[0], new RegExp(`${newest}.*missing`));
  assert.match(r.stderr, /^warning: /m);
});

test('a drill of a snapshot whose archive is gone prints its failing report as the one document, exit 13, and stores it', async () => {
  const repoDir = copyOf('drill-missing');
  unlinkSync(join(repoDir, 'snapshots', `${newest}.tar.zst`));
  const r = await runCli(['drill', '--repo', repoDir, '--members', '1', '--json'], { TMPDIR: work.dir });
  assertFailure('drill', r, ExitCode.integrity, /missing/);
  const report = singleJson('drill', r, 'lifeboat.drill/v1');
  assert.equal(report.result, 'fail');
  assert.equal(report.snapshotId, newest);
  assert.equal(readdirSync(join(repoDir, 'drills')).length, 1, 'the failing report is kept for the record');
  assert.deepEqual(readdirSync(work.dir).filter((f) => f.startsWith('lifeboat-drill-')), [], 'no throwaway cluster is left');
});
