import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyFileSystem } from '../../src/storage/faulty-file-system.js';
import { MemberStorage, type MemberStorageOptions } from '../../src/storage/member-storage.js';
import { CorruptionError } from '../../src/storage/corruption-error.js';
import { StorageFailedError } from '../../src/storage/storage-failed-error.js';
import { ExitCode } from '../../src/errors.js';
import { entries, hs, meta, plain, prng, snapshotBytes, validateTestSnapshot } from './helpers.js';

const DIR = '/data/m1';

function setup(extra: Partial<MemberStorageOptions> = {}): { fs: FaultyFileSystem; logs: string[]; opts: MemberStorageOptions } {
  const fs = new FaultyFileSystem({ random: prng(42) });
  const logs: string[] = [];
  return { fs, logs, opts: { segmentSize: 4096, validateSnapshot: validateTestSnapshot, log: (l) => logs.push(l), ...extra } };
}

test('a fresh data directory opens empty and its WAL survives a crash right after', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  assert.equal(s.recovered.fresh, true);
  assert.deepEqual(s.recovered.hardState, hs(0, 0));
  assert.deepEqual(s.recovered.entries, []);
  fs.crash();
  const again = MemberStorage.openSync(fs, DIR, opts);
  assert.equal(again.recovered.fresh, false);
  assert.deepEqual(fs.readdir(DIR), ['snap', 'wal']);
  assert.equal(again.walSegments().length, 1);
});

test('saved entries and hard state come back after a crash', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 0, 'aa'), entries(1, 3, 1));
  s.save(undefined, entries(4, 5, 1));
  s.save(hs(1, 5, 'aa'), []);
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(r.hardState, hs(1, 5, 'aa'));
  assert.deepEqual(plain(r.entries), plain(entries(1, 5, 1)));
  assert.equal(r.tornBytesDropped, 0);
});

test('a later record for an index replaces it and every entry after it', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 2), entries(1, 10, 1));
  s.save(hs(2, 2), entries(6, 7, 2));
  s.close();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(plain(r.entries), plain([...entries(1, 5, 1), ...entries(6, 7, 2)]));
  assert.deepEqual(r.hardState, hs(2, 2));
});

test('appends roll over into new segments and replay across all of them, even a batch bigger than a segment', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 200; i += 5) s.save(hs(1, i), entries(i, i + 4, 1, 40));
  s.save(hs(1, 300), entries(201, 300, 1, 100)); // ~14 KB in one batch, more than a 4 KB segment
  const segments = s.walSegments();
  assert.ok(segments.length > 5, `expected several segments, got ${segments.length}`);
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(plain(r.entries), plain([...entries(1, 200, 1, 40), ...entries(201, 300, 1, 100)]));
  assert.deepEqual(r.hardState, hs(1, 300));
});

test('a torn last write is cut back to the last valid record, with a log line saying how many bytes were dropped', () => {
  const { fs, logs, opts } = setup({ segmentSize: 64 * 1024 });
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 4, 1, 100));
  // The power fails between the next batch's write and its fdatasync, keeping its first ~2000 bytes.
  fs.crashAtNext('fsync', 'tear-last', 2000);
  assert.throws(() => s.save(hs(1, 20), entries(5, 20, 1, 300)), StorageFailedError);
  const reopened = MemberStorage.openSync(fs, DIR, opts);
  const r = reopened.recovered;
  assert.ok(r.tornBytesDropped > 0, 'some torn bytes were dropped');
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, new RegExp(`dropped ${r.tornBytesDropped} bytes`));
  // Acknowledged entries are all there; the torn batch is dropped whole, though its first
  // records reached the disk intact.
  assert.deepEqual(plain(r.entries), plain(entries(1, 4, 1, 100)));
  assert.deepEqual(r.hardState, hs(1, 1));
  // The repaired WAL takes new appends and reopens cleanly.
  reopened.save(hs(2, 6), entries(5, 6, 2));
  fs.crash();
  const again = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.equal(again.tornBytesDropped, 0);
  assert.deepEqual(plain(again.entries), plain([...entries(1, 4, 1, 100), ...entries(5, 6, 2)]));
});

