// An in-memory FileSystem that knows what a real disk would keep after a power cut:
// file bytes count only once fsynced, directory entries (creates, renames, unlinks) only
// once their directory is fsynced. crash() throws away everything else, optionally tearing
// the last write at a 512-byte sector boundary. Bits can be flipped at chosen offsets and
// ENOSPC or EIO returned on demand. Every random choice comes from the injected function,
// so a simulator seed replays the same disk.

import { posix } from 'node:path';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js';
import { Bytes } from './growable-bytes.js';

export const SECTOR_SIZE = 512;

/** What survives a crash besides fsynced data. */
export type CrashMode =
  /** Nothing unsynced survives. */
  | 'drop'
  /** The most recent unsynced write survives up to a random sector boundary inside it; nothing else unsynced does. */
  | 'tear-last'
  /**
   * Every unsynced sector of every write independently survives or not (disks reorder
   * writes), and so does every unsynced change of a directory entry (each name on its own).
   */
  | 'sectors';

export type FaultOp = 'write' | 'fsync' | 'read';
export type FaultCode = 'ENOSPC' | 'EIO';

export interface FaultyFileSystemOptions {
  /** Random numbers in [0, 1); seed it for reproducible crashes. Defaults to a fixed-seed generator. */
  readonly random?: () => number;
  /** Total bytes the disk holds; growing past it fails with ENOSPC. Unlimited by default. */
  readonly capacity?: number;
}

type PendingOp = { readonly kind: 'write'; readonly pos: number; readonly bytes: Buffer; readonly serial: number } | { readonly kind: 'size'; readonly size: number };

class FileNode {
  readonly kind = 'file';
  current = new Bytes();
  durable = new Bytes();
  pending: PendingOp[] = [];
}

class DirNode {
  readonly kind = 'dir';
  entries = new Map<string, FileNode | DirNode>();
  durable = new Map<string, FileNode | DirNode>();
}

interface OpenFile {
  readonly node: FileNode;
  readonly path: string;
  readonly writable: boolean;
}

interface Fault {
  readonly op: FaultOp;
  /** An error to return, or a crash to simulate at that moment. */
  readonly code: FaultCode | 'CRASH';
  readonly pathIncludes?: string;
  readonly crashMode?: CrashMode;
  readonly tearKeep?: number;
  /** Matching operations to let through before this one fires. */
  skip: number;
}

/** The error code a simulated crash point throws: the process would be gone, so nothing may handle it as recoverable. */
export const SIMULATED_CRASH = 'ESIMCRASH';

function fsError(code: string, syscall: string, path: string): Error {
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EEXIST: 'file already exists',
    ENOTDIR: 'not a directory',
    EISDIR: 'illegal operation on a directory',
    ENOTEMPTY: 'directory not empty',
    EBADF: 'bad file descriptor',
    ENOSPC: 'no space left on device',
    ESIMCRASH: 'simulated crash',
    EIO: 'i/o error',
  };
  return Object.assign(new Error(`${code}: ${messages[code] ?? 'error'}, ${syscall} '${path}'`), { code, syscall, path });
}

/** A small deterministic PRNG (mulberry32): the faulty FS's default, and the seeded randomness of tests. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** In-memory FileSystem with crash, torn-write, bit-flip and error injection. */
export class FaultyFileSystem implements FileSystem {
  private readonly root = new DirNode();
  private readonly files = new Set<FileNode>();
  private readonly handles = new Map<FileHandle, OpenFile>();
  private nextHandle = 3;
  private serial = 0;
  private faults: Fault[] = [];
  private readonly random: () => number;
  private readonly capacity: number;

  constructor(options: FaultyFileSystemOptions = {}) {
    this.random = options.random ?? mulberry32(0x1feb0a7);
    this.capacity = options.capacity ?? Number.POSITIVE_INFINITY;
  }

  // ---- fault injection -------------------------------------------------------------

  /** The next matching write (or fsync, fdatasync, directory fsync; or read) fails with `code`; one-shot. */
  failNext(op: FaultOp, code: FaultCode, pathIncludes?: string): void {
    this.faults.push({ op, code, pathIncludes, skip: 0 });
  }

