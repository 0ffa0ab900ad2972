// Faults for the contract tests, driven from outside the CLI the way the world inflicts them:
// a small disk that fills up, a disk remounted read-only under a running save, a member that
// sends part of a snapshot and then waits for the test's word, and a fingerprint of every file
// in a directory so a test can say "nothing changed" exactly.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { KeyValueRecord } from '../../src/kv/record.js';
import { encodeSnapshot } from '../../src/snapshot/index.js';
import { header } from '../archive/helpers.js';

/** A snapshot stream of `count` records whose values are random, so zstd cannot shrink them. */
export function incompressibleSnapshot(count: number, valueBytes = 1024, revision = count + 1): Readable {
  function* recs(): Generator<KeyValueRecord> {
    for (let i = 0; i < count; i++) {
      yield { key: Buffer.from(`/contract/${String(i).padStart(8, '0')}`), value: randomBytes(valueBytes), createRevision: i + 1, modRevision: i + 1, version: 1 };
    }
  }
  return encodeSnapshot(header(count, revision), recs(), { chunkBytes: 16 * 1024 });
}

/**
 * Test options for the disk-fault tests: they mount a small tmpfs, which needs root and the
 * mount capability (CI runs as root). Where mounting is not permitted, those tests are reported
 * as skipped with this reason rather than failing for a reason unrelated to the product.
 */
export const DISK_FAULTS: { skip?: string } = probeMount();

function probeMount(): { skip?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return {};
  } catch (err) {
    return { skip: `mounting a small tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A fake member that streams a snapshot but holds it after `holdAt` bytes until `release()`,
 * so a test can change the world (fill a disk, kill S3, remount read-only) mid-save.
 */
export async function startGatedMember(body: () => Readable, holdAt: number): Promise<{
  url: string;
  /** Resolves once `holdAt` bytes are on the wire and the stream is held. */
  held: Promise<void>;
  release: () => void;
  close: () => Promise<void>;
}> {
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  let heldNow!: () => void;
  const held = new Promise<void>((ok) => (heldNow = ok));
  const server: Server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      if (req.url !== '/v3/maintenance/snapshot') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found', message: 'not found', code: 5 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      void (async () => {
        let sent = 0;
        let waited = false;
        for await (const chunk of body()) {
          let buf = chunk as Buffer;
          if (!waited && sent + buf.length >= holdAt) {
            const first = buf.subarray(0, holdAt - sent);
            await new Promise<void>((ok) => res.write(first, () => ok()));
            sent += first.length;
            buf = buf.subarray(first.length);
            waited = true;
            heldNow();
            await gate;
          }
          if (res.destroyed) return;
          if (!res.write(buf)) await new Promise<void>((ok) => res.once('drain', ok));
          sent += buf.length;
        }
        res.end();
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    release,
    close: () => new Promise<void>((ok) => {
      release();
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/** A small file system of its own (tmpfs), which a test can fill or remount read-only. */
export interface SmallDisk {
  readonly dir: string;
  readOnly(): void;
  writable(): void;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `bytes` at a fresh folder under `parent`. Needs root (CI and this machine
 * run as root); anywhere else it throws saying so, because a fault that cannot be made must
 * fail the test rather than pass it unexercised.
 */
export function mountSmallDisk(parent: string, bytes: number): SmallDisk {
  const dir = join(parent, `disk-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`these fault tests mount a small tmpfs and need root: ${(err as Error).message}`);
  }
  let mounted = true;
  const remount = (mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
  return {
    dir,
    readOnly: () => remount('ro'),
    writable: () => remount('rw'),
    unmount: () => {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir` (relative path -> SHA-256 of its bytes), dotfiles included. */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
    }
  };
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk('');
  return out;
}

/** The snapshot IDs whose manifests (the commit markers) are in a local repository. */
export function committedIds(repoDir: string): string[] {
  const dir = join(repoDir, 'snapshots');
  if (!statSync(dir, { throwIfNoEntry: false })) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length)).sort();
}

/** The standard restore flags for a one-member new cluster, with `dataDir`. */
export function restoreFlags(dataDir: string): string[] {
  return ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:23801', '--initial-cluster-token', 'contract', '--data-dir', dataDir];
}