function recordSizeAt(buf: Buffer, offset: number): number {
  return 24 + Math.ceil(buf.readUInt32LE(offset + 8) / 8) * 8;
}

/** Start offsets of the records in a segment file (walking until the zeros). */
async function recordStarts(buf: Buffer): Promise<number[]> {
  const { decodeRecordAt } = await import('../../src/storage/wal-record.js');
  const starts: number[] = [];
  let pos = 0;
  for (;;) {
    const d = decodeRecordAt(buf, pos);
    if (d.kind !== 'record') return starts;
    starts.push(pos);
    pos = d.next;
  }
}

function snapshotOfDisk(fs: FaultyFileSystem, dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of fs.readdir(d)) {
      const p = `${d}/${name}`;
      if (fs.stat(p)!.isDirectory) walk(p);
      else out.set(p, fs.readRaw(p).toString('hex'));
    }
  };
  walk(dir);
  return out;
}

test('a flipped byte in the middle of the WAL stops open with an error naming the file and offset, touching nothing', async () => {
  const { fs, opts } = setup({ segmentSize: 64 * 1024 });
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 40; i += 4) s.save(hs(1, i), entries(i, i + 3, 1, 50));
  const seg = s.walSegments()[0]!;
  s.close();
  const starts = await recordStarts(fs.readRaw(seg));
  const victim = starts[10]!;
  fs.flipBit(seg, victim + 30, 2);
  const before = snapshotOfDisk(fs, DIR);
  assert.throws(
    () => MemberStorage.openSync(fs, DIR, opts),
    (err: unknown) => {
      assert.ok(err instanceof CorruptionError, String(err));
      assert.equal(err.file, seg);
      assert.equal(err.offset, victim);
      assert.equal(err.exitCode, ExitCode.failure);
      assert.match(err.message, new RegExp(`${seg}.*offset ${victim}`));
      assert.match(err.hint, /restore this member from a snapshot/);
      return true;
    },
  );
  assert.deepEqual(snapshotOfDisk(fs, DIR), before);
});

test('a flipped bit in the very last batch is corruption, not a torn write', async () => {
  const { fs, opts } = setup({ segmentSize: 64 * 1024 });
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 3, 1, 50));
  s.save(hs(1, 4), entries(4, 6, 1, 50));
  const seg = s.walSegments()[0]!;
  s.close();
  const starts = await recordStarts(fs.readRaw(seg));
  const last = starts[starts.length - 1]!;
  fs.flipBit(seg, last + 26, 0);
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), (err: unknown) => err instanceof CorruptionError && err.offset === last);
});

test('a zeroed sector inside an acknowledged batch is corruption even when only one batch follows it', async () => {
  const { fs, opts } = setup({ segmentSize: 64 * 1024 });
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 1, 1, 10));
  s.save(hs(1, 20), entries(2, 20, 1, 200)); // ~4.5 KB: whole sectors inside it
  s.save(hs(1, 21), entries(21, 21, 1, 10)); // the last batch
  const seg = s.walSegments()[0]!;
  s.close();
  const buf = fs.readRaw(seg);
  buf.fill(0, 2048, 2560); // as if that sector never reached the disk
  fs.writeRaw(seg, buf);
  const starts = await recordStarts(buf);
  const lastValid = starts[starts.length - 1]!;
  const damaged = lastValid + recordSizeAt(buf, lastValid);
  assert.ok(damaged < 2560, 'the walk stops at the record holding the zeroed sector');
  assert.throws(
    () => MemberStorage.openSync(fs, DIR, opts),
    (err: unknown) => err instanceof CorruptionError && err.offset === damaged && /later batch/.test(err.message),
  );
});

