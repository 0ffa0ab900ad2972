// The read side of an archive: bytes -> SHA-256 and count -> zstd -> tar -> manifest.json
// entry, then the snapshot entry handed to a consumer (the snapshot decoder or verifier).
// Anything else in the tar, or anything missing, is an IntegrityError: an archive has exactly
// the two entries the writer puts there.
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { IntegrityError, LifeboatError } from '../errors.js';
import { parseEntryManifest, type EntryManifest } from '../repo/manifest.js';
import { MANIFEST_ENTRY } from './archive-writer.js';
import { createDecompressor } from './compression.js';
import { HashCounter, Rechunker } from './hash-counter.js';
import { mapFsError } from '../repo/fs-errors.js';

/** A manifest entry is a few KiB; anything much larger is not ours. */
const MAX_MANIFEST_ENTRY = 1024 * 1024;
/** Pieces fed to zstd, so that one write never inflates into a huge buffer. */
const DECOMPRESS_PIECE = 64 * 1024;

const CORRUPT_HINT = 'the archive was damaged or cut short in storage; run lifeboat snapshot verify --all and restore from another snapshot';

/** An entry of the tar stream (a streamx Readable: async-iterable bytes). */
type Entry = AsyncIterable<Buffer> & { header: { name: string; size: number; type: string }; resume(): unknown; destroy(err?: Error): unknown };

/** The snapshot entry's bytes, as handed to a consumer. */
export type EntryBytes = AsyncIterable<Buffer>;

export interface ArchiveReadOptions<T> {
  /** Names the archive in messages (repository key or file path). */
  readonly where: string;
  /** Reads the snapshot entry to its end; its result is returned. Errors it throws pass through unchanged. */
  readonly consume: (snapshot: EntryBytes, manifest: EntryManifest) => Promise<T>;
  readonly signal?: AbortSignal;
  /** Called with the archive bytes read so far. */
  readonly onProgress?: (archiveBytes: number) => void;
}

export interface ArchiveReadResult<T> {
  readonly entryManifest: EntryManifest;
  readonly result: T;
  readonly archiveBytes: number;
  readonly archiveSha256: string;
}

type Stage = 'source' | 'zstd' | 'tar';

/** Reads an archive from `source` (which it always consumes or destroys). */
export async function readArchive<T>(source: Readable, options: ArchiveReadOptions<T>): Promise<ArchiveReadResult<T>> {
  const counter = new HashCounter(options.onProgress);
  const unzstd = createDecompressor();
  const untar = extract();
  let firstError: { stage: Stage; error: unknown } | undefined;
  const note = (stage: Stage) => (error: unknown) => (firstError ??= { stage, error });
  source.once('error', note('source'));
  unzstd.once('error', note('zstd'));
  untar.once('error', note('tar'));
  const feeding = pipeline(source, counter, new Rechunker(DECOMPRESS_PIECE), unzstd as Transform, untar, { signal: options.signal });
  feeding.catch(() => undefined);

  try {
    const entries = (untar as unknown as AsyncIterable<Entry>)[Symbol.asyncIterator]();
    const first = await nextEntry(entries, options.where);
    if (!first) throw new IntegrityError(`${options.where} is an empty tar archive`, CORRUPT_HINT);
    if (first.header.name !== MANIFEST_ENTRY) {
      first.resume();
      throw new IntegrityError(`${options.where} does not start with ${MANIFEST_ENTRY} (found ${JSON.stringify(first.header.name)}); it is not a Lifeboat archive`, 'check the path: only archives written by lifeboat snapshot save can be read');
    }
    if ((first.header.size ?? 0) > MAX_MANIFEST_ENTRY) {
      throw new IntegrityError(`${MANIFEST_ENTRY} in ${options.where} is ${first.header.size} bytes, far too large`, CORRUPT_HINT);
    }
    const manifest = parseEntryManifest(await readAll(first), options.where);

    const second = await nextEntry(entries, options.where);
    if (!second) throw new IntegrityError(`${options.where} ends after ${MANIFEST_ENTRY}: the snapshot entry is missing`, CORRUPT_HINT);
    if (second.header.name !== manifest.snapshotName || second.header.type !== 'file') {
      second.resume();
      throw new IntegrityError(`${options.where} holds ${JSON.stringify(second.header.name)} where ${manifest.snapshotName} was expected`, CORRUPT_HINT);
    }
    if (second.header.size !== manifest.snapshotBytes) {
      second.resume();
      throw new IntegrityError(`${options.where}: the snapshot entry is ${second.header.size} bytes, the manifest says ${manifest.snapshotBytes}`, CORRUPT_HINT);
    }
    let entryEnded = false;
    async function* entryBytes(): AsyncGenerator<Buffer> {
      for await (const chunk of second!) yield chunk;
      entryEnded = true;
    }
    const result = await options.consume(entryBytes(), manifest);
    if (!entryEnded) {
      throw new Error(`the consumer of ${options.where} did not read the snapshot entry to its end`);
    }
    const extra = await nextEntry(entries, options.where);
    if (extra) {
      extra.resume();
      throw new IntegrityError(`${options.where} holds an unexpected entry ${JSON.stringify(extra.header.name)} after the snapshot`, 'the archive was altered after it was written; use another snapshot');
    }
    await feeding;
    return { entryManifest: manifest, result, archiveBytes: counter.bytes, archiveSha256: counter.digest() };
  } catch (err) {
    // Stop reading: the source (a file, an S3 download) must not keep flowing into nothing.
    source.destroy();
    untar.destroy();
    throw classify(err, firstError, options.where, options.signal);
  }
}

async function nextEntry(entries: AsyncIterator<Entry>, where: string): Promise<Entry | undefined> {
  const step = await entries.next();
  if (step.done) return undefined;
  const entry = step.value;
  if (entry.header.type !== 'file') {
    entry.resume();
    throw new IntegrityError(`${where} holds a ${entry.header.type} entry ${JSON.stringify(entry.header.name)}; Lifeboat archives hold only files`, 'the archive was altered after it was written; use another snapshot');
  }
  return entry;
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Turns a failure into the most telling typed error: the stage that failed first wins. */
function classify(err: unknown, first: { stage: Stage; error: unknown } | undefined, where: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  const root = first?.error ?? err;
  if (root instanceof LifeboatError) return root;
  if (err instanceof LifeboatError && first?.stage !== 'zstd' && first?.stage !== 'tar') return err;
  const message = root instanceof Error ? root.message : String(root);
  if (first?.stage === 'zstd') {
    return new IntegrityError(`${where} is not a valid zstd stream: ${message}`, CORRUPT_HINT);
  }
  if (first?.stage === 'tar') {
    return new IntegrityError(`${where} is not a valid tar archive: ${message}`, CORRUPT_HINT);
  }
  if (first?.stage === 'source') return mapFsError(root, `read ${where}`, where);
  return err;
}
