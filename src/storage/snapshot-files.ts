// Snapshot files under <data-dir>/snap/, named <term>-<index>.snap in 16 hex digits each.
// The bytes come from the caller (the snapshot format lives in src/snapshot/); this module
// only makes them durable atomically and hands them to a validator on recovery.
//
// On real files (NodeFileSystem) the asynchronous write runs every write, fsync, rename and
// directory fsync on libuv's thread pool: a member writing a 240 MB snapshot keeps serving
// while the disk works. Other file systems (the simulator's) get the synchronous calls.

import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { SnapshotMetadata } from '../raft/types.js';
import type { FileSystem } from './file-system.js';
import { readFileChunks } from './file-system.js';
import { NodeFileSystem } from './node-file-system.js';
import { StorageFailedError } from './storage-failed-error.js';
import { hex16, TEMP_SUFFIX } from './wal-segment-name.js';

export const SNAPSHOT_SUFFIX = '.snap';

// Distinct temporary names let a received snapshot and a local one be written at once.
let tmpCounter = 0;
function tempName(path: string): string {
  return `${path}.${++tmpCounter}${TEMP_SUFFIX}`;
}

/** Chunks of a snapshot file's bytes, from memory or a stream. */
export type SnapshotChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A snapshot file handed to a validator: read it with chunks(). */
export interface SnapshotSource {
  readonly path: string;
  readonly size: number;
  chunks(chunkSize?: number): Iterable<Uint8Array>;
}

/**
 * Checks a snapshot file on recovery; throws if it is damaged. An error with a numeric
 * `offset` property says where the damage starts.
 */
export type SnapshotValidator = (source: SnapshotSource, metadata: SnapshotMetadata) => void | Promise<void>;

