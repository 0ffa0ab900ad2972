// Verification of a snapshot's bytes as they come out of an archive or a file.
import { createHash } from 'node:crypto';
import { verifySnapshot, type SnapshotSummary, type SnapshotTrailer } from '../snapshot/index.js';

/** What a complete check proved, plus the file's own size and SHA-256 (as sha256sum sees it). */
export interface CheckedSnapshot {
  readonly summary: SnapshotSummary;
  readonly bytes: number;
  readonly sha256: string;
}

/** Verifies every chunk CRC, the order, counts, trailer SHA-256 and KV hash; hashes the whole file on the way. */
export async function checkSnapshotBytes(bytes: AsyncIterable<Buffer>): Promise<CheckedSnapshot> {
  const hash = createHash('sha256');
  let count = 0;
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const chunk of bytes) {
      hash.update(chunk);
      count += chunk.length;
      yield chunk;
    }
  }
  const summary = await verifySnapshot(tap());
  return { summary, bytes: count, sha256: hash.digest('hex') };
}

/** What save's read-back (archive-digest.ts) established: the bytes' size and SHA-256, and their trailer (CRC-checked). */
export interface DigestedSnapshot {
  readonly bytes: number;
  readonly sha256: string;
  /** Undefined when the bytes are too short to end in a trailer. */
  readonly trailer: SnapshotTrailer | undefined;
}
