// A restored member's snapshot differs from the backup only in its header (new cluster, new
// members, maybe a bumped revision) and therefore in its trailer's byte count and SHA-256: the
// record chunks, their CRCs and the KV hash stay valid as they are. So a restore passes the
// chunks through untouched instead of decoding and re-encoding every record: this cuts the
// backup's bytes into [source header frame | chunks | source trailer] as they stream by,
// and builds each member's file as [new header frame | the same chunks | new trailer].
import { createHash } from 'node:crypto';
import { TRAILER_BYTES, type SnapshotHeaderInput, type SnapshotTrailer } from '../snapshot/index.js';
import { encodeHeaderFrame } from '../snapshot/header.js';
import { encodeTrailer } from '../snapshot/trailer.js';

/** Splits a snapshot's byte stream: drops the header frame, holds back the trailer, passes the rest. */
export class ChunkSplice {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Absolute offset of the first held byte. */
  private offset = 0;

  /**
   * Takes the next input bytes; returns the chunk bytes that can be passed on now. `headerEnd`
   * is where the header frame ends (undefined until the parser has read it whole).
   */
  push(bytes: Buffer, headerEnd: number | undefined): Buffer[] {
    if (bytes.length > 0) {
      this.held.push(bytes);
      this.heldBytes += bytes.length;
    }
    if (headerEnd === undefined) return [];
    this.consume(Math.max(0, Math.min(headerEnd - this.offset, this.heldBytes)), undefined);
    const out: Buffer[] = [];
    this.consume(Math.max(0, this.heldBytes - TRAILER_BYTES), out);
    return out;
  }

  /** Bytes held back at the end of the input: the source trailer, once the parser accepted it. */
  get heldBack(): number {
    return this.heldBytes;
  }

  private consume(n: number, out: Buffer[] | undefined): void {
    while (n > 0) {
      const first = this.held[0]!;
      const take = Math.min(first.length, n);
      if (take === first.length) this.held.shift();
      else this.held[0] = first.subarray(take);
      out?.push(take === first.length ? first : first.subarray(0, take));
      this.heldBytes -= take;
      this.offset += take;
      n -= take;
    }
  }
}

/**
 * A member's snapshot file: the new header frame, the backup's chunks as they arrive, and a
 * trailer with the backup's counts and KV hash and this file's own byte count and SHA-256.
 * `chunks` must end only after the backup was read and verified whole; `sourceTrailer` then
 * gives the verified counts.
 */
export async function* splicedSnapshot(
  header: SnapshotHeaderInput,
  chunks: AsyncIterable<Buffer>,
  sourceTrailer: () => Promise<SnapshotTrailer>,
): AsyncGenerator<Buffer> {
  const { bytes: frame } = encodeHeaderFrame(header);
  const sha = createHash('sha256');
  sha.update(frame);
  let byteCount = frame.length;
  yield frame;
  for await (const chunk of chunks) {
    sha.update(chunk);
    byteCount += chunk.length;
    yield chunk;
  }
  const source = await sourceTrailer();
  yield encodeTrailer({ ...source, byteCount, sha256: sha.digest('hex') });
}
