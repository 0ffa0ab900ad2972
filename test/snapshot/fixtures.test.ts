import assert from 'node:assert/strict';
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitCode, IntegrityError } from '../../src/errors.js';
import { KvHasher } from '../../src/kv/kv-hash.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { TRAILER_BYTES, decodeSnapshot, decodeTrailer, encodeSnapshot, readSnapshotHeader, verifySnapshot } from '../../src/snapshot/index.js';
import { FIXTURE_DIR, buildSnapshotFixtures, readFixtureInput } from '../../scripts/make-snapshot-fixtures.js';
import { collect, plain } from './helpers.js';

const fixture = (name: string) => join(FIXTURE_DIR, name);

/** The exact outcome of reading each corrupt fixture: this is the contract users and scripts see. */
const FAILURES: Record<string, string> = {
  'truncated.lbsnap': 'snapshot truncated: the input ends at byte 918, inside chunk 1 (begun at byte 878)',
  'chunk-bitflip.lbsnap': 'snapshot corrupt: chunk 1 (bytes 878-1096) fails its CRC (stored 0x0e335d7c, computed 0x4a51258c)',
  'trailer-bitflip.lbsnap': 'snapshot corrupt: trailer at byte 1209 fails its CRC (stored 0x159171ac, computed 0x6b49c1ed)',
  'header-bitflip.lbsnap': 'snapshot corrupt: header (bytes 0-664) fails its CRC (stored 0xcff5f425, computed 0x711ed430)',
  'wrong-magic.lbsnap': 'not a Lifeboat snapshot: the file does not start with the snapshot magic "LBSNAP\\r\\n"',
  'future-version.lbsnap': 'snapshot format version 2 is newer than the version this build reads (1)',
};

test('encoding the fixture inputs reproduces the committed valid.lbsnap byte for byte', async () => {
  const { header, records, chunkRecords } = readFixtureInput();
  const bytes = await collect(encodeSnapshot(header, records, { chunkRecords }));
  const committed = readFileSync(fixture('valid.lbsnap'));
  assert.equal(bytes.length, committed.length, 'size changed: the format changed; see docs/snapshot-format.md on versioning');
  assert.ok(bytes.equals(committed), 'bytes changed: the format changed; see docs/snapshot-format.md on versioning');
});

test('the fixture script reproduces every committed fixture byte for byte, and there are no others', async () => {
  const built = await buildSnapshotFixtures();
  const committed = readdirSync(FIXTURE_DIR).filter((n) => n.endsWith('.lbsnap')).sort();
  assert.deepEqual(committed, [...built.keys()].sort());
  for (const [name, bytes] of built) assert.ok(bytes.equals(readFileSync(fixture(name))), `${name} differs`);
});

test('valid.lbsnap decodes to exactly the fixture inputs, with the pinned hashes', async () => {
  const { header, records } = readFixtureInput();
  const decoder = decodeSnapshot(createReadStream(fixture('valid.lbsnap'), { highWaterMark: 100 }));
  assert.deepEqual(await decoder.header, { formatVersion: 1, ...header });
  const decoded: KeyValueRecord[] = [];
  for await (const r of decoder.records()) decoded.push(r);
  assert.deepEqual(plain(decoded), plain(records));
  const summary = await decoder.done;
  assert.deepEqual(summary.trailer, {
    chunkCount: 3,
    recordCount: 8,
    dataBytes: 216,
    byteCount: 1209,
    sha256: 'e8de9f022c3287fc3d356c01a465ce5e19df6c218c58bb9df1abf76e0c8f1c77',
    kvHash: 247618147,
  });
  const kv = new KvHasher();
  for (const r of records) kv.add(r);
  assert.equal(summary.kvHash, kv.digest());
  assert.equal(summary.totalBytes, 1289);
});

test('valid-empty.lbsnap verifies with no chunks and no records', async () => {
  const summary = await verifySnapshot(createReadStream(fixture('valid-empty.lbsnap')));
  assert.equal(summary.trailer.chunkCount, 0);
  assert.equal(summary.header.keyCount, 0);
  assert.equal(summary.kvHash, 0);
});

for (const [name, message] of Object.entries(FAILURES)) {
  test(`${name} fails verification with exit code 13 and the exact message`, async () => {
    await assert.rejects(verifySnapshot(createReadStream(fixture(name), { highWaterMark: 64 })), (e: unknown) => {
      assert.ok(e instanceof IntegrityError);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, ExitCode.integrity);
      return true;
    });
  });
}

test('the header of a fixture with a damaged chunk or trailer still reads, since only the header is checked', async () => {
  for (const name of ['truncated.lbsnap', 'chunk-bitflip.lbsnap', 'trailer-bitflip.lbsnap']) {
    assert.equal((await readSnapshotHeader(createReadStream(fixture(name)))).revision, 42, name);
  }
  for (const name of ['header-bitflip.lbsnap', 'wrong-magic.lbsnap', 'future-version.lbsnap']) {
    await assert.rejects(readSnapshotHeader(createReadStream(fixture(name))), { message: FAILURES[name] }, name);
  }
});

test('the trailer can be read from the last 80 bytes of a file without reading the rest', () => {
  const bytes = readFileSync(fixture('valid.lbsnap'));
  const trailer = decodeTrailer(bytes.subarray(bytes.length - TRAILER_BYTES), bytes.length - TRAILER_BYTES);
  assert.equal(trailer.recordCount, 8);
  assert.equal(trailer.byteCount, bytes.length - TRAILER_BYTES);
  const damaged = readFileSync(fixture('trailer-bitflip.lbsnap'));
  assert.throws(() => decodeTrailer(damaged.subarray(damaged.length - TRAILER_BYTES), 1209), { message: FAILURES['trailer-bitflip.lbsnap'] });
});
