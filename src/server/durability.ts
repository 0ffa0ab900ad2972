// What the member needs from durable storage. An adapter over src/storage's facade implements it
// (storage-adapter.ts); keeping the member on this small port keeps the Ready loop readable.
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';

/** What a member's data directory held at start. */
export interface RecoveredState {
  readonly hardState?: HardState;
  /** The newest durable snapshot, if any. */
  readonly snapshot?: { readonly metadata: SnapshotMetadata; readonly path: string };
  /** Log entries after the snapshot. */
  readonly entries: readonly Entry[];
}

/** The member's durable log and snapshot files. Any failure throws and is fatal to the member. */
export interface Durability {
  /** Appends entries and a hard state; resolves once they are durable (one fdatasync when mustSync). */
  save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void>;
  /** Writes a snapshot file from streamed bytes, makes it durable, records it as current; returns its path. */
  saveSnapshot(metadata: SnapshotMetadata, chunks: AsyncIterable<Uint8Array>): Promise<string>;
  /** Releases WAL segments and snapshot files no longer needed before `index`. */
  releaseBefore(index: number): void;
  close(): void;
}
