import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, type TestMember } from '../helpers/test-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { writeLoad, type WriteLoad } from '../helpers/write-load.js';

/** Loads still writing: a failed assertion must stop them too, or the test file never exits. */
const running = new Set<() => void>();

async function stopLoads(): Promise<void> {
  for (const stop of running) stop();
  running.clear();
}

/** A write load whose workers a failed assertion stops too (see `running`). */
function trackedLoad(via: () => TestMember, prefix: string): WriteLoad {
  const load = writeLoad(via, { prefix, value: 'v', timeoutMs: 5_000 });
  running.add(() => void load.stop());
  return load;
}

test('a member killed with SIGKILL in the middle of a write load restarts with every acknowledged write present', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
    const leader = await c.waitForLeader();
    const victim = c.members.find((m) => m !== leader)!;
    const load = trackedLoad(() => leader, 'k');
    await waitFor('some writes acknowledged', () => load.acked.length >= 50);
    await victim.kill();
    await waitFor('more writes acknowledged after the kill', () => load.acked.length >= 100);
    await victim.start();
    await waitFor('writes acknowledged after the restart', () => load.acked.length >= 150);
    const acked = await load.stop();
    // Kill the leader too: the restarted member must hold the acknowledged writes itself.
    const last = acked[acked.length - 1]!;
    await waitFor('the restarted member to apply the last acknowledged write', async () => (await victim.get(last, { serializable: true })) === 'v');
    await leader.kill();
    await leader.start();
    await c.waitForLeader();
    for (const key of acked) assert.equal(await victim.get(key, { serializable: true }), 'v', `acknowledged ${key} missing on the restarted member`);
    });
  } finally {
    await stopLoads();
    await c.destroy();
  }
});

test('a partitioned member refuses linearizable reads while the majority keeps every acknowledged write', async () => {
  const c = await TestCluster.start({ members: 3, proxies: true });
  try {
    await c.run(async () => {
    const leader = await c.waitForLeader();
    const isolated = c.members.find((m) => m !== leader)!;
    const majority = c.members.filter((m) => m !== isolated);
    assert.equal((await leader.put('before', 'x')).status, 200);
    await waitFor('the isolated member to have the first write', async () => (await isolated.get('before', { serializable: true })) === 'x');
    const isolatedId = BigInt((await isolated.status()).header.member_id).toString(16).padStart(16, '0');
    // Cut every connection to and from the isolated member.
    isolated.proxy!.blockAll(true);
    for (const m of majority) m.proxy!.blockFrom(isolatedId, true);
    const load = trackedLoad(() => leader, 'p');
    await waitFor('writes acknowledged by the majority', () => load.acked.length >= 50);
    const r = await isolated.api('/v3/kv/range', { key: Buffer.from('before').toString('base64') }, 30_000);
    assert.notEqual(r.status, 200, 'a member cut off from the quorum must not answer a linearizable read');
    assert.equal(r.json.code, 14, JSON.stringify(r.json));
    // A serializable read still answers from its local (stale) state.
    assert.equal(await isolated.get('before', { serializable: true }), 'x');
    const acked = await load.stop();
    isolated.proxy!.blockAll(false);
    for (const m of majority) m.proxy!.blockFrom(isolatedId, false);
    const last = acked[acked.length - 1]!;
    await waitFor('the healed member to catch up', async () => (await isolated.get(last, { serializable: true })) === 'v');
    for (const key of acked) assert.equal(await isolated.get(key), 'v', `acknowledged ${key} missing after the partition healed`);
    });
  } finally {
    await stopLoads();
    await c.destroy();
  }
});
