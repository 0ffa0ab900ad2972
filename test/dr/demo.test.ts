import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

test('the demo runs end to end from an empty directory, answers --json with one document, and leaves a drilled backup and no process behind', { timeout: 300_000 }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'lifeboat-demo-test-'));
  const scratch = join(cwd, 'tmp');
  mkdirSync(scratch);
  try {
    const run = spawnSync(process.execPath, [BIN, 'demo', '--keys', '300', '--json'], { cwd, encoding: 'utf8', env: { ...process.env, TMPDIR: scratch } });
    assert.equal(run.status, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { schema: string; snapshotId: string; keys: number; drill: { result: string; snapshotId: string } };
    assert.equal(doc.schema, 'lifeboat.demo/v1');
    assert.equal(doc.drill.result, 'pass');
    assert.equal(doc.drill.snapshotId, doc.snapshotId);
    assert.ok(doc.keys >= 300, `${doc.keys} keys`);
    const snapshots = readdirSync(join(cwd, 'lifeboat-backups', 'snapshots'));
    assert.ok(snapshots.includes(`${doc.snapshotId}.json`), 'the document names the saved snapshot');
    assert.equal(snapshots.filter((f) => f.endsWith('.json')).length, 1);
    assert.equal(snapshots.filter((f) => f.endsWith('.tar.zst')).length, 1);
    assert.equal(readdirSync(join(cwd, 'lifeboat-backups', 'drills')).length, 1);
    assert.deepEqual(readdirSync(scratch), [], 'the demo and drill clusters are removed');
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    assert.ok(!ps.split('\n').some((l) => l.includes(' serve ') && l.includes(scratch)), 'no member process is left');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
