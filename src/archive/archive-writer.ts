// The second half of writing an archive: a small zstd frame with the tar headers
// (manifest.json, its body, then the snapshot entry's header, now that its size is known),
// followed by the spooled body frame, streamed into the repository while its SHA-256 is taken.
//
// Layout of <id>.tar.zst (two concatenated zstd frames, one tar stream):
//   frame 1: [ustar header "manifest.json"][manifest bytes + padding][ustar header "<id>.snap"]
//   frame 2: [snapshot bytes][padding to 512][two zero blocks]
import { createReadStream } from 'node:fs';
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
