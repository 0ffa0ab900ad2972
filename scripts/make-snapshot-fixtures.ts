// Regenerates fixtures/snapshots/*.lbsnap from fixtures/snapshots/input.json:
//   node --import tsx scripts/make-snapshot-fixtures.ts
// A format change shows up as changed fixture bytes (test/snapshot/fixtures.test.ts fails
// until they are regenerated and committed), so it can never slip in unnoticed.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KeyValueRecord } from '../src/kv/record.js';
import { encodeSnapshot, type SnapshotHeaderInput } from '../src/snapshot/index.js';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'snapshots');

interface InputRecord {
  key?: string;
  keyHex?: string;
  value?: string;
  valueHex?: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** The header, records and chunking of the valid fixture, as input.json states them. */
export function readFixtureInput(): { header: SnapshotHeaderInput; records: KeyValueRecord[]; chunkRecords: number } {
  const input = JSON.parse(readFileSync(join(FIXTURE_DIR, 'input.json'), 'utf8')) as {
    header: SnapshotHeaderInput;
    records: InputRecord[];
    chunkRecords: number;
  };
  const bytes = (text: string | undefined, hex: string | undefined) =>
    hex !== undefined ? Buffer.from(hex, 'hex') : Buffer.from(text ?? '', 'utf8');
  const records = input.records.map((r) => ({
    key: bytes(r.key, r.keyHex),
    value: bytes(r.value, r.valueHex),
    createRevision: r.createRevision,
    modRevision: r.modRevision,
    version: r.version,
  }));
  return { header: input.header, records, chunkRecords: input.chunkRecords };
}

async function encode(header: SnapshotHeaderInput, records: KeyValueRecord[], chunkRecords: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of encodeSnapshot(header, records, { chunkRecords })) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function withBitFlipped(bytes: Buffer, offset: number, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset]! ^= 1 << bit;
  return copy;
}

/** Every fixture file, by name: the valid snapshots and one corrupt variant per failure class. */
export async function buildSnapshotFixtures(): Promise<Map<string, Buffer>> {
  const { header, records, chunkRecords } = readFixtureInput();
  const valid = await encode(header, records, chunkRecords);
  const empty = await encode({ ...header, keyCount: 0 }, [], chunkRecords);
  const headerEnd = 16 + valid.readUInt32BE(12) + 4;
  const firstChunkEnd = headerEnd + 20 + valid.readUInt32BE(headerEnd + 12) + 4;
  const trailer = valid.length - 80;
  const futureVersion = Buffer.from(valid);
  futureVersion.writeUInt32BE(2, 8);
  const wrongMagic = Buffer.from(valid);
  wrongMagic.write('LBSNAQ', 0, 'latin1');
  return new Map([
    ['valid.lbsnap', valid],
    ['valid-empty.lbsnap', empty],
    // Cut in the middle of the second chunk's payload.
    ['truncated.lbsnap', valid.subarray(0, firstChunkEnd + 40)],
    // Bit 2 of payload byte 30 of the second chunk (its first record's version field).
    ['chunk-bitflip.lbsnap', withBitFlipped(valid, firstChunkEnd + 20 + 30, 2)],
    // Bit 0 of the low byte of the trailer's record count.
    ['trailer-bitflip.lbsnap', withBitFlipped(valid, trailer + 15, 0)],
    // Bit 4 of a byte inside the header JSON.
    ['header-bitflip.lbsnap', withBitFlipped(valid, 60, 4)],
    ['wrong-magic.lbsnap', wrongMagic],
    ['future-version.lbsnap', futureVersion],
  ]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [name, bytes] of await buildSnapshotFixtures()) {
    writeFileSync(join(FIXTURE_DIR, name), bytes);
    console.log(`${name}: ${bytes.length} bytes`);
  }
}
