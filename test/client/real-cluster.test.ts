// The client against a real 3-member cluster of `lifeboat serve` processes (started by the
// reusable local-cluster launcher; needs `npm run build`): cross-member reads, a concurrent
// history checked for linearizability while the leader is killed, and a clean stop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLocalCluster, startLocalCluster, waitForLeader, type LocalCluster } from '../../src/client/local-cluster.js';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { EtcdApiError } from '../../src/client/client-errors.js';
import { ClusterUnavailableError } from '../../src/errors.js';
import { HistoryRecorder } from '../sim/history.js';
import { checkLinearizable } from '../sim/linearizability.js';
import { verifySnapshot } from '../../src/snapshot/decoder.js';

let dataRoot: string;
let cluster: LocalCluster;

before(async () => {
  dataRoot = mkdtempSync(join(tmpdir(), 'lifeboat-client-cluster-'));
  const plan = await planLocalCluster({ members: 3, dataRoot });
  cluster = await startLocalCluster(plan, { readyTimeoutMs: 90_000 });
});

after(async () => {
  await cluster?.stop();
  rmSync(dataRoot, { recursive: true, force: true });
});

test('a write through one member is read through each of the others', async () => {
  const [a, b, c] = cluster.endpoints.map((e) => new LifeboatClient([e], { deadlineMs: 30_000 }));
  try {
    const put = await a!.put('cross/key', 'written-through-a');
    for (const reader of [b!, c!]) {
      const got = await reader.range('cross/key');
      assert.equal(got.kvs[0]?.value.toString(), 'written-through-a');
      assert.ok(got.header.revision >= put.header.revision);
    }
    const members = await b!.memberList();
    assert.equal(members.members.length, 3);
    assert.deepStrictEqual(members.members.map((m) => m.clientURLs[0]).sort(), [...cluster.endpoints].sort());
  } finally {
    for (const client of [a!, b!, c!]) client.close();
  }
});

test('a concurrent history from the real cluster is linearizable, even across a leader kill', async () => {
  const history = new HistoryRecorder();
  const keys = ['lin/a', 'lin/b', 'lin/c'];
  const clientCount = 6;
  const opsPerClient = 40;
  // Each client starts from a different endpoint, so reads and writes spread over every member.
  const clients = Array.from({ length: clientCount }, (_, i) => {
    const endpoints = cluster.endpoints.map((_e, j) => cluster.endpoints[(i + j) % cluster.endpoints.length]!);
    return new LifeboatClient(endpoints, { timeoutMs: 3000, deadlineMs: 20_000 });
  });
  let done = 0;
  let killed = false;
  const killLeaderOnce = async () => {
    if (killed) return;
    killed = true;
    const leader = await waitForLeader(cluster.endpoints, 30_000);
    const pid = cluster.pids[cluster.endpoints.indexOf(leader)]!;
    process.kill(pid, 'SIGKILL');
  };
  let seq = 0;
  try {
    await Promise.all(clients.map(async (client, c) => {
      for (let i = 0; i < opsPerClient; i++) {
        const key = keys[(c + i) % keys.length]!;
        if (++done === Math.floor((clientCount * opsPerClient) / 3)) void killLeaderOnce();
        if ((c + i) % 2 === 0) {
          const value = `c${c}-${seq++}`;
          const id = history.invoke(c, 'put', key, value);
          try {
            await client.put(key, value);
            history.ok(id);
          } catch (err) {
            // A refused request took no effect; anything else may have.
            if (err instanceof EtcdApiError && err.grpcCode !== 14) history.fail(id);
            else history.timeout(id);
          }
        } else {
          const id = history.invoke(c, 'get', key, null);
          try {
            const got = await client.range(key);
            history.ok(id, got.kvs[0] ? got.kvs[0].value.toString() : null);
          } catch {
            history.fail(id);
          }
        }
      }
    }));
  } finally {
    for (const client of clients) client.close();
  }
  assert.ok(killed, 'the leader was killed mid-run');
  const ops = history.operations();
  const completed = ops.filter((op) => op.ret !== Infinity);
  assert.ok(completed.length > clientCount * opsPerClient * 0.5, `most operations completed (${completed.length})`);
  const result = checkLinearizable(ops);
  assert.equal(result.outcome, 'ok', JSON.stringify(result));
});

test('a snapshot streamed through the client verifies and holds every acknowledged key', async () => {
  const client = new LifeboatClient(cluster.endpoints, { deadlineMs: 30_000 });
  try {
    for (let i = 0; i < 50; i++) await client.put(`snap/${String(i).padStart(3, '0')}`, `value-${i}`);
    const count = (await client.range('snap/', { prefix: true, countOnly: true })).count;
    const { stream, revision } = await client.snapshot();
    const summary = await verifySnapshot(stream);
    assert.equal(summary.header.revision, revision);
    assert.ok(summary.header.keyCount >= count, `${summary.header.keyCount} keys >= ${count}`);
    const hash = await client.hashKV(summary.header.revision);
    assert.equal(summary.trailer.kvHash, hash.hash, 'the snapshot carries the hashkv of its revision');
  } finally {
    client.close();
  }
});

test('with only a minority left, linearizable reads fail as cluster unavailable while serializable reads still answer', async () => {
  // One member was killed above; kill another so one of three remains.
  const alive: number[] = [];
  for (let i = 0; i < cluster.pids.length; i++) {
    try {
      process.kill(cluster.pids[i]!, 0);
      alive.push(i);
    } catch {
      // already gone
    }
  }
  assert.equal(alive.length, 2);
  process.kill(cluster.pids[alive[0]!]!, 'SIGKILL');
  const survivor = cluster.endpoints[alive[1]!]!;
  const client = new LifeboatClient(cluster.endpoints, { timeoutMs: 2000, deadlineMs: 6000 });
  try {
    await assert.rejects(client.range('cross/key'), (err: unknown) => {
      assert.ok(err instanceof ClusterUnavailableError, String(err));
      assert.equal(err.exitCode, 3);
      return true;
    });
    const local = new LifeboatClient([survivor], { timeoutMs: 2000, deadlineMs: 6000 });
    try {
      const got = await local.range('cross/key', { serializable: true });
      assert.equal(got.kvs[0]?.value.toString(), 'written-through-a');
    } finally {
      local.close();
    }
  } finally {
    client.close();
  }
});

test('stopping the cluster ends every member process', async () => {
  await cluster.stop();
  for (const pid of cluster.pids) {
    assert.throws(() => process.kill(pid, 0), (err: NodeJS.ErrnoException) => err.code === 'ESRCH', `pid ${pid} is gone`);
  }
});
