import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, message } from '../../src/raft/index.js';
import { Network, bytes } from './network.js';

test('a leader tells followers of a new commit in one unanswered Commit each, and they commit', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const before = net.sent.length;
  net.propose('a', 'x');
  const sent = net.sent.slice(before);
  const count = (type: MessageType) => sent.filter((m) => m.type === type).length;
  assert.equal(count(MessageType.App), 2, 'one App per follower with the entry');
  assert.equal(count(MessageType.AppResp), 2, 'one acknowledgement each, and none for the Commit');
  assert.equal(count(MessageType.Commit), 2);
  for (const id of ['a', 'b', 'c']) assert.equal(net.get(id).node.status().commit, 2, `${id}'s commit`);
  assert.equal(net.get('b').appliedIndex, 2);
});

test('a commit that proposals of the same Ready can carry costs no Commit message', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.propose(bytes('x'));
  net.process('a');
  // The Apps reach the followers; their acknowledgements reach the leader, which commits x ...
  while (net.queue.some((m) => m.type === MessageType.App)) net.deliverAt(net.queue.findIndex((m) => m.type === MessageType.App));
  const acks = net.queue.filter((m) => m.type === MessageType.AppResp);
  net.queue = net.queue.filter((m) => m.type !== MessageType.AppResp);
  for (const m of acks) net.get('a').node.step(m);
  // ... and takes a new proposal before its next Ready: the Apps for it carry the commit.
  net.get('a').node.propose(bytes('y'));
  const before = net.sent.length;
  net.process('a');
  const sent = net.sent.slice(before);
  assert.deepEqual(sent.map((m) => m.type), [MessageType.App, MessageType.App]);
  assert.ok(sent.every((m) => m.commit === 2));
  net.stabilize();
  for (const id of ['b', 'c']) assert.equal(net.get(id).node.status().commit, 3);
});

test('a follower ignores a Commit whose index its log does not match, and answers nothing', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'x');
  const b = net.get('b');
  const term = b.node.status().term;
  const before = net.sent.length;
  b.node.step(message({ type: MessageType.Commit, from: 'a', to: 'b', term, index: 3, logTerm: term, commit: 3 }));
  b.node.step(message({ type: MessageType.Commit, from: 'a', to: 'b', term, index: 2, logTerm: term + 1, commit: 2 }));
  net.process('b');
  assert.equal(b.node.status().commit, 2);
  assert.equal(net.sent.length, before, 'a Commit is never answered');
});

test('a Commit commits no further than the index it names, even when the leader committed more', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.filters.push((m) => m.type === MessageType.Commit && m.to === 'c');
  net.propose('a', 'x');
  const c = net.get('c');
  const term = c.node.status().term;
  assert.equal(c.node.status().lastIndex, 2, 'c holds x');
  assert.equal(c.node.status().commit, 1, 'but has not heard that x is committed');
  c.node.step(message({ type: MessageType.Commit, from: 'a', to: 'c', term, index: 1, logTerm: term, commit: 2 }));
  assert.equal(c.node.status().commit, 1);
  c.node.step(message({ type: MessageType.Commit, from: 'a', to: 'c', term, index: 2, logTerm: term, commit: 2 }));
  assert.equal(c.node.status().commit, 2);
});
