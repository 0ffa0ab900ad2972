import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { IntegrityError } from '../../src/errors.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import {
  createVerifyingPassThrough,
  decodeSnapshot,
  encodeSnapshot,
  readSnapshotHeader,
  verifySnapshot,
} from '../../src/snapshot/index.js';
import { flipBit, layout } from './craft.js';
import { asyncRecords, collect, makeRecords, pieces, sampleHeader } from './helpers.js';

const VALID = await collect(encodeSnapshot(sampleHeader(200), makeRecords(200, 64), { chunkRecords: 16 }));

/** A Writable that keeps what it is given. */
function sink(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(parts) };
}

test('the encoder stops pulling records while nobody reads its output', async () => {
  let pulled = 0;
  function* counting(): Generator<KeyValueRecord> {
    for (const r of makeRecords(100_000, 1024)) {
      pulled++;
      yield r;
    }
  }
  const stream = encodeSnapshot(sampleHeader(100_000), counting(), { chunkBytes: 16 * 1024, highWaterMark: 64 * 1024 });
  await once(stream, 'readable');
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  // High-water mark plus one chunk in progress: about 80 records of 1 KiB, nowhere near 100,000.
  assert.ok(pulled < 200, `pulled ${pulled} records with nobody reading`);
  const summary = await verifySnapshot(stream);
  assert.equal(summary.trailer.recordCount, 100_000);
  assert.equal(pulled, 100_000);
});

test('destroying the encoder stream closes the record source', { timeout: 60_000 }, async () => {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  async function* source(): AsyncGenerator<KeyValueRecord> {
    try {
      yield* asyncRecords(makeRecords(100_000, 1024));
    } finally {
      markClosed();
    }
  }
  const stream = encodeSnapshot(sampleHeader(100_000), source(), { chunkBytes: 16 * 1024, highWaterMark: 64 * 1024 });
  await once(stream, 'readable');
  stream.destroy();
  await once(stream, 'close');
  await closed; // the test's timeout is the deadline
});

test('a source out of key order makes the encoder stream fail with an IntegrityError', async () => {
  const records = [...makeRecords(3)].reverse();
  await assert.rejects(collect(encodeSnapshot(sampleHeader(3), records)), (e: unknown) => {
    assert.ok(e instanceof IntegrityError);
    assert.match(e.message, /^snapshot source is inconsistent: key "key\/0000000001" comes after "key\/0000000002"/);
    return true;
  });
});

test('a source that yields more or fewer records than the header says fails the encoder', async () => {
  await assert.rejects(collect(encodeSnapshot(sampleHeader(5), makeRecords(4))), /header promised 5 keys but the source yielded 4/);
  await assert.rejects(collect(encodeSnapshot(sampleHeader(3), makeRecords(4))), /header promised 3 keys but the source yielded 4/);
});

test('a failing record source fails the encoder stream with the source\'s error', async () => {
  async function* failing(): AsyncGenerator<KeyValueRecord> {
    yield* asyncRecords(makeRecords(10));
    throw new Error('read view closed');
  }
  await assert.rejects(collect(encodeSnapshot(sampleHeader(20), failing())), /read view closed/);
});

test('an invalid header is refused before any byte is written', () => {
  assert.throws(() => encodeSnapshot({ ...sampleHeader(0), clusterId: 'XYZ' }, []), /clusterId is not 16 hex digits/);
  assert.throws(() => encodeSnapshot({ ...sampleHeader(0), createdAt: 'yesterday' }, []), /createdAt/);
  assert.throws(() => encodeSnapshot({ ...sampleHeader(0, 5), compactRevision: 6 }, []), /compactRevision is above revision/);
  assert.throws(() => encodeSnapshot({ ...sampleHeader(0), formatVersion: 2 }, []), /writes snapshot format version 1/);
});

