// Two ways a cron run could hang or hide a mistake: an S3 endpoint that accepts connections and
// never answers (the run must give up, bounded, with exit 14), and a typo in a save's flags while
// another run holds the lock (it must be exit 2 naming the flag, not 11 or a silent skip).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { acquireLock } from '../../src/repo/lock.js';
import { tempDir } from '../archive/helpers.js';
import { runCli } from '../archive/cli.js';
import { FAKE_AWS_ENV, assertFailure, tinyRepository } from '../cli/contract.js';

let work: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  work = await tempDir('contract-hung-locked');
});

after(async () => {
  await work?.cleanup();
});

test('list and save against an S3 endpoint that never answers give up with exit 14 within --s3-request-timeout', { timeout: 180_000 }, async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // read the request, answer nothing
  });
  await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
  const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const s3 = ['--repo', 's3://lifeboat-test/hung', '--s3-endpoint', endpoint, '--s3-force-path-style', '--s3-request-timeout', '2s'];
  try {
    const [listed, saved] = await Promise.all([
      runCli(['snapshot', 'list', ...s3], FAKE_AWS_ENV),
      runCli(['snapshot', 'save', '--endpoints', 'http://127.0.0.1:1', ...s3], FAKE_AWS_ENV),
    ]);
    assertFailure('list', listed, ExitCode.storageUnavailable, /no answer within 2 s/, /does not answer/);
    assertFailure('save', saved, ExitCode.storageUnavailable, /no answer within 2 s/, /does not answer/);
    assert.ok(sockets.size > 0, 'the commands did reach the silent endpoint');
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});

test('a save with a bad flag value is exit 2 naming the flag even while another run holds the lock', async () => {
  const repoDir = join(work.dir, 'locked');
  const { repo } = await tinyRepository(repoDir);
  const held = await acquireLock(repo, { command: 'snapshot save (the hourly run)', onLocked: 'fail' });
  assert.ok(held, 'the test holds the lock');
  try {
    const save = ['snapshot', 'save', '--repo', repoDir, '--endpoints', 'http://127.0.0.1:1'];
    const cases: Array<[string[], RegExp]> = [
      [['--timeout', '5parsecs'], /--timeout/],
      [['--compression-level', '0'], /--compression-level/],
      [['--from-data-dir', join(work.dir, 'no-such-member')], /--from-data-dir/],
      [['--include-uncommitted'], /--include-uncommitted/],
    ];
    for (const onLocked of ['fail', 'skip']) {
      const results = await Promise.all(cases.map(([extra]) => runCli([...save, ...extra, '--on-locked', onLocked])));
      results.forEach((r, i) => assertFailure(`${cases[i]![0].join(' ')} --on-locked ${onLocked}`, r, ExitCode.usage, cases[i]![1]));
    }
  } finally {
    await held.release();
  }
});
