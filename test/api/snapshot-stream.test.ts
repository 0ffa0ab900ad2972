// /v3/maintenance/snapshot: bytes on success, the JSON error shape before the first byte, and a
// truncated (never cleanly ended) stream when the member fails mid-way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { startHttpApi } from '../../src/server/http-api.js';
import { NoLeaderError } from '../../src/server/server-errors.js';
import { FakeMember, fakeSnapshotHeader } from './fake-member.js';

/** Reads a response with node:http so a truncated chunked body shows up as an 'aborted' error. */
function fetchRaw(url: string, body: string): Promise<{ status: number; type: string; data: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      let failed: Error | undefined;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => (failed = err));
      res.on('aborted', () => (failed = failed ?? new Error('aborted')));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), data: Buffer.concat(chunks), error: res.complete ? failed : failed ?? new Error('incomplete') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a snapshot streams as application/octet-stream with its revision in a header', async () => {
  const api = await startHttpApi(new FakeMember(), 'http://127.0.0.1:0');
  try {
    const r = await fetchRaw(api.url + '/v3/maintenance/snapshot', '{"serializable": true}');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/octet-stream');
    assert.equal(r.data.toString(), 'snap-shot-bytes');
    assert.equal(r.error, undefined);
  } finally {
    await api.close();
  }
});

test('a snapshot that fails before its first byte is answered with the JSON error shape', async () => {
  const member = new FakeMember({ snapshot: async () => { throw new NoLeaderError(); } });
  const api = await startHttpApi(member, 'http://127.0.0.1:0');
  try {
    const r = await fetchRaw(api.url + '/v3/maintenance/snapshot', '{}');
    assert.equal(r.status, 503);
    assert.deepStrictEqual(JSON.parse(r.data.toString()), { error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14 });
  } finally {
    await api.close();
  }
});

test('a snapshot stream that errors before any data still gets the JSON error shape', async () => {
  const member = new FakeMember({
    snapshot: async () => {
      const stream = new Readable({ read() { this.destroy(new NoLeaderError()); } });
      return { header: fakeSnapshotHeader(1), stream };
    },
  });
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  try {
    const r = await fetchRaw(api.url + '/v3/maintenance/snapshot', '{}');
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.data.toString()).code, 14);
  } finally {
    await api.close();
  }
});

test('a snapshot that fails mid-stream reaches the client as a truncated response, never a clean end', async () => {
  const member = new FakeMember({
    snapshot: async () => {
      const stream = new PassThrough();
      stream.write(Buffer.alloc(1000, 1));
      // The failure comes once the first bytes are surely on their way.
      setImmediate(() => stream.destroy(new Error('disk read failed')));
      return { header: fakeSnapshotHeader(1), stream };
    },
  });
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  try {
    const r = await fetchRaw(api.url + '/v3/maintenance/snapshot', '{}');
    assert.equal(r.status, 200);
    assert.ok(r.error, 'the client sees the stream fail');
  } finally {
    await api.close();
  }
});

test('a client that goes away mid-snapshot aborts the member side and releases the stream', async () => {
  let signal: AbortSignal | undefined;
  const stream = new PassThrough();
  const member = new FakeMember({
    snapshot: async (s) => {
      signal = s;
      stream.write(Buffer.alloc(64 * 1024, 2));
      return { header: fakeSnapshotHeader(1), stream };
    },
  });
  const api = await startHttpApi(member, 'http://127.0.0.1:0', { log: () => {} });
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(api.url + '/v3/maintenance/snapshot', { method: 'POST' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end('{}');
      void reject;
    });
    await new Promise<void>((resolve) => {
      if (stream.destroyed) resolve();
      else stream.on('close', () => resolve());
    });
    assert.equal(stream.destroyed, true);
    assert.equal(signal?.aborted, true);
  } finally {
    await api.close();
  }
});
