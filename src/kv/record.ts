// One key's live state at a revision: what snapshots carry, dumps print and hashkv covers.

/** A key-value pair with its MVCC metadata. Keys and values are binary-safe. */
export interface KeyValueRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** Revision of the latest put to the key (<= the revision the record is read at). */
  readonly modRevision: number;
  /** Number of puts since the key was created; 1 after the first put. */
  readonly version: number;
}