test('a last batch cut off exactly at a record boundary is dropped whole', async () => {
  const { fs, logs, opts } = setup({ segmentSize: 64 * 1024 });
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 2), entries(1, 2, 1, 50));
  s.save(hs(1, 5), entries(3, 5, 1, 50));
  const seg = s.walSegments()[0]!;
  s.close();
  const buf = fs.readRaw(seg);
  const starts = await recordStarts(buf);
  const e4 = starts[starts.length - 3]!; // ..., e3, e4, e5, hard state
  buf.fill(0, e4);
  fs.writeRaw(seg, buf);
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(plain(r.entries), plain(entries(1, 2, 1, 50)));
  assert.deepEqual(r.hardState, hs(1, 2));
  assert.equal(r.tornBytesDropped, e4 - starts[starts.length - 4]!);
  assert.equal(logs.length, 1);
});

test('a segment other than the last that ends in the middle of a batch is corruption', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 60; i += 3) s.save(hs(1, i + 2), entries(i, i + 2, 1, 100));
  const segs = s.walSegments();
  s.close();
  const buf = fs.readRaw(segs[1]!);
  const starts = await recordStarts(buf);
  const lastRecord = starts[starts.length - 1]!; // the hard state that ends the segment's last batch
  fs.writeRaw(segs[1]!, buf.subarray(0, lastRecord));
  assert.throws(
    () => MemberStorage.openSync(fs, DIR, opts),
    (err: unknown) => err instanceof CorruptionError && err.file === segs[1] && err.offset === starts[starts.length - 4] && /cut off/.test(err.message),
  );
});

test('a missing segment in the middle stops open with an error naming the segment after the gap', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 100; i += 5) s.save(hs(1, i), entries(i, i + 4, 1, 60));
  const segs = s.walSegments();
  assert.ok(segs.length >= 3, `expected at least 3 segments, got ${segs.length}`);
  s.close();
  fs.removeRaw(segs[1]!);
  assert.throws(
    () => MemberStorage.openSync(fs, DIR, opts),
    (err: unknown) => err instanceof CorruptionError && err.file === segs[2] && err.offset === 0 && /missing/.test(err.message),
  );
});

test('a missing first segment is caught because the log no longer starts at index 1', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 100; i += 5) s.save(hs(1, i), entries(i, i + 4, 1, 60));
  const segs = s.walSegments();
  s.close();
  fs.removeRaw(segs[0]!);
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), (err: unknown) => err instanceof CorruptionError && /missing/.test(err.message));
});

test('saving a snapshot releases older snapshot files and WAL segments, and recovery starts from it', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  for (let i = 1; i <= 100; i += 5) s.save(hs(1, i), entries(i, i + 4, 1, 60));
  s.saveSnapshotSync(meta(50, 1), snapshotBytes('state@50'));
  for (let i = 101; i <= 200; i += 5) s.save(hs(1, i), entries(i, i + 4, 1, 60));
  const segsBefore = s.walSegments().length;
  s.saveSnapshotSync(meta(180, 1), snapshotBytes('state@180'));
  assert.ok(s.walSegments().length < segsBefore, 'segments were released');
  assert.deepEqual(fs.readdir(`${DIR}/snap`), ['0000000000000001-00000000000000b4.snap']);
  s.save(hs(1, 201), entries(201, 201, 1, 60));
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(r.snapshot, { metadata: meta(180, 1), path: `${DIR}/snap/0000000000000001-00000000000000b4.snap` });
  assert.deepEqual(plain(r.entries), plain(entries(181, 201, 1, 60)));
  assert.deepEqual(r.hardState, hs(1, 201));
});

