// The client against small fake servers: failover, leader discovery, timeouts, and what it
// refuses to retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { startHttpApi, type HttpApiServer } from '../../src/server/http-api.js';
import { NoLeaderError, RequestTimeoutError } from '../../src/server/server-errors.js';
import { LifeboatClient } from '../../src/client/lifeboat-client.js';
import { EtcdApiError } from '../../src/client/client-errors.js';
import { ClusterUnavailableError, ExitCode, IntegrityError, UsageError } from '../../src/errors.js';
import { parseEndpoints } from '../../src/client/endpoints.js';
import { memberIdToDecimal, prefixEnd } from '../../src/client/client-types.js';
import { FakeMember, fakeSnapshotHeader } from '../api/fake-member.js';

/** A URL on which nothing listens (a port bound and released). */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A server that accepts requests and never answers. */
async function hangingServer(): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req) => {
    seen.push(req.url ?? '');
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, seen };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function startFakes(n: number): Promise<{ members: FakeMember[]; apis: HttpApiServer[] }> {
  const members: FakeMember[] = [];
  const apis: HttpApiServer[] = [];
  for (let i = 0; i < n; i++) {
    const member = new FakeMember({ memberId: `10000000000000${String(i + 1).padStart(2, '0')}` });
    members.push(member);
    apis.push(await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} }));
  }
  return { members, apis };
}

test('reads and writes fail over past an endpoint that refuses connections', async () => {
  const dead = await deadEndpoint();
  const { members, apis } = await startFakes(1);
  const client = new LifeboatClient([dead, apis[0]!.url], { timeoutMs: 2000 });
  try {
    const put = await client.put('k', 'v');
    assert.equal(put.header.revision, 2);
    const got = await client.range('k');
    assert.equal(got.kvs[0]!.value.toString(), 'v');
    assert.deepStrictEqual(members[0]!.calls, ['write:put', 'read:range:linearizable']);
  } finally {
    client.close();
    await apis[0]!.close();
  }
});

test('the client finds the leader by itself and sends writes there first', async () => {
  const { members, apis } = await startFakes(3);
  // Member 3 is the leader; all three say so.
  for (const m of members) {
    const status = m.status.bind(m);
    m.status = async () => {
      const s = await status();
      return { ...s, status: { ...s.status, leader: members[2]!.memberId } };
    };
  }
  const client = new LifeboatClient(apis.map((a) => a.url), { timeoutMs: 2000 });
  try {
    const leader = await client.findLeader();
    assert.equal(leader?.endpoint, apis[2]!.url);
    await client.put('a', '1');
    assert.deepStrictEqual(members[2]!.calls, ['write:put']);
    assert.deepStrictEqual(members[0]!.calls, []);
  } finally {
    client.close();
    await Promise.all(apis.map((a) => a.close()));
  }
});

test('a read that times out on one endpoint is retried on the next', async () => {
  const hanging = await hangingServer();
  const { members, apis } = await startFakes(1);
  const client = new LifeboatClient([hanging.url, apis[0]!.url], { timeoutMs: 300, deadlineMs: 20_000 });
  try {
    const got = await client.range('missing');
    assert.equal(got.count, 0);
    assert.deepStrictEqual(hanging.seen, ['/v3/kv/range']);
    assert.deepStrictEqual(members[0]!.calls, ['read:range:linearizable']);
  } finally {
    client.close();
    await apis[0]!.close();
    await closeServer(hanging.server);
  }
});

test('a write that timed out is reported as possibly applied and never sent to another member', async () => {
  const hanging = await hangingServer();
  const { members, apis } = await startFakes(1);
  // A single endpoint skips leader discovery, so the write goes straight to the hanging one.
  const client = new LifeboatClient([hanging.url], { timeoutMs: 300 });
  const other = new LifeboatClient([hanging.url, apis[0]!.url], { timeoutMs: 300 });
  try {
    await assert.rejects(client.put('k', 'v'), (err: unknown) => {
      assert.ok(err instanceof ClusterUnavailableError);
      assert.equal(err.exitCode, ExitCode.clusterUnavailable);
      assert.match(err.message, /may or may not have been applied/);
      assert.match(err.message, new RegExp(hanging.url.replace(/[.:/]/g, '\\$&')));
      return true;
    });
    // The live member knows no leader, so discovery leaves the hanging endpoint first in line;
    // the write times out there and must not be repeated on the live one.
    const status = members[0]!.status.bind(members[0]!);
    members[0]!.status = async () => {
      const s = await status();
      return { ...s, status: { ...s.status, leader: '' } };
    };
    await assert.rejects(other.put('k', 'v'), /may or may not have been applied/);
    assert.deepStrictEqual(members[0]!.calls.filter((c) => c.startsWith('write')), []);
  } finally {
    client.close();
    other.close();
    await apis[0]!.close();
    await closeServer(hanging.server);
  }
});

