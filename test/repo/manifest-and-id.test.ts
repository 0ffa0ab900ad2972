import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, LifeboatError } from '../../src/errors.js';
import { formatSnapshotId, isSnapshotId, parseSnapshotId } from '../../src/repo/snapshot-id.js';
import { parseManifest } from '../../src/repo/manifest.js';

test('snapshot IDs sort by time and round-trip through parse', () => {
  const a = formatSnapshotId(new Date(Date.UTC(2026, 10, 25, 9, 5, 7, 999)), 'cdf818194e3a8c32', 42);
  assert.equal(a, '20261125T090507Z-cdf818194e3a8c32-r42');
  const b = formatSnapshotId(new Date(Date.UTC(2026, 10, 25, 10, 0, 0)), '0000000000000001', 7);
  assert.ok(a < b);
  assert.deepEqual(parseSnapshotId(a), { createdAt: new Date(Date.UTC(2026, 10, 25, 9, 5, 7)), clusterId: 'cdf818194e3a8c32', revision: 42 });
  for (const bad of ['latest', '20261131T000000Z-cdf818194e3a8c32-r1', '20261125T090507Z-CDF818194E3A8C32-r42', '20261125T090507Z-cdf818194e3a8c32-42', './x.tar.zst']) {
    assert.equal(isSnapshotId(bad), false, bad);
  }
  assert.throws(() => formatSnapshotId(new Date(), 'xyz', 1), RangeError);
});

test('a manifest that is not JSON, lacks fields, has a newer schema or names another ID is an integrity error', () => {
  const good = {
    schema: 'lifeboat.manifest/v1', id: 'x', formatVersion: 1, toolVersion: '0.1.0', createdAt: '2026-11-25T09:00:00.000Z',
    clusterId: 'cdf818194e3a8c32', members: [], sourceMember: '8e9e05c52164694d', source: 'http://a', raftIndex: 5, raftTerm: 2,
    revision: 4, compactRevision: 0, keyCount: 3, dataBytes: 30, kvHash: 123, consistency: 'linearizable', snapshotName: 'x.snap',
    snapshotBytes: 100, snapshotSha256: 'a'.repeat(64), compression: 'zstd', compressionLevel: 3, archiveKey: 'snapshots/x.tar.zst',
    archiveBytes: 50, archiveSha256: 'b'.repeat(64), verifiedAt: '2026-11-25T09:00:01.000Z', timings: { streamMs: 1, uploadMs: 1, verifyMs: 1, totalMs: 3 },
  };
  assert.equal(parseManifest(Buffer.from(JSON.stringify(good)), 'm', 'x').revision, 4);
  const bad: [unknown, RegExp][] = [
    ['{', /not valid JSON/],
    [[1, 2], /not a JSON object/],
    [{ ...good, schema: 'lifeboat.manifest/v2' }, /schema lifeboat.manifest\/v2/],
    [{ ...good, schema: 'restic.snapshot' }, /not a Lifeboat manifest/],
    [{ ...good, archiveSha256: 'nope' }, /archiveSha256/],
    [{ ...good, revision: -1 }, /revision/],
    [{ ...good, compactRevision: 9 }, /compactRevision is above revision/],
    [{ ...good, consistency: 'eventual' }, /consistency/],
    [{ ...good, id: 'y', snapshotName: 'y.snap', archiveKey: 'snapshots/y.tar.zst' }, /names snapshot y, not x/],
    [{ ...good, archiveKey: '../../etc/passwd' }, /archiveKey/],
  ];
  for (const [value, pattern] of bad) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    assert.throws(() => parseManifest(Buffer.from(text), 'm', 'x'), (err) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.exitCode, ExitCode.integrity);
      assert.match(err.message, pattern);
      return true;
    });
  }
});
