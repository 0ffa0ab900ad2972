// The FileSystem port on real files through node:fs, with real fsync.

import * as nodeFs from 'node:fs';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js';

const FLAGS: Record<OpenMode, string> = {
  read: 'r',
  'read-write': 'r+',
  create: 'wx+',
  replace: 'w+',
};

// Zero-filling in 1 MiB writes reserves the blocks for real (node has no fallocate), so a
// full disk shows up when a segment is created, not in the middle of an acknowledged append.
const ZERO_CHUNK = 1 << 20;

/** Real files and real fsync. */
export class NodeFileSystem implements FileSystem {
  private zeros: Buffer | undefined;

  open(path: string, mode: OpenMode): FileHandle {
    return nodeFs.openSync(path, FLAGS[mode]);
  }

  close(fd: FileHandle): void {
    nodeFs.closeSync(fd);
  }

  read(fd: FileHandle, length: number, position: number): Uint8Array {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = nodeFs.readSync(fd, buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  write(fd: FileHandle, data: Uint8Array, position: number): void {
    let done = 0;
    while (done < data.length) {
      done += nodeFs.writeSync(fd, data, done, data.length - done, position + done);
    }
  }

  fsync(fd: FileHandle): void {
    nodeFs.fsyncSync(fd);
  }

  fdatasync(fd: FileHandle): void {
    nodeFs.fdatasyncSync(fd);
  }

  truncate(fd: FileHandle, size: number): void {
    nodeFs.ftruncateSync(fd, size);
  }

  preallocate(fd: FileHandle, size: number): void {
    let pos = this.fileSize(fd);
    if (pos >= size) return;
    this.zeros ??= Buffer.alloc(ZERO_CHUNK);
    while (pos < size) {
      const n = Math.min(ZERO_CHUNK, size - pos);
      this.write(fd, n === ZERO_CHUNK ? this.zeros : this.zeros.subarray(0, n), pos);
      pos += n;
    }
  }

  fileSize(fd: FileHandle): number {
    return nodeFs.fstatSync(fd).size;
  }

  stat(path: string): FileStat | undefined {
    const st = nodeFs.statSync(path, { throwIfNoEntry: false });
    return st ? { size: st.size, isDirectory: st.isDirectory() } : undefined;
  }

  readdir(path: string): string[] {
    return nodeFs.readdirSync(path).sort();
  }

  mkdir(path: string): void {
    nodeFs.mkdirSync(path);
  }

  rename(from: string, to: string): void {
    nodeFs.renameSync(from, to);
  }

  unlink(path: string): void {
    nodeFs.unlinkSync(path);
  }

  fsyncDir(path: string): void {
    const fd = nodeFs.openSync(path, 'r');
    try {
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  }
}
