// The exit codes of PRODUCT.md section 5, one table: each row is a real `node bin/lifeboat ...`
// run (npm run build first) that checks the code, the one `lifeboat:` line and the `hint:`
// line after it, and that nothing else on stderr looks like an error or a Node warning.
// Fixtures are cheap: tiny local repositories, an in-process API over a fake member, a fake
// snapshot endpoint, a closed port standing in for S3; only the drill starts a real member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { acquireLock, type HeldLock } from '../../src/repo/lock.js';
import { listSnapshots } from '../../src/dr/catalog.js';
import { startHttpApi, type HttpApiServer } from '../../src/server/http-api.js';
import { FakeMember } from '../api/fake-member.js';
import { listFiles, snapshotStream, tempDir } from '../archive/helpers.js';
import { runCli, spawnCli, startFakeMember, type CliResult } from '../archive/cli.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';
import { FAKE_AWS_ENV, assertFailure, assertSuccess, tinyRepository } from './contract.js';

let work: { dir: string; cleanup: () => Promise<void> };
let good: string; // a repository with one good snapshot
let goodId: string;
let corrupt: string; // the same snapshot with a flipped byte in its archive
let lying: string; // a snapshot whose manifest promises one key more than it holds
let member: FakeMember;
let api: HttpApiServer;
let deadUrl: string; // a loopback port nobody listens on