test('a member that answers "no leader" is skipped for writes too, since nothing was proposed', async () => {
  const { members, apis } = await startFakes(2);
  members[0]!.write = async () => { throw new NoLeaderError(); };
  const client = new LifeboatClient(apis.map((a) => a.url), { timeoutMs: 2000 });
  try {
    const put = await client.put('k', 'v');
    assert.equal(put.header.memberId, BigInt('0x' + members[1]!.memberId).toString());
  } finally {
    client.close();
    await Promise.all(apis.map((a) => a.close()));
  }
});

test('a member that answers "request timed out" to a write is not retried elsewhere', async () => {
  const { members, apis } = await startFakes(2);
  members[0]!.write = async () => { throw new RequestTimeoutError(); };
  const client = new LifeboatClient([apis[0]!.url], { timeoutMs: 2000 });
  try {
    await assert.rejects(client.put('k', 'v'), (err: unknown) => err instanceof ClusterUnavailableError && /request timed out.*may or may not/.test(err.message));
  } finally {
    client.close();
    await Promise.all(apis.map((a) => a.close()));
  }
});

test('when no endpoint answers, the error names every endpoint and exits with code 3', async () => {
  const dead1 = await deadEndpoint();
  const dead2 = await deadEndpoint();
  const client = new LifeboatClient([dead1, dead2], { timeoutMs: 500, deadlineMs: 1500 });
  try {
    await assert.rejects(client.range('k'), (err: unknown) => {
      assert.ok(err instanceof ClusterUnavailableError);
      assert.equal(err.exitCode, 3);
      assert.ok(err.message.includes(dead1) && err.message.includes(dead2), err.message);
      assert.ok(err.hint.includes(dead1) && err.hint.includes(dead2), err.hint);
      return true;
    });
  } finally {
    client.close();
  }
});

test('a definite answer such as a compacted revision is returned at once, not retried elsewhere', async () => {
  const { members, apis } = await startFakes(2);
  const client = new LifeboatClient(apis.map((a) => a.url), { timeoutMs: 2000 });
  try {
    await client.put('k', '1');
    await client.put('k', '2');
    await client.compact(3);
    await assert.rejects(client.range('k', { revision: 2 }), (err: unknown) => err instanceof EtcdApiError && err.grpcCode === 11 && /compacted/.test(err.message));
    assert.equal(members[1]!.calls.filter((c) => c.startsWith('read')).length, 0);
  } finally {
    client.close();
    await Promise.all(apis.map((a) => a.close()));
  }
});

test('range by prefix, keys only and count only decode etcd JSON into buffers and numbers', async () => {
  const { apis } = await startFakes(1);
  const client = new LifeboatClient(apis[0]!.url);
  try {
    await client.put('p/a', 'A');
    await client.put('p/b', Buffer.from([0, 255]));
    await client.put('q', 'Q');
    const all = await client.range('p/', { prefix: true });
    assert.deepStrictEqual(all.kvs.map((kv) => kv.key.toString()), ['p/a', 'p/b']);
    assert.deepStrictEqual(all.kvs[1]!.value, Buffer.from([0, 255]));
    assert.equal(all.kvs[0]!.createRevision, 2);
    const keys = await client.range('p/', { prefix: true, keysOnly: true, limit: 1 });
    assert.equal(keys.kvs[0]!.value.length, 0);
    assert.equal(keys.more, true);
    assert.equal(keys.count, 2);
    const counted = await client.range('p/', { prefix: true, countOnly: true });
    assert.deepStrictEqual([counted.kvs.length, counted.count], [0, 2]);
    const deleted = await client.deleteRange('p/', { prefix: true, prevKv: true });
    assert.equal(deleted.deleted, 2);
    assert.equal(deleted.prevKvs.length, 2);
  } finally {
    client.close();
    await apis[0]!.close();
  }
});

