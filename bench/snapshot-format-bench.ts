// Snapshot format throughput: encode, decode and the verifying pass-through over
// 200,000 records with 1 KiB values (about 210 MB), held in memory so that only the format's
// own cost is measured. Run: node --import tsx bench/snapshot-format-bench.ts [records] [runs]
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import type { KeyValueRecord } from '../src/kv/record.js';
import { createVerifyingPassThrough, decodeSnapshot, encodeSnapshot, type SnapshotHeaderInput } from '../src/snapshot/index.js';

export interface SnapshotFormatBenchResult {
  readonly records: number;
  readonly dataBytes: number;
  readonly snapshotBytes: number;
  /** Medians over the runs, in MB/s (10^6 bytes) of snapshot bytes. */
  readonly encodeMBps: number;
  readonly decodeMBps: number;
  readonly passThroughMBps: number;
  /** Best run of each, for a machine shared with other work. */
  readonly bestEncodeMBps: number;
  readonly bestDecodeMBps: number;
  readonly bestPassThroughMBps: number;
}

function header(keyCount: number): SnapshotHeaderInput {
  return {
    clusterId: '0123456789abcdef',
    members: [{ id: '0123456789abcdef', name: 'bench', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'], isLearner: false }],
    raftIndex: keyCount + 10,
    raftTerm: 2,
    revision: keyCount + 1,
    compactRevision: 0,
    keyCount,
    createdAt: new Date(0).toISOString(),
    sourceMember: '0123456789abcdef',
    extra: { consistency: 'offline' },
  };
}

function makeRecords(count: number, valueBytes: number): KeyValueRecord[] {
  // Random values in one slab: realistic for hashing, and no per-record allocation to time.
  const slab = randomFillSync(Buffer.allocUnsafe(count * valueBytes));
  const records: KeyValueRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    records[i] = {
      key: Buffer.from(`/registry/bench/${i.toString().padStart(8, '0')}`),
      value: slab.subarray(i * valueBytes, (i + 1) * valueBytes),
      createRevision: i + 2,
      modRevision: i + 2,
      version: 1,
    };
  }
  return records;
}

function countingSink(): { stream: Writable; bytes: () => number } {
  let bytes = 0;
  const stream = new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb();
    },
  });
  return { stream, bytes: () => bytes };
}

/** Pieces of 64 KiB, as a file stream delivers them. */
function asFileStream(bytes: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 65536) pieces.push(bytes.subarray(i, i + 65536));
  return Readable.from(pieces);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** Runs each measurement `runs` times and returns the medians. */
export async function runSnapshotFormatBench(count = 200_000, runs = 5): Promise<SnapshotFormatBenchResult> {
  if (count > 20_000) await runSnapshotFormatBench(20_000, 1); // warm the JIT so run 1 is not an outlier
  const records = makeRecords(count, 1024);
  const dataBytes = records.reduce((n, r) => n + r.key.length + r.value.length, 0);
  const encodeRates: number[] = [];
  const decodeRates: number[] = [];
  const passRates: number[] = [];
  let encoded = Buffer.alloc(0);
  for (let run = 0; run < runs; run++) {
    const sink = countingSink();
    let start = process.hrtime.bigint();
    await pipeline(encodeSnapshot(header(count), records), sink.stream);
    encodeRates.push(sink.bytes() / seconds(start) / 1e6);

    if (run === 0) {
      const parts: Buffer[] = [];
      for await (const p of encodeSnapshot(header(count), records)) parts.push(p as Buffer);
      encoded = Buffer.concat(parts);
    }

    start = process.hrtime.bigint();
    const decoder = decodeSnapshot(asFileStream(encoded));
    let seen = 0;
    for await (const batch of decoder.batches()) seen += batch.length;
    await decoder.done;
    if (seen !== count) throw new Error(`decoded ${seen} of ${count} records`);
    decodeRates.push(encoded.length / seconds(start) / 1e6);

    start = process.hrtime.bigint();
    const pass = createVerifyingPassThrough();
    await pipeline(asFileStream(encoded), pass, countingSink().stream);
    await pass.result;
    passRates.push(encoded.length / seconds(start) / 1e6);
  }
  return {
    records: count,
    dataBytes,
    snapshotBytes: encoded.length,
    encodeMBps: median(encodeRates),
    decodeMBps: median(decodeRates),
    passThroughMBps: median(passRates),
    bestEncodeMBps: Math.max(...encodeRates),
    bestDecodeMBps: Math.max(...decodeRates),
    bestPassThroughMBps: Math.max(...passRates),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 200_000);
  const runs = Number(process.argv[3] ?? 5);
  const r = await runSnapshotFormatBench(count, runs);
  const row = (name: string, median: number, best: number) =>
    console.log(`  ${name.padEnd(20)} ${median.toFixed(0).padStart(5)} MB/s median, ${best.toFixed(0).padStart(5)} MB/s best`);
  console.log(`snapshot format: ${r.records} records, ${(r.dataBytes / 1e6).toFixed(1)} MB of key-value data, ${(r.snapshotBytes / 1e6).toFixed(1)} MB snapshot`);
  row('encode', r.encodeMBps, r.bestEncodeMBps);
  row('decode (records)', r.decodeMBps, r.bestDecodeMBps);
  row('verify pass-through', r.passThroughMBps, r.bestPassThroughMBps);
  console.log(`  ${runs} runs; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
}
