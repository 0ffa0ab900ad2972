// Nothing a client sends may crash the member or reach raft when it is malformed: every bad body
// gets etcd's error shape, and the server keeps answering afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startHttpApi, type HttpApiServer } from '../../src/server/http-api.js';
import { FakeMember } from './fake-member.js';

async function withApi(fn: (api: HttpApiServer, member: FakeMember) => Promise<void>, maxRequestBytes?: number): Promise<void> {
  const member = new FakeMember();
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { maxRequestBytes, log: () => {} });
  try {
    await fn(api, member);
  } finally {
    await api.close();
  }
}

async function post(api: HttpApiServer, path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(api.url + path, { method: 'POST', body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) };
}

function assertErrorShape(json: any, code: number): void {
  assert.deepStrictEqual(Object.keys(json).sort(), ['code', 'error', 'message']);
  assert.equal(json.code, code);
  assert.equal(json.error, json.message);
  assert.ok(json.error.length > 0);
}

test('an unknown field inside a txn compare is refused with a 400 and never reaches the member', async () => {
  await withApi(async (api, member) => {
    const { status, json } = await post(api, '/v3/kv/txn', JSON.stringify({ compare: [{ key: 'Zm9v', colour: 'red' }] }));
    assert.equal(status, 400);
    assertErrorShape(json, 3);
    assert.match(json.error, /unknown field "colour" in etcdserverpb.Compare/);
    assert.deepStrictEqual(member.calls, []);
  });
});

test('a value larger than the request limit is refused before it reaches the member', async () => {
  await withApi(async (api, member) => {
    const value = Buffer.alloc(2048, 1).toString('base64');
    const { status, json } = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v', value }));
    assert.equal(status, 400);
    assertErrorShape(json, 3);
    assert.equal(json.error, 'etcdserver: request is too large');
    assert.deepStrictEqual(member.calls, []);
    const ok = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v', value: Buffer.alloc(100).toString('base64') }));
    assert.equal(ok.status, 200);
  }, 1024);
});

