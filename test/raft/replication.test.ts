import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, MessageType, ProgressState, Role, message } from '../../src/raft/index.js';
import { appliedTexts, bytes, Network, persistedTerms, preload } from './network.js';

test('a committed entry is applied by every member in the same order', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  for (const t of ['x', 'y', 'z']) net.propose('a', t);
  // Followers learn the final commit index from the next heartbeat.
  net.tickAll(2);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(appliedTexts(net.get(id)), ['x', 'y', 'z'], id);
});

test('a follower forwards a proposal to the leader', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('b', 'from-b');
  net.tickAll(2);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(appliedTexts(net.get(id)), ['from-b'], id);
});

test('a proposal without a leader is dropped with ProposalDroppedError', () => {
  const net = new Network(['a', 'b', 'c']);
  assert.throws(() => net.get('a').node.propose(bytes('x')), { name: 'ProposalDroppedError' });
});

test('an entry is not committed until a majority stores it', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('a');
  net.propose('a', 'x');
  assert.equal(net.get('a').node.status().commit, 1);
  net.heal();
  net.tickAll(1);
  assert.equal(net.get('a').node.status().commit, 2);
});

test('the leader repairs followers whose logs are missing, longer or conflicting (Raft figure 7)', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const net = new Network(ids, { preVote: false, checkQuorum: false });
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  preload(net, 'a', leaderLog, 7);
  preload(net, 'b', [1, 1, 1, 4, 4, 5, 5, 6, 6], 6);
  preload(net, 'c', [1, 1, 1, 4], 4);
  preload(net, 'd', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], 6);
  preload(net, 'e', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], 7);
  preload(net, 'f', [1, 1, 1, 4, 4, 4, 4], 4);
  preload(net, 'g', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 3);
  net.elect('a');
  assert.equal(net.get('a').role(), Role.Leader);
  net.tickAll(3);
  const want = [...leaderLog, 8];
  for (const id of ids) assert.deepEqual(persistedTerms(net.get(id)), want, id);
  for (const id of ids) assert.equal(net.get(id).node.status().commit, 11, id);
  // Fast back-off: g's conflicting suffix (terms 2 and 3) costs one rejection, not eight.
  const rejectsFromG = net.sent.filter((m) => m.type === MessageType.AppResp && m.from === 'g' && m.reject);
  assert.equal(rejectsFromG.length, 1);
});

test('a follower rejects an append whose previous term does not match and hints where to resume', () => {
  const net = new Network(['a', 'b']);
  const b = preload(net, 'b', [1, 1, 2, 2, 2], 2);
  b.node.step(message({ type: MessageType.App, from: 'a', to: 'b', term: 3, index: 5, logTerm: 3, commit: 0 }));
  net.process('b');
  const resp = net.queue.find((m) => m.type === MessageType.AppResp)!;
  assert.equal(resp.reject, true);
  assert.equal(resp.index, 5);
  // Largest index whose term is <= 3 is 5 itself, with term 2.
  assert.equal(resp.rejectHint, 5);
  assert.equal(resp.logTerm, 2);
});

/** Figure 8 (c): s1 leads; index 2 of term 2 reaches a majority but its own no-op does not. */
function figure8(knob: boolean): Network {
  const ids = ['s1', 's2', 's3', 's4', 's5'];
  const net = new Network(ids, {
    preVote: false,
    checkQuorum: false,
    testingKnobs: { commitEntriesFromPriorTermsByCounting: knob },
  });
  // s1 and s2 hold index 2 from term 2; s5 holds index 2 from term 3.
  preload(net, 's1', [1, 2], 4, 1);
  preload(net, 's2', [1, 2], 4, 1);
  preload(net, 's3', [1], 4, 1);
  preload(net, 's4', [1], 4, 1);
  preload(net, 's5', [1, 3], 4, 1);
  net.cutLink('s1', 's4');
  net.cutLink('s1', 's5');
  // s1 replicates only what it had (index 2) to s3, never its new no-op at index 3.
  net.rewrite = (m) => (m.type === MessageType.App ? { ...m, entries: m.entries.filter((e) => e.index <= 2) } : m);
  net.elect('s1');
  assert.equal(net.get('s1').role(), Role.Leader);
  assert.equal(net.get('s3').storage.term(2), 2, 'index 2 of term 2 now sits on a majority (s1, s2, s3)');
  // Figure 8 (d): s1 is gone; s5, whose last term is 3, can win with s2, s3 and s4.
  net.heal();
  net.isolate('s1');
  return net;
}