test('a compaction snapshot keeps the entries after it; a leader\'s snapshot replaces the whole log', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 3), entries(1, 10, 1));
  s.saveSnapshotSync(meta(5, 1), snapshotBytes('five'));
  s.close();
  assert.deepEqual(plain(MemberStorage.openSync(fs, DIR, opts).recovered.entries), plain(entries(6, 10, 1)));
  const s2 = MemberStorage.openSync(fs, DIR, opts);
  s2.saveSnapshotSync(meta(8, 3), snapshotBytes('from the leader'), { replacesLog: true });
  s2.save(hs(3, 8), entries(9, 9, 3));
  s2.close();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.equal(r.snapshot?.metadata.term, 3);
  assert.deepEqual(plain(r.entries), plain(entries(9, 9, 3)));
});

test('a snapshot stored but not yet marked current is ignored by recovery until it is marked', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 4), entries(1, 6, 1));
  const path = await s.storeSnapshotFile(meta(20, 2), snapshotBytes('from the leader'));
  fs.crash();
  const r1 = MemberStorage.openSync(fs, DIR, opts);
  assert.equal(r1.recovered.snapshot, undefined);
  assert.deepEqual(plain(r1.recovered.entries), plain(entries(1, 6, 1)));
  assert.ok(fs.stat(path), 'the stored file survives the crash');
  // Raft accepted it: it replaces the log, then that Ready's hard state is saved.
  r1.markSnapshotCurrent(meta(20, 2), { replacesLog: true });
  r1.markSnapshotCurrent(meta(20, 2), { replacesLog: true }); // again: nothing to do
  r1.save(hs(2, 20), []);
  fs.crash();
  const r2 = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(r2.snapshot?.metadata, meta(20, 2));
  assert.deepEqual(r2.entries, []);
  assert.deepEqual(r2.hardState, hs(2, 20));
});

test('a snapshot older than the current one is refused before anything is written, and the storage stays healthy', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 10), entries(1, 10, 1));
  s.saveSnapshotSync(meta(8, 1), snapshotBytes('eight'));
  await assert.rejects(s.saveSnapshot(meta(5, 1), snapshotBytes('five')), RangeError);
  assert.throws(() => s.markSnapshotCurrent(meta(3, 1)), RangeError);
  assert.throws(() => s.markSnapshotCurrent(meta(9, 1)), /store it before marking it current/);
  assert.equal(s.failure, undefined);
  assert.deepEqual(fs.readdir(`${DIR}/snap`), ['0000000000000001-0000000000000008.snap']);
  s.save(hs(1, 10), entries(11, 11, 1));
});

test('two snapshot files can be written at the same time', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 10), entries(1, 10, 1));
  async function* slow(text: string): AsyncGenerator<Uint8Array> {
    for (const c of snapshotBytes(text)) {
      await Promise.resolve();
      yield c;
    }
  }
  const [a, b] = await Promise.all([s.storeSnapshotFile(meta(6, 1), slow('six')), s.storeSnapshotFile(meta(30, 2), slow('thirty'))]);
  assert.notEqual(a, b);
  s.markSnapshotCurrent(meta(6, 1));
  s.close();
  const r = (await MemberStorage.open(fs, DIR, opts)).recovered;
  assert.equal(r.snapshot?.path, a);
  assert.deepEqual(plain(r.entries), plain(entries(7, 10, 1)));
});

test('entries that would leave a gap are refused before anything is written', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 3, 1));
  assert.throws(() => s.save(undefined, entries(5, 6, 1)), RangeError);
  assert.throws(() => s.save(undefined, [...entries(4, 4, 1), ...entries(6, 6, 1)]), RangeError);
  assert.equal(s.failure, undefined);
  s.save(undefined, entries(4, 4, 1));
  s.close();
  assert.deepEqual(plain(MemberStorage.openSync(fs, DIR, opts).recovered.entries), plain(entries(1, 4, 1)));
});

