// Shared test helpers: entries, a trivial snapshot format (payload + CRC-32 trailer) and its validator.

import { crc32 } from 'node:zlib';
import { EntryType, type Entry, type HardState, type SnapshotMetadata } from '../../src/raft/types.js';
import type { SnapshotSource } from '../../src/storage/snapshot-files.js';

/** A seeded PRNG (mulberry32) so every random test replays from its seed. */
export { mulberry32 as prng } from '../../src/storage/faulty-file-system.js';

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Entries lo..hi inclusive in `term`, each with `size` bytes of data derived from index and term. */
export function entries(lo: number, hi: number, term: number, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) {
    const data = Buffer.alloc(size, `${term}:${i};`);
    out.push({ term, index: i, type: EntryType.Normal, data: new Uint8Array(data) });
  }
  return out;
}

export function hs(term: number, commit: number, vote = ''): HardState {
  return { term, vote, commit };
}

export function meta(index: number, term: number, voters = ['00000000000000a1']): SnapshotMetadata {
  return { index, term, confState: { voters, learners: [] } };
}

/** The trivial test snapshot format: the payload, then its CRC-32 as 4 bytes little-endian. */
export function snapshotBytes(payload: string): Uint8Array[] {
  const body = Buffer.from(payload, 'utf8');
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(body));
  // Two chunks, to exercise chunked writing.
  return [body.subarray(0, Math.floor(body.length / 2)), Buffer.concat([body.subarray(Math.floor(body.length / 2)), trailer])];
}

/** Validator for snapshotBytes(): throws an error carrying the offset of the trailer on mismatch. */
export function validateTestSnapshot(source: SnapshotSource): void {
  const all = Buffer.concat([...source.chunks(7)]);
  if (all.length < 4) throw Object.assign(new Error('too short'), { offset: 0 });
  const body = all.subarray(0, all.length - 4);
  if (crc32(body) !== all.readUInt32LE(all.length - 4)) {
    throw Object.assign(new Error('snapshot checksum mismatch'), { offset: all.length - 4 });
  }
}

/** Compares entries by value (data as bytes). */
export function plain(ents: readonly Entry[]): { term: number; index: number; type: number; data: string }[] {
  return ents.map((e) => ({ term: e.term, index: e.index, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}
