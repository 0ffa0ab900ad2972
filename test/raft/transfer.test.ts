import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role } from '../../src/raft/index.js';
import { bytes, Network } from './network.js';

test('leadership transfers to an up-to-date follower with TimeoutNow', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.transferLeader('b');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['b']);
  assert.equal(net.get('b').node.status().term, 2);
  assert.equal(net.sentOf(MessageType.TimeoutNow, 'b').length, 1);
});

test('a follower asked to transfer forwards the request to the leader', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('c').node.transferLeader('b');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['b']);
});

test('leadership transfers to a lagging follower only after it catches up', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
  net.heal();
  net.get('a').node.transferLeader('c');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['c']);
  assert.equal(net.get('c').node.status().lastIndex >= 6, true);
});

test('proposals are dropped while a transfer is under way, and accepted again after it times out', () => {
  const net = new Network(['a', 'b', 'c'], { electionTick: 10 });
  net.elect('a');
  net.propose('a', 'x');
  net.isolate('c');
  const a = net.get('a');
  a.node.transferLeader('c');
  net.stabilize();
  assert.equal(a.node.status().leadTransferee, 'c');
  assert.throws(() => a.node.propose(bytes('y')), { name: 'ProposalDroppedError' });
  // The transfer is abandoned after an election timeout.
  net.tick('a', 10);
  assert.equal(a.node.status().leadTransferee, '');
  assert.equal(a.role(), Role.Leader);
  a.node.propose(bytes('y'));
});

test('leadership is never transferred to a learner', () => {
  const net = new Network(['a', 'b'], {}, ['c']);
  net.elect('a');
  net.get('a').node.transferLeader('c');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['a']);
  assert.equal(net.sentOf(MessageType.TimeoutNow).length, 0);
});
