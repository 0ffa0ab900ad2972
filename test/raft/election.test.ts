import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role, message } from '../../src/raft/index.js';
import { Network, seededRandomInt } from './network.js';

test('a single-member cluster elects itself leader at once', () => {
  const net = new Network(['a']);
  net.elect('a');
  assert.deepEqual(net.leaders(), ['a']);
  assert.equal(net.get('a').node.status().term, 1);
});

test('a three-member cluster elects exactly one leader and all agree on it', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  assert.deepEqual(net.leaders(), ['a']);
  for (const id of ['a', 'b', 'c']) {
    const st = net.get(id).node.status();
    assert.equal(st.leader, 'a');
    assert.equal(st.term, 1);
  }
});

test('an election timeout with no leader makes a follower campaign and win', () => {
  const net = new Network(['a', 'b', 'c'], { electionTick: 10 });
  // Only 'a' ticks: within twice the election tick (the randomized range) it campaigns.
  for (let i = 0; i < 20; i++) net.tick('a');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['a']);
});

test('split votes resolve into a single leader thanks to randomized timeouts', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = seededRandomInt(seed);
    const net = new Network(ids, { randomInt: rnd, preVote: false });
    // Everyone campaigns at the same moment: votes split (each votes for itself).
    for (const id of ids) net.get(id).node.campaign();
    net.stabilize();
    net.tickUntil(() => net.leaders().length === 1 && ids.every((id) => net.get(id).node.status().leader !== ''));
    const leader = net.leaders()[0]!;
    const term = net.get(leader).node.status().term;
    for (const id of ids) assert.equal(net.get(id).node.status().leader, leader, `seed ${seed}`);
    assert.ok(term >= 2, `seed ${seed}: a split vote round must have happened first (term ${term})`);
  }
});

test('a candidate with a stale log cannot win an election', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  // 'c' misses an entry that a and b commit.
  net.isolate('c');
  net.propose('a', 'x');
  net.heal();
  assert.equal(net.get('b').node.status().commit, 2);
  assert.equal(net.get('c').node.status().lastIndex, 1);
  // 'a' dies; 'c' campaigns first but 'b' (with the longer log) refuses its vote.
  net.isolate('a');
  net.get('c').node.campaign();
  net.stabilize();
  assert.notEqual(net.get('c').role(), Role.Leader);
  net.get('b').node.campaign();
  net.stabilize();
  assert.equal(net.get('b').role(), Role.Leader);
});

test('a vote request with a higher term is ignored inside the leader lease', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const b = net.get('b');
  // 'c' asks b for a vote at a higher term while b just heard from the leader.
  b.node.step(message({ type: MessageType.Vote, from: 'c', to: 'b', term: 5, index: 10, logTerm: 5 }));
  net.process('b');
  assert.equal(b.node.status().term, 1);
  assert.equal(b.node.status().leader, 'a');
  assert.equal(net.queue.filter((m) => m.type === MessageType.VoteResp).length, 0);
});

test('PreVote stops a partitioned member from disrupting the cluster when it returns', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: true });
  net.elect('a');
  net.isolate('c');
  // 'c' times out over and over but its pre-votes never win, so its term does not grow.
  for (let i = 0; i < 100; i++) net.tick('c');
  net.stabilize();
  assert.equal(net.get('c').node.status().term, 1);
  assert.equal(net.get('c').role(), Role.PreCandidate);
  net.heal();
  net.tickAll(5);
  assert.deepEqual(net.leaders(), ['a']);
  assert.equal(net.get('a').node.status().term, 1);
  assert.equal(net.get('c').node.status().leader, 'a');
});

test('without PreVote a returning partitioned member forces a new election', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 100; i++) net.tick('c');
  net.stabilize();
  assert.ok(net.get('c').node.status().term > 1);
  net.heal();
  // c campaigns again at its higher term: the leader hears it and steps down, the
  // disruption PreVote prevents.
  net.tickUntil(() => net.get('a').node.status().term > 1);
  assert.ok(net.get('a').node.status().term > 1);
});

