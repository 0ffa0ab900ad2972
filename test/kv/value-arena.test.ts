import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.js';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { ValueArena } from '../../src/kv/value-arena.js';
import { b, del, get, prng } from './helpers.js';

const MiB = 1024 * 1024;

/** A value derived from its key and a generation, so any misplaced byte shows. */
function valueOf(i: number, gen: number, size = 1024): Buffer {
  const v = Buffer.alloc(size, (i + gen) & 0xff);
  for (let o = 0; o + 4 <= size; o += 4) v.writeUInt32BE(((i * 2654435761) ^ (gen * 40503) ^ o) >>> 0, o);
  return v;
}

const keyOf = (i: number): Buffer => b(`key-${String(i).padStart(6, '0')}`);

function putN(kv: MvccStore, from: number, to: number, gen: number, size = 1024): void {
  for (let i = from; i < to; i++) kv.put({ kind: 'put', key: keyOf(i), value: valueOf(i, gen, size) });
}

function all(kv: MvccStore, revision = 0): KeyValueRecord[] {
  return kv.range({ kind: 'range', key: b('\0'), rangeEnd: b('\0'), revision }).kvs;
}

test('values read back exactly as stored, including empty ones, and a value a reader holds never changes afterwards', () => {
  const kv = new MvccStore();
  putN(kv, 0, 3000, 1);
  kv.put({ kind: 'put', key: b('empty'), value: Buffer.alloc(0) });
  const held = get(kv, 'key-000007').kvs[0]!.value;
  const copy = Buffer.from(held);
  putN(kv, 0, 3000, 2);
  kv.compact({ kind: 'compaction', revision: kv.revision });
  assert.ok(held.equals(copy), 'a value handed out earlier is untouched by overwrites and compaction');
  for (const r of all(kv)) {
    const key = r.key.toString('latin1');
    if (key === 'empty') assert.equal(r.value.length, 0);
    else assert.ok(r.value.equals(valueOf(Number(key.slice(4)), 2)), key);
  }
});

test('the store copies values in: changing the request buffer after a put changes nothing stored', () => {
  const kv = new MvccStore();
  const value = Buffer.from('original');
  kv.put({ kind: 'put', key: b('k'), value });
  value.fill(0);
  assert.equal(get(kv, 'k').kvs[0]!.value.toString(), 'original');
});

test('overwriting every key and compacting hands whole slabs back, so value memory returns to the live size', () => {
  const kv = new MvccStore();
  putN(kv, 0, 4000, 1);
  const before = kv.valueMemory();
  for (let gen = 2; gen <= 4; gen++) putN(kv, 0, 4000, gen);
  assert.ok(kv.valueMemory().allocated >= 4 * 4000 * 1024, 'history keeps every generation until compaction');
  kv.compact({ kind: 'compaction', revision: kv.revision });
  while (!kv.compactStep()) {
    // A large store compacts in steps.
  }
  const after = kv.valueMemory();
  assert.equal(after.live, 4000 * 1024);
  assert.ok(after.allocated <= before.allocated + 2 * MiB, `allocated ${after.allocated} vs ${before.allocated} before the overwrites`);
});

test('when deletes leave slabs mostly garbage, a relocation moves the live values out and reads, history and hashkv stay exact', () => {
  const kv = new MvccStore();
  putN(kv, 0, 8000, 1);
  const keep = (i: number): boolean => i % 4 === 0;
  for (let i = 0; i < 8000; i++) if (!keep(i)) del(kv, `key-${String(i).padStart(6, '0')}`);
  const hashBefore = kv.hashKV().hash;
  const recordsBefore = all(kv);
  const heldBefore = recordsBefore.map((r) => Buffer.from(r.value));
  const view = kv.openReadView(0);
  kv.compact({ kind: 'compaction', revision: kv.revision });
  while (!kv.compactStep()) {
    // Finish the compaction; the relocation starts when it ends.
  }
  while (!kv.relocateStep()) {
    // And finish the relocation.
  }
  const mem = kv.valueMemory();
  assert.equal(mem.live, 2000 * 1024);
  assert.ok(mem.allocated <= mem.live + 2 * MiB, `allocated ${mem.allocated} for ${mem.live} live bytes`);
  assert.equal(kv.hashKV().hash, hashBefore);
  const recordsAfter = all(kv);
  assert.equal(recordsAfter.length, 2000);
  recordsAfter.forEach((r, n) => assert.ok(r.value.equals(heldBefore[n]!), r.key.toString('latin1')));
  recordsBefore.forEach((r, n) => assert.ok(r.value.equals(heldBefore[n]!), 'buffers returned before the move still hold their bytes'));
  // A view opened before the compaction still reads its revision through the move.
  let seen = 0;
  for (const r of view.records()) {
    assert.ok(r.value.equals(heldBefore[seen]!));
    seen++;
  }
  assert.equal(seen, 2000);
});

