import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

/** Runs `lifeboat serve` to its exit (or until `until` holds, then SIGTERM); returns its code and stderr. */
async function serve(args: string[], env: Record<string, string> = {}, until?: (stderr: string) => boolean): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  let signalled = false;
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!signalled && until?.(stderr)) {
      signalled = true;
      proc.kill('SIGTERM');
    }
  });
  proc.stdout.resume();
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { code, stderr };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-serve-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a malformed peer URL is a usage error that names the flag', async () => {
  await withDir(async (dir) => {
    const r = await serve(['--name', 'n1', '--data-dir', join(dir, 'd'), '--listen-peer-urls', 'http//nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen-peer-urls/);
    assert.match(r.stderr, /hint:/);
  });
});

test('a name missing from --initial-cluster is a usage error', async () => {
  await withDir(async (dir) => {
    const [p] = await freePorts(1);
    const r = await serve(['--name', 'n9', '--data-dir', join(dir, 'd'), '--listen-peer-urls', `http://127.0.0.1:${p}`, '--initial-cluster', `n1=http://127.0.0.1:${p}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--initial-cluster has no member named "n9"/);
  });
});

test('a busy peer or client port is a usage error that says which', async () => {
  await withDir(async (dir) => {
    const [busy, free] = await freePorts(2);
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', () => r()));
    try {
      const peer = await serve(['--name', 'n1', '--data-dir', join(dir, 'a'), '--listen-peer-urls', `http://127.0.0.1:${busy}`, '--listen-client-urls', `http://127.0.0.1:${free}`]);
      assert.equal(peer.code, 2);
      assert.match(peer.stderr, new RegExp(`--listen-peer-urls: http://127.0.0.1:${busy} is already in use`));
      const client = await serve(['--name', 'n1', '--data-dir', join(dir, 'b'), '--listen-peer-urls', `http://127.0.0.1:${free}`, '--listen-client-urls', `http://127.0.0.1:${busy}`]);
      assert.equal(client.code, 2);
      assert.match(client.stderr, /--listen-client-urls: .* is already in use/);
    } finally {
      blocker.close();
    }
  });
});

test('a data directory of another cluster is refused, and flags fall back to LIFEBOAT_ environment variables', async () => {
  await withDir(async (dir) => {
    const [peer, client] = await freePorts(2);
    const data = join(dir, 'd');
    const env = { LIFEBOAT_NAME: 'n1', LIFEBOAT_DATA_DIR: data, LIFEBOAT_LISTEN_PEER_URLS: `http://127.0.0.1:${peer}`, LIFEBOAT_LISTEN_CLIENT_URLS: `http://127.0.0.1:${client}` };
    const first = await serve([], env, (s) => s.includes('ready: serving clients on'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /n1: member [0-9a-f]{16} of cluster [0-9a-f]{16} started/);
    const other = await serve(['--initial-cluster-token', 'another-cluster'], env);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /belongs to cluster [0-9a-f]{16}/);
    const again = await serve([], env, (s) => s.includes('ready: serving clients on'));
    assert.equal(again.code, 0, again.stderr);
  });
});

test('SIGTERM stops a serving member cleanly with exit code 0', async () => {
  await withDir(async (dir) => {
    const [peer, client] = await freePorts(2);
    const proc = spawn(process.execPath, [BIN, 'serve', '--name', 'n1', '--data-dir', join(dir, 'd'), '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--listen-client-urls', `http://127.0.0.1:${client}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    await waitFor('the ready line', () => stderr.includes('ready: serving clients on'));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});

test('a corrupt WAL stops the member at start with an error naming the file and offset', async () => {
  await withDir(async (dir) => {
    const [peer, client] = await freePorts(2);
    const data = join(dir, 'd');
    const args = ['--name', 'n1', '--data-dir', data, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--listen-client-urls', `http://127.0.0.1:${client}`];
    // Write a few entries, so the WAL holds records past the byte that gets flipped.
    const proc = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    await waitFor('the ready line', () => stderr.includes('ready: serving clients on'));
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${client}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(`k${i}`).toString('base64'), value: Buffer.from('v').toString('base64') }) });
      assert.equal(r.status, 200);
    }
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    const { readdirSync, openSync, readSync, writeSync, closeSync } = await import('node:fs');
    const wal = join(data, 'wal', readdirSync(join(data, 'wal')).filter((n) => n.endsWith('.wal')).sort()[0]!);
    const fd = openSync(wal, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 100);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, 100);
    closeSync(fd);
    const broken = await serve(args);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, new RegExp(wal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(broken.stderr, /hint:/);
  });
});
