import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, EntryType, MemoryStorage, MessageType, RawNode, Role, encodeConfChange, message } from '../../src/raft/index.js';
import { bytes, Network } from './network.js';

test('committed entries are handed out in pieces of at most maxCommittedSizePerReady bytes', () => {
  const storage = new MemoryStorage({ snapshot: { metadata: { index: 0, term: 0, confState: { voters: ['a'], learners: [] } } } });
  storage.append(Array.from({ length: 10 }, (_, i) => ({ term: 1, index: i + 1, type: EntryType.Normal, data: new Uint8Array(100) })));
  storage.setHardState({ term: 1, vote: 'a', commit: 10 });
  const node = new RawNode({ id: 'a', storage, electionTick: 10, heartbeatTick: 1, randomInt: () => 0, maxCommittedSizePerReady: 250 });
  const sizes: number[] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    sizes.push(rd.committedEntries.length);
    node.advance(rd);
  }
  assert.deepEqual(sizes, [2, 2, 2, 2, 2]);
  assert.equal(node.status().applied, 10);
});

test('a member with committed but unapplied conf changes does not campaign', () => {
  const cs = { voters: ['a', 'b', 'c'], learners: [] };
  const storage = new MemoryStorage({ snapshot: { metadata: { index: 0, term: 0, confState: cs } } });
  const cc = encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'c' });
  storage.append([{ term: 1, index: 1, type: EntryType.ConfChange, data: cc }]);
  storage.setHardState({ term: 1, vote: '', commit: 1 });
  const node = new RawNode({ id: 'a', storage, electionTick: 10, heartbeatTick: 1, randomInt: () => 0, applied: 0 });
  node.campaign();
  assert.equal(node.status().role, Role.Follower);
  assert.equal(node.status().term, 1);
  // Once applied, it may.
  const rd = node.ready();
  assert.equal(rd.committedEntries.length, 1);
  node.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'c' });
  node.advance(rd);
  node.campaign();
  assert.equal(node.status().role, Role.PreCandidate);
});

test('a proposal forwarded to a member without a leader is dropped silently, not thrown at the network', () => {
  const net = new Network(['a', 'b', 'c']);
  const b = net.get('b');
  assert.doesNotThrow(() =>
    b.node.step(message({ type: MessageType.Prop, from: 'c', to: 'b', entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytes('x') }] })),
  );
  assert.equal(b.node.status().lastIndex, 0);
});

test('a leader transfer is abandoned when the transferee is removed', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const a = net.get('a');
  net.isolate('c');
  a.node.transferLeader('c');
  net.stabilize();
  assert.equal(a.node.status().leadTransferee, 'c');
  // The transfer blocks proposals, but a conf change applied anyway (it was already in the log).
  a.node.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'c' });
  assert.equal(a.node.status().leadTransferee, '');
  a.node.propose(bytes('ok again'));
});

test('a leader counts only voters when confirming a ReadIndex round', () => {
  const net = new Network(['a', 'b', 'c'], { checkQuorum: false }, ['d', 'e']);
  net.elect('a');
  net.propose('a', 'x');
  net.cutLink('a', 'b');
  net.cutLink('a', 'c');
  const a = net.get('a');
  a.node.readIndex('learners-are-not-a-quorum');
  net.stabilize();
  assert.equal(a.readStates.length, 0);
});

test('a candidate that hears from a leader of its own term becomes its follower', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false });
  const c = net.get('c');
  c.node.campaign();
  assert.equal(c.role(), Role.Candidate);
  const term = c.node.status().term;
  c.node.step(message({ type: MessageType.App, from: 'a', to: 'c', term, index: 0, logTerm: 0 }));
  assert.equal(c.role(), Role.Follower);
  assert.equal(c.node.status().leader, 'a');
});

test('a pre-vote from a stale term is rejected with our term so the sender can catch up', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.transferLeader('b');
  net.stabilize();
  const b = net.get('b');
  net.dropQueued();
  b.node.step(message({ type: MessageType.PreVote, from: 'c', to: 'b', term: 1, index: 1, logTerm: 1 }));
  net.process('b');
  const resp = net.queue.find((m) => m.type === MessageType.PreVoteResp)!;
  assert.equal(resp.reject, true);
  assert.equal(resp.term, 2);
});
