import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { TestCluster } from '../helpers/test-cluster.js';
import { runCli } from '../archive/cli.js';


async function lifeboat(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runCli(args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
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
