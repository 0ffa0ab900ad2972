import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { ExitCode } from '../../src/errors.js';
import { header, records } from '../archive/helpers.js';
import { waitFor } from '../helpers/wait-for.js';
import { killAll, memberPids } from '../helpers/member-processes.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

test('a second Ctrl-C while a drill is still stopping its members kills them at once and still removes every temporary directory', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-int2-'));
  try {
    const root = join(work, 'repo');
    const stream = encodeSnapshot(header(300, 307), records(300), { chunkBytes: 16 * 1024 });
    await saveFromStream(stream, { repo: new LocalRepository(root), consistency: 'linearizable', source: 'test' });
    const child = spawn(process.execPath, [BIN, 'drill', '--repo', root], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: work } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    let pids: number[] = [];
    try {
      pids = await waitFor('the three members to run', () => {
        const found = /starting the members/.test(stderr) ? memberPids(work) : [];
        return found.length === 3 ? found : undefined;
      }, 120_000);
      // A member that ignores SIGTERM (stopped) keeps the clean stop waiting for its grace period,
      // so the second Ctrl-C is sure to come while the first is still cleaning up.
      process.kill(pids[0]!, 'SIGSTOP');
      child.kill('SIGINT');
      await waitFor('the first interrupt to be acknowledged', () => /SIGINT received: stopping cleanly/.test(stderr), 60_000);
      child.kill('SIGINT');
      assert.equal(await exit, ExitCode.interrupted, stderr);
      assert.match(stderr, /^lifeboat: interrupted again by SIGINT/m);
      await waitFor('every member to be gone', () => memberPids(work).length === 0, 30_000);
      assert.deepEqual(readdirSync(work).filter((f) => f !== 'repo'), [], 'no drill directory, archive or restored member is left');
      assert.deepEqual(readdirSync(join(root, 'locks')), [], 'the lock was released before the members started');
    } finally {
      killAll(pids);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
