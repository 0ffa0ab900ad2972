// The local-cluster launcher's plan (names, ports, reuse of a data root) and `lifeboat cluster up`
// as a user runs it: up, answering, and gone without a trace of a process after SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { planLocalCluster, startLocalCluster } from '../../src/client/local-cluster.js';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { UsageError } from '../../src/errors.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-local-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a plan with a base port gives member i client port P+2i and peer port P+2i+1', async (t) => {
  const plan = await planLocalCluster({ members: 3, dataRoot: tempRoot(t), basePort: 32000 });
  assert.deepStrictEqual(plan.members.map((m) => [m.name, m.clientUrl, m.peerUrl]), [
    ['n1', 'http://127.0.0.1:32000', 'http://127.0.0.1:32001'],
    ['n2', 'http://127.0.0.1:32002', 'http://127.0.0.1:32003'],
    ['n3', 'http://127.0.0.1:32004', 'http://127.0.0.1:32005'],
  ]);
  assert.equal(plan.initialCluster, 'n1=http://127.0.0.1:32001,n2=http://127.0.0.1:32003,n3=http://127.0.0.1:32005');
});

test('free ports are distinct across members', async (t) => {
  const plan = await planLocalCluster({ members: 5, dataRoot: tempRoot(t) });
  const ports = plan.members.flatMap((m) => [m.clientUrl, m.peerUrl]);
  assert.equal(new Set(ports).size, 10);
});

test('a data root that held a cluster brings its members back on the same ports, and refuses another size', async (t) => {
  const root = tempRoot(t);
  const first = await planLocalCluster({ members: 1, dataRoot: root });
  const cluster = await startLocalCluster(first, { readyTimeoutMs: 90_000 });
  const client = new LifeboatClient(cluster.endpoints);
  try {
    await client.put('survives', 'a restart');
  } finally {
    client.close();
    await cluster.stop();
  }
  const again = await planLocalCluster({ members: 1, dataRoot: root });
  assert.deepStrictEqual(again, first);
  await assert.rejects(planLocalCluster({ members: 3, dataRoot: root }), (err: unknown) => err instanceof UsageError && /--members/.test(err.message));
  const restarted = await startLocalCluster(again, { readyTimeoutMs: 90_000 });
  const reader = new LifeboatClient(restarted.endpoints);
  try {
    const got = await reader.range('survives');
    assert.equal(got.kvs[0]?.value.toString(), 'a restart');
  } finally {
    reader.close();
    await restarted.stop();
  }
});

test('cluster up serves until SIGTERM, then stops every member and exits 0', async (t) => {
  const root = tempRoot(t);
  const proc = spawn(process.execPath, [BIN, 'cluster', 'up', '--members', '3', '--data-root', root, '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  t.after(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  // The JSON document is printed once every member is ready and a leader is elected.
  await new Promise<void>((res, rej) => {
    const check = () => {
      if (stdout.trim().endsWith('}')) res();
    };
    proc.stdout.on('data', check);
    proc.once('exit', (code) => rej(new Error(`cluster up exited early (${code}): ${stderr}`)));
  });
  const up = JSON.parse(stdout) as { schema: string; endpoints: string[]; pids: number[] };
  assert.equal(up.schema, 'lifeboat.cluster-up/v1');
  assert.equal(up.endpoints.length, 3);
  const client = new LifeboatClient(up.endpoints);
  try {
    await client.put('k', 'v');
    assert.equal((await client.range('k')).kvs[0]?.value.toString(), 'v');
  } finally {
    client.close();
  }
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /all members stopped/);
  for (const pid of up.pids) {
    assert.throws(() => process.kill(pid, 0), (err: NodeJS.ErrnoException) => err.code === 'ESRCH', `member pid ${pid} is gone`);
  }
});
