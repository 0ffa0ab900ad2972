import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import { COMMIT_DELAY_MS, PeerTraffic } from '../../src/server/peer-traffic.js';
import type { PeerTransport } from '../../src/transport/peer-transport.js';

function setup() {
  const sent: Message[][] = [];
  const delivered: Message[][] = [];
  const snapshots: Message[] = [];
  const transport = { send: (ms: readonly Message[]) => sent.push([...ms]) } as unknown as PeerTransport;
  const traffic = new PeerTraffic(transport, { deliver: (ms) => delivered.push([...ms]), sendSnapshot: (m) => snapshots.push(m) });
  return { traffic, sent, delivered, snapshots };
}

const app = (to: string, commit: number) => message({ type: MessageType.App, from: 'a', to, term: 1, commit });
const commit = (to: string, c: number) => message({ type: MessageType.Commit, from: 'a', to, term: 1, index: c, logTerm: 1, commit: c });

test('messages that arrive while a Ready is handled are delivered after it, together and in order', () => {
  const { traffic, delivered } = setup();
  traffic.receive([app('b', 1)]);
  assert.equal(delivered.length, 1);
  traffic.setHolding(true);
  traffic.receive([app('b', 2)]);
  traffic.receive([app('b', 3)]);
  traffic.deliverHeld();
  assert.equal(delivered.length, 1, 'nothing is delivered while holding');
  traffic.setHolding(false);
  traffic.deliverHeld();
  assert.deepEqual(delivered.slice(1).map((b) => b.map((m) => m.commit)), [[2, 3]]);
});

test('a Commit waits briefly and is dropped when an App to the same follower carries the commit first', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { traffic, sent } = setup();
    traffic.send([commit('b', 5), commit('c', 5)]);
    assert.equal(sent.length, 0, 'Commits are not written at once');
    traffic.send([app('b', 5)]);
    mock.timers.tick(COMMIT_DELAY_MS);
    assert.deepEqual(sent.map((batch) => batch.map((m) => `${m.type}>${m.to}`)), [['App>b'], ['Commit>c']]);
  } finally {
    mock.timers.reset();
  }
});

test('snapshots are streamed, and a closed traffic sends and delivers nothing more', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { traffic, sent, delivered, snapshots } = setup();
    traffic.send([message({ type: MessageType.Snap, from: 'a', to: 'b', term: 1 }), app('c', 1)]);
    assert.equal(snapshots.length, 1);
    assert.deepEqual(sent.map((batch) => batch.map((m) => m.type)), [[MessageType.App]]);
    traffic.send([commit('b', 2)]);
    traffic.close();
    mock.timers.tick(COMMIT_DELAY_MS);
    traffic.send([app('b', 3)]);
    traffic.receive([app('a', 3)]);
    assert.equal(sent.length, 1);
    assert.equal(delivered.length, 0);
  } finally {
    mock.timers.reset();
  }
});
