// The FileSystem port: the few synchronous file operations the WAL, snapshot files and
// identity file need. Synchronous on purpose: it keeps the simulator deterministic, and the
// WAL's append path is one write plus one fdatasync anyway. Two adapters implement it:
// NodeFileSystem (real files) and FaultyFileSystem (in memory, crash and fault injection).

import { dirname } from 'node:path';

/** An open file, as handed out by a FileSystem; meaningful only to the adapter that made it. */
export type FileHandle = number;

/**
 * How to open a file:
 * - 'read': existing file, read only;
 * - 'read-write': existing file, read and positional write;
 * - 'create': new file, fails with EEXIST if it exists;
 * - 'replace': create or truncate to empty.
 */
export type OpenMode = 'read' | 'read-write' | 'create' | 'replace';

export interface FileStat {
  readonly size: number;
  readonly isDirectory: boolean;
}

/**
 * The operations storage needs. Errors are node-style: an Error with a `code` such as
 * 'ENOENT', 'EEXIST', 'ENOSPC' or 'EIO'. Paths are absolute or relative to the process.
 */
export interface FileSystem {
  open(path: string, mode: OpenMode): FileHandle;
  close(fd: FileHandle): void;
  /** Up to `length` bytes from `position`; shorter only at end of file. */
  read(fd: FileHandle, length: number, position: number): Uint8Array;
  /** Writes every byte of `data` at `position` (extending the file if needed). */
  write(fd: FileHandle, data: Uint8Array, position: number): void;
  /** Makes the file's data and metadata durable. */
  fsync(fd: FileHandle): void;
  /** Makes the file's data durable (and the metadata needed to read it back). */
  fdatasync(fd: FileHandle): void;
  /** Sets the file's size: cuts it, or extends it with zeros. */
  truncate(fd: FileHandle, size: number): void;
  /** Extends the file to `size` bytes of zeros with the space reserved, so later writes inside it cannot hit ENOSPC. */
  preallocate(fd: FileHandle, size: number): void;
  fileSize(fd: FileHandle): number;
  /** undefined when nothing exists at `path`. */
  stat(path: string): FileStat | undefined;
  /** Entry names of a directory, sorted. */
  readdir(path: string): string[];
  /** Creates one directory level; fails with EEXIST if it exists. */
  mkdir(path: string): void;
  /** Atomically replaces `to` with `from` (same directory or file system). */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Makes the directory's entries durable: files created, renamed or removed in it. */
  fsyncDir(path: string): void;
}

/** Creates `path` and any missing parents, making each new entry durable in its parent. */
export function ensureDir(fs: FileSystem, path: string): void {
  const st = fs.stat(path);
  if (st?.isDirectory) return;
  const parent = dirname(path);
  if (parent !== path) ensureDir(fs, parent);
  fs.mkdir(path);
  fs.fsyncDir(parent);
}

/** The whole content of a file. */
export function readWholeFile(fs: FileSystem, path: string): Uint8Array {
  const fd = fs.open(path, 'read');
  try {
    return fs.read(fd, fs.fileSize(fd), 0);
  } finally {
    fs.close(fd);
  }
}

/** Reads a file in chunks, for validators of big files. */
export function* readFileChunks(fs: FileSystem, path: string, chunkSize = 1 << 20): Generator<Uint8Array> {
  const fd = fs.open(path, 'read');
  try {
    const size = fs.fileSize(fd);
    for (let pos = 0; pos < size; pos += chunkSize) {
      yield fs.read(fd, Math.min(chunkSize, size - pos), pos);
    }
  } finally {
    fs.close(fd);
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content:
 * write a temporary file, fsync it, rename it over, fsync the directory.
 */
export function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): void {
  const tmp = path + '.tmp';
  const fd = fs.open(tmp, 'replace');
  try {
    fs.write(fd, data, 0);
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(tmp, path);
  fs.fsyncDir(dirname(path));
}

/** The node-style error code of `err`, if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
