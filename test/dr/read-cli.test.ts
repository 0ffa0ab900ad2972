import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { saveFromStream } from '../../src/dr/save.js';
import { failureLines, runCli } from '../archive/cli.js';
import { snapshotStream, tempDir } from '../archive/helpers.js';

test('verify, inspect and dump of a damaged, missing or foreign snapshot exit 13 or 10 with one line and a hint', async () => {
  const t = await tempDir('read-cli');
  try {
    const repo = new LocalRepository(join(t.dir, 'repo'));
    const good = (await saveFromStream(snapshotStream(300), { repo, consistency: 'linearizable', source: 'test', now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, 1)) })).manifest;
    const bad = (await saveFromStream(snapshotStream(300), { repo, consistency: 'linearizable', source: 'test', now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, 2)) })).manifest;
    const badPath = join(repo.root, bad.archiveKey);
    const bytes = await readFile(badPath);
    bytes[bytes.length - 40]! ^= 0xff;
    await writeFile(badPath, bytes);
    const foreign = join(t.dir, 'foreign.bin');
    await writeFile(foreign, Buffer.alloc(4096, 1));
    const orphan = (await saveFromStream(snapshotStream(10), { repo, consistency: 'linearizable', source: 'test', now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, 3)) })).manifest;
    await rm(join(repo.root, `snapshots/${orphan.id}.json`));

    const cases: [string[], number, RegExp][] = [
      [['snapshot', 'verify', bad.id], 13, new RegExp(bad.id)],
      [['snapshot', 'inspect', bad.id], 13, new RegExp(bad.id)],
      [['snapshot', 'dump', bad.id], 13, new RegExp(bad.id)],
      [['snapshot', 'verify', '--all'], 13, /1 of 2 snapshots failed/],
      [['snapshot', 'verify', orphan.id], 10, /incomplete/],
      [['snapshot', 'inspect', '20990101T000000Z-cdf818194e3a8c32-r5'], 10, /not found/],
      [['snapshot', 'inspect', foreign], 13, /neither a Lifeboat archive/],
      [['snapshot', 'dump', join(t.dir, 'nope.snap')], 10, /not found/],
      [['snapshot', 'list', '--repo', join(t.dir, 'no-repo')], 10, /no repository/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await runCli([...args, ...(args.includes('--repo') ? [] : ['--repo', repo.root])]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const { error, hint } = failureLines(r);
      assert.match(error, pattern, args.join(' '));
      assert.match(hint, /^hint: \S/);
    }
    const ok = await runCli(['snapshot', 'verify', good.id, '--repo', repo.root, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).results.map((x: { ok: boolean }) => x.ok), [true]);
  } finally {
    await t.cleanup();
  }
});
