import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from '../helpers/test-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

test('a learner added after log compaction catches up by snapshot, is promoted, and a removed member is refused when it comes back', async () => {
  const c = await TestCluster.start({ members: 3, snapshotCount: 50 });
  try {
    await c.run(async () => {
    const leader = await c.waitForLeader();
    for (let i = 0; i < 300; i++) assert.equal((await leader.put(`key-${i}`, `value-${i}`)).status, 200);
    // member add as a learner, then start it with --initial-cluster-state existing.
    const joiner = await c.prepare('n4', { state: 'existing' });
    const add = await leader.api('/v3/cluster/member/add', { peerURLs: [joiner.peerUrl], isLearner: true });
    assert.equal(add.status, 200, JSON.stringify(add.json));
    assert.equal(add.json.member.isLearner, true);
    await joiner.start();
    await waitFor('the learner to serve the data it got by snapshot', async () => (await joiner.get('key-299', { serializable: true })) === 'value-299');
    assert.match(joiner.logs, /applied a snapshot at index/);
    assert.equal(await joiner.get('key-0', { serializable: true }), 'value-0');
    // A learner refuses linearizable reads, as etcd's do.
    const lin = await joiner.api('/v3/kv/range', { key: Buffer.from('key-0').toString('base64') });
    assert.equal(lin.status, 503, JSON.stringify(lin.json));
    const learnerList = await joiner.api('/v3/cluster/member/list');
    assert.equal(learnerList.status, 200, JSON.stringify(learnerList.json));
    assert.equal(learnerList.json.members.length, 4);

    const joinerId = add.json.member.ID as string;
    const promote = await waitFor('the learner to be promoted once in sync', async () => {
      const r = await leader.api('/v3/cluster/member/promote', { ID: joinerId });
      return r.status === 200 ? r : undefined;
    });
    assert.ok(promote.json.members.every((m: any) => !m.isLearner));
    // The joined member restarts from its own data directory (no probe, no snapshot needed).
    await joiner.kill();
    await joiner.start();
    assert.equal((await leader.put('after-joiner-restart', 'ok')).status, 200);
    // Until it relearns the commit index it may still see itself as the learner it was in its snapshot.
    await waitFor('the restarted member to serve a linearizable read', async () => (await joiner.get('after-joiner-restart').catch(() => undefined)) === 'ok');

    // Remove a follower that is not the leader, then bring it back with its old data directory.
    const victim = c.members.find((m) => m !== leader && m !== joiner)!;
    const victimId = await c.idOf(victim);
    const rm = await leader.api('/v3/cluster/member/remove', { ID: victimId });
    assert.equal(rm.status, 200, JSON.stringify(rm.json));
    assert.equal(rm.json.members.length, 3);
    await waitFor('the removed member to stop by itself', () => !victim.running);
    await victim.start([], { waitReady: false });
    await waitFor('the returning member to be refused', () =>
      c.members.some((m) => m !== victim && m.logs.includes(`refused a peer connection from member ${BigInt(victimId).toString(16).padStart(16, '0')}`)) || !victim.running,
    );
    assert.equal((await leader.put('after-remove', 'ok')).status, 200);
    assert.equal(await joiner.get('after-remove'), 'ok');
    const list = await joiner.api('/v3/cluster/member/list');
    assert.deepEqual(list.json.members.map((m: any) => m.name).sort(), [leader.name, joiner.name, c.members.find((m) => m !== leader && m !== joiner && m !== victim)!.name].sort());
    });
  } finally {
    await c.destroy();
  }
});
