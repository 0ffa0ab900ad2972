// The read-back pass of `snapshot save`: one tight loop over the stored archive that hashes
// it, decompresses it into one reused buffer and walks the two tar entries by hand, hashing
// the snapshot entry without decoding a record. About twice as fast as the general reader
// (archive-reader.ts: streams, tar-stream, the snapshot decoder), which restore and verify
// keep using. It is strict about the layout archive-writer.ts produces and nothing else:
// [manifest.json][padding][<id>.snap][padding][two zero blocks], in any zstd framing
// (skippable frames included, which libzstd passes over).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { IntegrityError, LifeboatError } from '../errors.js';
import { mapFsError } from '../repo/fs-errors.js';
import { TRAILER_BYTES, decodeTrailer } from '../snapshot/index.js';
import type { DigestedSnapshot } from './snapshot-check.js';
import { MANIFEST_ENTRY } from './archive-writer.js';
import { TAR_BLOCK, TAR_END, tarPadding } from './tar-header.js';

/** What one digest pass over an archive found. */
export interface ArchiveDigest {
  readonly archiveBytes: number;
  readonly archiveSha256: string;
  /** The manifest.json entry, byte for byte. */
  readonly manifestBytes: Buffer;
  readonly snapshotName: string;
  readonly snapshot: DigestedSnapshot;
}

export interface DigestOptions {
  /** Names the archive in messages. */
  readonly where: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (archiveBytes: number) => void;
}

// The native binding under zstd-napi's streams, for its reusable-buffer decompressStream. It is a
// CommonJS module that re-exports a .node file, so ESM cannot see its names: require it.
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

const MAX_MANIFEST_ENTRY = 1024 * 1024;
const OUT_BYTES = 1024 * 1024;
const CORRUPT_HINT = 'the storage damaged the archive; check the disk or bucket, then run the save again';

/** Reads `source` to its end (or destroys it on failure) and returns what it holds. */
export async function digestArchive(source: Readable, options: DigestOptions): Promise<ArchiveDigest> {
  const { where } = options;
  const archiveHash = createHash('sha256');
  let archiveBytes = 0;
  const dctx = new zstd.DCtx();
  const out = Buffer.allocUnsafe(OUT_BYTES);
  const tar = new TarWalk(where);
  let midFrame = false;
  try {
    for await (const chunk of source) {
      options.signal?.throwIfAborted();
      let src = chunk as Buffer;
      archiveHash.update(src);
      archiveBytes += src.length;
      options.onProgress?.(archiveBytes);
      for (;;) {
        let result: [number, number, number];
        try {
          result = dctx.decompressStream(out, src);
        } catch (err) {
          throw new IntegrityError(`${where} is not a valid zstd stream: ${err instanceof Error ? err.message : String(err)}`, CORRUPT_HINT);
        }
        const [remaining, produced, consumed] = result;
        midFrame = remaining !== 0;
        // The walk copies or hashes what it needs before `out` is reused.
        if (produced > 0) tar.push(out.subarray(0, produced));
        src = src.subarray(consumed);
        if (src.length === 0 && produced < out.length) break;
      }
    }
  } catch (err) {
    source.destroy();
    if (options.signal?.aborted) throw options.signal.reason;
    if (err instanceof LifeboatError) throw err;
    throw mapFsError(err, `read ${where}`, where);
  }
  if (midFrame) throw new IntegrityError(`${where} ends in the middle of a zstd frame`, CORRUPT_HINT);
  return { archiveBytes, archiveSha256: archiveHash.digest('hex'), ...tar.finish() };
}

type Step =
  | { readonly at: 'header'; readonly entry: 0 | 1 }
  | { readonly at: 'manifest'; readonly size: number }
  | { readonly at: 'skip'; left: number; readonly then: Step }
  | { readonly at: 'body'; left: number }
  | { readonly at: 'tail' };

/** The tar walk over decompressed bytes, fed in pieces of any size. */
class TarWalk {
  private step: Step = { at: 'header', entry: 0 };
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private manifest: Buffer | undefined;
  private name = '';
  private bodySize = 0;
  private readonly bodyHash = createHash('sha256');
  private lastBytes: Buffer = Buffer.alloc(0);
  private tailBytes = 0;
  private tailZero = true;

  constructor(private readonly where: string) {}

