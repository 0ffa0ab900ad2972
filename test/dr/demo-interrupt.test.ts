import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { waitFor } from '../helpers/wait-for.js';
import { killAll, memberPids } from '../helpers/member-processes.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

/** Runs the demo until it is loading data; `interrupt` then stops it; checks nothing is left. */
async function interruptWhileLoading(interrupt: (child: ReturnType<typeof spawn>, stderr: () => string, pids: number[]) => Promise<void>): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), 'lifeboat-demo-int-'));
  const scratch = join(cwd, 'tmp');
  mkdirSync(scratch);
  let pids: number[] = [];
  try {
    // Enough keys that the load is still running when the signal arrives.
    const child = spawn(process.execPath, [BIN, 'demo', '--keys', '200000'], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: scratch } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    pids = await waitFor('the demo to load its sample keys', () => {
      const found = /2\/5 loading/.test(stderr) ? memberPids(scratch) : [];
      return found.length === 3 ? found : undefined;
    }, 120_000);
    await interrupt(child, () => stderr, pids);
    assert.equal(await exit, ExitCode.interrupted, stderr);
    await waitFor('every member to be gone', () => memberPids(scratch).length === 0, 30_000);
    assert.deepEqual(readdirSync(scratch), [], 'no cluster directory or spool is left in the temporary directory');
    return stderr;
  } finally {
    killAll(pids);
    rmSync(cwd, { recursive: true, force: true });
  }
}

test('Ctrl-C while the demo loads data stops its members and removes its temporary cluster', { timeout: 180_000 }, async () => {
  const stderr = await interruptWhileLoading(async (child) => {
    child.kill('SIGINT');
  });
  assert.match(stderr, /^lifeboat: interrupted by SIGINT/m);
});

test('a second Ctrl-C while the demo is still stopping its members kills them and still removes its temporary cluster', { timeout: 180_000 }, async () => {
  const stderr = await interruptWhileLoading(async (child, stderr, pids) => {
    // A stopped member holds the clean stop in its grace period, so the second Ctrl-C comes during it.
    process.kill(pids[0]!, 'SIGSTOP');
    child.kill('SIGINT');
    await waitFor('the first interrupt to be acknowledged', () => /SIGINT received: stopping cleanly/.test(stderr()), 60_000);
    child.kill('SIGINT');
  });
  assert.match(stderr, /^lifeboat: interrupted again by SIGINT/m);
});
