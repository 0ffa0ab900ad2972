import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role } from '../../src/raft/index.js';
import { Network } from './network.js';

test('a leader answers ReadIndex with its commit index after a quorum acks a heartbeat round', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'x');
  const a = net.get('a');
  a.node.readIndex('r1');
  net.process('a');
  // The ReadState waits for the heartbeat round carrying the request's context.
  assert.equal(a.readStates.length, 0);
  const beats = net.queue.filter((m) => m.type === MessageType.Heartbeat && m.context === 'r1');
  assert.deepEqual(beats.map((m) => m.to).sort(), ['b', 'c']);
  net.stabilize();
  assert.deepEqual(a.readStates, [{ index: 2, context: 'r1' }]);
});

test('a follower forwards ReadIndex to the leader and receives the read point back', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'x');
  const b = net.get('b');
  b.node.readIndex('from-b');
  net.stabilize();
  assert.deepEqual(b.readStates, [{ index: 2, context: 'from-b' }]);
  assert.equal(net.get('a').readStates.length, 0);
});

test('a new leader serves no ReadIndex until it has committed an entry of its own term', () => {
  const net = new Network(['a', 'b', 'c']);
  const a = net.get('a');
  a.node.campaign();
  net.process('a');
  while (a.role() !== Role.Leader) net.deliverOne();
  // The leader's no-op is not yet replicated: its commit index is from an older term.
  net.isolate('a');
  a.node.readIndex('early');
  net.process('a');
  assert.equal(net.queue.filter((m) => m.type === MessageType.Heartbeat && m.context === 'early').length, 0);
  net.stabilize();
  assert.equal(a.readStates.length, 0);
  net.heal();
  net.tickUntil(() => a.readStates.length > 0, 50);
  // The read point is the no-op of the new term, not the stale commit index 0.
  assert.deepEqual(a.readStates, [{ index: 1, context: 'early' }]);
});

test('a leader cut off from the quorum returns no ReadState', () => {
  const net = new Network(['a', 'b', 'c'], { checkQuorum: false });
  net.elect('a');
  const a = net.get('a');
  net.isolate('a');
  a.node.readIndex('lost');
  net.tickAll(50);
  assert.equal(a.role(), Role.Leader);
  assert.equal(a.readStates.length, 0);
});

test('one ack from a single follower is not enough in a five-member cluster', () => {
  const net = new Network(['a', 'b', 'c', 'd', 'e'], { checkQuorum: false });
  net.elect('a');
  net.cutLink('a', 'c');
  net.cutLink('a', 'd');
  net.cutLink('a', 'e');
  const a = net.get('a');
  a.node.readIndex('two-of-five');
  net.stabilize();
  assert.equal(a.readStates.length, 0);
  net.heal();
  a.node.readIndex('later');
  net.stabilize();
  // The later round's quorum also confirms the earlier request.
  assert.deepEqual(
    a.readStates.map((r) => r.context),
    ['two-of-five', 'later'],
  );
});

test('a single-voter cluster answers ReadIndex at once', () => {
  const net = new Network(['a']);
  net.elect('a');
  const a = net.get('a');
  a.node.readIndex('solo');
  const rd = a.node.ready();
  assert.deepEqual(rd.readStates, [{ index: 1, context: 'solo' }]);
  a.node.advance(rd);
});

test('ReadIndex without a leader is refused with ProposalDroppedError', () => {
  const net = new Network(['a', 'b', 'c']);
  assert.throws(() => net.get('a').node.readIndex('nobody'), { name: 'ProposalDroppedError' });
});