  /**
   * The next matching write or fsync does not happen: the disk crashes right then (see
   * crash()) and the call throws an error with code ESIMCRASH. Lets a test stop a member in
   * the middle of an append, between its write and its fsync.
   */
  crashAtNext(op: FaultOp, mode: CrashMode = 'tear-last', tearKeep?: number, pathIncludes?: string, skip = 0): void {
    this.faults.push({ op, code: 'CRASH', crashMode: mode, tearKeep, pathIncludes, skip });
  }

  /** Disarms every pending failNext() and crashAtNext(). */
  clearFaults(): void {
    this.faults = [];
  }

  /** Flips one bit of a file's content, on disk and in the cache alike. */
  flipBit(path: string, offset: number, bit = 0): void {
    const node = this.fileAt(path, 'flip');
    if (offset >= node.current.size && offset >= node.durable.size) throw fsError('EINVAL', 'flip', path);
    if (offset < node.current.size) node.current.buf[offset]! ^= 1 << bit;
    if (offset < node.durable.size) node.durable.buf[offset]! ^= 1 << bit;
  }

  /**
   * Simulates a power cut: unsynced data and directory entries are lost (see CrashMode),
   * every open handle becomes invalid. `tearKeep` fixes how many bytes of the last write
   * survive in 'tear-last' mode (rounded down to a sector boundary of the file).
   */
  crash(mode: CrashMode = 'drop', tearKeep?: number): void {
    let last: { node: FileNode; index: number } | undefined;
    if (mode === 'tear-last') {
      let best = -1;
      for (const node of this.files) {
        node.pending.forEach((op, index) => {
          if (op.kind === 'write' && op.serial > best) {
            best = op.serial;
            last = { node, index };
          }
        });
      }
    }
    for (const node of this.files) {
      if (mode === 'sectors') {
        for (const op of node.pending) {
          if (op.kind === 'size') node.durable.setSize(op.size);
          else this.persistSomeSectors(node, op.pos, op.bytes);
        }
      } else if (last && last.node === node) {
        for (const op of node.pending.slice(0, last.index)) this.persist(node, op);
        const op = node.pending[last.index] as Extract<PendingOp, { kind: 'write' }>;
        const keep = this.tornLength(op.pos, op.bytes.length, tearKeep);
        if (keep > 0) node.durable.write(op.pos, op.bytes.subarray(0, keep));
      }
      node.pending = [];
      node.current = node.durable.clone();
    }
    this.resetDirs(this.root, mode === 'sectors');
    this.handles.clear();
    this.files.clear();
    this.collectFiles(this.root);
  }

  // ---- raw access for tests --------------------------------------------------------

  /** The bytes a reader would see now (cached, synced or not). */
  readRaw(path: string): Buffer {
    return Buffer.from(this.fileAt(path, 'read').current.view());
  }

  /** Replaces a file's content, durably, as if written and fsynced long ago. */
  writeRaw(path: string, data: Uint8Array): void {
    const { dir, name, full } = this.parentOf(path, 'write');
    let node = dir.entries.get(name);
    if (node?.kind === 'dir') throw fsError('EISDIR', 'write', full);
    if (!node) {
      node = new FileNode();
      this.files.add(node);
      dir.entries.set(name, node);
      dir.durable.set(name, node);
    }
    node.current = new Bytes(Buffer.from(data));
    node.durable = new Bytes(Buffer.from(data));
    node.pending = [];
  }

  /** Removes a file durably (its directory entry is gone even after a crash). */
  removeRaw(path: string): void {
    const { dir, name } = this.parentOf(path, 'unlink');
    if (!dir.entries.has(name)) throw fsError('ENOENT', 'unlink', path);
    dir.entries.delete(name);
    dir.durable.delete(name);
  }

  // ---- the FileSystem port -----------------------------------------------------------

  open(path: string, mode: OpenMode): FileHandle {
    const { dir, name, full } = this.parentOf(path, 'open');
    let node = dir.entries.get(name);
    if (node && node.kind === 'dir') throw fsError('EISDIR', 'open', full);
    if (mode === 'create' && node) throw fsError('EEXIST', 'open', full);
    if ((mode === 'read' || mode === 'read-write') && !node) throw fsError('ENOENT', 'open', full);
    if (!node) {
      node = new FileNode();
      this.files.add(node);
      dir.entries.set(name, node);
    } else if (mode === 'replace') {
      this.setSize(node, 0, full);
    }
    const fd = this.nextHandle++;
    this.handles.set(fd, { node, path: full, writable: mode !== 'read' });
    return fd;
  }