test('a corrupted snapshot file stops open with the validator\'s offset', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 3), entries(1, 3, 1));
  await s.saveSnapshot(meta(3, 1), snapshotBytes('a state worth keeping'));
  const path = s.currentSnapshot()!.path;
  s.close();
  fs.flipBit(path, 4, 1);
  await assert.rejects(MemberStorage.open(fs, DIR, opts), (err: unknown) => {
    assert.ok(err instanceof CorruptionError, String(err));
    assert.equal(err.file, path);
    assert.equal(err.offset, fs.readRaw(path).length - 4);
    assert.match(err.message, /failed validation/);
    return true;
  });
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), CorruptionError);
});

test('a validator that only says where the damage is in its message still gets that offset reported', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.saveSnapshotSync(meta(3, 1), snapshotBytes('x'));
  s.close();
  const failing = (): void => {
    throw new Error('snapshot corrupt: chunk 2 fails its CRC at byte 4096');
  };
  await assert.rejects(MemberStorage.open(fs, DIR, { ...opts, validateSnapshot: failing }), (err: unknown) => err instanceof CorruptionError && err.offset === 4096);
});

test('a snapshot file that the WAL names but that is gone stops open', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.saveSnapshotSync(meta(3, 1), snapshotBytes('x'));
  const path = s.currentSnapshot()!.path;
  s.close();
  fs.removeRaw(path);
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), (err: unknown) => err instanceof CorruptionError && err.file === path);
});

test('a data directory with snapshot files but no WAL is refused rather than started empty', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.saveSnapshotSync(meta(3, 1), snapshotBytes('x'));
  const segs = s.walSegments();
  s.close();
  for (const seg of segs) fs.removeRaw(seg);
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), CorruptionError);
});

test('a snapshot crash before the WAL marker leaves the previous snapshot current', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 10), entries(1, 10, 1));
  s.saveSnapshotSync(meta(4, 1), snapshotBytes('four'));
  fs.failNext('fsync', 'EIO', '/wal/');
  assert.throws(() => s.saveSnapshotSync(meta(8, 1), snapshotBytes('eight')), StorageFailedError);
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.equal(r.snapshot?.metadata.index, 4);
  assert.deepEqual(plain(r.entries), plain(entries(5, 10, 1)));
});

test('a power cut while old segments are being released never leaves a gap between segments', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const fs = new FaultyFileSystem({ random: prng(seed) });
    const opts: MemberStorageOptions = { segmentSize: 1024, validateSnapshot: validateTestSnapshot, log: () => undefined };
    const s = MemberStorage.openSync(fs, DIR, opts);
    for (let i = 1; i <= 60; i += 3) s.save(hs(1, i + 2), entries(i, i + 2, 1, 100));
    assert.ok(s.walSegments().length >= 6, `seed ${seed}: ${s.walSegments().length} segments`);
    // The marker's fdatasync goes through, then the power fails at the directory fsync that
    // should make the deletions durable; each unsynced deletion survives or not on its own.
    fs.crashAtNext('fsync', 'sectors', undefined, `${DIR}/wal`, 1);
    assert.throws(() => s.saveSnapshotSync(meta(50, 1), snapshotBytes('fifty')), StorageFailedError);
    const r = MemberStorage.openSync(fs, DIR, opts).recovered;
    assert.equal(r.snapshot?.metadata.index, 50, `seed ${seed}`);
    assert.deepEqual(plain(r.entries), plain(entries(51, 60, 1, 100)), `seed ${seed}`);
  }
});

test('ENOSPC on an append fails the storage, and every later call throws the same error', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 1, 1));
  fs.failNext('write', 'ENOSPC');
  let first: unknown;
  assert.throws(
    () => s.save(hs(1, 2), entries(2, 2, 1)),
    (err: unknown) => {
      first = err;
      return err instanceof StorageFailedError && err.code === 'ENOSPC' && /disk is full/.test(err.hint);
    },
  );
  assert.equal(s.failure, first);
  assert.throws(() => s.save(undefined, entries(2, 2, 1)), (err: unknown) => err === first);
  assert.throws(() => s.releaseBefore(5), (err: unknown) => err === first);
  assert.throws(() => s.saveSnapshotSync(meta(1, 1), snapshotBytes('x')), (err: unknown) => err === first);
  s.close();
});

