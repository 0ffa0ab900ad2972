import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from '../helpers/test-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

test('a three-member cluster elects a leader and a write through one member is read through another', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
    const [a, b, d] = c.members;
    const put = await a!.put('greeting', 'hello');
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(await b!.get('greeting'), 'hello');
    assert.equal(await d!.get('greeting'), 'hello');
    const list = await b!.api('/v3/cluster/member/list');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.members.map((m: any) => m.name).sort(), ['n1', 'n2', 'n3']);
    await waitFor('every member to publish its client URL', async () => {
      const l = await b!.api('/v3/cluster/member/list');
      return l.json.members.every((m: any) => Array.isArray(m.clientURLs) && m.clientURLs.length === 1);
    });
    });
  } finally {
    await c.destroy();
  }
});

test('the leader killed with SIGKILL is replaced, writes continue, and the old leader catches up when it restarts', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
    const leader = await c.waitForLeader();
    const others = c.members.filter((m) => m !== leader);
    assert.equal((await leader.put('before', '1')).status, 200);
    await leader.kill();
    const next = await c.waitForLeader(others);
    assert.notEqual(next, leader);
    for (let i = 0; i < 20; i++) assert.equal((await others[i % 2]!.put(`after-${i}`, String(i))).status, 200);
    await leader.start();
    await waitFor('the old leader to serve the writes made while it was down', async () => (await leader.get('after-19', { serializable: true })) === '19');
    assert.equal(await leader.get('before'), '1');
    });
  } finally {
    await c.destroy();
  }
});

test('a leader stopped with SIGTERM hands leadership to another member before it exits', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
      const leader = await c.waitForLeader();
      await leader.stop();
      assert.match(leader.logs, /handing leadership to [0-9a-f]{16} before stopping/);
      const others = c.members.filter((m) => m !== leader);
      const next = await c.waitForLeader(others);
      assert.equal((await next.put('after-handoff', 'ok')).status, 200);
    });
  } finally {
    await c.destroy();
  }
});
