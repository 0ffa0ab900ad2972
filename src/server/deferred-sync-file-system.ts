// Real files whose WAL fdatasync can run off the event loop. The storage's append is one write
// and one fdatasync; while `deferring` is on (only around MemberStorage.save), the fdatasync is
// recorded instead and flushAsync() runs it on libuv's thread pool. The member acknowledges
// nothing from that batch, and steps no peer message, until flushAsync resolves, so the
// durability contract of save() is kept; meanwhile the event loop parses client requests.
// Every other sync (segment rollover, snapshot markers, directories) stays synchronous.
import { fdatasync } from 'node:fs';
import type { FileHandle } from '../storage/file-system.js';
import { NodeFileSystem } from '../storage/node-file-system.js';
import { StorageFailedError } from '../storage/storage-failed-error.js';

/** NodeFileSystem with deferrable fdatasync. */
export class DeferredSyncFileSystem extends NodeFileSystem {
  /** True while MemberStorage.save runs. */
  deferring = false;
  private readonly pending = new Set<FileHandle>();
  private failed: StorageFailedError | undefined;

  override fdatasync(fd: FileHandle): void {
    if (this.failed) throw this.failed;
    if (this.deferring) this.pending.add(fd);
    else super.fdatasync(fd);
  }

  /** Runs the deferred fdatasyncs; a failure is permanent (the state on disk is unknown). */
  async flushAsync(): Promise<void> {
    if (this.failed) throw this.failed;
    const fds = [...this.pending];
    this.pending.clear();
    for (const fd of fds) {
      // EBADF: a segment rollover closed the file meanwhile, after a synchronous fsync of it.
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err && err.code !== 'EBADF' ? reject(err) : resolve())));
    }
  }

  /** Runs the deferred fdatasyncs now, on this thread. */
  flushSync(): void {
    if (this.failed) throw this.failed;
    const fds = [...this.pending];
    this.pending.clear();
    for (const fd of fds) {
      try {
        super.fdatasync(fd);
      } catch (err) {
        // EBADF: a segment rollover closed the file meanwhile, after a synchronous fsync of it.
        if ((err as NodeJS.ErrnoException).code !== 'EBADF') throw err;
      }
    }
  }

  /** Forgets the deferred fdatasyncs: for a write that need not be durable yet (see storage-adapter.ts). */
  dropDeferred(): void {
    this.pending.clear();
  }

  /** Records a failed flush so every later sync fails too. */
  fail(cause: unknown): StorageFailedError {
    this.failed ??= new StorageFailedError('WAL fdatasync', cause);
    return this.failed;
  }
}
