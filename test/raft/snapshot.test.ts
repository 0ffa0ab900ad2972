import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, ProgressState, message } from '../../src/raft/index.js';
import { appliedTexts, Network, preload } from './network.js';

function lagBehindCompaction(): Network {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
  net.tickAll(1);
  // The leader snapshots what it applied and drops the log c would need.
  net.snapshotAndCompact('a');
  assert.equal(net.get('a').storage.firstIndex(), 12);
  return net;
}

test('a follower whose next index was compacted receives a snapshot and catches up', () => {
  const net = lagBehindCompaction();
  net.heal();
  net.tickUntil(() => appliedTexts(net.get('c')).length === 10, 50);
  const c = net.get('c');
  assert.equal(c.snapshotsApplied, 1);
  assert.equal(net.sentOf(MessageType.Snap, 'c').length, 1);
  assert.equal(c.storage.firstIndex(), 12);
  // Entries after the snapshot arrive as ordinary Apps.
  net.propose('a', 'after');
  net.tickAll(1);
  assert.deepEqual(appliedTexts(c), [...Array.from({ length: 10 }, (_, i) => `v${i}`), 'after']);
  assert.equal(net.get('a').node.status().progress!.get('c')!.state, ProgressState.Replicate);
});

test('the leader waits in the snapshot state until the send is reported, then probes again', () => {
  const net = lagBehindCompaction();
  net.heal();
  // The snapshot is lost in transit.
  net.filters.push((m) => m.type === MessageType.Snap);
  net.tickUntil(() => net.sentOf(MessageType.Snap, 'c').length > 0, 50);
  const a = net.get('a');
  assert.equal(a.node.status().progress!.get('c')!.state, ProgressState.Snapshot);
  net.tickAll(5);
  assert.equal(net.sentOf(MessageType.Snap, 'c').length, 1, 'no new snapshot while one is outstanding');
  net.heal();
  a.node.reportSnapshot('c', false);
  assert.equal(a.node.status().progress!.get('c')!.state, ProgressState.Probe);
  net.tickUntil(() => appliedTexts(net.get('c')).length === 10, 50);
  assert.equal(net.sentOf(MessageType.Snap, 'c').length, 2);
});

test('a follower ignores a snapshot older than its commit index', () => {
  const net = new Network(['a', 'b']);
  const b = preload(net, 'b', [1, 1, 1], 1, 3);
  b.node.step(
    message({
      type: MessageType.Snap,
      from: 'a',
      to: 'b',
      term: 1,
      snapshot: { metadata: { index: 2, term: 1, confState: { voters: ['a', 'b'], learners: [] } } },
    }),
  );
  const rd = b.node.ready();
  assert.equal(rd.snapshot, undefined);
  const resp = rd.messages.find((m) => m.type === MessageType.AppResp)!;
  assert.equal(resp.index, 3);
  b.node.advance(rd);
});

test('a follower that already holds the snapshot index fast-forwards commit instead of restoring', () => {
  const net = new Network(['a', 'b']);
  const b = preload(net, 'b', [1, 1, 1], 1, 0);
  b.node.step(
    message({
      type: MessageType.Snap,
      from: 'a',
      to: 'b',
      term: 1,
      snapshot: { metadata: { index: 2, term: 1, confState: { voters: ['a', 'b'], learners: [] } } },
    }),
  );
  const rd = b.node.ready();
  assert.equal(rd.snapshot, undefined);
  assert.equal(b.node.status().commit, 2);
  b.node.advance(rd);
});

test('a follower refuses a snapshot whose configuration does not include it', () => {
  const net = new Network(['a', 'b']);
  const b = net.get('b');
  b.node.step(
    message({
      type: MessageType.Snap,
      from: 'a',
      to: 'b',
      term: 1,
      snapshot: { metadata: { index: 5, term: 1, confState: { voters: ['a'], learners: [] } } },
    }),
  );
  const rd = b.node.ready();
  assert.equal(rd.snapshot, undefined);
  b.node.advance(rd);
});

test('a restored snapshot is persisted before the acknowledgement and applied before later entries', () => {
  const net = lagBehindCompaction();
  net.heal();
  const c = net.get('c');
  const a = net.get('a');
  a.node.tick();
  net.process('a');
  // Deliver until the Snap is in c's hands, then inspect c's Ready by hand.
  while (!net.queue.some((m) => m.type === MessageType.Snap)) net.deliverOne() ?? net.tick('a');
  const snapMsg = net.queue.find((m) => m.type === MessageType.Snap)!;
  net.queue = net.queue.filter((m) => m !== snapMsg);
  c.node.step(snapMsg);
  const rd = c.node.ready();
  assert.equal(rd.snapshot?.metadata.index, 11);
  assert.equal(rd.mustSync, true);
  assert.equal(rd.committedEntries.length, 0);
  assert.ok(rd.messages.some((m) => m.type === MessageType.AppResp && m.index === 11));
  c.storage.applySnapshot(rd.snapshot!);
  if (rd.hardState) c.storage.setHardState(rd.hardState);
  c.node.advance(rd);
  assert.equal(c.node.status().applied, 11);
});

test('a leader whose snapshot report was lost learns from heartbeat answers that the snapshot arrived', () => {
  const net = lagBehindCompaction();
  net.heal();
  net.reportSnapshots = false;
  const c = net.get('c');
  // c's acknowledgement of the snapshot is lost too: only heartbeats can tell.
  let ackLost = false;
  net.filters.push((m) => {
    if (ackLost || m.type !== MessageType.AppResp || m.from !== 'c' || c.snapshotsApplied === 0) return false;
    ackLost = true;
    return true;
  });
  net.tickUntil(() => ackLost, 50);
  assert.equal(net.get('a').node.status().progress!.get('c')!.state, ProgressState.Snapshot);
  net.tickUntil(() => appliedTexts(c).length === 10 && net.get('a').node.status().progress!.get('c')!.state === ProgressState.Replicate, 50);
  assert.equal(net.sentOf(MessageType.Snap, 'c').length, 1);
});

test('a snapshot that arrives after the leader compacted further is followed by a newer one', () => {
  const net = lagBehindCompaction();
  net.heal();
  net.reportSnapshots = false;
  const a = net.get('a');
  const c = net.get('c');
  // Hold the first snapshot in flight while the leader moves on and compacts again.
  net.tick('a', 1);
  while (!net.queue.some((m) => m.type === MessageType.Snap)) net.deliverOne() ?? net.tick('a');
  const held = net.queue.find((m) => m.type === MessageType.Snap)!;
  net.queue = net.queue.filter((m) => m !== held);
  net.isolate('c');
  for (let i = 0; i < 3; i++) net.propose('a', `w${i}`);
  net.tickAll(1);
  net.snapshotAndCompact('a');
  net.heal();
  net.queue.push(held);
  net.stabilize();
  net.tickUntil(() => appliedTexts(c).length === 13, 50);
  assert.equal(net.sentOf(MessageType.Snap, 'c').length, 2);
  assert.equal(a.node.status().progress!.get('c')!.state, ProgressState.Replicate);
});