  close(fd: FileHandle): void {
    this.handle(fd, 'close');
    this.handles.delete(fd);
  }

  read(fd: FileHandle, length: number, position: number): Uint8Array {
    const { node, path } = this.handle(fd, 'read');
    this.takeFault('read', path, 'read');
    const end = Math.min(node.current.size, position + length);
    return Buffer.from(node.current.buf.subarray(Math.min(position, end), end));
  }

  write(fd: FileHandle, data: Uint8Array, position: number): void {
    const h = this.writable(fd, 'write');
    this.takeFault('write', h.path, 'write');
    const grow = position + data.length - h.node.current.size;
    if (grow > 0) this.checkSpace(grow, h.path, 'write');
    const bytes = Buffer.from(data);
    h.node.current.write(position, bytes);
    h.node.pending.push({ kind: 'write', pos: position, bytes, serial: ++this.serial });
  }

  fsync(fd: FileHandle): void {
    this.sync(fd, 'fsync');
  }

  fdatasync(fd: FileHandle): void {
    this.sync(fd, 'fdatasync');
  }

  truncate(fd: FileHandle, size: number): void {
    const h = this.writable(fd, 'ftruncate');
    this.setSize(h.node, size, h.path);
  }

  preallocate(fd: FileHandle, size: number): void {
    const h = this.writable(fd, 'fallocate');
    if (size <= h.node.current.size) return;
    this.takeFault('write', h.path, 'fallocate');
    this.setSize(h.node, size, h.path);
  }

  fileSize(fd: FileHandle): number {
    return this.handle(fd, 'fstat').node.current.size;
  }

  stat(path: string): FileStat | undefined {
    const node = this.lookup(path);
    if (!node) return undefined;
    return node.kind === 'dir' ? { size: 0, isDirectory: true } : { size: node.current.size, isDirectory: false };
  }

  readdir(path: string): string[] {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'scandir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()].sort();
  }

  mkdir(path: string): void {
    const { dir, name, full } = this.parentOf(path, 'mkdir');
    if (dir.entries.has(name)) throw fsError('EEXIST', 'mkdir', full);
    dir.entries.set(name, new DirNode());
  }

  rename(from: string, to: string): void {
    const src = this.parentOf(from, 'rename');
    const dst = this.parentOf(to, 'rename');
    const node = src.dir.entries.get(src.name);
    if (!node) throw fsError('ENOENT', 'rename', src.full);
    const existing = dst.dir.entries.get(dst.name);
    if (existing && existing.kind !== node.kind) throw fsError(existing.kind === 'dir' ? 'EISDIR' : 'ENOTDIR', 'rename', dst.full);
    src.dir.entries.delete(src.name);
    dst.dir.entries.set(dst.name, node);
    // Open handles follow the file, so error messages and path filters name where it is now.
    for (const [fd, h] of this.handles) if (h.node === node) this.handles.set(fd, { ...h, path: dst.full });
  }

  unlink(path: string): void {
    const { dir, name, full } = this.parentOf(path, 'unlink');
    const node = dir.entries.get(name);
    if (!node) throw fsError('ENOENT', 'unlink', full);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', full);
    dir.entries.delete(name);
  }

