import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest } from '../../src/kv/request-codec.js';
import { IntegrityError } from '../../src/errors.js';
import type { Compare, CompareTarget, KvRequest, RangeRequest, RequestOp, TxnRequest } from '../../src/kv/requests.js';
import { b, prng } from './helpers.js';

/** Random requests in the codec's canonical form (defaults left out), drawn from a seed. */
function generator(seed: number) {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const chance = (p: number) => rnd() < p;
  const bytes = (max: number) => {
    const out = Buffer.alloc(int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  };
  const key = () => Buffer.concat([Buffer.from([1 + int(255)]), bytes(20)]);
  const big = () => [1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER][int(7)]!;
  const flag = (name: string, p = 0.3) => (chance(p) ? { [name]: true } : {});
  const num = (name: string, p = 0.3) => (chance(p) ? { [name]: big() } : {});

  const range = (): RangeRequest => ({
    kind: 'range',
    key: key(),
    ...(chance(0.5) ? { rangeEnd: chance(0.3) ? Buffer.from([0]) : key() } : {}),
    ...num('limit'),
    ...num('revision'),
    ...(chance(0.3) ? { sortOrder: (['ASCEND', 'DESCEND'] as const)[int(2)]! } : {}),
    ...(chance(0.3) ? { sortTarget: (['VERSION', 'CREATE', 'MOD', 'VALUE'] as const)[int(4)]! } : {}),
    ...flag('serializable'),
    ...flag('keysOnly'),
    ...flag('countOnly'),
    ...num('minModRevision'),
    ...num('maxModRevision'),
    ...num('minCreateRevision'),
    ...num('maxCreateRevision'),
  });
  const compare = (): Compare => {
    const target = (['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as CompareTarget[])[int(5)]!;
    const operand = {
      VALUE: { value: bytes(30) },
      VERSION: { version: chance(0.3) ? 0 : big() },
      CREATE: { createRevision: big() },
      MOD: { modRevision: big() },
      LEASE: { lease: big() },
    }[target];
    return {
      target,
      result: (['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const)[int(4)]!,
      key: key(),
      ...(chance(0.3) ? { rangeEnd: key() } : {}),
      ...operand,
    };
  };
  const op = (depth: number): RequestOp => {
    switch (int(depth < 3 ? 4 : 3)) {
      case 0:
        return { kind: 'put', key: key(), value: bytes(chance(0.1) ? 5000 : 40), ...num('lease', 0.1), ...flag('prevKv'), ...flag('ignoreValue'), ...flag('ignoreLease') };
      case 1:
        return { kind: 'deleteRange', key: key(), ...(chance(0.5) ? { rangeEnd: key() } : {}), ...flag('prevKv') };
      case 2:
        return range();
      default:
        return txn(depth + 1);
    }
  };
  const txn = (depth: number): TxnRequest => ({
    kind: 'txn',
    compare: Array.from({ length: int(4) }, compare),
    success: Array.from({ length: int(4) }, () => op(depth)),
    failure: Array.from({ length: int(3) }, () => op(depth)),
  });
  const request = (): KvRequest => {
    if (chance(0.15)) return { kind: 'compaction', revision: big(), ...flag('physical') };
    return op(0);
  };
  const requestId = () => BigInt(int(2 ** 32)) * BigInt(2 ** 32) + BigInt(int(2 ** 32));
  return { request, requestId };
}

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
