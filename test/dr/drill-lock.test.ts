import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { runDrill } from '../../src/dr/drill.js';
import { drillLock } from '../../src/cli/drill-command.js';
import { acquireLock } from '../../src/repo/lock.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import type { Repository } from '../../src/repo/repository.js';
import { ExitCode } from '../../src/errors.js';
import { header, records } from '../archive/helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

async function saveSample(repo: Repository, revision: number): Promise<string> {
  const stream = encodeSnapshot(header(200, revision), records(200), { chunkBytes: 16 * 1024 });
  const { manifest } = await saveFromStream(stream, { repo, consistency: 'linearizable', source: 'test' });
  return manifest.id;
}

function lifeboat(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The repository, with archive reads held until `open()` is called. */
function gatedRepository(inner: LocalRepository): { repo: Repository; open: () => void; reading: Promise<void> } {
  let open!: () => void;
  let startedReading!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const reading = new Promise<void>((r) => (startedReading = r));
  const repo = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'read') {
        return async (key: string): Promise<Readable> => {
          if (key.endsWith('.tar.zst')) {
            startedReading();
            await gate;
          }
          return target.read(key);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { repo, open, reading };
}

test('a drill while another run holds the repository lock exits 11 naming the holder, and with --on-locked skip exits 0 without drilling', async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-lock-'));
  try {
    const root = join(work, 'repo');
    const repo = new LocalRepository(root);
    await saveSample(repo, 210);
    const held = await acquireLock(repo, { command: 'lifeboat snapshot save (test)', onLocked: 'fail' });
    try {
      const failed = lifeboat(['drill', '--repo', root], { TMPDIR: work });
      assert.equal(failed.status, ExitCode.locked, failed.stderr);
      assert.match(failed.stderr, /^lifeboat: repository .* is locked by lifeboat snapshot save \(test\)/m);
      assert.match(failed.stderr, /^hint: .*--on-locked wait/m);
      const skipped = lifeboat(['drill', '--repo', root, '--on-locked', 'skip'], { TMPDIR: work });
      assert.equal(skipped.status, ExitCode.ok, skipped.stderr);
      assert.match(skipped.stderr, /skipped: another run holds the lock/);
      const skippedJson = lifeboat(['drill', '--repo', root, '--on-locked', 'skip', '--json'], { TMPDIR: work });
      assert.equal(skippedJson.status, ExitCode.ok, skippedJson.stderr);
      assert.deepEqual(JSON.parse(skippedJson.stdout), { schema: 'lifeboat.drill/v1', skipped: true, reason: 'another run holds the repository lock' });
      assert.ok(!existsSync(join(root, 'drills')), 'no drill ran, so no report was stored');
      assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('lifeboat-drill-')), [], 'no work directory is left');
    } finally {
      await held!.release();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a drill with --on-locked wait queues behind the holder and drills once the lock is released', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-lock-'));
  try {
    const root = join(work, 'repo');
    const repo = new LocalRepository(root);
    const id = await saveSample(repo, 220);
    const held = await acquireLock(repo, { command: 'lifeboat snapshot prune (test)', onLocked: 'fail' });
    const child = spawn(process.execPath, [BIN, 'drill', '--repo', root, '--on-locked', 'wait', '--lock-timeout', '5m'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: work } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await waitFor('the drill to wait for the lock', () => /waiting for the lock held by lifeboat snapshot prune \(test\)/.test(stderr), 60_000);
      assert.doesNotMatch(stderr, /downloading/, 'nothing is downloaded while another run holds the lock');
    } finally {
      await held!.release();
    }
    assert.equal(await exit, ExitCode.ok, stderr);
    assert.match(stderr, new RegExp(`drill ${id}: downloading`));
    assert.match(stderr, /drill PASSED/);
    assert.equal(readdirSync(join(root, 'drills')).length, 1);
    assert.ok(!existsSync(join(root, 'locks', 'lock.json')), 'the drill released the lock');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a prune run while a drill downloads its snapshot is refused, and the drilled snapshot survives until the drill is done', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-lock-'));
  try {
    const root = join(work, 'repo');
    const local = new LocalRepository(root);
    const older = await saveSample(local, 230);
    await saveSample(local, 240);
    const { repo, open, reading } = gatedRepository(local);
    const scratch = join(work, 'scratch');
    mkdirSync(scratch);
    const controller = new AbortController();
    const drilling = runDrill({ repo, snapshot: older, members: 1, workDir: scratch, signal: controller.signal, withLock: drillLock(local, { onLocked: 'fail', signal: controller.signal }) });
    try {
      await reading;
      // The drill holds the lock now, with its download not yet begun: a prune that would delete
      // the drilled snapshot (--keep-last 1) must not run.
      const refused = lifeboat(['snapshot', 'prune', '--repo', root, '--keep-last', '1']);
      assert.equal(refused.status, ExitCode.locked, refused.stderr);
      assert.match(refused.stderr, /locked by lifeboat drill \(downloading the snapshot\)/);
      assert.ok(existsSync(join(root, 'snapshots', `${older}.tar.zst`)));
    } finally {
      open();
    }
    const { report, error } = await drilling;
    assert.equal(error, undefined);
    assert.equal(report.result, 'pass', JSON.stringify(report.checks, null, 2));
    assert.equal(readdirSync(join(root, 'drills')).length, 1, 'the report was stored');
    const pruned = lifeboat(['snapshot', 'prune', '--repo', root, '--keep-last', '1']);
    assert.equal(pruned.status, ExitCode.ok, pruned.stderr);
    assert.ok(!existsSync(join(root, 'snapshots', `${older}.tar.zst`)), 'with the drill done, the prune deletes it');
    assert.deepEqual(readdirSync(join(root, 'drills')), [], 'and its drill report with it');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a drill whose snapshot was pruned while it ran prints its result but stores no report for the missing snapshot', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-drill-lock-'));
  try {
    const root = join(work, 'repo');
    const repo = new LocalRepository(root);
    const older = await saveSample(repo, 250);
    await saveSample(repo, 260);
    const scratch = join(work, 'scratch');
    mkdirSync(scratch);
    const lines: string[] = [];
    const lock = drillLock(repo, { onLocked: 'fail', signal: new AbortController().signal });
    const { report } = await runDrill({
      repo,
      snapshot: older,
      members: 1,
      workDir: scratch,
      log: (line) => lines.push(line),
      // Between the drill's run and its report, a prune deletes the drilled snapshot.
      withLock: async (phase, work) => {
        if (phase === 'report') {
          const pruned = lifeboat(['snapshot', 'prune', '--repo', root, '--keep-last', '1']);
          assert.equal(pruned.status, ExitCode.ok, pruned.stderr);
        }
        return lock(phase, work);
      },
    });
    assert.equal(report.result, 'pass', JSON.stringify(report.checks, null, 2));
    assert.ok(!existsSync(join(root, 'snapshots', `${older}.json`)));
    assert.ok(!existsSync(join(root, 'drills')) || readdirSync(join(root, 'drills')).length === 0, 'no report for a snapshot that no longer exists');
    assert.ok(lines.some((l) => /could not store the drill report.*was pruned while the drill ran/.test(l)), lines.join('\n'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
