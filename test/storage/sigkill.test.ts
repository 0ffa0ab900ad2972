import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { MemberStorage } from '../../src/storage/member-storage.js';
import { entries, plain } from './helpers.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'wal-writer.ts');

/** Runs the writer until it has acknowledged at least `target` entries, SIGKILLs it, returns the last index it acknowledged. */
function killAfter(dir: string, first: number, target: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = first - 1;
    let pending = '';
    let stderr = '';
    let killed = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer acknowledged only up to ${acked} in 120 s; stderr: ${stderr}`));
    }, 120_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (!killed && acked >= first - 1 + target) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL' && killed) resolve(acked);
      else reject(new Error(`the writer exited with ${code ?? signal} before it was killed; stderr: ${stderr}`));
    });
  });
}

test('a writer process killed with SIGKILL in the middle of appends restarts with every acknowledged entry', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lifeboat-sigkill-'));
  try {
    const dir = join(root, 'member');
    const fs = new NodeFileSystem();
    let first = 1;
    for (let round = 0; round < 2; round++) {
      const acked = await killAfter(dir, first, 1500);
      const s = await MemberStorage.open(fs, dir, { segmentSize: 64 * 1024, log: () => undefined });
      const got = s.recovered.entries;
      // Everything acknowledged is there, intact; the writer may have got further than it told us.
      assert.ok(got.length >= acked, `round ${round}: recovered ${got.length} entries, ${acked} were acknowledged`);
      assert.deepEqual(plain(got.slice(0, acked)), plain(entries(1, acked, 1, 100)));
      first = got.length + 1;
      s.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
