import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest } from '../../src/kv/request-codec.js';
import { IntegrityError } from '../../src/errors.js';
import { b } from './helpers.js';
import { generator } from './request-generator.js';

test('every request kind survives an encode and decode round trip unchanged (2,000 random requests)', () => {
  const gen = generator(20261125);
  for (let i = 0; i < 2000; i++) {
    const request = gen.request();
    const requestId = gen.requestId();
    const decoded = decodeRequest(encodeRequest(requestId, request));
    assert.equal(decoded.requestId, requestId);
    assert.deepEqual(decoded.request, request, `request ${i} (${request.kind}) changed in the round trip`);
  }
});

test('request ids keep all 64 bits', () => {
  for (const id of [0n, 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    assert.equal(decodeRequest(encodeRequest(id, { kind: 'compaction', revision: 5 })).requestId, id);
  }
});

test('numbers beyond what revisions reach are clamped to plus or minus 2^52 - 1, the same on every decode', () => {
  const max = 2 ** 52 - 1;
  const decoded = decodeRequest(
    encodeRequest(1n, {
      kind: 'txn',
      compare: [{ key: b('k'), target: 'MOD', result: 'LESS', modRevision: 2 ** 60 }],
      success: [{ kind: 'range', key: b('k'), limit: Number.MAX_SAFE_INTEGER, revision: -(2 ** 62) }],
      failure: [],
    }),
  ).request;
  assert.ok(decoded.kind === 'txn');
  assert.equal(decoded.compare[0]!.modRevision, max);
  const range = decoded.success[0]!;
  assert.ok(range.kind === 'range');
  assert.equal(range.limit, max);
  assert.equal(range.revision, -max);
});

test('negative numbers survive the round trip, so a compare against -1 keeps its meaning', () => {
  const request = { kind: 'compaction', revision: -7 } as const;
  assert.deepEqual(decodeRequest(encodeRequest(2n, request)).request, request);
});

test('a put encodes to a few bytes more than its key and value', () => {
  const enc = encodeRequest(7n, { kind: 'put', key: b('/registry/pods/default/web-0'), value: Buffer.alloc(256) });
  assert.ok(enc.length <= 28 + 256 + 16, `put of 284 payload bytes took ${enc.length}`);
});

test('every truncation of an encoded request is refused as an integrity error', () => {
  const gen = generator(7);
  for (let i = 0; i < 50; i++) {
    const enc = encodeRequest(gen.requestId(), gen.request());
    for (let cut = 0; cut < enc.length; cut += Math.max(1, Math.floor(enc.length / 40))) {
      assert.throws(() => decodeRequest(enc.subarray(0, cut)), IntegrityError);
    }
  }
});

test('unknown formats, unknown kinds, trailing bytes and bad enums are refused', () => {
  const enc = encodeRequest(1n, { kind: 'deleteRange', key: b('k') });
  const wrongFormat = Buffer.from(enc);
  wrongFormat[0] = 9;
  assert.throws(() => decodeRequest(wrongFormat), /unknown format/);
  const wrongKind = Buffer.from(enc);
  wrongKind[9] = 42;
  assert.throws(() => decodeRequest(wrongKind), /unknown request kind/);
  assert.throws(() => decodeRequest(Buffer.concat([enc, Buffer.from([0])])), /trailing bytes/);
  const range = encodeRequest(1n, { kind: 'range', key: b('k') });
  const badSort = Buffer.from(range);
  badSort[11] = 9;
  assert.throws(() => decodeRequest(badSort), /sort order/);
  const nestedCompaction = Buffer.from(encodeRequest(1n, { kind: 'txn', compare: [], success: [{ kind: 'deleteRange', key: b('k') }], failure: [] }));
  assert.equal(nestedCompaction[12], 3, 'byte 12 is the nested op kind (delete range)');
  nestedCompaction[12] = 5;
  assert.throws(() => decodeRequest(nestedCompaction), /compaction inside a txn/);
});

test('decoding a request from a plain Uint8Array works as from a Buffer', () => {
  const enc = encodeRequest(3n, { kind: 'put', key: b('k'), value: b('v') });
  const copy = new Uint8Array(enc.length + 4).subarray(2, 2 + enc.length);
  copy.set(enc);
  assert.deepEqual(decodeRequest(copy).request, { kind: 'put', key: b('k'), value: b('v') });
});

test('an encoded request owns its memory, so the raft log never pins a shared pool slab or growth slack', () => {
  const small = encodeRequest(1n, { kind: 'put', key: b('k'), value: Buffer.alloc(256, 1) } as never);
  const grown = encodeRequest(2n, { kind: 'deleteRange', key: b('a'), rangeEnd: Buffer.alloc(4000, 2) } as never);
  for (const encoded of [small, grown]) {
    assert.ok(encoded.buffer.byteLength <= encoded.length + 64, `${encoded.length} bytes held in an ArrayBuffer of ${encoded.buffer.byteLength}`);
    assert.deepEqual(encodeRequest(3n, decodeRequest(encoded).request as never).subarray(9), encoded.subarray(9));
  }
});
