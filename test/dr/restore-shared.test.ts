import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decodeSnapshot, encodeSnapshot, verifySnapshot } from '../../src/snapshot/index.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { planRestore } from '../../src/dr/restore-plan.js';
import { restoreSnapshot } from '../../src/dr/restore.js';
import { header, records } from '../archive/helpers.js';

function snapFile(dataDir: string): string {
  const names = readdirSync(join(dataDir, 'snap')).filter((n) => n.endsWith('.snap'));
  assert.equal(names.length, 1, `one snapshot file in ${dataDir}`);
  return join(dataDir, 'snap', names[0]!);
}

async function allRecords(path: string): Promise<KeyValueRecord[]> {
  const out: KeyValueRecord[] = [];
  const decoder = decodeSnapshot(createReadStream(path));
  for await (const batch of decoder.batches()) out.push(...batch.map((r) => ({ ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) })));
  await decoder.done;
  return out;
}

test('a restore of three members on one file system writes the state once: every member holds the same checked file with the new cluster in its header and the backup\'s records', async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-shared-'));
  try {
    const source = join(work, 'backup.snap');
    await pipeline(encodeSnapshot(header(1500, 1600), records(1500, 300), { chunkBytes: 32 * 1024 }), createWriteStream(source));
    const plan = planRestore({
      initialCluster: 'a=http://127.0.0.1:23801,b=http://127.0.0.1:23802,c=http://127.0.0.1:23803',
      token: 'shared-test',
      targets: ['a', 'b', 'c'].map((name) => ({ name, dataDir: join(work, name) })),
      bumpRevision: 1000,
      markCompacted: true,
    });
    const result = await restoreSnapshot({ repo: undefined, ref: { kind: 'file', path: source }, plan });
    const files = ['a', 'b', 'c'].map((n) => snapFile(join(work, n)));
    const inodes = new Set(files.map((f) => statSync(f).ino));
    assert.equal(inodes.size, 1, 'the three members share one file');
    assert.equal(statSync(files[0]!).nlink, 3);

    const original = await verifySnapshot(createReadStream(source));
    const restored = await verifySnapshot(createReadStream(files[0]!));
    assert.equal(restored.header.clusterId, plan.clusterId);
    assert.notEqual(restored.header.clusterId, original.header.clusterId);
    assert.deepEqual(restored.header.members.map((m) => m.name), ['a', 'b', 'c']);
    assert.equal(restored.header.revision, original.header.revision + 1000);
    assert.equal(restored.header.compactRevision, restored.header.revision);
    assert.equal(restored.trailer.recordCount, 1500);
    assert.equal(restored.kvHash, original.kvHash, 'the records pass through unchanged');
    assert.equal(result.kvHash, original.kvHash);
    assert.deepEqual(await allRecords(files[0]!), await allRecords(source));
    assert.deepEqual(readdirSync(work).sort(), ['a', 'b', 'backup.snap', 'c'], 'no temporary directory is left');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
