// Every snapshot command against an s3:// repository, through the real CLI and a real S3
// server: the same layout, commands and guarantees as a local directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import { ExitCode } from '../../src/errors.js';
import { header, records } from '../archive/helpers.js';
import { runCli, failureLines, startFakeMember } from '../archive/cli.js';
import { startS3Server, type S3Server } from '../repo/s3-server.js';

let s3: S3Server;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-s3-cli-'));
before(async () => {
  s3 = await startS3Server('cli-bucket');
});
after(async () => {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
});

const s3Env = () => ({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', LIFEBOAT_S3_ENDPOINT: s3.endpoint });

test('save, list, inspect, dump, verify, restore and prune all work against s3:// as against a directory', { timeout: 180_000 }, async () => {
  let revision = 500;
  const member = await startFakeMember(() => {
    revision++;
    return { kind: 'serve', body: () => encodeSnapshot(header(300, revision), records(300), { chunkBytes: 8 * 1024 }) };
  });
  const repo = `s3://${s3.bucket}/roundtrip`;
  try {
    const saved = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo, '--json'], s3Env());
    assert.equal(saved.code, 0, saved.stderr);
    const id = JSON.parse(saved.stdout).id as string;
    assert.equal((await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', repo], s3Env())).code, 0);

    const listed = await runCli(['snapshot', 'list', '--repo', repo, '--json'], s3Env());
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).snapshots.length, 2);

    const inspected = await runCli(['snapshot', 'inspect', id, '--repo', repo, '--json'], s3Env());
    assert.equal(inspected.code, 0, inspected.stderr);

    const dumped = await runCli(['snapshot', 'dump', id, '--repo', repo], s3Env());
    assert.equal(dumped.code, 0, dumped.stderr);
    assert.equal(dumped.stdout.trim().split('\n').length, 300);

    const verified = await runCli(['snapshot', 'verify', '--all', '--repo', repo], s3Env());
    assert.equal(verified.code, 0, verified.stderr);

    const dataDir = join(work, 'restored');
    const restored = await runCli(['snapshot', 'restore', id, '--repo', repo, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23999', '--initial-cluster-token', 't', '--data-dir', dataDir], s3Env());
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok(readdirSync(dataDir).includes('member.json'));

    const pruned = await runCli(['snapshot', 'prune', '--repo', repo, '--keep-last', '1', '--json'], s3Env());
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(JSON.parse(pruned.stdout).deleted.length, 1);
  } finally {
    await member.close();
  }
});

test('a corrupted object in the bucket fails verify, inspect and dump with exit 13', { timeout: 120_000 }, async () => {
  const member = await startFakeMember(() => ({ kind: 'serve', body: () => encodeSnapshot(header(200, 900), records(200), { chunkBytes: 8 * 1024 }) }));
  const url = `s3://${s3.bucket}/corrupt`;
  try {
    const saved = await runCli(['snapshot', 'save', '--endpoints', member.url, '--repo', url, '--json'], s3Env());
    assert.equal(saved.code, 0, saved.stderr);
    const id = JSON.parse(saved.stdout).id as string;
    const repo = new S3Repository(url, { endpoint: s3.endpoint });
    const key = `snapshots/${id}.tar.zst`;
    const bytes = await repo.readSmall(key);
    bytes[bytes.length - 200]! ^= 0x10;
    await repo.delete(key);
    await repo.writeSmall(key, bytes);
    repo.close();
    for (const command of ['verify', 'inspect', 'dump']) {
      const r = await runCli(['snapshot', command, id, '--repo', url], s3Env());
      assert.equal(r.code, ExitCode.integrity, `${command}: ${r.stderr}`);
      const { error, hint } = failureLines(r);
      assert.match(error, new RegExp(`^lifeboat: .*${id}`), command);
      assert.match(hint, /^hint: /, command);
    }
  } finally {
    await member.close();
  }
});

test('a missing bucket is exit 10 and wrong credentials exit 14, each with a hint', { timeout: 120_000 }, async () => {
  const missing = await runCli(['snapshot', 'list', '--repo', 's3://no-such-bucket/x'], s3Env());
  assert.equal(missing.code, ExitCode.notFound, missing.stderr);
  assert.match(failureLines(missing).hint, /^hint: /);
  const denied = await runCli(['snapshot', 'list', '--repo', `s3://${s3.bucket}/x`], { ...s3Env(), AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
  assert.equal(denied.code, ExitCode.storageUnavailable, denied.stderr);
  assert.doesNotMatch(denied.stderr, /wrong-secret/);
  assert.match(failureLines(denied).hint, /credentials/);
});