  push(piece: Buffer): void {
    while (piece.length > 0) {
      const s = this.step;
      if (s.at === 'header' || s.at === 'manifest') {
        const need = s.at === 'header' ? TAR_BLOCK : s.size;
        const take = Math.min(need - this.gatheredBytes, piece.length);
        this.gathered.push(Buffer.from(piece.subarray(0, take))); // copied: the caller reuses its buffer
        this.gatheredBytes += take;
        piece = piece.subarray(take);
        if (this.gatheredBytes === need) {
          const block = Buffer.concat(this.gathered);
          this.gathered = [];
          this.gatheredBytes = 0;
          if (s.at === 'header') this.header(block, s.entry);
          else {
            this.manifest = block;
            this.step = this.skipThen(tarPadding(block.length).length, { at: 'header', entry: 1 });
          }
        }
      } else if (s.at === 'skip') {
        const take = Math.min(s.left, piece.length);
        if (!isZero(piece.subarray(0, take))) throw this.corrupt('non-zero bytes in tar padding');
        s.left -= take;
        piece = piece.subarray(take);
        if (s.left === 0) this.step = s.then;
      } else if (s.at === 'body') {
        const take = Math.min(s.left, piece.length);
        const part = piece.subarray(0, take);
        this.bodyHash.update(part);
        this.keepLast(part);
        s.left -= take;
        piece = piece.subarray(take);
        if (s.left === 0) this.step = { at: 'tail' };
      } else {
        if (this.tailZero && !isZero(piece)) this.tailZero = false;
        this.tailBytes += piece.length;
        piece = piece.subarray(piece.length);
      }
    }
  }

  finish(): Omit<ArchiveDigest, 'archiveBytes' | 'archiveSha256'> {
    if (this.step.at !== 'tail' || !this.manifest) throw this.corrupt('it ends before the snapshot entry does');
    const expectedTail = tarPadding(this.bodySize).length + TAR_END.length;
    if (!this.tailZero || this.tailBytes !== expectedTail) {
      throw this.corrupt(`${this.tailBytes} bytes follow the snapshot entry where ${expectedTail} zero bytes belong`);
    }
    const trailer = this.lastBytes.length === TRAILER_BYTES ? decodeTrailer(this.lastBytes, this.bodySize - TRAILER_BYTES) : undefined;
    return { manifestBytes: this.manifest, snapshotName: this.name, snapshot: { bytes: this.bodySize, sha256: this.bodyHash.digest('hex'), trailer } };
  }

  private header(block: Buffer, entry: 0 | 1): void {
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    const stored = parseInt(block.toString('ascii', 148, 156).replace(/[\0 ]+$/, '').trim(), 8);
    if (stored !== sum) throw this.corrupt(`tar header ${entry + 1} fails its checksum`);
    if (block[156] !== 0x30 && block[156] !== 0) throw this.corrupt(`tar entry ${entry + 1} is not a regular file`);
    const name = block.toString('ascii', 0, 100).replace(/\0.*$/s, '');
    const size = parseSize(block);
    if (entry === 0) {
      if (name !== MANIFEST_ENTRY) throw this.corrupt(`the first entry is ${JSON.stringify(name)}, not ${MANIFEST_ENTRY}`);
      if (size > MAX_MANIFEST_ENTRY) throw this.corrupt(`${MANIFEST_ENTRY} is ${size} bytes, far too large`);
      this.step = size === 0 ? { at: 'header', entry: 1 } : { at: 'manifest', size };
      if (size === 0) this.manifest = Buffer.alloc(0);
      return;
    }
    this.name = name;
    this.bodySize = size;
    this.step = size === 0 ? { at: 'tail' } : { at: 'body', left: size };
  }

  private skipThen(bytes: number, then: Step): Step {
    return bytes === 0 ? then : { at: 'skip', left: bytes, then };
  }

  private keepLast(part: Buffer): void {
    if (part.length >= TRAILER_BYTES) {
      this.lastBytes = Buffer.from(part.subarray(part.length - TRAILER_BYTES));
    } else {
      this.lastBytes = Buffer.concat([this.lastBytes, part]).subarray(-TRAILER_BYTES);
    }
  }

  private corrupt(what: string): IntegrityError {
    return new IntegrityError(`${this.where} is not the archive that was written: ${what}`, CORRUPT_HINT);
  }
}

function parseSize(block: Buffer): number {
  if (block[124]! & 0x80) {
    // GNU base-256, as tarFileHeader writes sizes of 8 GiB and more.
    let size = 0;
    for (let i = 125; i < 136; i++) size = size * 256 + block[i]!;
    return size;
  }
  return parseInt(block.toString('ascii', 124, 136).replace(/[\0 ]+$/, '').trim() || '0', 8);
}

function isZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
