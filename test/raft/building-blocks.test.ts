import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inflights } from '../../src/raft/inflights.js';
import { committedIndex, voteResult, VoteResult } from '../../src/raft/quorum.js';
import { Progress, ProgressState } from '../../src/raft/progress.js';
import {
  CompactedError,
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  EntryType,
  MemoryStorage,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../../src/raft/index.js';
import type { Entry } from '../../src/raft/index.js';

function ents(from: number, terms: number[], size = 0): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: EntryType.Normal, data: new Uint8Array(size) }));
}

test('the committed index is the highest index a majority of voters acknowledged', () => {
  const acks = (m: Record<string, number>) => (id: string) => m[id];
  assert.equal(committedIndex(['a'], acks({ a: 7 })), 7);
  assert.equal(committedIndex(['a', 'b', 'c'], acks({ a: 5, b: 3, c: 1 })), 3);
  assert.equal(committedIndex(['a', 'b', 'c'], acks({ a: 5 })), 0);
  assert.equal(committedIndex(['a', 'b', 'c', 'd'], acks({ a: 9, b: 8, c: 2, d: 1 })), 2);
  assert.equal(committedIndex(['a', 'b', 'c', 'd', 'e'], acks({ a: 9, b: 8, c: 7, d: 1, e: 1 })), 7);
  assert.equal(committedIndex([], acks({})), 0);
});

test('an election is won by a majority, lost once a majority is impossible, pending otherwise', () => {
  const votes = (m: Record<string, boolean>) => (id: string) => m[id];
  const three = ['a', 'b', 'c'];
  assert.equal(voteResult(three, votes({ a: true })), VoteResult.Pending);
  assert.equal(voteResult(three, votes({ a: true, b: true })), VoteResult.Won);
  assert.equal(voteResult(three, votes({ a: true, b: false })), VoteResult.Pending);
  assert.equal(voteResult(three, votes({ a: true, b: false, c: false })), VoteResult.Lost);
  assert.equal(voteResult(['a', 'b', 'c', 'd'], votes({ a: true, b: true })), VoteResult.Pending);
  assert.equal(voteResult(['a', 'b', 'c', 'd'], votes({ c: false, d: false })), VoteResult.Lost);
  // Votes of non-voters (learners) are ignored.
  assert.equal(voteResult(['a', 'b', 'c'], votes({ a: true, x: true, y: true })), VoteResult.Pending);
});

test('the inflight window fills, frees acknowledged messages in order, and grows its ring as needed', () => {
  const inf = new Inflights(40);
  for (let i = 1; i <= 40; i++) inf.add(i * 10);
  assert.equal(inf.full(), true);
  assert.throws(() => inf.add(1000));
  inf.freeLE(95);
  assert.equal(inf.length, 31);
  assert.equal(inf.full(), false);
  // Wrap around the ring.
  for (let i = 41; i <= 49; i++) inf.add(i * 10);
  assert.equal(inf.full(), true);
  inf.freeFirstOne();
  assert.equal(inf.length, 39);
  inf.freeLE(10_000);
  assert.equal(inf.length, 0);
  inf.add(5);
  inf.reset();
  assert.equal(inf.length, 0);
});

test('a probing follower gets one App at a time, a replicating one up to the window', () => {
  const pr = new Progress(5, 2, false);
  assert.equal(pr.state, ProgressState.Probe);
  pr.sentEntries(3, 7);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.maybeUpdate(7), true);
  pr.becomeReplicate();
  assert.equal(pr.next, 8);
  pr.sentEntries(2, 9);
  pr.sentEntries(1, 10);
  assert.equal(pr.next, 11);
  assert.equal(pr.isPaused(), true);
  pr.maybeUpdate(9);
  pr.inflights.freeLE(9);
  assert.equal(pr.isPaused(), false);
});

test('a rejection moves next back to the hint but never below match', () => {
  const pr = new Progress(11, 4, false);
  pr.match = 3;
  assert.equal(pr.maybeDecrTo(9, 5), false, 'stale: it does not answer our last probe');
  assert.equal(pr.maybeDecrTo(10, 5), true);
  assert.equal(pr.next, 6);
  assert.equal(pr.maybeDecrTo(5, 0), true);
  assert.equal(pr.next, 4);
  pr.becomeReplicate();
  pr.sentEntries(3, 10);
  assert.equal(pr.maybeDecrTo(2, 0), false, 'stale in replicate: at or below match');
  assert.equal(pr.maybeDecrTo(7, 0), true);
  assert.equal(pr.next, 4);
});

