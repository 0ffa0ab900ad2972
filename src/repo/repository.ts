// Where backups live. Local directories and S3 both implement this, so the jobs above
// (save, list, verify, prune, restore, drill) never know which one they talk to.
import type { Readable } from 'node:stream';

/** One stored object; keys are relative to the repository root, with '/' separators. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface WriteOptions {
  /** Aborting it abandons the write: nothing is left under the key. */
  readonly signal?: AbortSignal;
  /** Called as bytes are stored, for progress bars. */
  readonly onProgress?: (bytesStored: number) => void;
}

/**
 * A temporary file inside the repository that the caller fills in place (at any offsets) and
 * then publishes under its key: no copy from a spool elsewhere. Never listed until published.
 */
export interface StagedObject {
  /** Absolute path of the temporary file (already created, empty). */
  readonly path: string;
  /** fsyncs the file, links it under its key (never over an existing object) and fsyncs the folder. */
  publish(): Promise<void>;
  /** Removes the temporary file; safe after publish() and when called twice. */
  discard(): Promise<void>;
}

export interface Repository {
  /** The repository's URL for messages and manifests; never contains credentials. */
  readonly url: string;
  /** Writes the repository marker (lifeboat-repo.json) if absent; checks its format version if present. */
  ensureInitialized(): Promise<void>;
  /** Throws NotFoundError when there is no repository here, IntegrityError on a foreign or newer marker. */
  checkInitialized(): Promise<void>;
  /** Every object whose key starts with prefix (all pages), sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** The object's info, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Streams an object; NotFoundError when missing. */
  read(key: string): Promise<Readable>;
  /** Reads a small object (manifest, lock, report) whole; NotFoundError when missing. */
  readSmall(key: string): Promise<Buffer>;
  /**
   * Streams body into key. The object appears whole or not at all (a temporary file and a
   * rename locally; a multipart upload that is aborted on failure on S3). Refuses to
   * overwrite an existing key.
   */
  writeStream(key: string, body: Readable, options?: WriteOptions): Promise<{ bytes: number }>;
  /** Writes a small object whole and durably (replacing it if present: reports, renewed locks). */
  writeSmall(key: string, data: Buffer): Promise<void>;
  /** Creates key only if it does not exist; returns false when it already did. For locks. */
  createExclusive(key: string, data: Buffer): Promise<boolean>;
  /** Deletes key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Deletes key only if it still holds exactly `expected`; true when this call deleted it.
   * For taking over a stale lock without deleting a fresh one that replaced it meanwhile.
   */
  compareAndDelete(key: string, expected: Buffer): Promise<boolean>;
  /** Optional (local directories): a temporary file beside key to fill in place, then publish. */
  stage?(key: string): Promise<StagedObject>;
  /** Removes abandoned partial writes (temporary files, multipart uploads) older than the date. */
  cleanupIncomplete(olderThan: Date): Promise<number>;
}
