import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, statSync, truncateSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { MemberStorage, type MemberStorageOptions } from '../../src/storage/member-storage.js';
import { CorruptionError } from '../../src/storage/corruption-error.js';
import { decodeRecordAt } from '../../src/storage/wal-record.js';
import { entries, hs, meta, plain, snapshotBytes, validateTestSnapshot } from './helpers.js';

function withTempDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-storage-'));
    try {
      await fn(join(dir, 'member'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function options(logs: string[] = []): MemberStorageOptions {
  return { segmentSize: 16 * 1024, validateSnapshot: validateTestSnapshot, log: (l) => logs.push(l) };
}

const fs = new NodeFileSystem();

test(
  'on real files, saved entries, hard state and a snapshot come back after reopening',
  withTempDir(async (dir) => {
    const s = await MemberStorage.open(fs, dir, options());
    assert.equal(s.recovered.fresh, true);
    for (let i = 1; i <= 300; i += 10) s.save(hs(2, i, 'ab'), entries(i, i + 9, 2, 64));
    await s.saveSnapshot(meta(100, 2), snapshotBytes('real snapshot'));
    s.close();
    const segments = readdirSync(join(dir, 'wal'));
    assert.ok(segments.every((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/.test(n)), segments.join(','));
    // The last segment is preallocated to the full segment size.
    assert.equal(statSync(join(dir, 'wal', segments[segments.length - 1]!)).size, 16 * 1024);
    const r = (await MemberStorage.open(fs, dir, options())).recovered;
    assert.deepEqual(plain(r.entries), plain(entries(101, 300, 2, 64)));
    assert.deepEqual(r.hardState, hs(2, 291, 'ab'));
    assert.equal(r.snapshot?.metadata.index, 100);
    assert.equal(readFileSync(r.snapshot!.path).subarray(0, 4).toString(), 'real');
  }),
);

test(
  'on real files, a WAL whose tail was cut off mid-record recovers to the last whole batch',
  withTempDir(async (dir) => {
    const s = await MemberStorage.open(fs, dir, options());
    s.save(hs(1, 5), entries(1, 5, 1, 100));
    s.save(hs(1, 10), entries(6, 10, 1, 100));
    const seg = s.walSegments()[0]!;
    s.close();
    // Cut the file in the middle of entry 8's record.
    const buf = readFileSync(seg);
    let pos = 0;
    const starts: number[] = [];
    for (let d = decodeRecordAt(buf, 0); d.kind === 'record'; d = decodeRecordAt(buf, pos)) {
      starts.push(pos);
      pos = d.next;
    }
    const entry8 = starts[starts.length - 4]!; // ..., e8, e9, e10, hard state
    const batch2 = starts[starts.length - 6]!; // e6 starts the second batch
    truncateSync(seg, entry8 + 30);
    const logs: string[] = [];
    const reopened = await MemberStorage.open(fs, dir, options(logs));
    // The cut batch is dropped whole: entries 6 and 7 were intact but never acknowledged.
    assert.deepEqual(plain(reopened.recovered.entries), plain(entries(1, 5, 1, 100)));
    assert.deepEqual(reopened.recovered.hardState, hs(1, 5));
    const dropped = reopened.recovered.tornBytesDropped;
    assert.ok(dropped > entry8 - batch2 && dropped <= entry8 + 30 - batch2, `dropped ${dropped}`);
    assert.match(logs[0] ?? '', new RegExp(`dropped ${dropped} bytes after offset ${batch2}`));
    reopened.save(hs(1, 6), entries(6, 6, 1, 100));
    reopened.close();
    const again = (await MemberStorage.open(fs, dir, options())).recovered;
    assert.deepEqual(plain(again.entries), plain(entries(1, 6, 1, 100)));
    assert.equal(again.tornBytesDropped, 0);
  }),
);

test(
  'on real files, a flipped byte in the middle of the WAL refuses to start and names the file and offset',
  withTempDir(async (dir) => {
    const s = await MemberStorage.open(fs, dir, options());
    for (let i = 1; i <= 20; i += 2) s.save(hs(1, i), entries(i, i + 1, 1, 100));
    const seg = s.walSegments()[0]!;
    s.close();
    const buf = readFileSync(seg);
    const victim = 1000;
    buf[victim]! ^= 0x10;
    writeFileSync(seg, buf);
    await assert.rejects(MemberStorage.open(fs, dir, options()), (err: unknown) => {
      assert.ok(err instanceof CorruptionError, String(err));
      assert.equal(err.file, seg);
      assert.ok(err.offset <= victim && victim - err.offset < 200, `offset ${err.offset} is the start of the record holding byte ${victim}`);
      return true;
    });
    // Refused without touching anything.
    assert.deepEqual(readFileSync(seg), buf);
  }),
);

test(
  'on real files, a corrupted snapshot file refuses to start',
  withTempDir(async (dir) => {
    const s = await MemberStorage.open(fs, dir, options());
    s.save(hs(1, 2), entries(1, 2, 1));
    await s.saveSnapshot(meta(2, 1), snapshotBytes('precious state'));
    const path = s.currentSnapshot()!.path;
    s.close();
    const buf = readFileSync(path);
    buf[3]! ^= 1;
    writeFileSync(path, buf);
    await assert.rejects(MemberStorage.open(fs, dir, options()), (err: unknown) => err instanceof CorruptionError && err.file === path);
  }),
);
