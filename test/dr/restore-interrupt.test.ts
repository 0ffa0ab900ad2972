import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { planRestore } from '../../src/dr/restore-plan.js';
import { restoreSnapshot } from '../../src/dr/restore.js';
import { header, records } from '../archive/helpers.js';

const SCRATCH_MODULE = resolve(import.meta.dirname, '../../src/dr/restore-scratch.ts');

test('a restore from a plain snapshot file stops when aborted mid-read and removes its half-built directories', async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-restore-abort-'));
  try {
    const file = join(work, 'member.snap');
    // Many small chunks, read 1 MiB at a time: the abort comes with the first read, long before the end.
    await pipeline(encodeSnapshot(header(6000, 6010), records(6000, 1000), { chunkBytes: 16 * 1024 }), createWriteStream(file));
    const plan = planRestore({
      initialCluster: 'a=http://127.0.0.1:23801,b=http://127.0.0.1:23802',
      token: 'abort-test',
      targets: [{ name: 'a', dataDir: join(work, 'a') }, { name: 'b', dataDir: join(work, 'b') }],
    });
    const controller = new AbortController();
    const reason = new Error('interrupted by the test');
    let reads = 0;
    await assert.rejects(
      restoreSnapshot({
        repo: undefined,
        ref: { kind: 'file', path: file },
        plan,
        signal: controller.signal,
        onProgress: () => {
          if (++reads === 1) controller.abort(reason);
        },
      }),
      (err) => err === reason,
    );
    assert.equal(reads, 1, 'no read after the abort');
    assert.deepEqual(readdirSync(work).sort(), ['member.snap'], 'no data directory and no .restoring- directory is left');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('an exit that skips the clean stop still removes the registered scratch directories, and only those', () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-scratch-'));
  try {
    const doomed = join(work, '.a.restoring-1234');
    const committed = join(work, 'kept');
    mkdirSync(join(doomed, 'snap'), { recursive: true });
    writeFileSync(join(doomed, 'snap', 'x.snap.tmp'), 'half written');
    mkdirSync(committed);
    // A process that registers both, unregisters the one it committed, and exits at once as a second Ctrl-C does.
    const script = `
      import { trackScratch } from ${JSON.stringify(SCRATCH_MODULE)};
      trackScratch(${JSON.stringify(doomed)});
      const done = trackScratch(${JSON.stringify(committed)});
      done();
      process.exit(130);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 130, r.stderr);
    assert.ok(!existsSync(doomed), 'the registered directory is gone');
    assert.ok(existsSync(committed), 'an unregistered directory is left alone');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
