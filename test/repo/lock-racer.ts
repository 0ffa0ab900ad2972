// One process racing for a repository lock, driven by test/repo/lock-race.test.ts.
// Usage: node --import tsx test/repo/lock-racer.ts <repo url> <barrier dir> <name> [s3 endpoint]
// It pauses right after its first read of the lock until every racer has read it (a file
// barrier), so the racers judge the same stale lock at the same moment and race the takeover.
// Then it prints one line: `acquired <token>` (and holds the lock until a `release` line on
// stdin, or until it learns it lost the lock: `lost`, exit 11) or exits 11 when locked out.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { LifeboatError } from '../../src/errors.js';
import { acquireLock, LOCK_KEY } from '../../src/repo/lock.js';
import { openRepository } from '../../src/repo/open-repository.js';
import type { Repository } from '../../src/repo/repository.js';

const [url, barrier, name, endpoint] = process.argv.slice(2) as [string, string, string, string | undefined];
const RACERS = 2;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const base = openRepository(url, endpoint ? { endpoint, forcePathStyle: true } : {});

async function everyoneRead(): Promise<void> {
  await writeFile(join(barrier, `ready-${name}`), '');
  const deadline = Date.now() + 60_000;
  while ((await readdir(barrier)).filter((n) => n.startsWith('ready-')).length < RACERS) {
    if (Date.now() > deadline) throw new Error('the other racer never read the lock');
    await delay(5);
  }
}

let paused = false;
const repo: Repository = new Proxy(base, {
  get(target, prop) {
    if (prop === 'readSmall') {
      return async (key: string) => {
        const data = await target.readSmall(key);
        if (key === LOCK_KEY && !paused) {
          paused = true;
          await everyoneRead();
        }
        return data;
      };
    }
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === 'function' ? value.bind(target) : value;
  },
});

try {
  // A short ttl makes the holder check its lock every half second (s3rver's overwrite window).
  const lock = await acquireLock(repo, { command: name, onLocked: 'fail', ttlMs: 1_500, warn: (line) => process.stderr.write(`${line}\n`) });
  if (!lock) throw new Error('unreachable: fail never skips');
  console.log(`acquired ${lock.record.token}`);
  const released = new Promise<'release'>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve('release')));
  const lost = new Promise<'lost'>((resolve) => lock.lost.addEventListener('abort', () => resolve('lost'), { once: true }));
  if ((await Promise.race([released, lost])) === 'lost') {
    console.log('lost');
    process.exit(11);
  }
  await lock.release();
  process.exit(0);
} catch (err) {
  process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof LifeboatError ? err.exitCode : 1);
}
