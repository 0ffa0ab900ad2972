// The second half of writing an archive: a small zstd frame with the tar headers
// (manifest.json, its body, then the snapshot entry's header, now that its size is known),
// followed by the spooled body frame, streamed into the repository while its SHA-256 is taken.
//
// Layout of <id>.tar.zst (two concatenated zstd frames, one tar stream):
//   frame 1: [ustar header "manifest.json"][manifest bytes + padding][ustar header "<id>.snap"]
//   frame 2: [snapshot bytes][padding to 512][two zero blocks]
//
// In a local repository the body frame is compressed straight into the archive's temporary
// file, after room reserved for frame 1 (whose size is known only at the end); frame 1 is then
// written into that room and the rest of it filled with a zstd skippable frame, which every
// zstd decoder (libzstd, the zstd CLI, GNU tar --zstd) passes over by design:
//   [frame 1][skippable frame: zeros][frame 2]
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { compressFrame } from './compression.js';
import type { SpooledBody } from './spool.js';
import { tarFileHeader, tarPadding } from './tar-header.js';

/** Name of the first entry of every archive. */
export const MANIFEST_ENTRY = 'manifest.json';

export interface StoreArchiveOptions {
  /** The archive's manifest.json entry. */
  readonly entryManifest: Buffer;
  /** Name of the snapshot entry, `<id>.snap`. */
  readonly entryName: string;
  readonly body: SpooledBody;
  readonly compressionLevel: number;
  /** Modification time recorded in the tar headers. */
  readonly mtime: Date;
  readonly signal?: AbortSignal;
  /** Called with the archive bytes stored so far. */
  readonly onProgress?: (archiveBytes: number) => void;
}

/** What was stored. */
export interface StoredArchive {
  readonly archiveBytes: number;
  readonly archiveSha256: string;
}

/** The first zstd frame of an archive: both headers and the manifest entry. */
export function headFrame(entryManifest: Buffer, entryName: string, bodyBytes: number, mtime: Date, level: number): Buffer {
  const tarHead = Buffer.concat([
    tarFileHeader(MANIFEST_ENTRY, entryManifest.length, mtime),
    entryManifest,
    tarPadding(entryManifest.length),
    tarFileHeader(entryName, bodyBytes, mtime),
  ]);
  return compressFrame(tarHead, level);
}

/** Magic of the first of zstd's skippable frame types (little-endian 0x184D2A50). */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_HEADER = 8;

/**
 * Bytes to reserve for frame 1 and its padding when the manifest entry will be at most
 * `maxManifestBytes`: zstd's worst case for the tar headers plus a skippable frame's header,
 * rounded to 4 KiB.
 */
export function headReserve(maxManifestBytes: number): number {
  const tarHead = 512 + maxManifestBytes + tarPadding(maxManifestBytes).length + 512;
  // ZSTD_compressBound is n + n/256 plus at most 64 bytes for n this small; /128 and 1 KiB are a margin on top.
  const bound = tarHead + (tarHead >> 7) + 1024 + SKIPPABLE_HEADER;
  return Math.ceil(bound / 4096) * 4096;
}

/** A zstd skippable frame of exactly `size` bytes (at least 8), zeros inside. */
export function skippableFrame(size: number): Buffer {
  if (size < SKIPPABLE_HEADER) throw new RangeError(`a skippable frame needs at least ${SKIPPABLE_HEADER} bytes, not ${size}`);
  const frame = Buffer.alloc(size);
  frame.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  frame.writeUInt32LE(size - SKIPPABLE_HEADER, 4);
  return frame;
}

/** Fills the reserved room at the start of a staged archive: frame 1, then a skippable frame up to `reserved`. */
export async function writeHeadInPlace(path: string, head: Buffer, reserved: number): Promise<void> {
  if (head.length + SKIPPABLE_HEADER > reserved) {
    throw new IntegrityError(`the archive's head frame (${head.length} bytes) does not fit the ${reserved} bytes reserved for it`, 'this is a bug; report it');
  }
  const room = Buffer.concat([head, skippableFrame(reserved - head.length)]);
  const handle = await open(path, 'r+');
  try {
    let at = 0;
    while (at < room.length) at += (await handle.write(room, at, room.length - at, at)).bytesWritten;
  } finally {
    await handle.close();
  }
}

/** Writes the archive under `key`; the repository makes it appear whole or not at all. */
export async function storeArchive(repo: Repository, key: string, options: StoreArchiveOptions): Promise<StoredArchive> {
  const head = headFrame(options.entryManifest, options.entryName, options.body.bodyBytes, options.mtime, options.compressionLevel);
  const hash = createHash('sha256');
  let produced = 0;
  const spoolPath = options.body.path;
  async function* archiveBytes(): AsyncGenerator<Buffer> {
    hash.update(head);
    produced += head.length;
    yield head;
    for await (const chunk of createReadStream(spoolPath, { highWaterMark: 1024 * 1024 })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      produced += buf.length;
      yield buf;
    }
  }
  const { bytes } = await repo.writeStream(key, Readable.from(archiveBytes(), { objectMode: false }), {
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const expected = head.length + options.body.spoolBytes;
  if (bytes !== produced || bytes !== expected) {
    throw new IntegrityError(
      `the repository stored ${bytes} bytes of ${key}, but ${expected} were sent`,
      'the storage lost bytes on the way; check the repository and run the save again',
    );
  }
  return { archiveBytes: bytes, archiveSha256: hash.digest('hex') };
}
