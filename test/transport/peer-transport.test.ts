import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EntryType, MessageType, message, type Message } from '../../src/raft/types.js';
import { AddressInUseError, PeerTransport, probeCluster, type PeerTransportHandlers } from '../../src/transport/peer-transport.js';
import { freePorts } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';

const CLUSTER = '1111111111111111';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

interface Recorder extends PeerTransportHandlers {
  received: Message[];
  logs: string[];
  unreachable: string[];
  snapshots: { msg: Message; sha: string; bytes: number }[];
}

function recorder(overrides: Partial<PeerTransportHandlers> = {}): Recorder {
  const r: Recorder = {
    received: [],
    logs: [],
    unreachable: [],
    snapshots: [],
    onMessages: (ms) => r.received.push(...ms),
    onSnapshot: async (msg, data) => {
      const h = createHash('sha256');
      let bytes = 0;
      for await (const chunk of data) {
        h.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        // A slow consumer: backpressure must hold the sender, not buffer the whole file.
        await nextTurn();
      }
      r.snapshots.push({ msg, sha: h.digest('hex'), bytes });
    },
    onUnreachable: (id) => r.unreachable.push(id),
    refusalFor: () => undefined,
    probe: () => ({ clusterId: CLUSTER, members: [{ id: A, name: 'a', peerURLs: [], clientURLs: [], isLearner: false }] }),
    log: (l) => r.logs.push(l),
    ...overrides,
  };
  return r;
}

async function pair(opts: { clusterB?: string; handlersB?: Partial<PeerTransportHandlers> } = {}) {
  const [pa, pb] = await freePorts(2);
  const ua = `http://127.0.0.1:${pa}`;
  const ub = `http://127.0.0.1:${pb}`;
  const ra = recorder();
  const rb = recorder(opts.handlersB);
  const ta = new PeerTransport({ clusterId: CLUSTER, memberId: A, listenUrls: [ua], handlers: ra });
  const tb = new PeerTransport({ clusterId: opts.clusterB ?? CLUSTER, memberId: B, listenUrls: [ub], handlers: rb });
  await ta.start();
  await tb.start();
  ta.setPeer(B, [ub]);
  tb.setPeer(A, [ua]);
  return { ta, tb, ra, rb, ua, ub, close: async () => { await ta.close(); await tb.close(); } };
}

test('messages sent to a peer arrive in order, many per write', async () => {
  const { ta, rb, close } = await pair();
  try {
    for (let round = 0; round < 50; round++) {
      const batch: Message[] = [];
      for (let i = 0; i < 20; i++) {
        const n = round * 20 + i;
        batch.push(message({ type: MessageType.App, from: A, to: B, term: 1, index: n, entries: [{ term: 1, index: n + 1, type: EntryType.Normal, data: Buffer.from(`v${n}`) }] }));
      }
      ta.send(batch);
      await nextTurn();
    }
    await waitFor('1000 messages at B', () => rb.received.length >= 1000);
    const indexes = rb.received.map((m) => m.index);
    assert.deepEqual(indexes, [...indexes].sort((x, y) => x - y));
    assert.equal(Buffer.from(rb.received.at(-1)!.entries[0]!.data).toString(), 'v999');
  } finally {
    await close();
  }
});

test('a member of another cluster is refused and the refusal is logged on both sides', async () => {
  const { ta, ra, rb, close } = await pair({ clusterB: '2222222222222222' });
  try {
    await waitFor('a refusal logged', () => {
      ta.send([message({ type: MessageType.Heartbeat, from: A, to: B, term: 1 })]);
      return rb.logs.some((l) => l.includes('cluster ID mismatch')) && ra.logs.some((l) => l.includes('refused'));
    });
    assert.equal(rb.received.length, 0);
  } finally {
    await close();
  }
});

