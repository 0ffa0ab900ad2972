// Shared test inputs: a header, record generators, and ways to feed bytes to a reader.
import { Readable } from 'node:stream';
import type { KeyValueRecord } from '../../src/kv/record.js';
import type { SnapshotHeaderInput } from '../../src/snapshot/index.js';

/** A plausible header for `keyCount` records at revision `revision`. */
export function sampleHeader(keyCount: number, revision = 1_000_000): SnapshotHeaderInput {
  return {
    clusterId: 'cdf818194e3a8c32',
    members: [
      { id: '8e9e05c52164694d', name: 'n1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'], isLearner: false },
      { id: '91bc3c398fb3c146', name: 'n2', peerURLs: ['http://127.0.0.1:2382'], clientURLs: ['http://127.0.0.1:2381'], isLearner: true },
    ],
    raftIndex: 4242,
    raftTerm: 7,
    revision,
    compactRevision: Math.min(17, revision),
    keyCount,
    createdAt: '2026-11-25T09:00:00.000Z',
    sourceMember: '8e9e05c52164694d',
    extra: { consistency: 'linearizable' },
  };
}

/** Key i as fixed-width text, so numeric order is byte order. */
export function keyOf(i: number): Buffer {
  return Buffer.from(`key/${i.toString().padStart(10, '0')}`);
}

/** `count` records with `valueBytes`-byte values; values differ per key so swaps are detectable. */
export function* makeRecords(count: number, valueBytes = 16): Generator<KeyValueRecord> {
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes, i % 251);
    if (valueBytes >= 4) value.writeUInt32BE(i, 0);
    yield { key: keyOf(i), value, createRevision: i + 1, modRevision: i + 2, version: 1 + (i % 5) };
  }
}

/** The same records as an async iterable, to exercise the encoder's await path. */
export async function* asyncRecords(records: Iterable<KeyValueRecord>): AsyncGenerator<KeyValueRecord> {
  for (const r of records) yield r;
}

/** Reads a whole stream into one Buffer. */
export async function collect(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** A Readable that yields the bytes in pieces of `size` (to split frames at awkward places). */
export function pieces(bytes: Buffer, size: number): Readable {
  const list: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) list.push(bytes.subarray(i, i + size));
  return Readable.from(list, { objectMode: false });
}

/** Plain copies of records, so comparisons do not depend on buffer identity. */
export function plain(records: Iterable<KeyValueRecord>): Array<{ key: string; value: string; c: number; m: number; v: number }> {
  return [...records].map((r) => ({
    key: r.key.toString('hex'),
    value: r.value.toString('hex'),
    c: r.createRevision,
    m: r.modRevision,
    v: r.version,
  }));
}
