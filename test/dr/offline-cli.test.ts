import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { TestCluster } from '../helpers/test-cluster.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

function lifeboat(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}

test('snapshot save --from-data-dir backs up a stopped member, and refuses one that is running', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-offline-cli-'));
  const cluster = await TestCluster.start({ members: 1 });
  try {
    const member = cluster.members[0]!;
    for (let i = 0; i < 50; i++) assert.equal((await member.put(`/offline/${i}`, `v${i}`)).status, 200);
    const repo = join(work, 'repo');

    const refused = await lifeboat(['snapshot', 'save', '--from-data-dir', member.dataDir, '--repo', repo]);
    assert.equal(refused.status, ExitCode.unsafe, refused.stderr);
    assert.match(refused.stderr, /^hint: /m);

    await member.stop();
    const saved = await lifeboat(['snapshot', 'save', '--from-data-dir', member.dataDir, '--repo', repo, '--json']);
    assert.equal(saved.status, 0, saved.stderr);
    const doc = JSON.parse(saved.stdout);
    assert.equal(doc.consistency, 'offline');
    assert.equal(doc.keys, 50);
    assert.equal(doc.revision, 51);

    const both = await lifeboat(['snapshot', 'save', '--from-data-dir', member.dataDir, '--allow-stale', '--repo', repo]);
    assert.equal(both.status, ExitCode.usage, both.stderr);
  } finally {
    await cluster.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});