test('EIO from fsync fails the storage for good and the unsynced batch is not recovered', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 1, 1));
  fs.failNext('fsync', 'EIO');
  assert.throws(() => s.save(hs(1, 2), entries(2, 2, 1)), (err: unknown) => err instanceof StorageFailedError && err.code === 'EIO');
  assert.throws(() => s.save(hs(1, 3), entries(3, 3, 1)), StorageFailedError);
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, opts).recovered;
  assert.deepEqual(plain(r.entries), plain(entries(1, 1, 1)));
});

test('a read error while opening is a storage failure, not corruption, and changes nothing', () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  s.save(hs(1, 1), entries(1, 1, 1));
  s.close();
  const before = snapshotOfDisk(fs, DIR);
  fs.failNext('read', 'EIO', '/wal/');
  assert.throws(() => MemberStorage.openSync(fs, DIR, opts), (err: unknown) => err instanceof StorageFailedError && err.code === 'EIO');
  assert.deepEqual(snapshotOfDisk(fs, DIR), before);
  assert.deepEqual(plain(MemberStorage.openSync(fs, DIR, opts).recovered.entries), plain(entries(1, 1, 1)));
});

test('a full disk while creating the next segment fails the storage without losing acknowledged data', () => {
  const fs = new FaultyFileSystem({ random: prng(5), capacity: 12 * 1024 });
  const opts: MemberStorageOptions = { segmentSize: 4096, log: () => undefined };
  const s = MemberStorage.openSync(fs, DIR, opts);
  const acked: number[] = [];
  let failed: unknown;
  for (let i = 1; i <= 200 && !failed; i++) {
    try {
      s.save(hs(1, i), entries(i, i, 1, 200));
      acked.push(i);
    } catch (err) {
      failed = err;
    }
  }
  assert.ok(failed instanceof StorageFailedError && failed.code === 'ENOSPC', String(failed));
  fs.crash();
  const r = MemberStorage.openSync(fs, DIR, { ...opts }).recovered;
  assert.deepEqual(plain(r.entries), plain(entries(1, acked.length, 1, 200)));
});

test('a failing snapshot producer abandons the file and leaves the storage healthy', async () => {
  const { fs, opts } = setup();
  const s = MemberStorage.openSync(fs, DIR, opts);
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array([1, 2, 3]);
    throw new Error('the state machine went away');
  }
  await assert.rejects(s.saveSnapshot(meta(1, 1), broken), /went away/);
  assert.equal(s.failure, undefined);
  assert.deepEqual(fs.readdir(`${DIR}/snap`), []);
  async function* fine(): AsyncGenerator<Uint8Array> {
    for (const c of snapshotBytes('streamed')) yield c;
  }
  s.save(hs(1, 1), entries(1, 1, 1));
  await s.saveSnapshot(meta(1, 1), fine());
  s.close();
  assert.equal((await MemberStorage.open(fs, DIR, opts)).recovered.snapshot?.metadata.index, 1);
});

test('leftover temporary files from an interrupted segment or snapshot are removed on open', () => {
  const { fs, opts } = setup();
  MemberStorage.openSync(fs, DIR, opts).close();
  fs.writeRaw(`${DIR}/wal/0000000000000001-0000000000000001.wal.tmp`, new Uint8Array(10));
  fs.writeRaw(`${DIR}/snap/0000000000000001-0000000000000001.snap.tmp`, new Uint8Array(10));
  MemberStorage.openSync(fs, DIR, opts).close();
  assert.deepEqual(fs.readdir(`${DIR}/snap`), []);
  assert.equal(fs.readdir(`${DIR}/wal`).length, 1);
});
