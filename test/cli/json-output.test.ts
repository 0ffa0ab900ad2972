// --json on every command that takes it: stdout carries exactly one JSON document with a
// "schema": "lifeboat.<command>/v1" field and nothing else, on success and on failure (then the
// lifeboat.error/v1 document, or the command's own document when it reports the failure itself);
// the failure's lifeboat:/hint lines and any logs stay on stderr.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { startHttpApi, type HttpApiServer } from '../../src/server/http-api.js';
import { FakeMember } from '../api/fake-member.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';
import { runCli, spawnCli, startFakeMember } from '../archive/cli.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';
import { assertFailure, assertJsonFailure, assertSuccess, singleJson, tinyRepository } from './contract.js';

let work: { dir: string; cleanup: () => Promise<void> };
let good: string;
let goodId: string;
let corrupt: string;
let member: FakeMember;
let api: HttpApiServer;
let deadUrl: string;

before(async () => {
  work = await tempDir('json-output');
  good = join(work.dir, 'good');
  goodId = (await tinyRepository(good, 2)).ids[1]!;
  corrupt = join(work.dir, 'corrupt');
  cpSync(good, corrupt, { recursive: true });
  const archive = join(corrupt, 'snapshots', `${goodId}.tar.zst`);
  const bytes = readFileSync(archive);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  writeFileSync(archive, bytes);
  member = new FakeMember();
  api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  deadUrl = `http://127.0.0.1:${await freePort()}`;
});

after(async () => {
  await api?.close();
  await work?.cleanup();
});

/** Runs a command that should succeed under --json and returns its one document. */
async function jsonOk(args: string[], schema: string, env: Record<string, string | undefined> = {}): Promise<Record<string, any>> {
  const r = await runCli([...args, '--json'], env);
  assertSuccess(args.join(' '), r);
  return singleJson(args.join(' '), r, schema);
}

test('put, get, del, member list/add/remove and endpoint status/health print one document each', async () => {
  const e = ['--endpoints', api.url];
  assert.equal((await jsonOk(['put', 'json-key', 'v1', ...e], 'lifeboat.put/v1')).header.revision > 1, true);
  const got = await jsonOk(['get', 'json-key', ...e], 'lifeboat.get/v1');
  assert.equal(got.kvs[0].value, 'v1');
  assert.equal((await jsonOk(['del', 'json-key', ...e], 'lifeboat.del/v1')).deleted, 1);
  assert.equal((await jsonOk(['member', 'list', ...e], 'lifeboat.member-list/v1')).members.length, 1);
  const added = await jsonOk(['member', 'add', 'n9', '--peer-urls', 'http://127.0.0.1:23998', '--learner', ...e], 'lifeboat.member-add/v1');
  assert.equal(added.join.name, 'n9');
  assert.equal((await jsonOk(['member', 'remove', added.member.id, ...e], 'lifeboat.member-remove/v1')).removed, added.member.id);
  assert.equal((await jsonOk(['endpoint', 'status', ...e], 'lifeboat.endpoint-status/v1')).endpoints.length, 1);
  assert.equal((await jsonOk(['endpoint', 'health', ...e], 'lifeboat.endpoint-health/v1')).endpoints[0].healthy, true);
});

test('the client commands answer a failure with one lifeboat.error/v1 document', async () => {
  const dead = ['--endpoints', deadUrl, '--command-timeout', '1s', '--json'];
  for (const args of [['put', 'k', 'v'], ['get', 'k'], ['del', 'k'], ['member', 'list'], ['endpoint', 'status'], ['endpoint', 'health']]) {
    assertJsonFailure(args.join(' '), await runCli([...args, ...dead]), ExitCode.clusterUnavailable, /connection refused|no endpoint/);
  }
  const learner = await member.addMember(['http://127.0.0.1:23997'], true);
  const promote = await runCli(['member', 'promote', learner.member.id, '--endpoints', api.url, '--json']);
  assertJsonFailure('member promote', promote, ExitCode.failure, /in sync with leader/);
  await member.removeMember(learner.member.id);
});

test('a partial endpoint status failure keeps its own document and exits 1 with the two lines on stderr', async () => {
  const r = await runCli(['endpoint', 'status', '--endpoints', `${api.url},${deadUrl}`, '--json']);
  assertFailure('endpoint status', r, ExitCode.failure, /1 of 2 endpoints did not answer/);
  const doc = singleJson('endpoint status', r, 'lifeboat.endpoint-status/v1');
  assert.equal(doc.endpoints.length, 1);
  assert.equal(doc.failures[0].endpoint, deadUrl);
});

test('snapshot save prints one summary document, and a usage error one error document', async () => {
  const fake = await startFakeMember(() => ({ kind: 'serve', body: () => snapshotStream(200) }));
  try {
    const root = join(work.dir, 'saved');
    const doc = await jsonOk(['snapshot', 'save', '--endpoints', fake.url, '--repo', root], 'lifeboat.snapshot.save/v1');
    assert.equal(doc.keys, 200);
    assert.match(doc.id, /-r201$/);
    assertJsonFailure('save', await runCli(['snapshot', 'save', '--endpoints', 'ftp://x', '--repo', root, '--json']), ExitCode.usage, /--endpoints/);
  } finally {
    await fake.close();
  }
});

