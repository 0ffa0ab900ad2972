import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType, decodeRecordAt, encodeRecord, looksTorn, recordSize, HEADER_SIZE } from '../../src/storage/wal-record.js';
import { encodeBatch } from '../../src/storage/wal-batch.js';
import {
  readEntryPayload,
  readHardStatePayload,
  readSegmentHeaderPayload,
  readSnapshotPayload,
} from '../../src/storage/wal-payloads.js';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { prng, randomBytes } from './helpers.js';

function randomRecord(rand: () => number): { type: RecordType; seq: number; payload: Uint8Array } {
  const type = (1 + Math.floor(rand() * 4)) as RecordType;
  const seq = Math.floor(rand() * 2 ** 53);
  const payload = randomBytes(rand, Math.floor(rand() * 70));
  return { type, seq, payload };
}

test('random records survive an encode and decode round trip, padded to 8 bytes', () => {
  const rand = prng(1);
  for (let i = 0; i < 2000; i++) {
    const r = randomRecord(rand);
    const buf = encodeRecord(r.type, r.seq, r.payload);
    assert.equal(buf.length % 8, 0);
    assert.equal(buf.length, recordSize(r.payload.length));
    const d = decodeRecordAt(buf, 0);
    assert.equal(d.kind, 'record');
    if (d.kind !== 'record') return;
    assert.equal(d.record.type, r.type);
    assert.equal(d.record.seq, r.seq);
    assert.deepEqual(new Uint8Array(d.record.payload), r.payload);
    assert.equal(d.next, buf.length);
  }
});

test('every single flipped bit in a record is detected', () => {
  const rand = prng(2);
  let flips = 0;
  for (let i = 0; i < 60; i++) {
    const r = randomRecord(rand);
    const good = encodeRecord(r.type, r.seq, r.payload);
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      const d = decodeRecordAt(bad, 0);
      assert.notEqual(d.kind, 'record', `flip of bit ${bit} in a ${good.length}-byte record went unnoticed`);
      flips++;
    }
  }
  assert.ok(flips > 10000, `only ${flips} flips tried`);
});

test('an all-zero header reads as the end of the data, not as a record', () => {
  const buf = Buffer.alloc(64);
  assert.equal(decodeRecordAt(buf, 0).kind, 'zero');
  assert.equal(decodeRecordAt(buf, 48).kind, 'zero');
});

test('a record whose length runs past the end of the file is reported as cut off', () => {
  const rec = encodeRecord(RecordType.Entry, 1, new Uint8Array(100));
  const d = decodeRecordAt(rec.subarray(0, 64), 0);
  assert.equal(d.kind, 'bad');
  assert.equal(d.kind === 'bad' && d.cutOff, true);
});

test('a record missing a sector of its bytes looks torn, a record with a flipped bit does not', () => {
  const rand = prng(3);
  const rec = encodeRecord(RecordType.Entry, 9, randomBytes(rand, 1500));
  const torn = Buffer.from(rec);
  torn.fill(0, 512, 1024);
  assert.equal(looksTorn(torn, 0, torn.length), true);
  const flipped = Buffer.from(rec);
  flipped[700]! ^= 4;
  assert.equal(looksTorn(flipped, 0, flipped.length), false);
  assert.equal(looksTorn(Buffer.alloc(HEADER_SIZE), 0, HEADER_SIZE), true);
});

test('a batch decodes back into its segment header, snapshot marker, entries and hard state in order', () => {
  const ents: Entry[] = [
    { term: 3, index: 10, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
    { term: 3, index: 11, type: EntryType.ConfChange, data: new Uint8Array() },
    { term: 2 ** 40, index: 2 ** 52, type: EntryType.Normal, data: new Uint8Array(300).fill(7) },
  ];
  const batch = encodeBatch(77, {
    segmentHeader: { seq: 5, firstIndex: 10 },
    snapshot: { metadata: { index: 9, term: 2, confState: { voters: ['a', 'bé'], learners: ['c'] } }, replacesLog: true },
    entries: ents,
    hardState: { term: 3, vote: '8e9e05c52164694d', commit: 11 },
  });
  const types: RecordType[] = [];
  const ends: boolean[] = [];
  const decoded: Entry[] = [];
  let pos = 0;
  for (;;) {
    const d = decodeRecordAt(batch, pos);
    if (d.kind !== 'record') break;
    assert.equal(d.record.seq, 77);
    types.push(d.record.type);
    ends.push(d.record.endsBatch);
    if (d.record.type === RecordType.SegmentHeader) assert.deepEqual(readSegmentHeaderPayload(d.record.payload), { seq: 5, firstIndex: 10 });
    if (d.record.type === RecordType.Snapshot) {
      assert.deepEqual(readSnapshotPayload(d.record.payload), {
        metadata: { index: 9, term: 2, confState: { voters: ['a', 'bé'], learners: ['c'] } },
        replacesLog: true,
      });
    }
    if (d.record.type === RecordType.Entry) decoded.push(readEntryPayload(d.record.payload));
    if (d.record.type === RecordType.HardState) {
      assert.deepEqual(readHardStatePayload(d.record.payload), { term: 3, vote: '8e9e05c52164694d', commit: 11 });
    }
    pos = d.next;
  }
  assert.equal(pos, batch.length);
  assert.deepEqual(ends, [false, false, false, false, false, true], 'only the last record ends the batch');
  assert.deepEqual(types, [RecordType.SegmentHeader, RecordType.Snapshot, RecordType.Entry, RecordType.Entry, RecordType.Entry, RecordType.HardState]);
  assert.deepEqual(
    decoded.map((e) => [e.term, e.index, e.type, Buffer.from(e.data).toString('hex')]),
    ents.map((e) => [e.term, e.index, e.type, Buffer.from(e.data).toString('hex')]),
  );
});