test('an entry from an earlier term is never committed by counting replicas (Raft figure 8)', () => {
  const net = figure8(false);
  assert.equal(net.get('s1').node.status().commit, 1);
  net.get('s5').node.campaign();
  net.stabilize();
  net.get('s5').node.campaign();
  net.stabilize();
  assert.equal(net.get('s5').role(), Role.Leader);
  net.tickAll(2);
  // s5 overwrote index 2 everywhere, which is safe only because s1 never committed it.
  for (const id of ['s2', 's3', 's4', 's5']) assert.equal(net.get(id).storage.term(2), 3, id);
  assert.equal(net.get('s5').node.status().commit, 3);
});

test('the unsafe testing knob commits an earlier-term entry that a later leader can overwrite', () => {
  const net = figure8(true);
  assert.equal(net.get('s1').node.status().commit, 2, 's1 counted replicas of a term-2 entry');
  // s5 still wins an election although its log lacks the entry s1 "committed".
  net.filters.push((m) => m.type === MessageType.App);
  net.get('s5').node.campaign();
  net.stabilize();
  net.get('s5').node.campaign();
  net.stabilize();
  assert.equal(net.get('s5').role(), Role.Leader);
  assert.notEqual(net.get('s5').storage.term(2), net.get('s1').storage.term(2));
});

test('proposals made between two Readies are persisted once and travel in one App per follower', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.tickAll(1);
  const a = net.get('a');
  for (let i = 0; i < 100; i++) a.node.propose(bytes(`v${i}`));
  const rd = a.node.ready();
  assert.equal(rd.entries.length, 100);
  assert.equal(rd.mustSync, true);
  const apps = rd.messages.filter((m) => m.type === MessageType.App);
  assert.deepEqual(apps.map((m) => m.to).sort(), ['b', 'c']);
  for (const m of apps) assert.equal(m.entries.length, 100);
  // The App carries the very Uint8Array that was proposed: entry data is never copied.
  assert.equal(apps[0]!.entries[0]!.data, rd.entries[0]!.data);
  a.storage.append(rd.entries);
  if (rd.hardState) a.storage.setHardState(rd.hardState);
  for (const m of rd.messages) net.queue.push(m);
  a.node.advance(rd);
  net.stabilize();
  net.tickAll(1);
  assert.equal(appliedTexts(net.get('c')).length, 100);
  // The follower persisted the whole batch in one Ready too.
  assert.ok(net.get('b').persists <= 3, `b persisted ${net.get('b').persists} times`);
});

test('an App carries at most maxSizePerMsg bytes of entries', () => {
  const net = new Network(['a', 'b'], { maxSizePerMsg: 10 });
  net.elect('a');
  const a = net.get('a');
  net.tickAll(1);
  for (let i = 0; i < 10; i++) a.node.propose(bytes('12345'));
  net.process('a');
  // Replicating: the whole batch goes out at once, split by size, up to the inflight window.
  const apps = net.queue.filter((m) => m.type === MessageType.App && m.to === 'b');
  assert.equal(apps.length, 5);
  for (const m of apps) assert.ok(m.entries.length <= 2);
  net.stabilize();
  net.tickAll(1);
  assert.equal(appliedTexts(net.get('b')).length, 10);
});

test('the leader pauses a follower when its inflight window is full and resumes as acks arrive', () => {
  const net = new Network(['a', 'b', 'c'], { maxInflightMsgs: 3 });
  net.elect('a');
  net.tickAll(1);
  const a = net.get('a');
  assert.equal(a.node.status().progress!.get('b')!.state, ProgressState.Replicate);
  // Ten separate Readies, no delivery: b's Apps pile up unacknowledged.
  for (let i = 0; i < 10; i++) {
    a.node.propose(bytes(`v${i}`));
    net.process('a');
  }
  const appsToB = net.queue.filter((m) => m.type === MessageType.App && m.to === 'b');
  assert.equal(appsToB.length, 3);
  // Acks free the window; the rest goes out and b catches up.
  net.stabilize();
  net.tickAll(1);
  assert.equal(appliedTexts(net.get('b')).length, 10);
  assert.equal(a.node.status().progress!.get('b')!.match, 11);
});