test('snapshot list, inspect, verify and prune print one document each, and one error document when they fail', async () => {
  const listed = await jsonOk(['snapshot', 'list', '--repo', good], 'lifeboat.snapshot.list/v1');
  assert.equal(listed.snapshots.length, 2);
  assert.equal((await jsonOk(['snapshot', 'inspect', 'latest', '--repo', good], 'lifeboat.snapshot.inspect/v1')).target, goodId);
  assert.equal((await jsonOk(['snapshot', 'verify', 'latest', '--repo', good], 'lifeboat.snapshot.verify/v1')).results[0].ok, true);
  assert.equal((await jsonOk(['snapshot', 'verify', '--all', '--repo', good], 'lifeboat.snapshot.verify/v1')).results.length, 2);
  const plan = await jsonOk(['snapshot', 'prune', '--repo', good, '--keep-last', '1', '--dry-run'], 'lifeboat.snapshot.prune/v1');
  assert.equal(plan.dryRun, true);
  assert.equal(plan.deleted.length, 1);

  assertJsonFailure('list', await runCli(['snapshot', 'list', '--repo', join(work.dir, 'nowhere'), '--json']), ExitCode.notFound, /no repository/);
  assertJsonFailure('inspect', await runCli(['snapshot', 'inspect', '20200101T000000Z-0000000000000000-r1', '--repo', good, '--json']), ExitCode.notFound, /not found/);
  assertJsonFailure('verify', await runCli(['snapshot', 'verify', 'latest', '--repo', corrupt, '--json']), ExitCode.integrity, new RegExp(goodId));
  assertJsonFailure('prune', await runCli(['snapshot', 'prune', '--repo', good, '--json']), ExitCode.unsafe, /keeps nothing/);
  assertJsonFailure('unknown flag', await runCli(['snapshot', 'list', '--repo', good, '--bogus', '--json']), ExitCode.usage, /unknown option '--bogus'/);
});

test('verify --all with a corrupt snapshot answers with its results document alone and exits 13', async () => {
  const r = await runCli(['snapshot', 'verify', '--all', '--repo', corrupt, '--json']);
  assertFailure('verify --all', r, ExitCode.integrity, /1 of 2 snapshots failed verification/);
  const doc = singleJson('verify --all', r, 'lifeboat.snapshot.verify/v1');
  assert.deepEqual(doc.results.map((x: { ok: boolean }) => x.ok).sort(), [false, true]);
});

test('snapshot restore prints one document for the plan, the result, and a refusal', async () => {
  const base = ['snapshot', 'restore', 'latest', '--repo', good, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801', '--initial-cluster-token', 't'];
  const plan = await jsonOk([...base, '--data-dir', join(work.dir, 'plan-only'), '--dry-run'], 'lifeboat.snapshot.restore/v1');
  assert.equal(plan.dryRun, true);
  const done = await jsonOk([...base, '--data-dir', join(work.dir, 'restored')], 'lifeboat.snapshot.restore/v1');
  assert.equal(done.keys, 50);
  const nonEmpty = join(work.dir, 'non-empty');
  mkdirSync(nonEmpty);
  writeFileSync(join(nonEmpty, 'keep-me'), 'x');
  assertJsonFailure('restore', await runCli([...base, '--data-dir', nonEmpty, '--json']), ExitCode.unsafe, /not empty/);
});

test('a drill prints its report as the one document, passing or failing', { timeout: 240_000 }, async () => {
  const passed = await jsonOk(['drill', '--repo', good, '--members', '1'], 'lifeboat.drill/v1', { TMPDIR: work.dir });
  assert.equal(passed.result, 'pass');
  // A corrupt archive fails the drill before any member starts: the report is the answer, not an error document after it.
  const failed = await runCli(['drill', '--repo', corrupt, '--members', '1', '--json'], { TMPDIR: work.dir });
  assertFailure('drill', failed, ExitCode.integrity, /SHA-256|checksum|hash/i);
  const report = singleJson('drill', failed, 'lifeboat.drill/v1');
  assert.equal(report.result, 'fail');
});

test('cluster up --json prints the endpoints as one document once the cluster serves, and exits 0 on SIGTERM', { timeout: 120_000 }, async () => {
  const dataRoot = join(work.dir, 'cluster');
  const child = spawnCli(['cluster', 'up', '--members', '1', '--data-root', dataRoot, '--quiet', '--json']);
  let stdout = '';
  child.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  let doc: Record<string, any> | undefined;
  try {
    doc = await waitFor('the cluster-up document', () => {
      try {
        return JSON.parse(stdout) as Record<string, any>;
      } catch {
        return undefined;
      }
    }, 90_000);
  } finally {
    child.proc.kill('SIGTERM');
  }
  const r = await child.done;
  assertSuccess('cluster up', r);
  assert.equal(singleJson('cluster up', r, 'lifeboat.cluster-up/v1').endpoints.length, 1);
  assert.equal(doc.endpoints.length, 1);
  assertJsonFailure('cluster up', await runCli(['cluster', 'up', '--members', 'three', '--data-root', dataRoot, '--json']), ExitCode.usage, /--members/);
});
