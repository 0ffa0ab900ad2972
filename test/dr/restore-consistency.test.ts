import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { LocalRepository } from '../../src/repo/local-repository.js';
import type { Consistency } from '../../src/repo/manifest.js';
import { saveFromStream } from '../../src/dr/save.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

function restoreLatest(root: string, dataDir: string) {
  return spawnSync(process.execPath, [
    BIN, 'snapshot', 'restore', 'latest', '--repo', root, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801',
    '--initial-cluster-token', 'new', '--data-dir', dataDir,
  ], { encoding: 'utf8' });
}

for (const consistency of ['serializable', 'offline'] as Consistency[]) {
  test(`restoring a ${consistency} snapshot warns the operator that acknowledged writes may be missing; a linearizable one does not`, async () => {
    const t = await tempDir(`restore-${consistency}`);
    try {
      const weak = join(t.dir, 'weak');
      await saveFromStream(snapshotStream(30), { repo: new LocalRepository(weak), consistency, source: 'test' });
      const warned = restoreLatest(weak, join(t.dir, 'a'));
      assert.equal(warned.status, 0, warned.stderr);
      assert.match(warned.stderr, new RegExp(`warning: .*${consistency}.*may be missing`));
      const strong = join(t.dir, 'strong');
      await saveFromStream(snapshotStream(30), { repo: new LocalRepository(strong), consistency: 'linearizable', source: 'test' });
      const quiet = restoreLatest(strong, join(t.dir, 'b'));
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr, /warning/);
    } finally {
      await t.cleanup();
    }
  });
}