test('a follower whose Apps were lost is probed again after a heartbeat and catches up', () => {
  const net = new Network(['a', 'b', 'c'], { maxInflightMsgs: 2 });
  net.elect('a');
  net.tickAll(1);
  net.filters.push((m) => m.type === MessageType.App && m.to === 'b');
  for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
  net.heal();
  net.tickUntil(() => appliedTexts(net.get('b')).length === 5, 50);
  assert.deepEqual(appliedTexts(net.get('b')), ['v0', 'v1', 'v2', 'v3', 'v4']);
});

test('reportUnreachable moves a replicating follower back to probing', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.tickAll(1);
  const a = net.get('a');
  assert.equal(a.node.status().progress!.get('b')!.state, ProgressState.Replicate);
  a.node.reportUnreachable('b');
  assert.equal(a.node.status().progress!.get('b')!.state, ProgressState.Probe);
});

test('a caught-up follower moved to probing returns to replicating after the next heartbeat', () => {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.tickAll(1);
  const a = net.get('a');
  a.node.reportUnreachable('b');
  assert.equal(a.node.status().progress!.get('b')!.state, ProgressState.Probe);
  net.tickAll(2);
  assert.equal(a.node.status().progress!.get('b')!.state, ProgressState.Replicate);
});

test('a duplicated old rejection does not set back a follower that has caught up', () => {
  const net = new Network(['a', 'b']);
  net.elect('a');
  for (let i = 0; i < 3; i++) net.propose('a', `v${i}`);
  net.tickAll(1);
  const a = net.get('a');
  const before = a.node.status().progress!.get('b')!;
  assert.equal(before.match, 4);
  a.node.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 1, index: 2, reject: true, rejectHint: 1 }));
  net.process('a');
  const after = a.node.status().progress!.get('b')!;
  assert.equal(after.state, ProgressState.Replicate);
  assert.equal(after.next, before.next);
  assert.equal(net.queue.filter((m) => m.type === MessageType.App).length, 0);
});

test('a leader cut off from its quorum drops proposals once too much data is uncommitted, and takes them again after commit', () => {
  const net = new Network(['a', 'b', 'c'], { checkQuorum: false, maxUncommittedEntriesSize: 100 });
  net.elect('a');
  const a = net.get('a');
  net.isolate('a');
  const payload = new Uint8Array(30);
  let accepted = 0;
  for (let i = 0; i < 10; i++) {
    try {
      a.node.propose(payload);
      accepted++;
    } catch (e) {
      assert.equal((e as Error).name, 'ProposalDroppedError');
    }
  }
  assert.equal(accepted, 3, '3 x 30 bytes fit under 100, the fourth does not');
  net.heal();
  net.stabilize();
  net.tickAll(2);
  a.node.propose(payload);
});

test('an acknowledgement is never sent for entries a newer leader replaced before they were persisted', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
  const c = preload(net, 'c', [1], 1, 1);
  // Between two Readies c accepts an entry from the leader of term 2, then a leader of term 3
  // replaces it.
  c.node.step(message({ type: MessageType.App, from: 'a', to: 'c', term: 2, index: 1, logTerm: 1, entries: [{ term: 2, index: 2, type: EntryType.Normal, data: bytes('old') }] }));
  c.node.step(message({ type: MessageType.App, from: 'b', to: 'c', term: 3, index: 1, logTerm: 1, entries: [{ term: 3, index: 2, type: EntryType.Normal, data: bytes('new') }] }));
  const rd = c.node.ready();
  assert.deepEqual(rd.entries.map((e) => e.term), [3]);
  const acks = rd.messages.filter((m) => m.type === MessageType.AppResp && !m.reject);
  assert.deepEqual(acks.map((m) => [m.to, m.term, m.index]), [['b', 3, 2]]);
  c.node.advance(rd);
});
