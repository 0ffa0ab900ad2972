// The data-directory lock around real `lifeboat serve` processes (needs `npm run build`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE } from '../../src/server/data-dir-lock.js';
import { TestCluster } from '../helpers/test-cluster.js';
import { freePorts } from '../helpers/free-port.js';
import { failureLines, runCli } from '../archive/cli.js';

test('a second lifeboat serve on a data directory in use is refused with exit 2 naming the running member\'s pid, and the first keeps serving', async () => {
  const c = await TestCluster.start({ members: 1 });
  try {
    await c.run(async () => {
      const [m] = c.members;
      const [client, peer] = await freePorts(2);
      const peerUrl = `http://127.0.0.1:${peer}`;
      const r = await runCli([
        'serve', '--name', m!.name, '--data-dir', m!.dataDir,
        '--listen-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', peerUrl, '--initial-cluster', `${m!.name}=${peerUrl}`,
      ]);
      assert.equal(r.code, 2, r.stderr);
      const { error, hint } = failureLines(r);
      assert.equal(error, `lifeboat: another member (pid ${m!.proc!.pid}) is using --data-dir ${m!.dataDir}`);
      assert.match(hint, /^hint: /);
      assert.equal((await m!.put('still', 'serving')).status, 200);
      assert.equal(JSON.parse(readFileSync(join(m!.dataDir, LOCK_FILE), 'utf8')).pid, m!.proc!.pid);
    });
  } finally {
    await c.destroy();
  }
});

test('a member killed with SIGKILL leaves a stale lock that its next start takes over, and a clean stop removes the lock', async () => {
  const c = await TestCluster.start({ members: 1 });
  try {
    await c.run(async () => {
      const [m] = c.members;
      assert.equal((await m!.put('k', 'v1')).status, 200);
      const killedPid = m!.proc!.pid;
      await m!.kill();
      const lockPath = join(m!.dataDir, LOCK_FILE);
      assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, killedPid, 'SIGKILL leaves the lock behind');
      await m!.start();
      assert.match(m!.logs, new RegExp(`taking over a stale lock on .*pid ${killedPid} is no longer running`));
      assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, m!.proc!.pid);
      assert.equal(await m!.get('k'), 'v1');
      await m!.stop();
      assert.equal(existsSync(lockPath), false, 'a clean stop releases the lock');
    });
  } finally {
    await c.destroy();
  }
});
