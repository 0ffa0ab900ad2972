import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Role } from '../../src/raft/index.js';
import { bootTicks } from '../../src/server/boot-ticks.js';
import { Network } from '../raft/network.js';

const largestTimeout = (n: number) => n - 1;

/** Ticks `id` alone until it leaves the follower role; returns how many ticks that took. */
function ticksUntilCampaign(net: Network, id: string, limit = 100): number {
  for (let i = 1; i <= limit; i++) {
    net.tick(id);
    if (net.get(id).role() !== Role.Follower) return i;
  }
  throw new Error(`${id} did not campaign within ${limit} ticks`);
}

test('a voter with peers fast-forwards all but one tick of its election timeout at boot; a lone voter, a learner and a joiner none', () => {
  assert.equal(bootTicks({ voters: ['a', 'b', 'c'], learners: [] }, 'a', 10), 9);
  assert.equal(bootTicks({ voters: ['a'], learners: [] }, 'a', 10), 0);
  assert.equal(bootTicks({ voters: ['a', 'b'], learners: ['c'] }, 'c', 10), 0);
  assert.equal(bootTicks({ voters: [], learners: [] }, 'd', 10), 0);
});

test('a booting member campaigns within one election timeout even when it draws the longest random timeout, where it took two', () => {
  const advanced = new Network(['a', 'b', 'c'], { electionTick: 10, randomInt: largestTimeout });
  advanced.tick('a', bootTicks({ voters: ['a', 'b', 'c'], learners: [] }, 'a', 10));
  assert.equal(advanced.get('a').role(), Role.Follower, 'the fast-forward alone must not start an election');
  assert.equal(ticksUntilCampaign(advanced, 'a'), 10);
  const plain = new Network(['a', 'b', 'c'], { electionTick: 10, randomInt: largestTimeout });
  assert.equal(ticksUntilCampaign(plain, 'a'), 19);
});

test('a restarted member that fast-forwards and pre-votes while the cluster has a leader disrupts nobody', () => {
  const net = new Network(['a', 'b', 'c'], { electionTick: 10, preVote: true, checkQuorum: true });
  net.elect('a');
  net.propose('a', 'x');
  const term = net.get('a').node.status().term;
  net.get('c').restart();
  net.tick('c', bootTicks({ voters: ['a', 'b', 'c'], learners: [] }, 'c', 10));
  // No heartbeat reaches c before its shortened timeout runs out: it pre-votes.
  ticksUntilCampaign(net, 'c');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['a']);
  for (const id of ['a', 'b', 'c']) assert.equal(net.get(id).node.status().term, term, `${id}'s term moved`);
  net.tickAll(3);
  assert.equal(net.get('c').node.status().leader, 'a');
});
