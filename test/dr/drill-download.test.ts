import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ExitCode } from '../../src/errors.js';
import { LocalRepository } from '../../src/repo/local-repository.js';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { saveFromStream } from '../../src/dr/save.js';
import { runDrill } from '../../src/dr/drill.js';
import { header, records, tempDir } from '../archive/helpers.js';

const PROD = 'aaaaaaaaaaaaaaaa';

async function saveOf(repo: LocalRepository, clusterId: string, second: number): Promise<string> {
  const stream = encodeSnapshot(header(20, 100 + second, clusterId), records(20), { chunkBytes: 16 * 1024 });
  const { manifest } = await saveFromStream(stream, { repo, consistency: 'linearizable', source: 'test', now: () => new Date(Date.UTC(2026, 10, 25, 3, 0, second)) });
  return manifest.id;
}

test('a download that breaks mid-way fails the drill with exit 14 and still stores a failed report', async () => {
  const t = await tempDir('choice-download');
  class BreakingRepository extends LocalRepository {
    breaking = false;
    override async read(key: string): Promise<Readable> {
      if (!this.breaking || !key.endsWith('.tar.zst')) return super.read(key);
      const head = (await super.readSmall(key)).subarray(0, 64);
      return new Readable({
        read() {
          this.push(head);
          this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        },
      });
    }
  }
  try {
    const repo = new BreakingRepository(join(t.dir, 'repo'));
    const id = await saveOf(repo, PROD, 6);
    repo.breaking = true;
    const outcome = await runDrill({ repo, snapshot: id, members: 1, workDir: t.dir });
    assert.ok(outcome.error, 'the drill reports the broken download');
    assert.equal(outcome.error.exitCode, ExitCode.storageUnavailable, outcome.error.message);
    assert.match(outcome.error.message, /download/);
    assert.equal(outcome.report.result, 'fail');
    assert.deepEqual((await repo.list('drills/')).length, 1);
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    await t.cleanup();
  }
});

test('a drill of a listed snapshot whose archive is gone exits 13 like verify, and stores a failed report', async () => {
  const t = await tempDir('drill-no-archive');
  try {
    const repo = new LocalRepository(join(t.dir, 'repo'));
    const id = await saveOf(repo, PROD, 7);
    await repo.delete(`snapshots/${id}.tar.zst`);
    for (const snapshot of [id, 'latest']) {
      const outcome = await runDrill({ repo, snapshot, members: 1, workDir: t.dir });
      assert.equal(outcome.error?.exitCode, ExitCode.integrity, outcome.error?.message);
      assert.match(outcome.error!.message, /archive .* is missing/);
      assert.equal(outcome.report.result, 'fail');
    }
    assert.equal((await repo.list('drills/')).length >= 1, true);
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.startsWith('lifeboat-drill-')), []);
  } finally {
    await t.cleanup();
  }
});