test('a leader that cannot reach a quorum steps down after an election timeout (CheckQuorum)', () => {
  const net = new Network(['a', 'b', 'c'], { electionTick: 10, checkQuorum: true });
  net.elect('a');
  net.isolate('a');
  // One election timeout to clear recent activity, the second finds no active quorum.
  for (let i = 0; i < 20; i++) net.tick('a');
  assert.equal(net.get('a').role(), Role.Follower);
  assert.equal(net.get('a').node.status().leader, '');
});

test('a leader in contact with a quorum keeps leading across many election timeouts', () => {
  const net = new Network(['a', 'b', 'c'], { electionTick: 10, checkQuorum: true });
  net.elect('a');
  net.isolate('c');
  net.tickAll(100);
  assert.equal(net.get('a').role(), Role.Leader);
  assert.equal(net.get('a').node.status().term, 1);
});

test('a message with a higher term makes a leader follow that term', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  const a = net.get('a');
  a.node.step(message({ type: MessageType.App, from: 'b', to: 'a', term: 3, index: 1, logTerm: 1 }));
  assert.equal(a.role(), Role.Follower);
  assert.equal(a.node.status().term, 3);
  assert.equal(a.node.status().leader, 'b');
});

test('an append from a stale term is answered so the stale leader learns the newer term', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.get('a').node.transferLeader('b');
  net.stabilize();
  assert.equal(net.get('b').role(), Role.Leader);
  assert.equal(net.get('b').node.status().term, 2);
  net.dropQueued();
  const c = net.get('c');
  c.node.step(message({ type: MessageType.App, from: 'a', to: 'c', term: 1, index: 1, logTerm: 1 }));
  net.process('c');
  const answer = net.queue.find((m) => m.to === 'a');
  assert.ok(answer);
  assert.equal(answer.type, MessageType.AppResp);
  assert.equal(answer.term, 2);
});

test('a member votes for at most one candidate per term', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false });
  const c = net.get('c');
  c.node.step(message({ type: MessageType.Vote, from: 'a', to: 'c', term: 1 }));
  c.node.step(message({ type: MessageType.Vote, from: 'b', to: 'c', term: 1 }));
  net.process('c');
  const answers = net.queue.filter((m) => m.type === MessageType.VoteResp);
  assert.deepEqual(
    answers.map((m) => [m.to, m.reject]),
    [
      ['a', false],
      ['b', true],
    ],
  );
  assert.equal(c.node.status().vote, 'a');
});

test('the vote is persisted in the same Ready that carries the vote response, with mustSync', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false });
  const c = net.get('c');
  c.node.step(message({ type: MessageType.Vote, from: 'a', to: 'c', term: 1 }));
  const rd = c.node.ready();
  assert.equal(rd.hardState?.vote, 'a');
  assert.equal(rd.hardState?.term, 1);
  assert.equal(rd.mustSync, true);
  assert.ok(rd.messages.some((m) => m.type === MessageType.VoteResp && !m.reject));
  c.node.advance(rd);
});

test('a pre-vote does not change the term or vote of the member asked', () => {
  const net = new Network(['a', 'b', 'c']);
  const c = net.get('c');
  c.node.step(message({ type: MessageType.PreVote, from: 'a', to: 'c', term: 1 }));
  net.process('c');
  assert.equal(c.node.status().term, 0);
  assert.equal(c.node.status().vote, '');
  const resp = net.queue.find((m) => m.type === MessageType.PreVoteResp);
  assert.equal(resp?.reject, false);
  assert.equal(resp?.term, 1);
});

test('a candidate with a stale log and a fast clock cannot keep a better candidate from campaigning', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
  net.elect('a');
  net.isolate('c');
  net.propose('a', 'x');
  // a is gone for good; c (missing x) ticks three times as fast as b.
  net.heal();
  net.isolate('a');
  const b = net.get('b');
  for (let round = 0; round < 300 && b.role() !== Role.Leader; round++) {
    net.tick('c', 3);
    net.tick('b', 1);
    net.stabilize();
  }
  // c's rejected vote requests bumped b's term but not its election timer (Raft figure 2).
  assert.equal(b.role(), Role.Leader);
  assert.ok(net.get('c').node.status().term > 2, 'c did campaign repeatedly');
});
