import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from '../helpers/test-cluster.js';
import { writeLoad } from '../helpers/write-load.js';
import { waitFor } from '../helpers/wait-for.js';

const SNAPSHOT_COUNT = 200;
/** Large values, so each local snapshot (the whole state) takes a while to write. */
const VALUE = 'x'.repeat(32 * 1024);

test('a member killed while it writes a local snapshot restarts from the previous one and its log with every acknowledged write', { timeout: 300_000 }, async () => {
  const c = await TestCluster.start({ members: 1, snapshotCount: SNAPSHOT_COUNT });
  try {
    await c.run(async () => {
      const m = c.members[0]!;
      for (let round = 1; round <= 2; round++) {
        const load = writeLoad(() => m, { prefix: 's', value: VALUE, timeoutMs: 10_000 });
        // Just past a --snapshot-count boundary the member has started writing the whole state
        // (about 25 MB by then) and is still at it: that is when it is killed.
        const target = round * 3 * SNAPSHOT_COUNT + 5;
        await waitFor(`${target} writes acknowledged`, () => load.acked.length >= target, 120_000, 1);
        await m.kill();
        const acked = await load.stop();
        assert.match(m.logs, /saved a local snapshot at index/);
        await m.start();
        await c.waitForLeader();
        // The restarted member may start a snapshot of its own at once (its log is past the
        // count again); the killed run's partial file must not outlive that.
        await waitFor('no partial snapshot file left', () => !readdirSync(join(m.dataDir, 'snap')).some((n) => n.endsWith('.tmp')), 120_000);
        for (const key of acked) assert.equal(await m.get(key), VALUE, `round ${round}: acknowledged ${key} is missing after the restart`);
      }
    });
  } finally {
    await c.destroy();
  }
});