test('a relocation that runs alongside writes finishes in steps and never loses or mixes up a value', () => {
  const rand = prng(7);
  const kv = new MvccStore();
  const model = new Map<number, number>();
  const gens = new Map<number, number>();
  const put = (i: number, size: number): void => {
    const gen = (gens.get(i) ?? 0) + 1;
    gens.set(i, gen);
    kv.put({ kind: 'put', key: keyOf(i), value: valueOf(i, gen, size) });
    model.set(i, size);
  };
  // Values of varied sizes, some big enough for slabs of their own.
  // More live keys than a relocation's first step visits, so it has to go on in steps.
  for (let i = 0; i < 60_000; i++) put(i, 100 + Math.floor(rand() * 600));
  for (let i = 0; i < 60_000; i++) {
    if (rand() < 0.65) {
      del(kv, `key-${String(i).padStart(6, '0')}`);
      model.delete(i);
    }
  }
  kv.compact({ kind: 'compaction', revision: kv.revision });
  let sawRelocation = false;
  for (let n = 0; n < 3000; n++) {
    const i = Math.floor(rand() * 60_000);
    if (n % 500 === 0) put(i, 300 * 1024);
    else put(i, 100 + Math.floor(rand() * 2000));
    sawRelocation ||= kv.valueMemory().relocating;
  }
  while (!kv.compactStep() || !kv.relocateStep()) {
    // Drain whatever is still pending.
  }
  assert.ok(sawRelocation, 'the writes ran while a relocation was in progress');
  const records = all(kv);
  assert.equal(records.length, model.size);
  for (const r of records) {
    const i = Number(r.key.toString('latin1').slice(4));
    assert.ok(r.value.equals(valueOf(i, gens.get(i)!, model.get(i)!)), `key ${i}`);
  }
  const mem = kv.valueMemory();
  assert.ok(mem.allocated <= 2 * mem.live + 4 * MiB, `allocated ${mem.allocated} for ${mem.live} live bytes`);
});

test('a restored store owns its values: the records it was built from may be reused afterwards', () => {
  const source: KeyValueRecord[] = [];
  for (let i = 0; i < 500; i++) source.push({ key: keyOf(i), value: valueOf(i, 1, 700), createRevision: 2 + i, modRevision: 2 + i, version: 1 });
  const kv = MvccStore.fromRecordsSync(source, { revision: 600 });
  for (const r of source) r.value.fill(0xee);
  all(kv).forEach((r, i) => assert.ok(r.value.equals(valueOf(i, 1, 700))));
});

test('the arena gives large values a slab of their own and drops a slab as soon as nothing in it is used', () => {
  const arena = new ValueArena(64 * 1024);
  const big = arena.store(Buffer.alloc(20 * 1024, 1));
  const bigSlab = big.slab;
  assert.equal(bigSlab.buf.length, 20 * 1024);
  const small = arena.store(Buffer.alloc(100, 2));
  const smallSlab = small.slab;
  assert.notEqual(smallSlab, bigSlab);
  assert.equal(arena.slabCount, 2);
  arena.release(bigSlab, 20 * 1024);
  assert.equal(arena.slabCount, 1);
  // The current slab stays while it is being filled, even when empty.
  arena.release(smallSlab, 100);
  assert.equal(arena.slabCount, 1);
  assert.equal(arena.live, 0);
});
