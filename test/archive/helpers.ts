// Shared inputs for archive, repository and save tests: temp folders, synthetic snapshot
// streams, and streams that fail the way a dying member or a bad network does.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { encodeSnapshot, type SnapshotHeaderInput } from '../../src/snapshot/index.js';

export const CLUSTER_ID = 'cdf818194e3a8c32';

/** A temporary folder, removed by the returned cleanup. */
export async function tempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `lifeboat-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A header for `keyCount` records at `revision`. */
export function header(keyCount: number, revision: number, clusterId = CLUSTER_ID): SnapshotHeaderInput {
  return {
    clusterId,
    members: [{ id: '8e9e05c52164694d', name: 'n1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'], isLearner: false }],
    raftIndex: revision + 10,
    raftTerm: 3,
    revision,
    compactRevision: 0,
    keyCount,
    createdAt: '2026-11-25T09:00:00.000Z',
    sourceMember: '8e9e05c52164694d',
    extra: { consistency: 'linearizable' },
  };
}

/** `count` records with values of `valueBytes` bytes that are distinct and partly compressible. */
export function* records(count: number, valueBytes = 100): Generator<KeyValueRecord> {
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes, 0x61 + (i % 26));
    value.write(`v${i}:`, 0);
    yield { key: Buffer.from(`/registry/pods/${String(i).padStart(8, '0')}`), value, createRevision: i + 1, modRevision: i + 1, version: 1 };
  }
}

/** A snapshot stream of `count` records at `revision`. */
export function snapshotStream(count: number, revision = count + 1, valueBytes = 100): Readable {
  return encodeSnapshot(header(count, revision), records(count, valueBytes), { chunkBytes: 16 * 1024 });
}

/** The whole snapshot as one buffer. */
export async function snapshotBytes(count: number, revision = count + 1, valueBytes = 100): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of snapshotStream(count, revision, valueBytes)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Yields `bytes` in 8 KiB pieces; after `cutAt` bytes it fails (error) or just ends (truncate). */
export function brokenStream(bytes: Buffer, cutAt: number, how: 'error' | 'truncate'): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= cutAt) {
        if (how === 'error') this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        else this.push(null);
        return;
      }
      const end = Math.min(at + 8192, cutAt);
      this.push(bytes.subarray(at, end));
      at = end;
    },
  });
}

/** A stream that sends `bytes` and then never sends anything again (a hung member). */
export function stallingStream(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(bytes);
      }
    },
  });
}

/** Every file under `dir`, relative, sorted (dotfiles included). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}
