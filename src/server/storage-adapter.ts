// The member's Durability port over src/storage's MemberStorage.
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import type { MemberStorage } from '../storage/member-storage.js';
import type { DeferredSyncFileSystem } from './deferred-sync-file-system.js';
import type { Durability } from './durability.js';

/** Adapts MemberStorage to the member's needs. */
export class StorageDurability implements Durability {
  /**
   * When true, save()'s fdatasync runs on the calling thread instead of the thread pool. The member
   * sets it while it follows: a follower acks nothing and steps nothing until the sync returns
   * either way, so the pool's hand-off (a futex wake, an eventfd write, another event-loop turn:
   * about 8 system calls and two thread switches per Ready) buys it nothing. A leader keeps the
   * pool: it parses client requests meanwhile, and those then share the next Ready.
   */
  syncInline = false;

  constructor(
    private readonly storage: MemberStorage,
    /** When given, the WAL's fdatasync runs off the event loop (see deferred-sync-file-system.ts). */
    private readonly fs?: DeferredSyncFileSystem,
  ) {}

  async save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    if (!hardState && entries.length === 0) return;
    if (!this.fs) {
      // Without a deferring file system every append is fsynced: correct, only slower.
      this.storage.save(hardState, entries);
      return;
    }
    this.fs.deferring = true;
    try {
      this.storage.save(hardState, entries);
    } finally {
      this.fs.deferring = false;
    }
    if (!mustSync) {
      // A hard state whose only change is the commit index is written but not fsynced, as etcd
      // does (mustSync false): a crash may lose it and the leader tells the member again, but a
      // clean stop leaves it in the WAL, so an offline backup of the stopped member holds every
      // write it had applied. The next fdatasync of this file, or the fsync at a segment
      // rollover, makes it durable along with what follows it.
      this.fs.dropDeferred();
      return;
    }
    try {
      if (this.syncInline) this.fs.flushSync();
      else await this.fs.flushAsync();
    } catch (err) {
      throw this.fs.fail(err);
    }
  }

  async saveSnapshot(metadata: SnapshotMetadata, chunks: AsyncIterable<Uint8Array>): Promise<string> {
    await this.storage.saveSnapshot(metadata, chunks);
    return this.storage.snapshotPath(metadata);
  }

  releaseBefore(index: number): void {
    this.storage.releaseBefore(index);
  }

  close(): void {
    this.storage.close();
  }
}
