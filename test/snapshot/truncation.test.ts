import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IntegrityError } from '../../src/errors.js';
import { encodeSnapshot, verifySnapshot } from '../../src/snapshot/index.js';
import { layout, parseError } from './craft.js';
import { collect, makeRecords, pieces, sampleHeader } from './helpers.js';

const VALID = await collect(encodeSnapshot(sampleHeader(30), makeRecords(30, 50), { chunkRecords: 7 }));
const LAYOUT = layout(VALID);

async function truncationMessage(length: number, pieceSize = 64): Promise<string> {
  const error = await verifySnapshot(pieces(VALID.subarray(0, length), pieceSize)).then(
    () => assert.fail(`a snapshot cut at byte ${length} was accepted`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof IntegrityError, `cut at ${length}: ${String(error)}`);
  return error.message;
}

test('an empty input is reported as truncated and empty', async () => {
  assert.equal(await truncationMessage(0), 'snapshot truncated: the input is empty');
});

test('a cut inside the magic or preamble is reported as truncated, not as a foreign file', async () => {
  assert.equal(await truncationMessage(5), 'snapshot truncated: the input ends at byte 5, inside the preamble');
  assert.equal(await truncationMessage(14), 'snapshot truncated: the input ends at byte 14, inside the preamble');
});

test('a cut inside the header is reported as such', async () => {
  assert.equal(await truncationMessage(100), 'snapshot truncated: the input ends at byte 100, inside the header');
});

test('a cut at every chunk boundary names the last whole chunk', async () => {
  assert.equal(LAYOUT.chunks.length, 5);
  assert.equal(
    await truncationMessage(LAYOUT.headerEnd),
    `snapshot truncated: the input ends at byte ${LAYOUT.headerEnd}, after the header, before the trailer`,
  );
  for (const [i, c] of LAYOUT.chunks.entries()) {
    assert.equal(
      await truncationMessage(c.end),
      `snapshot truncated: the input ends at byte ${c.end}, after chunk ${i}, before the trailer`,
    );
  }
});

test('a cut in the middle of every chunk names that chunk and where it began', async () => {
  for (const [i, c] of LAYOUT.chunks.entries()) {
    for (const cut of [c.start + 2, c.start + 19, c.payloadStart + 1, Math.floor((c.payloadStart + c.end) / 2), c.end - 1]) {
      const message = await truncationMessage(cut);
      if (cut - c.start < 20) {
        assert.equal(message, `snapshot truncated: the input ends at byte ${cut}, inside the frame begun at byte ${c.start} (chunk ${i} or the trailer)`);
      } else {
        assert.equal(message, `snapshot truncated: the input ends at byte ${cut}, inside chunk ${i} (begun at byte ${c.start})`);
      }
    }
  }
});

test('a cut inside the trailer is reported as truncated', async () => {
  for (const cut of [LAYOUT.trailer + 1, LAYOUT.trailer + 40, VALID.length - 1]) {
    assert.match(await truncationMessage(cut), new RegExp(`ends at byte ${cut}, inside the frame begun at byte ${LAYOUT.trailer}`));
  }
});

test('a cut at every single byte offset is detected as truncation', () => {
  assert.equal(parseError(VALID, 7), undefined);
  for (let length = 0; length < VALID.length; length++) {
    const error = parseError(VALID.subarray(0, length), 1 + (length % 97));
    assert.ok(error instanceof IntegrityError, `cut at ${length}: ${String(error)}`);
    assert.match(error.message, /^snapshot truncated: /, `cut at ${length}`);
  }
});