test('a removed member is refused with the reason the member gives', async () => {
  const { ta, ra, rb, close } = await pair({ handlersB: { refusalFor: (id) => (id === A ? `member ${id} was removed from the cluster` : undefined) } });
  try {
    await waitFor('the refusal reaches A', () => {
      ta.send([message({ type: MessageType.Heartbeat, from: A, to: B, term: 1 })]);
      return ra.logs.some((l) => l.includes('was removed'));
    });
    assert.equal(rb.received.length, 0);
  } finally {
    await close();
  }
});

test('a peer that is down is reported unreachable and reached once it is up', async () => {
  const [pb] = await freePorts(1);
  const ub = `http://127.0.0.1:${pb}`;
  const ra = recorder();
  const ta = new PeerTransport({ clusterId: CLUSTER, memberId: A, listenUrls: [`http://127.0.0.1:${(await freePorts(1))[0]}`], handlers: ra });
  await ta.start();
  ta.setPeer(B, [ub]);
  const rb = recorder();
  const tb = new PeerTransport({ clusterId: CLUSTER, memberId: B, listenUrls: [ub], handlers: rb });
  try {
    await waitFor('B reported unreachable', () => {
      ta.send([message({ type: MessageType.Heartbeat, from: A, to: B, term: 1 })]);
      return ra.unreachable.includes(B);
    });
    await tb.start();
    await waitFor('a heartbeat at B after it started', () => {
      ta.send([message({ type: MessageType.Heartbeat, from: A, to: B, term: 1 })]);
      return rb.received.length > 0;
    });
  } finally {
    await ta.close();
    await tb.close();
  }
});

test('a large snapshot streams to the peer intact and the sender learns it was stored', async () => {
  const { ta, rb, close } = await pair();
  try {
    const total = 32 * 1024 * 1024;
    const chunk = 256 * 1024;
    const sent = createHash('sha256');
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) {
          this.push(null);
          return;
        }
        const b = Buffer.alloc(chunk, produced / chunk);
        sent.update(b);
        produced += chunk;
        this.push(b);
      },
    });
    const snap = message({ type: MessageType.Snap, from: A, to: B, term: 3, snapshot: { metadata: { index: 100, term: 3, confState: { voters: [A, B], learners: [] } } } });
    await ta.sendSnapshot(snap, source);
    assert.equal(rb.snapshots.length, 1);
    assert.equal(rb.snapshots[0]!.bytes, total);
    assert.equal(rb.snapshots[0]!.sha, sent.digest('hex'));
    assert.equal(rb.snapshots[0]!.msg.snapshot?.metadata.index, 100);
  } finally {
    await close();
  }
});

test('a snapshot the receiver refuses makes the send fail', async () => {
  const { ta, close } = await pair({
    handlersB: {
      onSnapshot: async (_m, data) => {
        for await (const _ of data) {
          /* drain */
        }
        throw new Error('checksum mismatch');
      },
    },
  });
  try {
    const snap = message({ type: MessageType.Snap, from: A, to: B, term: 3, snapshot: { metadata: { index: 5, term: 3, confState: { voters: [A, B], learners: [] } } } });
    await assert.rejects(ta.sendSnapshot(snap, Readable.from([Buffer.from('not a snapshot')])), /checksum mismatch/);
  } finally {
    await close();
  }
});

test('a joining member learns the cluster ID and members through a probe', async () => {
  const { ua, close } = await pair();
  try {
    const answer = await probeCluster(ua, 10_000);
    assert.equal(answer.clusterId, CLUSTER);
    assert.equal(answer.members[0]!.id, A);
  } finally {
    await close();
  }
});

test('listening on a busy port fails with the address named', async () => {
  const { ua, close } = await pair();
  try {
    const t = new PeerTransport({ clusterId: CLUSTER, memberId: A, listenUrls: [ua], handlers: recorder() });
    await assert.rejects(t.start(), (err: unknown) => err instanceof AddressInUseError && err.url === ua);
    await t.close();
  } finally {
    await close();
  }
});
