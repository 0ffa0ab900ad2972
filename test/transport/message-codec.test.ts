import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, MessageType, message, type Message } from '../../src/raft/types.js';
import { decodeMessage, encodeMessage, MalformedMessageError } from '../../src/transport/message-codec.js';

const A = '8e9e05c52164694d';
const B = '0000000000000002';

function roundTrip(m: Message): Message {
  return decodeMessage(encodeMessage(m));
}

test('an append message with entries survives encoding and decoding unchanged', () => {
  const m = message({
    type: MessageType.App,
    from: A,
    to: B,
    term: 7,
    logTerm: 6,
    index: 2 ** 40 + 3,
    commit: 99,
    entries: [
      { term: 7, index: 2 ** 40 + 4, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
      { term: 7, index: 2 ** 40 + 5, type: EntryType.ConfChange, data: new Uint8Array(0) },
    ],
  });
  const back = roundTrip(m);
  assert.equal(back.type, m.type);
  assert.equal(back.from, A);
  assert.equal(back.to, B);
  assert.equal(back.index, 2 ** 40 + 3);
  assert.equal(back.entries.length, 2);
  assert.deepEqual([...back.entries[0]!.data], [1, 2, 3]);
  assert.equal(back.entries[1]!.type, EntryType.ConfChange);
  assert.equal(back.entries[1]!.index, 2 ** 40 + 5);
});

test('every message type, flags, context and snapshot metadata round-trip', () => {
  for (const type of Object.values(MessageType)) {
    const m = message({
      type,
      from: A,
      to: '',
      term: 1,
      reject: true,
      rejectHint: 12,
      context: 'ctx-ü',
      snapshot: { metadata: { index: 50, term: 3, confState: { voters: [A, B], learners: ['00000000000000ff'] } } },
    });
    const back = roundTrip(m);
    assert.equal(back.type, type);
    assert.equal(back.to, '');
    assert.equal(back.reject, true);
    assert.equal(back.rejectHint, 12);
    assert.equal(back.context, 'ctx-ü');
    assert.deepEqual(back.snapshot, m.snapshot);
  }
});

test('decoded entry data are views into the received frame, not copies', () => {
  const m = message({ type: MessageType.App, from: A, to: B, entries: [{ term: 1, index: 1, type: EntryType.Normal, data: Buffer.from('hello') }] });
  const bytes = encodeMessage(m);
  const back = decodeMessage(bytes);
  assert.equal(back.entries[0]!.data.buffer, bytes.buffer);
});

test('truncated or padded bytes are refused as malformed', () => {
  const bytes = encodeMessage(message({ type: MessageType.App, from: A, to: B, entries: [{ term: 1, index: 1, type: EntryType.Normal, data: Buffer.from('hello') }] }));
  assert.throws(() => decodeMessage(bytes.subarray(0, bytes.length - 1)), MalformedMessageError);
  assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), MalformedMessageError);
  assert.throws(() => decodeMessage(Buffer.alloc(5)), MalformedMessageError);
});