test('readSnapshotHeader returns the header and releases the rest of the source', async () => {
  const source = pieces(VALID, 100);
  const header = await readSnapshotHeader(source);
  assert.equal(header.keyCount, 200);
  assert.equal(header.clusterId, 'cdf818194e3a8c32');
  assert.ok(source.destroyed);
});

test('readSnapshotHeader refuses a foreign file', async () => {
  await assert.rejects(readSnapshotHeader(Readable.from([Buffer.from('PK\x03\x04 zip file')])), /^IntegrityError: not a Lifeboat snapshot/);
});

test('stopping record iteration early rejects done and releases the source', async () => {
  const source = pieces(VALID, 100);
  const decoder = decodeSnapshot(source);
  for await (const r of decoder.records()) {
    assert.ok(r.key.length > 0);
    break;
  }
  await assert.rejects(decoder.done, /not read to the end/);
  assert.ok(source.destroyed);
});

test('a decoder can be iterated only once', async () => {
  const decoder = decodeSnapshot(pieces(VALID, 100));
  const first = decoder.batches();
  await first.next();
  await assert.rejects(decoder.batches().next(), /only once/);
  await first.return(undefined);
});

test('an error from the byte source reaches the reader unchanged', async () => {
  async function* broken(): AsyncGenerator<Buffer> {
    yield VALID.subarray(0, 1000);
    throw new Error('connection reset');
  }
  const decoder = decodeSnapshot(broken());
  await assert.rejects(async () => {
    for await (const _ of decoder.records());
  }, /connection reset/);
  await assert.rejects(decoder.done, /connection reset/);
});

test('the header promise rejects for a snapshot whose header is corrupt', async () => {
  const decoder = decodeSnapshot(pieces(flipBit(VALID, 30), 100));
  await assert.rejects(decoder.header, /header \(bytes 0-\d+\) fails its CRC/);
  await assert.rejects(decoder.done, IntegrityError);
});

test('the verifying pass-through passes every byte unchanged and resolves to the summary', async () => {
  const pass = createVerifyingPassThrough();
  const out = sink();
  await pipeline(pieces(VALID, 333), pass, out.stream);
  assert.ok(out.bytes().equals(VALID));
  const summary = await pass.result;
  assert.deepEqual(summary, await verifySnapshot(pieces(VALID, 1000)));
  assert.equal((await pass.header).keyCount, 200);
});

test('the verifying pass-through fails the pipeline on a corrupt chunk and rejects its result', async () => {
  const bad = flipBit(VALID, layout(VALID).chunks[3]!.payloadStart + 7);
  const pass = createVerifyingPassThrough();
  await assert.rejects(pipeline(pieces(bad, 333), pass, sink().stream), /chunk 3 .* fails its CRC/);
  await assert.rejects(pass.result, (e: unknown) => e instanceof IntegrityError && /chunk 3/.test(e.message));
});

test('the verifying pass-through fails a truncated stream at its end', async () => {
  const pass = createVerifyingPassThrough();
  await assert.rejects(pipeline(pieces(VALID.subarray(0, VALID.length - 81), 333), pass, sink().stream), /^IntegrityError: snapshot truncated/);
  await assert.rejects(pass.result, /snapshot truncated/);
});

test('the verifying pass-through rejects its result when the upstream fails', async () => {
  async function* dying(): AsyncGenerator<Buffer> {
    yield VALID.subarray(0, 2000);
    throw new Error('member killed');
  }
  const pass = createVerifyingPassThrough();
  await assert.rejects(pipeline(Readable.from(dying()), pass, sink().stream), /member killed/);
  await assert.rejects(pass.result, /member killed|stopped before its end/);
});

test('the verifying pass-through rejects a file that is not a snapshot at the first bytes', async () => {
  const pass = createVerifyingPassThrough();
  await assert.rejects(pipeline(Readable.from([Buffer.from('hello world')]), pass, sink().stream), /not a Lifeboat snapshot/);
  await assert.rejects(pass.header, /not a Lifeboat snapshot/);
});
