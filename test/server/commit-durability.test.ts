import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataDirReadOnly } from '../../src/server/offline-state.js';
import { TestCluster } from '../helpers/test-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

test('a cleanly stopped follower records in its WAL the commit index of the last write it applied, so an offline backup of it holds that write', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
      const leader = await c.waitForLeader();
      const follower = c.members.find((m) => m !== leader)!;
      for (let i = 0; i < 5; i++) assert.equal((await leader.put(`k/${i}`, `v${i}`)).status, 200);
      // The follower learns that k/4 is committed from a message that moves only its commit index.
      await waitFor('the follower to apply the last acknowledged write', async () => (await follower.get('k/4', { serializable: true })) === 'v4');
      const applied = Number((await follower.status()).raftAppliedIndex);
      await follower.stop();
      const state = await loadDataDirReadOnly(follower.dataDir);
      assert.ok(state.recordedCommit >= applied, `the WAL records commit ${state.recordedCommit}, below the applied index ${applied}`);
      const r = state.kv.range({ kind: 'range', key: Buffer.from('k/4') });
      assert.equal(r.kvs[0]?.value.toString(), 'v4', 'the offline state misses the last acknowledged write');
    });
  } finally {
    await c.destroy();
  }
});
