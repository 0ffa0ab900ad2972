import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, MessageType, Role } from '../../src/raft/index.js';
import { appliedTexts, bytes, Network } from './network.js';

test('a joining learner receives the whole log and its first vote does not count', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'x');
  const d = net.addJoiner('d');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'd' });
  net.stabilize();
  net.tickAll(3);
  assert.deepEqual(appliedTexts(d), ['x']);
  assert.deepEqual(net.get('a').node.status().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
  assert.deepEqual(d.node.status().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
  // A learner never campaigns, however long it waits.
  net.isolate('d');
  net.tick('d', 100);
  assert.equal(d.role(), Role.Follower);
  assert.equal(net.sentOf(MessageType.PreVote).filter((m) => m.from === 'd').length, 0);
});

test('a learner is never counted toward commitment', () => {
  const net = new Network(['a', 'b'], {}, ['c']);
  net.elect('a');
  net.tickAll(1);
  net.cutLink('a', 'b');
  net.propose('a', 'x');
  assert.equal(net.get('c').node.status().lastIndex, 2, 'the learner stored the entry');
  assert.equal(net.get('a').node.status().commit, 1, 'but a voter and a learner are no majority of two voters');
});

test('adding an existing learner as a node promotes it to voter', () => {
  const net = new Network(['a', 'b'], {}, ['c']);
  net.elect('a');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 'c' });
  net.stabilize();
  net.tickAll(2);
  for (const id of ['a', 'b', 'c']) {
    assert.deepEqual(net.get(id).node.status().confState, { voters: ['a', 'b', 'c'], learners: [] }, id);
  }
  // Now c counts: with b cut off, a and c commit.
  net.cutLink('a', 'b');
  net.propose('a', 'x');
  assert.equal(net.get('a').node.status().commit, 3);
});

test('a new voter joins, catches up and can be elected', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'x');
  const d = net.addJoiner('d');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 'd' });
  net.stabilize();
  net.tickAll(3);
  assert.deepEqual(appliedTexts(d), ['x']);
  net.get('a').node.transferLeader('d');
  net.stabilize();
  assert.equal(d.role(), Role.Leader);
});

test('only one conf change may be pending at a time', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const a = net.get('a');
  a.node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'd' });
  assert.throws(() => a.node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'e' }), {
    name: 'ProposalDroppedError',
  });
  net.stabilize();
  net.tickAll(1);
  // Once the first is applied, the next is accepted.
  a.node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'e' });
  net.stabilize();
  net.tickAll(1);
  assert.deepEqual(a.node.status().confState.learners, ['d', 'e']);
});

test('a removed voter no longer counts and stops campaigning', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'c' });
  net.stabilize();
  net.tickAll(2);
  assert.deepEqual(net.get('a').node.status().confState, { voters: ['a', 'b'], learners: [] });
  const c = net.get('c');
  assert.deepEqual(c.node.status().confState, { voters: ['a', 'b'], learners: [] });
  net.isolate('c');
  const term = c.node.status().term;
  net.tick('c', 100);
  assert.equal(c.node.status().term, term);
  assert.notEqual(c.role(), Role.PreCandidate);
  // Two voters now: both must store an entry.
  net.cutLink('a', 'b');
  net.propose('a', 'x');
  assert.equal(net.get('a').node.status().commit, 2);
});

test('a leader that removes itself steps down once the change is applied and another member leads', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const a = net.get('a');
  a.node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'a' });
  net.stabilize();
  assert.equal(a.role(), Role.Follower);
  assert.deepEqual(a.node.status().confState, { voters: ['b', 'c'], learners: [] });
  assert.throws(() => a.node.propose(bytes('x')), { name: 'ProposalDroppedError' });
  // A caught-up voter was told to campaign at once: no election timeout had to pass.
  assert.equal(net.sentOf(MessageType.TimeoutNow).length, 1);
  assert.equal(net.leaders().length, 1);
  const [leader] = net.leaders();
  assert.ok(leader === 'b' || leader === 'c');
  net.propose(leader!, 'after');
  net.tickAll(1);
  assert.deepEqual(appliedTexts(net.get(leader === 'b' ? 'c' : 'b')), ['after']);
});

test('a conf change entry round-trips through the log to every member', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const context = bytes('name=d url=http://d');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'd', context });
  net.stabilize();
  net.tickAll(1);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(net.get(id).confState.learners, ['d'], id);
});

test('the last voter learns that the leader removal committed from a vote rejection and takes over', () => {
  const net = new Network(['a', 'b']);
  net.elect('a');
  net.tickAll(1);
  const a = net.get('a');
  const b = net.get('b');
  a.node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'a' });
  net.process('a');
  a.node.propose(bytes('late'));
  net.process('a');
  // b stores the removal but neither the later entry nor the news that the removal committed.
  net.filters.push((m) => m.from === 'a' && m.to === 'b' && (m.entries.some((e) => e.index === 3) || m.commit >= 2));
  net.stabilize();
  assert.equal(a.role(), Role.Follower, 'a applied its own removal and stepped down');
  assert.equal(a.node.status().lastIndex, 3);
  assert.equal(b.node.status().commit, 1);
  assert.equal(b.node.status().lastIndex, 2);
  net.heal();
  // a refuses b's votes (a's log is longer) but tells b where it committed: b applies the
  // removal, becomes the only voter and elects itself.
  net.tickUntil(() => b.role() === Role.Leader, 200);
  assert.deepEqual(b.node.status().confState, { voters: ['b'], learners: [] });
});

test('a voter demoted to learner stops counting toward commitment', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'c' });
  net.stabilize();
  net.tickAll(1);
  assert.deepEqual(net.get('a').node.status().confState, { voters: ['a', 'b'], learners: ['c'] });
  net.cutLink('a', 'b');
  net.propose('a', 'x');
  assert.equal(net.get('c').node.status().lastIndex, 3);
  assert.equal(net.get('a').node.status().commit, 2);
});

test('a newly added member is sent its first App immediately, without waiting for a heartbeat', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.addJoiner('d');
  const a = net.get('a');
  a.node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'd' });
  net.stabilize();
  // No tick happened: the conf change's commit and apply alone led to traffic to d.
  assert.ok(net.sentOf(MessageType.App, 'd').length > 0);
  assert.equal(net.sentOf(MessageType.Heartbeat, 'd').length, 0);
});

test('removing or demoting the last voter is ignored, so a cluster always keeps one', () => {
  const net = new Network(['a']);
  net.elect('a');
  const a = net.get('a');
  assert.deepEqual(a.node.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'a' }), { voters: ['a'], learners: [] });
  assert.deepEqual(a.node.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 'a' }), { voters: ['a'], learners: [] });
  assert.equal(a.role(), Role.Leader);
  // Removing a member that is not there changes nothing either.
  assert.deepEqual(a.node.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'zz' }), { voters: ['a'], learners: [] });
});
