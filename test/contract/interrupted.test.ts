// SIGTERM (a CI job cancelled, systemd stopping a unit, an operator's Ctrl-C) in the middle of a
// restore and of a drill (PRODUCT.md section 5, exit 130): the restore leaves no data directory
// and no half-built copy; the drill leaves no member process and no throwaway directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { saveFromStream } from '../../src/dr/save.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { tempDir } from '../archive/helpers.js';
import { spawnCli } from '../archive/cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { assertFailure, tinyRepository } from '../cli/contract.js';
import { incompressibleSnapshot, restoreFlags } from './helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  work = await tempDir('contract-interrupted');
});

after(async () => {
  await work?.cleanup();
});

/** Command lines of the processes that mention `text` (members of a drill name their data directories). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) found.push(cmdline);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

test('SIGTERM during a restore exits 130 and leaves neither the data directory nor a half-built copy', { timeout: 120_000 }, async () => {
  const repoDir = join(work.dir, 'repo');
  // About 30 MiB, so the restore is still writing when the signal arrives.
  await saveFromStream(incompressibleSnapshot(30_000), { repo: new LocalRepository(repoDir), consistency: 'linearizable', source: 'test' });
  const parent = join(work.dir, 'target');
  const dataDir = join(parent, 'member');
  mkdirSync(parent);
  const restore = spawnCli(['snapshot', 'restore', 'latest', '--repo', repoDir, ...restoreFlags(dataDir)]);
  await waitFor('the restore to start building its copy', () => readdirSync(parent).some((f) => f.includes('restoring')), 90_000, 5);
  restore.proc.kill('SIGTERM');
  const r = await restore.done;
  assertFailure('restore', r, ExitCode.interrupted, /interrupted by SIGTERM/, /nothing partial/);
  assert.equal(existsSync(dataDir), false, 'no data directory');
  assert.deepEqual(readdirSync(parent), [], 'no half-built copy beside it');
});

test('SIGTERM during a drill exits 130, stops every throwaway member and removes their directory', { timeout: 240_000 }, async () => {
  const repoDir = join(work.dir, 'drilled');
  await tinyRepository(repoDir);
  const scratch = join(work.dir, 'scratch');
  mkdirSync(scratch);
  const drill = spawnCli(['drill', '--repo', repoDir, '--members', '3'], { TMPDIR: scratch });
  let stderr = '';
  drill.proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('the drill to start its members', () => /starting the members/.test(stderr) && processesMentioning(scratch).length >= 2, 180_000);
  drill.proc.kill('SIGTERM');
  const r = await drill.done;
  assertFailure('drill', r, ExitCode.interrupted, /interrupted by SIGTERM/);
  await waitFor('every throwaway member to be gone', () => processesMentioning(scratch).length === 0, 60_000);
  assert.deepEqual(readdirSync(scratch), [], 'the throwaway cluster directory is removed');
});