test('a snapshot stream cut off mid-way fails with an integrity error instead of ending', async () => {
  const member = new FakeMember({
    snapshot: async () => {
      const stream = new PassThrough();
      stream.write(Buffer.alloc(4096, 3));
      setImmediate(() => stream.destroy(new Error('member crashed')));
      return { header: fakeSnapshotHeader(1), stream };
    },
  });
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  const client = new LifeboatClient(api.url);
  try {
    const { stream, endpoint } = await client.snapshot();
    assert.equal(endpoint, api.url);
    await assert.rejects(async () => {
      for await (const _chunk of stream) {
        // drain
      }
    }, (err: unknown) => err instanceof IntegrityError && /cut off/.test(err.message));
  } finally {
    client.close();
    await api.close();
  }
});

test('a whole snapshot stream ends cleanly and carries every byte', async () => {
  const { apis } = await startFakes(1);
  const client = new LifeboatClient(apis[0]!.url);
  try {
    const { stream, revision } = await client.snapshot({ serializable: true });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'snap-shot-bytes');
    assert.equal(revision, 1);
  } finally {
    client.close();
    await apis[0]!.close();
  }
});

test('membership calls take IDs in hex as member list prints them', async () => {
  const { members, apis } = await startFakes(1);
  const client = new LifeboatClient(apis[0]!.url);
  try {
    const added = await client.memberAdd(['http://10.0.0.2:2380'], true);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.members.length, 2);
    await assert.rejects(client.memberPromote(added.member.idHex), (err: unknown) => err instanceof EtcdApiError && err.grpcCode === 9);
    const after = await client.memberRemove(added.member.idHex);
    assert.deepStrictEqual(after.members.map((m) => m.idHex), [members[0]!.memberId]);
    await assert.rejects(client.memberRemove(added.member.idHex), (err: unknown) => err instanceof EtcdApiError && err.grpcCode === 5);
  } finally {
    client.close();
    await apis[0]!.close();
  }
});

test('endpoints are normalized and bad ones are usage errors naming the flag', () => {
  assert.deepStrictEqual(parseEndpoints('127.0.0.1:2379, http://10.0.0.1:2379/,127.0.0.1:2379'), ['http://127.0.0.1:2379', 'http://10.0.0.1:2379']);
  assert.throws(() => parseEndpoints(''), (err: unknown) => err instanceof UsageError && /--endpoints/.test(err.message));
  assert.throws(() => parseEndpoints('https://x:1'), UsageError);
  assert.throws(() => parseEndpoints('http://x:1/v3'), UsageError);
});

test('member IDs are read as hex up to 16 digits and as decimal beyond', () => {
  assert.equal(memberIdToDecimal('8e9e05c52164694d'), BigInt('0x8e9e05c52164694d').toString());
  assert.equal(memberIdToDecimal('10276657743932975437'), '10276657743932975437');
  assert.equal(memberIdToDecimal('0x10'), '16');
  assert.equal(memberIdToDecimal('nope'), undefined);
  assert.equal(memberIdToDecimal('99999999999999999999'), undefined);
});

test('the prefix end increments the last byte below 0xff, as etcd computes it', () => {
  assert.deepStrictEqual(prefixEnd(Buffer.from('p/')), Buffer.from('p0'));
  assert.deepStrictEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepStrictEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});

test('a slow snapshot consumer is not mistaken for a stalled member', async () => {
  const chunk = Buffer.alloc(256 * 1024, 5);
  const member = new FakeMember({
    snapshot: async () => {
      const stream = new PassThrough();
      for (let i = 0; i < 32; i++) stream.write(chunk);
      stream.end();
      return { header: fakeSnapshotHeader(1), stream };
    },
  });
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  const client = new LifeboatClient(api.url);
  try {
    // The idle timeout is generous so a loaded CI machine's own pauses never trip it; the consumer
    // then holds the stream for three times as long, which only backpressure can explain.
    const { stream } = await client.snapshot({ idleTimeoutMs: 2000 });
    let total = 0;
    let paused = false;
    for await (const c of stream) {
      total += (c as Buffer).length;
      if (!paused) {
        paused = true;
        // Hold the consumer well past the idle timeout once, with the pipe full behind it.
        await new Promise((r) => setTimeout(r, 6000));
      }
    }
    assert.equal(total, 32 * chunk.length);
  } finally {
    client.close();
    await api.close();
  }
});