before(async () => {
  work = await tempDir('exit-codes');
  good = join(work.dir, 'good');
  goodId = (await tinyRepository(good)).ids[0]!;
  corrupt = join(work.dir, 'corrupt');
  cpSync(good, corrupt, { recursive: true });
  const archive = join(corrupt, 'snapshots', `${goodId}.tar.zst`);
  const bytes = readFileSync(archive);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  writeFileSync(archive, bytes);
  lying = join(work.dir, 'lying');
  cpSync(good, lying, { recursive: true });
  const manifestPath = join(lying, 'snapshots', `${goodId}.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.keyCount += 1;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  member = new FakeMember();
  api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  deadUrl = `http://127.0.0.1:${await freePort()}`;
});

after(async () => {
  await api?.close();
  await work?.cleanup();
});

test('exit 0: a successful command prints no error line and no warning', async () => {
  assertSuccess('snapshot list', await runCli(['snapshot', 'list', '--repo', good]));
  assertSuccess('--help', await runCli(['--help']));
  assertSuccess('snapshot --help', await runCli(['snapshot', '--help']));
  assertSuccess('put', await runCli(['put', 'k', 'v', '--endpoints', api.url]));
});

test('exit 1: promoting a learner that has not caught up is "any other failure", with a hint to wait', async () => {
  const added = await member.addMember(['http://127.0.0.1:23999'], true);
  const r = await runCli(['member', 'promote', added.member.id, '--endpoints', api.url]);
  assertFailure('member promote', r, ExitCode.failure, /in sync with leader/, /wait until the learner has caught up/);
  await member.removeMember(added.member.id);
});

test('exit 1: endpoint status where one of two endpoints does not answer ends with an error line and a hint', async () => {
  const r = await runCli(['endpoint', 'status', '--endpoints', `${api.url},${deadUrl}`]);
  assertFailure('endpoint status', r, ExitCode.failure, new RegExp(`1 of 2 endpoints did not answer: ${deadUrl}`), /check that those members are running/);
  assert.match(r.stdout, new RegExp(api.url.replace(/[.:/]/g, '\\$&')), 'the table still shows the endpoint that answered');
});

test('exit 2: an unknown flag names the flag, and the hint suggests the right one and the command\'s help', async () => {
  const r = await runCli(['snapshot', 'list', '--repo', good, '--jsn']);
  assertFailure('unknown flag', r, ExitCode.usage, /^unknown option '--jsn'$/, /did you mean --json\? run `lifeboat snapshot list --help`/);
});

test('exit 2: a missing required flag, an unknown command and a command group without a command are usage errors', async () => {
  assertFailure('no --repo', await runCli(['snapshot', 'list']), ExitCode.usage, /--repo is required/, /LIFEBOAT_REPO/);
  assertFailure('unknown command', await runCli(['snapshot', 'lst']), ExitCode.usage, /unknown command 'lst'/, /did you mean list\?/);
  assertFailure('bare group', await runCli(['snapshot']), ExitCode.usage, /no command given/, /--help/);
  assertFailure('bad choice', await runCli(['snapshot', 'save', '--repo', good, '--on-locked', 'maybe']), ExitCode.usage, /--on-locked/);
});

test('exit 3: a read against an endpoint that refuses connections says the cluster is unavailable', async () => {
  const r = await runCli(['get', 'k', '--endpoints', deadUrl, '--command-timeout', '1s']);
  assertFailure('get', r, ExitCode.clusterUnavailable, /connection refused/, new RegExp(deadUrl.replace(/[.:/]/g, '\\$&')));
});

test('exit 10: a snapshot ID the repository does not hold, and a repository that does not exist, are not found', async () => {
  const missing = await runCli(['snapshot', 'inspect', '20200101T000000Z-0000000000000000-r1', '--repo', good]);
  assertFailure('missing snapshot', missing, ExitCode.notFound, /snapshot 20200101T000000Z-0000000000000000-r1 not found/, /lifeboat snapshot list/);
  const noRepo = await runCli(['snapshot', 'list', '--repo', join(work.dir, 'nowhere')]);
  assertFailure('missing repository', noRepo, ExitCode.notFound, /no repository at .*nowhere/, /--repo/);
});

test('exit 11: a prune while another run holds the repository lock names the holder and suggests --on-locked wait', async () => {
  const { repo } = await tinyRepository(join(work.dir, 'locked'));
  const held: HeldLock | undefined = await acquireLock(repo, { command: 'snapshot save (the other cron run)', onLocked: 'fail' });
  try {
    const r = await runCli(['snapshot', 'prune', '--repo', join(work.dir, 'locked'), '--keep-last', '1']);
    assertFailure('prune under lock', r, ExitCode.locked, new RegExp(`locked by snapshot save \\(the other cron run\\) \\(pid ${process.pid}`), /--on-locked wait/);
  } finally {
    await held!.release();
  }
});

test('exit 13: verifying a snapshot whose archive was corrupted in the repository is an integrity failure', async () => {
  const r = await runCli(['snapshot', 'verify', 'latest', '--repo', corrupt]);
  assertFailure('verify', r, ExitCode.integrity, new RegExp(goodId));
});

test('exit 14: an S3 endpoint that refuses connections is storage unreachable, and the SDK prints no Node warning', async () => {
  const r = await runCli(['snapshot', 'list', '--repo', 's3://lifeboat-test/backups', '--s3-endpoint', deadUrl, '--s3-force-path-style'], FAKE_AWS_ENV);
  assertFailure('s3 list', r, ExitCode.storageUnavailable, /ECONNREFUSED/, /--s3-endpoint/);
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|\(node:/);
});

test('exit 16: a drill whose restored member disagrees with the manifest names the failed check', { timeout: 240_000 }, async () => {
  // TMPDIR keeps the throwaway cluster inside this test's folder, so nothing outlives it.
  const r = await runCli(['drill', '--repo', lying, '--members', '1'], { TMPDIR: work.dir });
  assertFailure('drill', r, ExitCode.drillFailed, /key count equals the manifest: expected 51, got 50/, /drill an older snapshot/);
  assert.deepEqual(readdirSync(work.dir).filter((f) => f.startsWith('lifeboat-drill-')), [], 'the throwaway cluster is gone');
});

test('exit 17: restoring into a data directory that is not empty is refused and leaves it untouched', async () => {
  const dataDir = join(work.dir, 'precious');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'keep-me'), 'x');
  const r = await runCli(['snapshot', 'restore', 'latest', '--repo', good, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801', '--initial-cluster-token', 't', '--data-dir', dataDir]);
  assertFailure('restore', r, ExitCode.unsafe, /not empty/, /empty directory/);
  assert.deepEqual(readdirSync(dataDir), ['keep-me']);
});

test('exit 17: a retention policy that keeps nothing is refused before anything is deleted', async () => {
  const root = join(work.dir, 'keep-nothing');
  const { repo } = await tinyRepository(root, 2);
  const r = await runCli(['snapshot', 'prune', '--repo', root]);
  assertFailure('prune', r, ExitCode.unsafe, /keeps nothing/, /--keep-last/);
  assert.equal((await listSnapshots(repo)).snapshots.length, 2, 'both snapshots are still there');
});

test('exit 130: SIGTERM during a save stops it cleanly, commits nothing, and says so in the two lines', async () => {
  const fake = await startFakeMember(() => ({ kind: 'stall', body: () => snapshotStream(5000), afterBytes: 100_000 }));
  const root = join(work.dir, 'interrupted');
  try {
    const child = spawnCli(['snapshot', 'save', '--endpoints', fake.url, '--repo', root]);
    await waitFor('the fake member to have sent the first bytes', () => fake.bytesSent() >= 100_000);
    child.proc.kill('SIGTERM');
    const r: CliResult = await child.done;
    assertFailure('save', r, ExitCode.interrupted, /^interrupted by SIGTERM$/, /nothing partial was committed/);
    assert.match(r.stderr, /^SIGTERM received: stopping cleanly/m);
    assert.deepEqual(await listFiles(root), ['lifeboat-repo.json'], 'no archive, manifest or lock is left');
  } finally {
    await fake.close();
  }
});
