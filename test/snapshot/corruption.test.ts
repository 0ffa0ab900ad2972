import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { ExitCode, IntegrityError } from '../../src/errors.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { decodeSnapshot, encodeSnapshot, verifySnapshot } from '../../src/snapshot/index.js';
import { craftChunk, craftSnapshot, flipBit, layout, parseError } from './craft.js';
import { collect, makeRecords, pieces, sampleHeader } from './helpers.js';

const RECORDS = [...makeRecords(12, 40)];
const VALID = await collect(encodeSnapshot(sampleHeader(12), RECORDS, { chunkRecords: 4 }));
const LAYOUT = layout(VALID);

/** Verifies the bytes and returns the IntegrityError it must raise, after checking its shape. */
async function integrityFailure(bytes: Buffer, pieceSize = 64): Promise<IntegrityError> {
  try {
    await verifySnapshot(pieces(bytes, pieceSize));
  } catch (error) {
    assert.ok(error instanceof IntegrityError, `expected IntegrityError, got ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.integrity);
    assert.ok(!error.message.includes('\n'), 'message is one line');
    assert.ok(error.hint.length > 0 && !error.hint.includes('\n'), 'hint is one line');
    return error;
  }
  assert.fail('the snapshot was accepted');
}

async function rejectsWith(bytes: Buffer, pattern: RegExp): Promise<void> {
  const error = await integrityFailure(bytes);
  assert.match(error.message, pattern);
}

function rec(key: string, modRevision = 5): KeyValueRecord {
  return { key: Buffer.from(key), value: Buffer.from('v-' + key), createRevision: 1, modRevision, version: 1 };
}

test('the valid base snapshot has three chunks and verifies', async () => {
  assert.equal(LAYOUT.chunks.length, 3);
  assert.equal((await verifySnapshot(pieces(VALID, 64))).trailer.recordCount, 12);
});

test('a file with a different magic is not a Lifeboat snapshot', async () => {
  await rejectsWith(Buffer.from('{"hello":"json"}\n'), /^not a Lifeboat snapshot/);
  await rejectsWith(flipBit(VALID, 3), /^not a Lifeboat snapshot/);
  // Even a single byte that cannot start the magic is refused at once, not reported as truncated.
  await rejectsWith(Buffer.from('X'), /^not a Lifeboat snapshot/);
});

test('a future format version is refused, naming it and the version this build reads', async () => {
  const future = Buffer.from(VALID);
  future.writeUInt32BE(2, 8);
  const error = await integrityFailure(future);
  assert.equal(error.message, 'snapshot format version 2 is newer than the version this build reads (1)');
  assert.match(error.hint, /upgrade lifeboat/);
});

test('format version 0 is refused as not a version this build reads', async () => {
  const zero = Buffer.from(VALID);
  zero.writeUInt32BE(0, 8);
  await rejectsWith(zero, /format version 0 is not the version this build reads \(1\)/);
});

test('a flipped bit in the header JSON fails the header CRC', async () => {
  await rejectsWith(flipBit(VALID, 40), /^snapshot corrupt: header \(bytes 0-\d+\) fails its CRC/);
});

test('a flipped bit in the header length fails the header CRC or the length limit', async () => {
  await rejectsWith(flipBit(VALID, 15), /header .*fails its CRC/);
  await rejectsWith(flipBit(VALID, 12, 7), /header length \d+ at byte 12 is over/);
});

test('a flipped bit in a chunk header fails that chunk header\'s CRC, naming the chunk and byte', async () => {
  const c = LAYOUT.chunks[1]!;
  await rejectsWith(flipBit(VALID, c.start + 9), new RegExp(`^snapshot corrupt: chunk 1 header at byte ${c.start} fails its CRC`));
});

test('a flipped bit in a chunk payload fails that chunk\'s CRC, naming the chunk and its bytes', async () => {
  const c = LAYOUT.chunks[2]!;
  await rejectsWith(flipBit(VALID, c.payloadStart + 50), new RegExp(`^snapshot corrupt: chunk 2 \\(bytes ${c.start}-${c.end - 1}\\) fails its CRC`));
});

test('a flipped bit in a chunk tag is reported as an unexpected frame', async () => {
  const c = LAYOUT.chunks[1]!;
  await rejectsWith(flipBit(VALID, c.start), new RegExp(`expected chunk 1 or the trailer at byte ${c.start}, found tag`));
});

test('records from a corrupt chunk are never handed out', async () => {
  const bad = flipBit(VALID, LAYOUT.chunks[1]!.payloadStart + 3);
  const decoder = decodeSnapshot(pieces(bad, 64));
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const r of decoder.records()) seen.push(r.key.toString());
  }, IntegrityError);
  assert.equal(seen.length, 4, 'only the first chunk\'s records');
  await assert.rejects(decoder.done, IntegrityError);
});

test('a flipped bit in the trailer fails the trailer CRC', async () => {
  await rejectsWith(flipBit(VALID, LAYOUT.trailer + 10), new RegExp(`^snapshot corrupt: trailer at byte ${LAYOUT.trailer} fails its CRC`));
});

test('a damaged end magic is reported', async () => {
  await rejectsWith(flipBit(VALID, VALID.length - 2), /does not end with the end magic/);
});

test('bytes after the end magic are refused', async () => {
  await rejectsWith(Buffer.concat([VALID, Buffer.from('x')]), new RegExp(`1 unexpected bytes after the end magic at byte ${VALID.length}`));
  // Also when they arrive in a later input piece than the trailer.
  await assert.rejects(verifySnapshot(pieces(Buffer.concat([VALID, Buffer.alloc(100)]), VALID.length)), /unexpected bytes after the end magic/);
});

test('two chunks swapped are caught by the chunk sequence numbers', async () => {
  const [c0, c1, c2] = LAYOUT.chunks as [typeof LAYOUT.chunks[0], typeof LAYOUT.chunks[0], typeof LAYOUT.chunks[0]];
  const swapped = Buffer.concat([
    VALID.subarray(0, c0.end),
    VALID.subarray(c2.start, c2.end),
    VALID.subarray(c1.start, c1.end),
    VALID.subarray(LAYOUT.trailer),
  ]);
  await rejectsWith(swapped, new RegExp(`chunk 2 at byte ${c0.end} where chunk 1 belongs`));
});

test('a dropped chunk is caught', async () => {
  const [c0, c1] = LAYOUT.chunks as [typeof LAYOUT.chunks[0], typeof LAYOUT.chunks[0]];
  const dropped = Buffer.concat([VALID.subarray(0, c0.end), VALID.subarray(c1.end)]);
  await rejectsWith(dropped, /chunk 2 at byte \d+ where chunk 1 belongs/);
});

test('a changed payload with a recomputed chunk CRC is caught by the trailer SHA-256', async () => {
  const c = LAYOUT.chunks[0]!;
  const forged = Buffer.from(VALID);
  // Change a value byte (keys and revisions stay valid) and fix the chunk's CRC.
  const valueByte = c.payloadStart + 32 + 14 + 10;
  forged[valueByte]! ^= 0xff;
  forged.writeUInt32BE(crc32(forged.subarray(c.payloadStart, c.end - 4)), c.end - 4);
  await rejectsWith(forged, /^snapshot corrupt: SHA-256 does not match: trailer at byte \d+ says [0-9a-f]{64}, the data gives [0-9a-f]{64}/);
});

test('a duplicate key is refused, naming the key, chunk and byte', async () => {
  const records = [rec('a'), rec('b'), rec('b')];
  const bytes = craftSnapshot(sampleHeader(3, 10), [craftChunk(0, records.slice(0, 2)), craftChunk(1, records.slice(2))], records);
  await rejectsWith(bytes, /key "b" appears twice \(record 0 of chunk 1, byte \d+\)/);
});

test('keys out of order are refused', async () => {
  const records = [rec('b'), rec('a')];
  const bytes = craftSnapshot(sampleHeader(2, 10), [craftChunk(0, records)], records);
  await rejectsWith(bytes, /key "a" comes after "b"/);
});

test('a record newer than the snapshot revision is refused', async () => {
  const records = [rec('a', 11)];
  const bytes = craftSnapshot(sampleHeader(1, 10), [craftChunk(0, records)], records);
  await rejectsWith(bytes, /key "a" has mod revision 11, above the snapshot's revision 10/);
});

test('an empty key is refused', async () => {
  const records = [{ ...rec('x'), key: Buffer.alloc(0) }];
  await rejectsWith(craftSnapshot(sampleHeader(1, 10), [craftChunk(0, records)], records), /empty key/);
});

test('a chunk whose record count disagrees with its payload is refused', async () => {
  const records = [rec('a'), rec('b')];
  await rejectsWith(craftSnapshot(sampleHeader(2, 10), [craftChunk(0, records, { count: 3 })], records), /chunk 0 holds fewer records than its header says \(2 of 3/);
  await rejectsWith(
    craftSnapshot(sampleHeader(2, 10), [craftChunk(0, records, { extraPayload: Buffer.alloc(5) })], records),
    /chunk 0 has 5 bytes after its 2 records/,
  );
});

test('a header key count that disagrees with the records is refused', async () => {
  const records = [rec('a'), rec('b')];
  await rejectsWith(craftSnapshot(sampleHeader(3, 10), [craftChunk(0, records)], records), /header says 3 keys but the snapshot holds 2/);
});

test('trailer counts and hashes that disagree with the data are refused, each by name', async () => {
  const records = [rec('a'), rec('b')];
  const chunks = [craftChunk(0, records)];
  const header = sampleHeader(2, 10);
  await rejectsWith(craftSnapshot(header, chunks, records, { recordCount: 3 }), /record count does not match: trailer at byte \d+ says 3, the data gives 2/);
  await rejectsWith(craftSnapshot(header, chunks, records, { chunkCount: 2 }), /chunk count does not match/);
  await rejectsWith(craftSnapshot(header, chunks, records, { dataBytes: 1 }), /data byte count does not match/);
  await rejectsWith(craftSnapshot(header, chunks, records, { byteCount: 1 }), /byte count does not match/);
  await rejectsWith(craftSnapshot(header, chunks, records, { sha256: '00'.repeat(32) }), /SHA-256 does not match/);
  await rejectsWith(craftSnapshot(header, chunks, records, { kvHash: 1234 }), /KV hash does not match: trailer at byte \d+ says 0x000004d2/);
});

test('a header with a malformed field is refused even when its CRC is right', async () => {
  const good = VALID.subarray(0, LAYOUT.headerEnd);
  const json = JSON.parse(good.toString('utf8', 16, good.length - 4));
  json.clusterId = 'not-hex';
  const body = Buffer.from(JSON.stringify(json));
  const frame = Buffer.alloc(16 + body.length + 4);
  good.copy(frame, 0, 0, 12);
  frame.writeUInt32BE(body.length, 12);
  body.copy(frame, 16);
  frame.writeUInt32BE(crc32(frame.subarray(0, 16 + body.length)), 16 + body.length);
  await rejectsWith(Buffer.concat([frame, VALID.subarray(LAYOUT.headerEnd)]), /header at byte 16: clusterId is not 16 hex digits/);
});

test('every single-bit flip anywhere in a snapshot is detected', async () => {
  assert.equal(parseError(VALID), undefined);
  const small = await collect(encodeSnapshot(sampleHeader(5, 100), makeRecords(5, 8), { chunkRecords: 2 }));
  for (let offset = 0; offset < small.length; offset++) {
    for (let bit = 0; bit < 8; bit++) {
      assert.ok(parseError(flipBit(small, offset, bit)) instanceof IntegrityError, `flip at ${offset}.${bit}`);
    }
  }
});
