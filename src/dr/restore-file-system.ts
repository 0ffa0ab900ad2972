// The files of a restored member are built under a temporary name that nothing reads until the
// rename that makes them live, so they need to be durable only at that moment, not file by
// file as they are written. The storage code fsyncs each file and directory as it goes (about
// a dozen fsyncs, one after the other on the event loop, each up to a few hundred ms on a busy
// disk); while building, those are skipped, and syncTree() then fsyncs every file and directory
// of the tree once, all at the same time, before the rename.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../storage/file-system.js';
import { NodeFileSystem } from '../storage/node-file-system.js';

/**
 * Real files whose fsyncs are left to syncTree(). Only for a tree nothing uses until it is synced
 * and renamed. It wraps NodeFileSystem rather than extending it, so the storage writes the
 * snapshot file with plain writes too, instead of its background writer that fdatasyncs every
 * few MiB (right for a running member, needless here).
 */
export class BuildFileSystem implements FileSystem {
  private readonly real = new NodeFileSystem();

  open(path: string, mode: OpenMode): FileHandle {
    return this.real.open(path, mode);
  }
  close(fd: FileHandle): void {
    this.real.close(fd);
  }
  read(fd: FileHandle, length: number, position: number): Uint8Array {
    return this.real.read(fd, length, position);
  }
  write(fd: FileHandle, data: Uint8Array, position: number): void {
    this.real.write(fd, data, position);
  }
  fsync(_fd: FileHandle): void {}
  fdatasync(_fd: FileHandle): void {}
  truncate(fd: FileHandle, size: number): void {
    this.real.truncate(fd, size);
  }
  preallocate(fd: FileHandle, size: number): void {
    this.real.preallocate(fd, size);
  }
  fileSize(fd: FileHandle): number {
    return this.real.fileSize(fd);
  }
  stat(path: string): FileStat | undefined {
    return this.real.stat(path);
  }
  readdir(path: string): string[] {
    return this.real.readdir(path);
  }
  mkdir(path: string): void {
    this.real.mkdir(path);
  }
  rename(from: string, to: string): void {
    this.real.rename(from, to);
  }
  unlink(path: string): void {
    this.real.unlink(path);
  }
  fsyncDir(_path: string): void {}
}

/** Fsyncs every file and directory under `root` (root included), concurrently. */
export async function syncTree(root: string): Promise<void> {
  const paths: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    paths.push(dir);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) paths.push(path);
    }
  };
  await walk(root);
  await Promise.all(
    paths.map(async (path) => {
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
  );
}
