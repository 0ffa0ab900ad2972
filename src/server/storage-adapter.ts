// The member's Durability port over src/storage's MemberStorage.
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import type { MemberStorage } from '../storage/member-storage.js';
import type { DeferredSyncFileSystem } from './deferred-sync-file-system.js';
import type { Durability } from './durability.js';

/** Adapts MemberStorage to the member's needs. */
export class StorageDurability implements Durability {
  constructor(
    private readonly storage: MemberStorage,
    /** When given, the WAL's fdatasync runs off the event loop (see deferred-sync-file-system.ts). */
    private readonly fs?: DeferredSyncFileSystem,
  ) {}

  async save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    // A hard state whose only change is the commit index may be lost and relearned from the
    // leader (raft allows it), so it does not cost an fsync of its own.
    if (!mustSync && entries.length === 0) return;
    if (!this.fs) {
      this.storage.save(hardState, entries);
      return;
    }
    this.fs.deferring = true;
    try {
      this.storage.save(hardState, entries);
    } finally {
      this.fs.deferring = false;
    }
    try {
      await this.fs.flushAsync();
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
