// Verification of a snapshot's bytes as they come out of an archive or a file: the full check,
// and the cheap digest that save's read-back uses.
import { createHash } from 'node:crypto';
import { TRAILER_BYTES, decodeTrailer, verifySnapshot, type SnapshotSummary, type SnapshotTrailer } from '../snapshot/index.js';

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

/** What a cheap read established: the bytes' size and SHA-256, and their trailer (CRC-checked). */
export interface DigestedSnapshot {
  readonly bytes: number;
  readonly sha256: string;
  /** Undefined when the bytes are too short to end in a trailer. */
  readonly trailer: SnapshotTrailer | undefined;
}

/**
 * Hashes snapshot bytes without decoding records: enough to prove that stored bytes are the
 * very bytes a full check already passed (same size and SHA-256), at a fraction of its cost.
 * It proves nothing on its own about bytes never checked in full.
 */
export async function digestSnapshotBytes(bytes: AsyncIterable<Buffer>): Promise<DigestedSnapshot> {
  const hash = createHash('sha256');
  let count = 0;
  // The last TRAILER_BYTES seen, gathered across chunk borders.
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of bytes) {
    hash.update(chunk);
    count += chunk.length;
    tail = chunk.length >= TRAILER_BYTES ? chunk.subarray(chunk.length - TRAILER_BYTES) : Buffer.concat([tail, chunk]).subarray(-TRAILER_BYTES);
  }
  const trailer = tail.length === TRAILER_BYTES ? decodeTrailer(Buffer.from(tail), count - TRAILER_BYTES) : undefined;
  return { bytes: count, sha256: hash.digest('hex'), trailer };
}
