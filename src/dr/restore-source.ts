// The read side of a restore: the snapshot's bytes from a repository, an archive file or a
// plain snapshot file, handed to one consumer in a single pass, with every check `snapshot
// verify` makes (for repository snapshots the archive's size and SHA-256 against the manifest
// and the archive's manifest.json against the repository's; the snapshot's size, SHA-256, KV
// hash, keys, revision and cluster against the manifest that describes it). Every source
// honours the abort signal, a plain snapshot file included.
import { createReadStream } from 'node:fs';
import { readArchive, type EntryBytes } from '../archive/archive-reader.js';
import type { CheckedSnapshot } from '../archive/snapshot-check.js';
import { sniffSnapshotFile } from '../archive/snapshot-file.js';
import { IntegrityError } from '../errors.js';
import { mapFsError } from '../repo/fs-errors.js';
import { encodeManifest, entryPart, type EntryManifest, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import type { SnapshotRef } from './catalog.js';

export interface SourceReadOptions {
  readonly signal?: AbortSignal;
  /** Bytes read so far and, when known, the total. */
  readonly onProgress?: (bytes: number, total?: number) => void;
}

/** What the read established besides the consumer's own findings. */
export interface SourceRead {
  /** The snapshot ID, or the file path. */
  readonly target: string;
  readonly checked: CheckedSnapshot;
}

const MISMATCH_HINT = 'the backup is damaged; restore from another snapshot (lifeboat snapshot verify --all finds the good ones) and check the storage';

/**
 * Reads the snapshot named by `ref` once, through `consume` (which must read it to the end and
 * check it whole), then checks what it found against the manifests. IntegrityError (exit 13)
 * at the first mismatch; the abort reason when the signal fires.
 */
export async function readRestoreSource(
  repo: Repository | undefined,
  ref: SnapshotRef,
  consume: (bytes: EntryBytes) => Promise<CheckedSnapshot>,
  options: SourceReadOptions = {},
): Promise<SourceRead> {
  if (ref.kind === 'file') return readFile(ref.path, consume, options);
  if (!repo) throw new Error('a repository snapshot needs its repository');
  const manifest: Manifest = ref.entry.manifest;
  const id = manifest.id;
  const info = await repo.stat(manifest.archiveKey);
  if (!info) throw new IntegrityError(`snapshot ${id}: its archive ${manifest.archiveKey} is missing from ${repo.url}`, MISMATCH_HINT);
  if (info.size !== manifest.archiveBytes) {
    throw new IntegrityError(`snapshot ${id}: archive is ${info.size} bytes, the manifest says ${manifest.archiveBytes} (truncated or replaced)`, MISMATCH_HINT);
  }
  options.signal?.throwIfAborted();
  const read = await readArchive(await repo.read(manifest.archiveKey), {
    where: manifest.archiveKey,
    consume,
    signal: options.signal,
    onProgress: (bytes) => options.onProgress?.(bytes, manifest.archiveBytes),
  }).catch((err: unknown) => {
    throw named(err, id);
  });
  if (read.archiveBytes !== manifest.archiveBytes) {
    throw new IntegrityError(`snapshot ${id}: read ${read.archiveBytes} archive bytes, the manifest says ${manifest.archiveBytes}`, MISMATCH_HINT);
  }
  if (read.archiveSha256 !== manifest.archiveSha256) {
    throw new IntegrityError(`snapshot ${id}: archive SHA-256 ${read.archiveSha256} does not match the manifest's ${manifest.archiveSha256}`, MISMATCH_HINT);
  }
  if (!encodeManifest(read.entryManifest).equals(encodeManifest(entryPart(manifest)))) {
    throw new IntegrityError(`snapshot ${id}: the archive's manifest.json does not match the repository manifest`, MISMATCH_HINT);
  }
  checkAgainst(id, manifest, read.result);
  return { target: id, checked: read.result };
}

async function readFile(path: string, consume: (bytes: EntryBytes) => Promise<CheckedSnapshot>, options: SourceReadOptions): Promise<SourceRead> {
  const kind = await sniffSnapshotFile(path);
  options.signal?.throwIfAborted();
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  if (kind === 'archive') {
    const read = await readArchive(stream, { where: path, consume, signal: options.signal, onProgress: options.onProgress }).catch((err: unknown) => {
      throw named(err, path);
    });
    checkAgainst(path, read.entryManifest, read.result);
    return { target: path, checked: read.result };
  }
  const signal = options.signal;
  let seen = 0;
  async function* bytes(): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      // Checked between chunks, so a large file stops within one read of a Ctrl-C.
      signal?.throwIfAborted();
      seen += (chunk as Buffer).length;
      options.onProgress?.(seen);
      yield chunk as Buffer;
    }
  }
  try {
    return { target: path, checked: await consume(bytes()) };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if ((err as NodeJS.ErrnoException).code !== undefined && !(err instanceof IntegrityError)) throw mapFsError(err, `read ${path}`, path);
    throw named(err, path);
  } finally {
    stream.destroy();
  }
}

/** Checks the snapshot's own facts against the manifest that describes it. */
function checkAgainst(target: string, expected: EntryManifest, checked: CheckedSnapshot): void {
  const { summary } = checked;
  const problems: [string, unknown, unknown][] = [
    ['snapshot size', checked.bytes, expected.snapshotBytes],
    ['snapshot SHA-256', checked.sha256, expected.snapshotSha256],
    ['KV hash', summary.kvHash, expected.kvHash],
    ['key count', summary.trailer.recordCount, expected.keyCount],
    ['revision', summary.header.revision, expected.revision],
    ['cluster ID', summary.header.clusterId, expected.clusterId],
  ];
  for (const [what, actual, wanted] of problems) {
    if (actual !== wanted) {
      throw new IntegrityError(`snapshot ${target}: ${what} ${String(actual)} does not match the manifest's ${String(wanted)}`, MISMATCH_HINT);
    }
  }
}

/** Adds the snapshot's name to an integrity message that does not carry it yet. */
function named(err: unknown, target: string): unknown {
  if (err instanceof IntegrityError && !err.message.includes(target)) {
    return new IntegrityError(`${target}: ${err.message}`, err.hint, { cause: err });
  }
  return err;
}
