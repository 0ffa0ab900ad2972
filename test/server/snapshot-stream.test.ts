import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { decodeSnapshot } from '../../src/snapshot/index.js';
import { TestCluster } from '../helpers/test-cluster.js';

test('a snapshot streamed while writes continue holds exactly one revision, with every earlier acknowledged write', async () => {
  const c = await TestCluster.start({ members: 3 });
  try {
    await c.run(async () => {
    const leader = await c.waitForLeader();
    const follower = c.members.find((m) => m !== leader)!;
    for (let i = 0; i < 200; i++) assert.equal((await leader.put(`pre-${String(i).padStart(4, '0')}`, 'x'.repeat(100))).status, 200);
    const lastBefore = await leader.put('last-before', 'yes');
    const revBefore = Number(lastBefore.json.header.revision);
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) await leader.put(`during-${i}`, 'y');
    })();
    // Ask a follower: the ReadIndex barrier must still include the leader's acknowledged writes.
    const res = await fetch(follower.clientUrl + '/v3/maintenance/snapshot', { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    const decoder = decodeSnapshot(Readable.fromWeb(res.body as any));
    const header = await decoder.header;
    const keys: string[] = [];
    for await (const r of decoder.records()) {
      assert.ok(r.modRevision <= header.revision, `record ${r.key} has mod revision ${r.modRevision} above ${header.revision}`);
      keys.push(r.key.toString());
    }
    const summary = await decoder.done;
    stop = true;
    await writer;
    assert.ok(header.revision >= revBefore, `snapshot revision ${header.revision} is below the acknowledged ${revBefore}`);
    assert.ok(keys.includes('last-before'));
    assert.equal(keys.filter((k) => k.startsWith('pre-')).length, 200);
    assert.equal(header.keyCount, keys.length);
    assert.equal(header.extra.consistency, 'linearizable');
    assert.equal(header.members.length, 3);
    // The trailer's KV hash matches the cluster's hashkv at that revision, on another member.
    const hk = await leader.api('/v3/maintenance/hashkv', { revision: String(header.revision) });
    assert.equal(hk.status, 200, JSON.stringify(hk.json));
    assert.equal(Number(hk.json.hash), summary.trailer.kvHash);
    });
  } finally {
    await c.destroy();
  }
});