  fsyncDir(path: string): void {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'fsync', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'fsync', path);
    this.takeFault('fsync', posix.resolve('/', path), 'fsync');
    node.durable = new Map(node.entries);
  }

  // ---- internals ---------------------------------------------------------------------

  private sync(fd: FileHandle, syscall: string): void {
    const h = this.handle(fd, syscall);
    try {
      this.takeFault('fsync', h.path, syscall);
    } catch (err) {
      // Like Linux after a failed fsync: the dirty data is dropped and never written later.
      h.node.pending = [];
      throw err;
    }
    for (const op of h.node.pending) this.persist(h.node, op);
    h.node.pending = [];
  }

  private persist(node: FileNode, op: PendingOp): void {
    if (op.kind === 'size') node.durable.setSize(op.size);
    else node.durable.write(op.pos, op.bytes);
  }

  private persistSomeSectors(node: FileNode, pos: number, bytes: Buffer): void {
    let start = pos;
    const end = pos + bytes.length;
    while (start < end) {
      const next = Math.min(end, (Math.floor(start / SECTOR_SIZE) + 1) * SECTOR_SIZE);
      if (this.random() < 0.5) node.durable.write(start, bytes.subarray(start - pos, next - pos));
      start = next;
    }
  }

  /** How many bytes of a write at `pos` survive a tear: a cut at a sector boundary inside it. */
  private tornLength(pos: number, length: number, keep: number | undefined): number {
    if (keep !== undefined) {
      const cut = Math.floor((pos + Math.min(keep, length)) / SECTOR_SIZE) * SECTOR_SIZE;
      return Math.max(0, cut - pos);
    }
    const cuts: number[] = [0];
    for (let b = (Math.floor(pos / SECTOR_SIZE) + 1) * SECTOR_SIZE; b < pos + length; b += SECTOR_SIZE) cuts.push(b - pos);
    return cuts[Math.floor(this.random() * cuts.length)]!;
  }

  private setSize(node: FileNode, size: number, path: string): void {
    const grow = size - node.current.size;
    if (grow > 0) this.checkSpace(grow, path, 'ftruncate');
    node.current.setSize(size);
    node.pending.push({ kind: 'size', size });
  }

  private checkSpace(grow: number, path: string, syscall: string): void {
    if (this.capacity === Number.POSITIVE_INFINITY) return;
    let used = 0;
    for (const node of this.files) used += node.current.size;
    if (used + grow > this.capacity) throw fsError('ENOSPC', syscall, path);
  }

  private takeFault(op: FaultOp, path: string, syscall: string): void {
    const i = this.faults.findIndex((f) => f.op === op && (f.pathIncludes === undefined || path.includes(f.pathIncludes)));
    if (i < 0) return;
    if (this.faults[i]!.skip > 0) {
      this.faults[i]!.skip--;
      return;
    }
    const fault = this.faults.splice(i, 1)[0]!;
    if (fault.code === 'CRASH') {
      this.crash(fault.crashMode, fault.tearKeep);
      throw fsError(SIMULATED_CRASH, syscall, path);
    }
    throw fsError(fault.code, syscall, path);
  }

  private resetDirs(dir: DirNode, someUnsynced: boolean): void {
    if (someUnsynced) {
      const names = [...new Set([...dir.durable.keys(), ...dir.entries.keys()])].sort();
      for (const name of names) {
        const now = dir.entries.get(name);
        if (now === dir.durable.get(name) || this.random() >= 0.5) continue;
        if (now) dir.durable.set(name, now);
        else dir.durable.delete(name);
      }
    }
    dir.entries = new Map(dir.durable);
    for (const child of dir.entries.values()) if (child.kind === 'dir') this.resetDirs(child, someUnsynced);
  }

  private collectFiles(dir: DirNode): void {
    for (const child of dir.entries.values()) {
      if (child.kind === 'dir') this.collectFiles(child);
      else this.files.add(child);
    }
  }

  private handle(fd: FileHandle, syscall: string): OpenFile {
    const h = this.handles.get(fd);
    if (!h) throw fsError('EBADF', syscall, String(fd));
    return h;
  }

  private writable(fd: FileHandle, syscall: string): OpenFile {
    const h = this.handle(fd, syscall);
    if (!h.writable) throw fsError('EBADF', syscall, h.path);
    return h;
  }

  private lookup(path: string): FileNode | DirNode | undefined {
    const parts = posix.resolve('/', path).split('/').filter(Boolean);
    let node: FileNode | DirNode = this.root;
    for (const part of parts) {
      if (node.kind !== 'dir') return undefined;
      const next: FileNode | DirNode | undefined = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(path: string, syscall: string): { dir: DirNode; name: string; full: string } {
    const full = posix.resolve('/', path);
    const parent = this.lookup(posix.dirname(full));
    if (!parent) throw fsError('ENOENT', syscall, full);
    if (parent.kind !== 'dir') throw fsError('ENOTDIR', syscall, full);
    return { dir: parent, name: posix.basename(full), full };
  }

  private fileAt(path: string, syscall: string): FileNode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', syscall, path);
    if (node.kind !== 'file') throw fsError('EISDIR', syscall, path);
    return node;
  }
}
