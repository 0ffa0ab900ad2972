import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { collect, makeRecords, sampleHeader } from './helpers.js';

test('an encoder told to yield every so many bytes gives the event loop turns while a synchronous source is encoded, and writes the same bytes', async () => {
  const count = 2000;
  // collect() never waits on anything but the stream: any turn the loop gets comes from the encoder.
  const plain = await collect(encodeSnapshot(sampleHeader(count), makeRecords(count, 1024)));
  let turns = 0;
  let encoding = true;
  const tick = (): void => {
    turns++;
    if (encoding) setImmediate(tick);
  };
  setImmediate(tick);
  const sliced = await collect(encodeSnapshot(sampleHeader(count), makeRecords(count, 1024), { yieldEveryBytes: 64 * 1024 }));
  encoding = false;
  // About 2 MiB of keys and values in 64 KiB slices: one turn per slice at least.
  assert.ok(turns >= 30, `the loop turned ${turns} times`);
  assert.ok(sliced.equals(plain), 'slicing changes no byte');
});

test('an encoder told to idle between slices finishes and writes the same bytes as one that never idles', async () => {
  const count = 600;
  const plain = await collect(encodeSnapshot(sampleHeader(count), makeRecords(count, 1024)));
  const paced = await collect(encodeSnapshot(sampleHeader(count), makeRecords(count, 1024), { yieldEveryBytes: 16 * 1024, idleRatio: 1 }));
  assert.ok(paced.equals(plain), 'pacing changes no byte');
});
