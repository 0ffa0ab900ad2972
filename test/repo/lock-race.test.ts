import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCK_KEY, type LockRecord } from '../../src/repo/lock.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { S3Repository } from '../../src/repo/s3-repository.js';
import type { Repository } from '../../src/repo/repository.js';
import { tempDir } from '../archive/helpers.js';
import { waitFor } from '../helpers/wait-for.js';
import { startS3Server } from './s3-server.js';

const RACER = fileURLToPath(new URL('./lock-racer.ts', import.meta.url));

interface Racer {
  readonly name: string;
  /** `acquired <token>`, `lost`. */
  readonly lines: string[];
  stderr: string;
  code: number | null | undefined;
  release(): void;
}

function startRacer(url: string, barrier: string, name: string, endpoint?: string): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', RACER, url, barrier, name, ...(endpoint ? [endpoint] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const racer: Racer = { name, lines: [], stderr: '', code: undefined, release: () => child.stdin.end('release\n') };
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    const parts = out.split('\n');
    out = parts.pop()!;
    racer.lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => (racer.stderr += chunk));
  child.once('exit', (code) => (racer.code = code));
  return racer;
}

function staleLock(): Buffer {
  const record: LockRecord = {
    schema: 'lifeboat.lock/v1',
    token: `stale-${Math.random()}`,
    host: 'crashed-host',
    pid: 1,
    command: 'snapshot save',
    startedAt: new Date(Date.now() - 600_000).toISOString(),
    expiresAt: new Date(Date.now() - 1_000).toISOString(),
  };
  return Buffer.from(JSON.stringify(record));
}

const acquiredToken = (r: Racer) => r.lines.find((l) => l.startsWith('acquired '))?.slice('acquired '.length);

/**
 * One round: a stale lock, two processes judging it stale at the same moment. Returns the racers
 * once every one of them has either exited or printed `acquired`.
 */
async function race(repo: Repository, url: string, work: string, round: number, endpoint?: string): Promise<Racer[]> {
  await repo.writeSmall(LOCK_KEY, staleLock());
  const barrier = join(work, `barrier-${round}`);
  await mkdir(barrier);
  const racers = ['a', 'b'].map((name) => startRacer(url, barrier, name, endpoint));
  await waitFor('both racers to take the lock or give up', () => racers.every((r) => r.code !== undefined || acquiredToken(r)), 120_000);
  return racers;
}

async function finish(racers: Racer[]): Promise<void> {
  for (const r of racers) if (r.code === undefined) r.release();
  await waitFor('the racers to exit', () => racers.every((r) => r.code !== undefined), 60_000);
}

test('two processes racing for the same stale lock in a local repository: exactly one takes it over, the other is refused with exit 11, every round', { timeout: 600_000 }, async () => {
  const t = await tempDir('lock-race');
  try {
    const url = join(t.dir, 'repo');
    const repo = new LocalRepository(url);
    await repo.ensureInitialized();
    for (let round = 0; round < 6; round++) {
      const racers = await race(repo, url, t.dir, round);
      const holders = racers.filter((r) => acquiredToken(r));
      const refused = racers.filter((r) => r.code === 11);
      try {
        assert.equal(holders.length, 1, `round ${round}: ${holders.length} processes hold the lock`);
        assert.equal(refused.length, 1, `round ${round}: ${racers.map((r) => `${r.name} exit ${r.code}: ${r.stderr}`).join('; ')}`);
        assert.match(refused[0]!.stderr, /is locked by|kept changing hands/);
        const stored = JSON.parse((await repo.readSmall(LOCK_KEY)).toString()) as LockRecord;
        assert.equal(stored.token, acquiredToken(holders[0]!), 'the lock object is the holder\'s');
      } finally {
        await finish(racers);
      }
      assert.equal(holders[0]!.code, 0, holders[0]!.stderr);
      assert.equal(await repo.stat(LOCK_KEY), undefined, 'the holder released it');
    }
  } finally {
    await t.cleanup();
  }
});

test('two processes racing for the same stale lock on s3rver end with exactly one holder: a run whose lock was overwritten learns it and stops', { timeout: 600_000 }, async () => {
  // s3rver ignores If-Match and If-None-Match on writes, so neither the takeover's delete nor the
  // create is atomic there (on AWS S3 both are): two racers can both believe they hold the lock
  // for a moment. The holder's renewal (here every 0.5 s) finds the other's token and stops.
  const server = await startS3Server();
  const t = await tempDir('lock-race-s3');
  try {
    const url = `s3://${server.bucket}/race`;
    const repo = new S3Repository(url, { endpoint: server.endpoint, forcePathStyle: true });
    await repo.ensureInitialized();
    for (let round = 0; round < 3; round++) {
      const racers = await race(repo, url, t.dir, round, server.endpoint);
      try {
        await waitFor('at most one racer to still hold the lock', () => racers.filter((r) => r.code === undefined).length <= 1, 60_000);
        const holding = racers.filter((r) => r.code === undefined);
        assert.equal(holding.length, 1, `round ${round}: ${racers.map((r) => `${r.name} exit ${r.code}: ${r.lines.join(',')} ${r.stderr}`).join('; ')}`);
        for (const r of racers.filter((x) => x.code !== undefined)) assert.equal(r.code, 11, `${r.name}: ${r.stderr}`);
        const stored = JSON.parse((await repo.readSmall(LOCK_KEY)).toString()) as LockRecord;
        assert.equal(stored.token, acquiredToken(holding[0]!), 'the lock object is the remaining holder\'s');
      } finally {
        await finish(racers);
      }
      assert.equal(await repo.stat(LOCK_KEY), undefined, 'the holder released it');
    }
    repo.close();
  } finally {
    await t.cleanup();
    await rm(t.dir, { recursive: true, force: true });
    await server.stop();
  }
});