/** The file name of the snapshot with this term and index. */
export function snapshotFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}${SNAPSHOT_SUFFIX}`;
}

/** Parses a snapshot file name; undefined for anything else. */
export function parseSnapshotFileName(name: string): { term: number; index: number } | undefined {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/.exec(name);
  if (!m) return undefined;
  return { term: Number.parseInt(m[1]!, 16), index: Number.parseInt(m[2]!, 16) };
}

/** Snapshot files in `dir`, oldest index first, and leftover temporaries. */
export function listSnapshotFiles(fs: FileSystem, dir: string): { files: { term: number; index: number; path: string }[]; temporaries: string[] } {
  const files: { term: number; index: number; path: string }[] = [];
  const temporaries: string[] = [];
  for (const name of fs.readdir(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) temporaries.push(join(dir, name));
    const parsed = parseSnapshotFileName(name);
    if (parsed) files.push({ ...parsed, path: join(dir, name) });
  }
  files.sort((a, b) => a.index - b.index || a.term - b.term);
  return { files, temporaries };
}

/** A validator's view of the file at `path`. */
export function snapshotSource(fs: FileSystem, path: string): SnapshotSource {
  const st = fs.stat(path);
  return { path, size: st?.size ?? 0, chunks: (chunkSize?: number) => readFileChunks(fs, path, chunkSize) };
}

function isAsync(chunks: SnapshotChunks): chunks is AsyncIterable<Uint8Array> {
  return typeof (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function';
}

/** Streams chunks into a temporary file; file-system errors become StorageFailedError, producer errors pass through. */
class SnapshotWriter {
  private readonly fs: FileSystem;
  readonly tmp: string;
  private fd: number | undefined;
  private pos = 0;
  constructor(fs: FileSystem, tmp: string) {
    this.fs = fs;
    this.tmp = tmp;
    this.fd = this.io(() => fs.open(tmp, 'replace'));
  }
  private io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new StorageFailedError('snapshot file write', err);
    }
  }
  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.io(() => this.fs.write(this.fd!, chunk, this.pos));
    this.pos += chunk.length;
  }
  /** fsync, close, rename into place, fsync the directory. */
  commit(path: string, dir: string): void {
    this.io(() => {
      this.fs.fsync(this.fd!);
      this.fs.close(this.fd!);
      this.fd = undefined;
      this.fs.rename(this.tmp, path);
      this.fs.fsyncDir(dir);
    });
  }
  /** Best-effort removal after a producer failed; the storage stays healthy. */
  abandon(): void {
    try {
      if (this.fd !== undefined) this.fs.close(this.fd);
      this.fd = undefined;
      this.fs.unlink(this.tmp);
    } catch {
      // A leftover temporary file is removed on the next open.
    }
  }
}

/**
 * Writes the snapshot file for `metadata` atomically from `chunks`; returns its path. Each chunk
 * is written before the next is pulled, so a producer may reuse its buffers.
 */
export async function writeSnapshotFile(fs: FileSystem, dir: string, metadata: SnapshotMetadata, chunks: SnapshotChunks): Promise<string> {
  const path = join(dir, snapshotFileName(metadata.term, metadata.index));
  if (fs instanceof NodeFileSystem) return writeRealSnapshotFile(path, dir, chunks);
  const w = new SnapshotWriter(fs, tempName(path));
  try {
    if (isAsync(chunks)) for await (const c of chunks) w.write(c);
    else for (const c of chunks) w.write(c);
  } catch (err) {
    if (!(err instanceof StorageFailedError)) w.abandon();
    throw err;
  }
  w.commit(path, dir);
  return path;
}

/**
 * Bytes written between background fdatasyncs: flushing as it goes keeps the final fsync short
 * and stops a large snapshot from piling up dirty pages that the WAL's fdatasync would then
 * queue behind.
 */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

function callback<T = void>(run: (done: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** fsync of a directory on the thread pool: makes a rename in it durable. */
async function fsyncDirAsync(dir: string): Promise<void> {
  const fd = await callback<number>((done) => nodeFs.open(dir, 'r', done));
  try {
    await callback((done) => nodeFs.fsync(fd, done));
  } finally {
    await callback((done) => nodeFs.close(fd, done)).catch(() => undefined);
  }
}

/** The asynchronous writer on real files: nothing here blocks the event loop on the disk. */
async function writeRealSnapshotFile(path: string, dir: string, chunks: SnapshotChunks): Promise<string> {
  const tmp = tempName(path);
  const io = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new StorageFailedError('snapshot file write', err);
    }
  };
  let fd: number | undefined = await io(() => callback<number>((done) => nodeFs.open(tmp, 'w+', done)));
  let pos = 0;
  let unflushed = 0;
  // One background fdatasync at a time; its failure is reported when it is next awaited.
  let flushing: Promise<void> | undefined;
  const write = async (chunk: Uint8Array): Promise<void> => {
    let done = 0;
    while (done < chunk.length) {
      const n = await callback<number>((cb) => nodeFs.write(fd!, chunk, done, chunk.length - done, pos + done, cb));
      done += n;
    }
    pos += chunk.length;
    unflushed += chunk.length;
    if (unflushed >= FLUSH_EVERY_BYTES) {
      if (flushing) await flushing;
      unflushed = 0;
      const f = fd!;
      flushing = callback((cb) => nodeFs.fdatasync(f, cb));
      // Awaited before the next flush or the final fsync; never left unhandled in between.
      flushing.catch(() => undefined);
    }
  };
  try {
    try {
      if (isAsync(chunks)) {
        for await (const c of chunks) if (c.length > 0) await io(() => write(c));
      } else {
        for (const c of chunks) if (c.length > 0) await io(() => write(c));
      }
    } finally {
      // Never close the descriptor under a running fdatasync.
      if (flushing) await flushing.catch(() => undefined);
    }
    if (flushing) await io(() => flushing!);
    await io(async () => {
      await callback((cb) => nodeFs.fsync(fd!, cb));
      const f = fd!;
      fd = undefined;
      await callback((cb) => nodeFs.close(f, cb));
      await callback((cb) => nodeFs.rename(tmp, path, cb));
      await fsyncDirAsync(dir);
    });
    return path;
  } catch (err) {
    if (fd !== undefined) {
      const f = fd;
      fd = undefined;
      await callback((cb) => nodeFs.close(f, cb)).catch(() => undefined);
    }
    // A producer that failed leaves no temporary behind; after a disk failure the storage is
    // failed anyway and the next open removes leftovers.
    if (!(err instanceof StorageFailedError)) await callback((cb) => nodeFs.unlink(tmp, cb)).catch(() => undefined);
    throw err;
  }
}

/** The synchronous form of writeSnapshotFile, for the simulator. */
export function writeSnapshotFileSync(fs: FileSystem, dir: string, metadata: SnapshotMetadata, chunks: Iterable<Uint8Array>): string {
  const path = join(dir, snapshotFileName(metadata.term, metadata.index));
  const w = new SnapshotWriter(fs, tempName(path));
  try {
    for (const c of chunks) w.write(c);
  } catch (err) {
    if (!(err instanceof StorageFailedError)) w.abandon();
    throw err;
  }
  w.commit(path, dir);
  return path;
}

/** Deletes snapshot files older than `keep` (by index); returns how many. */
export function removeSnapshotsBefore(fs: FileSystem, dir: string, keep: SnapshotMetadata): number {
  let removed = 0;
  for (const f of listSnapshotFiles(fs, dir).files) {
    if (f.index < keep.index || (f.index === keep.index && f.term !== keep.term)) {
      fs.unlink(f.path);
      removed++;
    }
  }
  if (removed > 0) fs.fsyncDir(dir);
  return removed;
}
