// snapshot save against real `lifeboat serve` members (needs `npm run build`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { saveSnapshot, type SnapshotSource } from '../../src/dr/save.js';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { resolveSnapshot } from '../../src/dr/catalog.js';
import { dumpSnapshotRef } from '../../src/dr/verify.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { TestCluster } from '../helpers/test-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { listFiles, tempDir } from '../archive/helpers.js';
import { failureLines, runCli } from '../archive/cli.js';

test('a save while clients keep writing holds every write acknowledged before it and nothing newer, and its KV hash is the cluster\'s', async () => {
  const c = await TestCluster.start({ members: 3 });
  const t = await tempDir('save-cluster');
  let writing = true;
  try {
    const [a, b] = c.members;
    for (let i = 0; i < 50; i++) assert.equal((await a!.put(`before/${i}`, `v${i}`)).status, 200);
    let n = 0;
    const writer = (async () => {
      while (writing) {
        const r = await b!.put(`during/${n}`, `v${n}`).catch(() => undefined);
        if (r?.status === 200) n++;
      }
    })();
    await waitFor('some writes while saving', () => n > 5);
    const acknowledged = n;
    const repo = new LocalRepository(t.dir);
    const endpoints = c.members.map((m) => m.clientUrl);
    const r = await runCli(['snapshot', 'save', '--endpoints', endpoints.join(','), '--repo', t.dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    await waitFor('more writes after the save', () => n > acknowledged + 5);
    writing = false;
    await writer;

    const ref = await resolveSnapshot(repo, summary.id);
    const seen: KeyValueRecord[] = [];
    await dumpSnapshotRef(repo, ref, (batch) => void seen.push(...batch));
    const keys = new Set(seen.map((x) => x.key.toString()));
    for (let i = 0; i < 50; i++) assert.ok(keys.has(`before/${i}`));
    for (let i = 0; i < acknowledged; i++) assert.ok(keys.has(`during/${i}`), `during/${i} was acknowledged before the save started`);
    assert.ok(seen.every((x) => x.modRevision <= summary.revision));
    const hash = await a!.api('/v3/maintenance/hashkv', { revision: String(summary.revision) });
    assert.equal(hash.status, 200, JSON.stringify(hash.json));
    assert.equal(Number(hash.json.hash), summary.kvHash);
    assert.equal(summary.consistency, 'linearizable');
  } finally {
    writing = false;
    await c.destroy();
    await t.cleanup();
  }
});

test('the member serving the snapshot killed with SIGKILL mid-stream fails the save with exit 3 or 13 and commits nothing', async () => {
  const c = await TestCluster.start({ members: 3 });
  const t = await tempDir('save-cluster');
  try {
    const leader = await c.waitForLeader();
    // About 40 MB, well beyond what socket buffers and the member's stream buffer hold in flight.
    const value = Buffer.alloc(8192, 0x61).toString();
    for (let i = 0; i < 5000; i += 25) {
      const results = await Promise.all(Array.from({ length: 25 }, (_, j) => leader.put(`big/${String(i + j).padStart(6, '0')}`, value)));
      for (const r of results) assert.equal(r.status, 200);
    }
    const repo = new LocalRepository(t.dir);
    await repo.ensureInitialized();
    const before = await listFiles(t.dir);
    const http = new LifeboatClient([leader.clientUrl]);
    // Hold the stream after its first bytes until the member is dead, so the kill lands mid-stream.
    const source: SnapshotSource = {
      async snapshot(options) {
        const { stream, endpoint } = await http.snapshot({ serializable: options.serializable });
        const first = await new Promise<Buffer>((ok, fail) => {
          stream.once('data', ok);
          stream.once('error', fail);
        });
        stream.pause();
        await leader.kill();
        async function* rest(): AsyncGenerator<Buffer> {
          yield first;
          for await (const chunk of stream) yield chunk as Buffer;
        }
        return { stream: Readable.from(rest(), { objectMode: false }), endpoint };
      },
    };
    await assert.rejects(saveSnapshot({ client: source, repo }).finally(() => http.close()), (err) => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.ok(err.exitCode === ExitCode.clusterUnavailable || err.exitCode === ExitCode.integrity, `${err.exitCode}: ${err.message}`);
      return true;
    });
    assert.deepEqual(await listFiles(t.dir), before);
    const r = await runCli(['snapshot', 'save', '--endpoints', leader.clientUrl, '--repo', t.dir]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(failureLines(r).hint, /^hint: /);
  } finally {
    await c.destroy();
    await t.cleanup();
  }
});


test('with quorum lost, save exits 3 and points at --allow-stale, which then takes a serializable snapshot from the survivor', async () => {
  const c = await TestCluster.start({ members: 3 });
  const t = await tempDir('save-cluster');
  try {
    const [a, b, d] = c.members;
    assert.equal((await a!.put('k', 'v')).status, 200);
    await waitFor('the write to reach the survivor', async () => (await d!.get('k', { serializable: true })) === 'v');
    await a!.kill();
    await b!.kill();
    const refused = await runCli(['snapshot', 'save', '--endpoints', d!.clientUrl, '--repo', t.dir]);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(failureLines(refused).hint, /--allow-stale/);
    const stale = await runCli(['snapshot', 'save', '--endpoints', d!.clientUrl, '--repo', t.dir, '--allow-stale', '--json']);
    assert.equal(stale.code, 0, stale.stderr);
    const summary = JSON.parse(stale.stdout);
    assert.equal(summary.consistency, 'serializable');
    assert.ok(summary.keys >= 1);
    const listed = JSON.parse((await runCli(['snapshot', 'list', '--repo', t.dir, '--json'])).stdout);
    assert.deepEqual(listed.snapshots.map((s: { consistency: string }) => s.consistency), ['serializable']);
  } finally {
    await c.destroy();
    await t.cleanup();
  }
});