test('after a snapshot the follower is probed from just past the snapshot', () => {
  const pr = new Progress(1, 4, false);
  pr.becomeSnapshot(50);
  assert.equal(pr.isPaused(), true);
  pr.becomeProbe();
  assert.equal(pr.next, 51);
});

test('MemoryStorage serves entries and terms, and truncates a conflicting suffix on append', () => {
  const s = new MemoryStorage();
  s.append(ents(1, [1, 1, 2, 2]));
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 4);
  assert.equal(s.term(0), 0);
  assert.equal(s.term(3), 2);
  assert.throws(() => s.term(5), UnavailableError);
  s.append(ents(3, [3, 3, 3]));
  assert.deepEqual(
    s.entries(1, 6, Infinity).map((e) => e.term),
    [1, 1, 3, 3, 3],
  );
  assert.throws(() => s.append(ents(8, [3])), /missing log entry/);
});

test('MemoryStorage cuts entries to the size limit but always returns at least one', () => {
  const s = new MemoryStorage();
  s.append(ents(1, [1, 1, 1, 1], 100));
  assert.equal(s.entries(1, 5, 250).length, 2);
  assert.equal(s.entries(1, 5, 10).length, 1);
  assert.equal(s.entries(1, 5, Infinity).length, 4);
});

test('MemoryStorage snapshots at an applied index, compacts behind it, and refuses older snapshots', () => {
  const cs = { voters: ['a'], learners: [] };
  const s = new MemoryStorage({ confState: cs });
  s.append(ents(1, [1, 1, 2, 2, 2]));
  const snap = s.createSnapshot(3, cs, 'state@3');
  assert.deepEqual(snap.metadata, { index: 3, term: 2, confState: cs });
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.term(3), 2);
  assert.throws(() => s.term(2), CompactedError);
  assert.throws(() => s.entries(3, 5, Infinity), CompactedError);
  assert.equal(s.entries(4, 6, Infinity).length, 2);
  assert.throws(() => s.createSnapshot(2, cs), SnapshotOutOfDateError);
  s.applySnapshot({ metadata: { index: 10, term: 4, confState: cs } });
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
  assert.throws(() => s.applySnapshot({ metadata: { index: 9, term: 4, confState: cs } }), SnapshotOutOfDateError);
  // Appending entries already covered by the snapshot keeps only the new ones.
  s.append(ents(9, [4, 4, 5]));
  assert.equal(s.lastIndex(), 11);
  assert.equal(s.term(11), 5);
});

test('a brand-new member starts from the bootstrap snapshot at index 0 carrying the initial voters', () => {
  const cs = { voters: ['a', 'b', 'c'], learners: [] };
  const s = new MemoryStorage({ snapshot: { metadata: { index: 0, term: 0, confState: cs } } });
  assert.deepEqual(s.initialState(), { hardState: { term: 0, vote: '', commit: 0 }, confState: cs });
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
});

test('a conf change survives encoding, with and without a context', () => {
  const plain = { type: ConfChangeType.RemoveNode, nodeId: '8e9e05c52164694d' };
  assert.deepEqual(decodeConfChange(encodeConfChange(plain)), plain);
  const withCtx = { type: ConfChangeType.AddLearnerNode, nodeId: 'b', context: new Uint8Array([1, 2, 3]) };
  const back = decodeConfChange(encodeConfChange(withCtx));
  assert.equal(back.type, ConfChangeType.AddLearnerNode);
  assert.equal(back.nodeId, 'b');
  assert.deepEqual([...back.context!], [1, 2, 3]);
  assert.throws(() => decodeConfChange(new Uint8Array([9, 0, 0, 0])), /version/);
  assert.throws(() => decodeConfChange(new Uint8Array([1, 7, 0, 0])), /type/);
  assert.throws(() => decodeConfChange(new Uint8Array([1, 0, 0, 9, 65])), /truncated/);
});
