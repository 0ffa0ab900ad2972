import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberStorage } from '../../src/storage/member-storage.js';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';
import { writeSnapshotFile } from '../../src/storage/snapshot-files.js';
import { entries, meta, plain, validateTestSnapshot } from './helpers.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'snapshot-writer.ts');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lifeboat-snapfile-'));
}

test('on real files a snapshot is written without holding the event loop, and the file holds exactly the bytes given', async () => {
  const dir = tempDir();
  try {
    const chunks: Buffer[] = [];
    for (let i = 0; i < 24; i++) chunks.push(Buffer.alloc(512 * 1024, i));
    let turns = 0;
    let writing = true;
    const tick = (): void => {
      turns++;
      if (writing) setImmediate(tick);
    };
    setImmediate(tick);
    // An async producer that never waits itself: any turn the loop gets comes from the writer.
    async function* produce(): AsyncGenerator<Uint8Array> {
      yield* chunks;
    }
    const path = await writeSnapshotFile(new NodeFileSystem(), dir, meta(7, 2), produce());
    writing = false;
    assert.ok(turns >= chunks.length, `the loop turned ${turns} times while ${chunks.length} chunks were written`);
    assert.equal(path, join(dir, '0000000000000002-0000000000000007.snap'));
    assert.ok(readFileSync(path).equals(Buffer.concat(chunks)));
    assert.deepEqual(readdirSync(dir), ['0000000000000002-0000000000000007.snap']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on real files a producer that fails leaves neither the snapshot nor its temporary file behind', async () => {
  const dir = tempDir();
  try {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(4096, 1);
      throw new Error('the read view was closed');
    }
    await assert.rejects(writeSnapshotFile(new NodeFileSystem(), dir, meta(9, 1), failing()), /read view was closed/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on real files a directory that cannot be written to fails the snapshot as a storage failure', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(writeSnapshotFile(new NodeFileSystem(), join(dir, 'missing'), meta(9, 1), [Buffer.alloc(10)]), StorageFailedError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the writer fixture, SIGKILLs it once `killOn` appears on its stdout, returns every line it printed. */
function runAndKill(dir: string, mode: 'stall' | 'finish', killOn: (line: string) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer did not reach the kill point in 120 s; printed ${lines.join(', ')}; stderr: ${stderr}`));
    }, 120_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!killed && killOn(line)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL' && killed) resolve(lines);
      else reject(new Error(`the writer exited with ${code ?? signal} before it was killed; stderr: ${stderr}`));
    });
  });
}

async function reopen(dir: string): Promise<MemberStorage> {
  return MemberStorage.open(new NodeFileSystem(), dir, { segmentSize: 64 * 1024, log: () => undefined, validateSnapshot: validateTestSnapshot });
}

test('a process killed in the middle of writing a snapshot restarts from the previous snapshot and its log, with the partial file removed', { timeout: 300_000 }, async () => {
  const root = tempDir();
  try {
    const dir = join(root, 'member');
    const lines = await runAndKill(dir, 'stall', (l) => l === 'chunk 3');
    assert.ok(lines.includes('ready'));
    assert.ok(readdirSync(join(dir, 'snap')).some((n) => n.endsWith('.tmp')), 'the kill left a partly written temporary file');
    const s = await reopen(dir);
    assert.deepEqual(s.recovered.snapshot?.metadata, meta(50, 1));
    assert.deepEqual(plain(s.recovered.entries), plain(entries(51, 200, 1, 100)));
    assert.deepEqual(readdirSync(join(dir, 'snap')), ['0000000000000001-0000000000000032.snap']);
    s.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a process killed while a finished snapshot is being made durable restarts from one of the two snapshots with the log after it', { timeout: 300_000 }, async () => {
  const root = tempDir();
  try {
    // The kill lands somewhere among the last write, fsync, rename, directory fsync and WAL
    // marker: whichever, the member must restart from a complete snapshot and the entries after it.
    for (let round = 0; round < 3; round++) {
      const dir = join(root, `member-${round}`);
      await runAndKill(dir, 'finish', (l) => l.startsWith('chunk ') && Number(l.slice(6)) >= 10);
      const s = await reopen(dir);
      const at = s.recovered.snapshot?.metadata.index;
      assert.ok(at === 50 || at === 150, `recovered the snapshot at ${at}`);
      assert.deepEqual(plain(s.recovered.entries), plain(entries(at! + 1, 200, 1, 100)));
      assert.ok(!readdirSync(join(dir, 'snap')).some((n) => n.endsWith('.tmp')), 'no temporary file is left after open');
      s.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