test('a body declared far larger than the limit is refused without being read, and the server keeps serving', async () => {
  await withApi(async (api) => {
    const { port } = new URL(api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v3/kv/put HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500000000\r\n\r\n{"key":`);
      });
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
        // The answer comes before the body: the server does not wait for 500 MB it will refuse.
        if (data.endsWith('}')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1.1 400/);
    assert.match(answer, /etcdserver: request is too large/);
    const after = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v', value: 'YmFy' }));
    assert.equal(after.status, 200);
  });
});

test('a chunked body that grows past the cap is cut off with a 400', async () => {
  await withApi(async (api) => {
    const { port } = new URL(api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v3/kv/put HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const pump = () => {
          // Keep sending until the server answers and closes; writes after that just fail.
          if (socket.destroyed) return;
          socket.write(chunk.length.toString(16) + '\r\n');
          socket.write(chunk);
          if (socket.write('\r\n')) setImmediate(pump);
          else socket.once('drain', pump);
        };
        pump();
      });
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
        if (data.endsWith('}')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1.1 400/);
    assert.match(answer, /request is too large/);
  }, 64 * 1024);
});

test('random garbage bodies on every path get the error shape and never crash the server', async () => {
  await withApi(async (api) => {
    // A small seeded generator keeps the run reproducible.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const pieces = ['{', '}', '[', ']', '"key"', ':', ',', '"Zm9v"', 'null', 'true', '1.5', '-1', '"range_end"', '"!!"', '"compare"', '"success"', '{"request_put":', '"9999999999999999999999"', '"ID"', '"peerURLs"'];
    const paths = ['/v3/kv/range', '/v3/kv/put', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/kv/compaction', '/v3/cluster/member/add', '/v3/cluster/member/remove', '/v3/cluster/member/promote', '/v3/maintenance/status', '/v3/maintenance/hashkv', '/v3/maintenance/snapshot'];
    for (let i = 0; i < 300; i++) {
      let body = '';
      const n = rand(12);
      for (let j = 0; j < n; j++) body += pieces[rand(pieces.length)];
      const path = paths[rand(paths.length)]!;
      const res = await fetch(api.url + path, { method: 'POST', body });
      const contentType = res.headers.get('content-type') ?? '';
      if (contentType.includes('octet-stream')) {
        await res.arrayBuffer();
        continue;
      }
      const json = await res.json() as any;
      if (res.status !== 200) {
        assert.ok(res.status >= 400 && res.status < 600, `status ${res.status} for ${body}`);
        assertErrorShape(json, json.code);
        assert.notEqual(json.code, 13, `an internal error for ${path} ${body}: ${json.error}`);
      }
    }
    const after = await post(api, '/v3/maintenance/status', '{}');
    assert.equal(after.status, 200);
  });
});

test('a member error is answered with its gRPC code and the HTTP status etcd gives it', async () => {
  const member = new FakeMember();
  const { NoLeaderError, TooManyRequestsError } = await import('../../src/server/server-errors.js');
  let next: Error = new NoLeaderError();
  member.write = async () => { throw next; };
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  try {
    let r = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v' }));
    assert.equal(r.status, 503);
    assert.deepStrictEqual(r.json, { error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14 });
    next = new TooManyRequestsError();
    r = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v' }));
    assert.equal(r.status, 429);
    assert.equal(r.json.code, 8);
    next = new Error('disk on fire');
    r = await post(api, '/v3/kv/put', JSON.stringify({ key: 'Zm9v' }));
    assert.equal(r.status, 500);
    assert.deepStrictEqual(r.json, { error: 'disk on fire', message: 'disk on fire', code: 13 });
  } finally {
    await api.close();
  }
});

test('a read-only txn is served as a read and a txn with a put as a write', async () => {
  await withApi(async (api, member) => {
    await post(api, '/v3/kv/txn', JSON.stringify({ success: [{ request_range: { key: 'Zm9v' } }] }));
    await post(api, '/v3/kv/txn', JSON.stringify({ success: [{ request_range: { key: 'Zm9v', serializable: true } }] }));
    await post(api, '/v3/kv/txn', JSON.stringify({ failure: [{ request_put: { key: 'Zm9v', value: 'YmFy' } }] }));
    await post(api, '/v3/kv/range', JSON.stringify({ key: 'Zm9v', serializable: true }));
    assert.deepStrictEqual(member.calls, ['read:txn:linearizable', 'read:txn:serializable', 'write:txn', 'read:range:serializable']);
  });
});

test('member IDs travel as decimal strings of the 64-bit ID, even above 2^63', async () => {
  await withApi(async (api, member) => {
    const added = await post(api, '/v3/cluster/member/add', JSON.stringify({ peerURLs: ['http://10.0.0.9:2380'], isLearner: true }));
    assert.equal(added.status, 200);
    const hex = member.memberList[1]!.id;
    assert.equal(added.json.member.ID, BigInt('0x' + hex).toString());
    assert.ok(BigInt(added.json.member.ID) > 1n << 63n);
    const removed = await post(api, '/v3/cluster/member/remove', JSON.stringify({ ID: added.json.member.ID }));
    assert.equal(removed.status, 200);
    assert.equal(removed.json.members.length, 1);
    assert.equal(removed.json.header.revision, undefined, 'cluster responses carry no revision, as in etcd');
  });
});

test('hashkv answers the hash and compact revision of the state at a revision', async () => {
  await withApi(async (api, member) => {
    await post(api, '/v3/kv/put', JSON.stringify({ key: 'YQ==', value: 'MQ==' }));
    await post(api, '/v3/kv/put', JSON.stringify({ key: 'Yg==', value: 'Mg==' }));
    await post(api, '/v3/kv/compaction', JSON.stringify({ revision: '2' }));
    const r = await post(api, '/v3/maintenance/hashkv', JSON.stringify({ revision: '2' }));
    assert.equal(r.status, 200);
    assert.equal(r.json.hash, member.store.hashKV(2).hash);
    assert.equal(r.json.compact_revision, '2');
    assert.equal(r.json.header.revision, '3');
    const compacted = await post(api, '/v3/maintenance/hashkv', JSON.stringify({ revision: '1' }));
    assert.equal(compacted.status, 400);
    assert.equal(compacted.json.code, 11);
  });
});

test('a second server on a busy port is refused with a usage error that names the URL', async () => {
  await withApi(async (api) => {
    const { UsageError } = await import('../../src/errors.js');
    await assert.rejects(startHttpApi(new FakeMember(), api.url), (err: unknown) => err instanceof UsageError && err.message.includes(api.url));
  });
});

test('keep-alive connections are reused across requests', async () => {
  await withApi(async (api) => {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(api.url + '/v3/maintenance/status', { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end('{}');
        reused.push(req.reusedSocket);
      });
    }
    agent.destroy();
    assert.deepStrictEqual(reused, [false, true, true]);
  });
});

test('GET /health answers as etcd: true with a leader and a working read, false (503) without a leader', async () => {
  await withApi(async (api, member) => {
    let res = await fetch(api.url + '/health');
    assert.equal(res.status, 200);
    assert.deepStrictEqual(await res.json(), { health: 'true' });
    const status = member.status.bind(member);
    member.status = async () => {
      const s = await status();
      return { ...s, status: { ...s.status, leader: '' } };
    };
    res = await fetch(api.url + '/health');
    assert.equal(res.status, 503);
    assert.deepStrictEqual(await res.json(), { health: 'false' });
    res = await fetch(api.url + '/version');
    const version = await res.json() as Record<string, string>;
    assert.equal(version.etcdserver, '3.4.0');
    assert.ok(version.lifeboat);
    res = await fetch(api.url + '/health', { method: 'POST' });
    assert.equal(res.status, 405);
  });
});

test('an integer beyond 2^53 is refused rather than silently rounded', async () => {
  await withApi(async (api, member) => {
    for (const revision of ['9999999999999999999999', 1e300]) {
      const r = await post(api, '/v3/kv/range', JSON.stringify({ key: 'Zm9v', revision }));
      assert.equal(r.status, 400);
      assertErrorShape(r.json, 3);
    }
    assert.deepStrictEqual(member.calls, []);
  });
});
