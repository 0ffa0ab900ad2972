// The everyday commands as a user runs them (`node bin/lifeboat ...`, built by `npm run build`),
// against an in-process API over a fake member: output, --json schemas and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { startHttpApi, type HttpApiServer } from '../../src/server/http-api.js';
import { FakeMember } from '../api/fake-member.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIFEBOAT_')));
    execFile(process.execPath, [BIN, ...args], { env: { ...cleanEnv, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function withApi(fn: (api: HttpApiServer, member: FakeMember) => Promise<void>): Promise<void> {
  const member = new FakeMember();
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  try {
    await fn(api, member);
  } finally {
    await api.close();
  }
}

test('put, get and del print what etcdctl prints and answer --json with their schemas', async () => {
  await withApi(async (api) => {
    const e = ['--endpoints', api.url];
    assert.deepStrictEqual(await run(['put', 'greeting', 'hello', ...e]), { code: 0, stdout: 'OK\n', stderr: '' });
    assert.equal((await run(['get', 'greeting', ...e])).stdout, 'greeting\nhello\n');
    await run(['put', 'greeting2', 'hi', ...e]);
    assert.equal((await run(['get', 'greeting', '--prefix', '--keys-only', ...e])).stdout, 'greeting\ngreeting2\n');
    assert.equal((await run(['get', 'greeting', '--prefix', '--count-only', ...e])).stdout, '2\n');
    const json = JSON.parse((await run(['get', 'greeting', '--prefix', '--limit', '1', '--json', ...e])).stdout);
    assert.equal(json.schema, 'lifeboat.get/v1');
    assert.equal(json.count, 2);
    assert.equal(json.more, true);
    assert.deepStrictEqual(json.kvs[0], { keyBase64: 'Z3JlZXRpbmc=', key: 'greeting', valueBase64: 'aGVsbG8=', value: 'hello', createRevision: 2, modRevision: 2, version: 1 });
    const old = JSON.parse((await run(['get', 'greeting', '--rev', '2', '--json', ...e])).stdout);
    assert.equal(old.kvs[0].value, 'hello');
    const del = await run(['del', 'greeting', '--prefix', '--json', ...e]);
    assert.equal(JSON.parse(del.stdout).deleted, 2);
    assert.equal(JSON.parse(del.stdout).schema, 'lifeboat.del/v1');
  });
});

test('--endpoints falls back to LIFEBOAT_ENDPOINTS', async () => {
  await withApi(async (api) => {
    const r = await run(['put', 'k', 'v', '--json'], { LIFEBOAT_ENDPOINTS: api.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).schema, 'lifeboat.put/v1');
  });
});

test('endpoint status prints a table with the leader, revision, raft term and index and db size', async () => {
  await withApi(async (api, member) => {
    const r = await run(['endpoint', 'status', '--endpoints', api.url]);
    assert.equal(r.code, 0, r.stderr);
    for (const column of ['endpoint', 'ID', 'leader', 'revision', 'raft term', 'raft index', 'db size']) assert.ok(r.stdout.includes(column), column);
    assert.ok(r.stdout.includes(member.memberId));
    assert.match(r.stdout, /true/);
    const json = JSON.parse((await run(['endpoint', 'status', '--json', '--endpoints', api.url])).stdout);
    assert.equal(json.schema, 'lifeboat.endpoint-status/v1');
    assert.equal(json.endpoints[0].id, member.memberId);
    assert.equal(json.endpoints[0].isLeader, true);
  });
});

test('member list, add and remove print IDs in hex and the settings the new member needs', async () => {
  await withApi(async (api, member) => {
    const e = ['--endpoints', api.url];
    const list = JSON.parse((await run(['member', 'list', '--json', ...e])).stdout);
    assert.equal(list.schema, 'lifeboat.member-list/v1');
    assert.equal(list.members[0].id, member.memberId);
    const add = await run(['member', 'add', 'n4', '--peer-urls', 'http://127.0.0.1:23999', '--learner', ...e]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added to cluster .* as a learner/);
    assert.match(add.stdout, /LIFEBOAT_INITIAL_CLUSTER="e1=http:\/\/127.0.0.1:23800,n4=http:\/\/127.0.0.1:23999"/);
    assert.match(add.stdout, /LIFEBOAT_INITIAL_CLUSTER_STATE="existing"/);
    const id = member.memberList[1]!.id;
    const promote = await run(['member', 'promote', id, ...e]);
    assert.equal(promote.code, 1, promote.stderr);
    assert.match(promote.stderr, /in sync with leader\nhint: wait until the learner has caught up/);
    assert.equal((await run(['member', 'remove', id, ...e])).code, 0);
    const missing = await run(['member', 'remove', id, ...e]);
    assert.match(missing.stderr, /member not found/);
  });
});

test('an unreachable cluster exits with 3 and a hint that names the endpoints', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dead = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((r) => server.close(() => r()));
  const r = await run(['get', 'k', '--endpoints', dead, '--command-timeout', '1s']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /connection refused/);
  assert.ok(r.stderr.split('\n')[1]!.startsWith('hint:') && r.stderr.includes(dead), r.stderr);
  const status = await run(['endpoint', 'status', '--json', '--endpoints', dead]);
  assert.equal(status.code, 3, status.stderr);
  assert.equal(JSON.parse(status.stdout).schema, 'lifeboat.error/v1');
});

test('a malformed --endpoints is a usage error (exit 2) that names the flag', async () => {
  const r = await run(['get', 'k', '--endpoints', 'ftp://x:1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--endpoints/);
});

test('endpoint health says healthy for a member with a leader and exits 3 when none is', async () => {
  await withApi(async (api) => {
    const ok = await run(['endpoint', 'health', '--endpoints', api.url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`${api.url.replace(/[.:/]/g, '\\$&')} is healthy: took \\d+ ms`));
    const json = JSON.parse((await run(['endpoint', 'health', '--json', '--endpoints', api.url])).stdout);
    assert.equal(json.schema, 'lifeboat.endpoint-health/v1');
    assert.equal(json.endpoints[0].healthy, true);
  });
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dead = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((r) => server.close(() => r()));
  const bad = await run(['endpoint', 'health', '--endpoints', dead]);
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /connection refused/);
});
