import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Role } from '../../src/raft/index.js';
import { appliedTexts, Network } from './network.js';

test('a member restarts from its persisted hard state and log without re-applying entries', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  for (const t of ['x', 'y']) net.propose('a', t);
  net.tickAll(1);
  const before = new Map([...net.members].map(([id, m]) => [id, m.node.status()]));
  for (const m of net.members.values()) m.restart();
  for (const [id, m] of net.members) {
    const st = m.node.status();
    const was = before.get(id)!;
    assert.equal(st.term, was.term, id);
    assert.equal(st.vote, was.vote, id);
    assert.equal(st.commit, was.commit, id);
    assert.equal(st.applied, was.applied, id);
    assert.equal(st.lastIndex, was.lastIndex, id);
    assert.equal(st.role, Role.Follower, id);
    // Nothing is handed out for applying again.
    assert.equal(m.node.hasReady(), false, id);
  }
  net.tickUntil(() => net.leaders().length === 1, 200);
  const [leader] = net.leaders();
  net.propose(leader!, 'z');
  net.tickAll(1);
  for (const m of net.members.values()) assert.deepEqual(appliedTexts(m), ['x', 'y', 'z'], m.id);
});

test('a member restarted with an older applied index is handed the committed entries after it', () => {
  const net = new Network(['a']);
  net.elect('a');
  for (const t of ['x', 'y', 'z']) net.propose('a', t);
  const a = net.get('a');
  assert.equal(a.appliedIndex, 4);
  a.appliedIndex = 2;
  a.applied.length = 1;
  a.restart();
  const rd = a.node.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [3, 4],
  );
  a.node.advance(rd);
});

test('a restarted member keeps its vote for the term and will not vote twice', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false });
  net.elect('a');
  const c = net.get('c');
  assert.equal(c.node.status().vote, 'a');
  c.restart();
  assert.equal(c.node.status().vote, 'a');
  assert.equal(c.node.status().term, 1);
});

test('a member restarted from a compacted log serves the snapshot to a new follower', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
  net.tickAll(1);
  for (const id of ['a', 'b', 'c']) net.snapshotAndCompact(id);
  for (const m of net.members.values()) m.restart();
  net.tickUntil(() => net.leaders().length === 1, 200);
  assert.deepEqual(appliedTexts(net.get('b')), ['v0', 'v1', 'v2', 'v3', 'v4']);
  const [leader] = net.leaders();
  net.propose(leader!, 'more');
  net.tickAll(1);
  for (const m of net.members.values()) assert.equal(appliedTexts(m).length, 6, m.id);
});

test('a restart whose applied index is past the unsynced commit index on disk trusts what was applied', () => {
  const net = new Network(['a']);
  net.elect('a');
  for (const t of ['x', 'y']) net.propose('a', t);
  const a = net.get('a');
  assert.equal(a.appliedIndex, 3);
  // The last commit-only hard state was lost in the crash; the log and applied state were not.
  a.storage.setHardState({ term: 1, vote: 'a', commit: 1 });
  a.restart();
  assert.equal(a.node.status().commit, 3);
  assert.equal(a.node.status().applied, 3);
  // Nothing is handed out to apply a second time.
  assert.equal(a.node.hasReady(), false);
});

test('a cluster restored from a snapshot of a later term campaigns above that term', () => {
  const confState = { voters: ['a', 'b', 'c'], learners: [] };
  const net = new Network(['a', 'b', 'c']);
  for (const id of ['a', 'b', 'c']) {
    const m = net.get(id);
    m.storage.applySnapshot({ metadata: { index: 10, term: 5, confState }, data: [] });
    m.appliedIndex = 10;
    m.restart();
    assert.equal(m.node.status().term, 5, id);
  }
  net.elect('a');
  assert.equal(net.get('a').node.status().term, 6);
  net.propose('a', 'after-restore');
  net.tickAll(1);
  for (const id of ['a', 'b', 'c']) {
    assert.equal(net.get(id).storage.term(12), 6, id);
    assert.deepEqual(appliedTexts(net.get(id)), ['after-restore'], id);
  }
});
