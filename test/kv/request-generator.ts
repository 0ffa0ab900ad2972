// Random KV requests from a seed, for codec round trips and determinism checks.
import type { Compare, CompareTarget, KvRequest, RangeRequest, RequestOp, TxnRequest } from '../../src/kv/requests.js';
import { prng } from './helpers.js';

/** Random requests in the codec's canonical form (defaults left out), drawn from a seed. */
export function generator(seed: number, keySpace = 0) {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const chance = (p: number) => rnd() < p;
  const bytes = (max: number) => {
    const out = Buffer.alloc(int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  };
  // keySpace > 0 draws keys from a small set so that requests collide (for apply tests).
  const key = () => (keySpace > 0 ? Buffer.from(`k${int(keySpace)}`) : Buffer.concat([Buffer.from([1 + int(255)]), bytes(20)]));
  const big = () => [1, 63, 64, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 52 - 1, -1, -64, -65, -300, -(2 ** 52 - 1)][int(14)]!;
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

