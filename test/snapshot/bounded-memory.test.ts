import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSnapshot, encodeSnapshot } from '../../src/snapshot/index.js';
import { makeRecords, sampleHeader } from './helpers.js';

const RECORDS = 300_000;
const VALUE_BYTES = 1024;

test('300 MB streamed through encode and decode keeps memory bounded far below the data size', async (t) => {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let records = 0;
  let dataBytes = 0;
  const decoder = decodeSnapshot(encodeSnapshot(sampleHeader(RECORDS, 10_000_000), makeRecords(RECORDS, VALUE_BYTES)));
  for await (const batch of decoder.batches()) {
    records += batch.length;
    for (const r of batch) dataBytes += r.key.length + r.value.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const summary = await decoder.done;
  assert.equal(records, RECORDS);
  assert.equal(summary.trailer.dataBytes, dataBytes);
  assert.ok(summary.totalBytes > 300 * 1024 * 1024, `only ${summary.totalBytes} bytes`);
  const grewMiB = (peak - baseline) / 1024 / 1024;
  // The stream holds a few MiB of chunks; garbage collection timing adds slack. Holding the
  // whole snapshot would need over 300 MiB.
  assert.ok(grewMiB < 200, `rss grew by ${grewMiB.toFixed(0)} MiB while streaming ${(summary.totalBytes / 2 ** 20).toFixed(0)} MiB`);
  t.diagnostic(`rss grew by ${grewMiB.toFixed(1)} MiB (baseline ${(baseline / 2 ** 20).toFixed(0)} MiB) for ${(summary.totalBytes / 2 ** 20).toFixed(0)} MiB`);
});
