// The read side: verify, inspect and dump a snapshot named by `<id|latest|file>`.
// Every path reads the whole snapshot and checks everything (chunk CRCs, order, counts,
// trailer SHA-256, KV hash, and for repository snapshots the archive's size and SHA-256
// against the manifest), so a damaged backup never looks healthy. The first mismatch is an
// IntegrityError (exit 13) naming the snapshot and what did not match.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { readArchive, type EntryBytes } from '../archive/archive-reader.js';
import { checkSnapshotBytes, type CheckedSnapshot } from '../archive/snapshot-check.js';
import { sniffSnapshotFile } from '../archive/snapshot-file.js';
import { IntegrityError, LifeboatError } from '../errors.js';
import type { KeyValueRecord } from '../kv/record.js';
import { encodeManifest, entryPart, type EntryManifest, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { mapFsError } from '../repo/fs-errors.js';
import { decodeSnapshot, type SnapshotHeader, type SnapshotSummary } from '../snapshot/index.js';
import { listSnapshots, type CatalogEntry, type SnapshotRef } from './catalog.js';

export interface ReadOptions {
  readonly signal?: AbortSignal;
  /** Bytes read so far and, when known, the total. */
  readonly onProgress?: (bytes: number, total?: number) => void;
}

/** What a full read established. */
export interface VerifyReport {
  /** The snapshot ID, or the file path. */
  readonly target: string;
  readonly kind: 'repository' | 'archive-file' | 'snapshot-file';
  readonly manifest?: Manifest;
  /** The archive's manifest.json (archives only). */
  readonly entryManifest?: EntryManifest;
  readonly header: SnapshotHeader;
  readonly summary: SnapshotSummary;
  readonly snapshotBytes: number;
  readonly snapshotSha256: string;
  readonly archiveBytes?: number;
  readonly archiveSha256?: string;
}

const MISMATCH_HINT = 'the backup is damaged; restore from another snapshot (lifeboat snapshot verify --all finds the good ones) and check the storage';

/**
 * Reads a snapshot completely, checking everything; the consumer sees the snapshot bytes on the
 * way (restore writes them as they pass). Every source honours the abort signal, a plain
 * snapshot file included.
 */
export async function readRef<T>(
  repo: Repository | undefined,
  ref: SnapshotRef,
  consume: (bytes: EntryBytes) => Promise<T>,
  options: ReadOptions,
): Promise<{ report: Omit<VerifyReport, 'header' | 'summary' | 'snapshotBytes' | 'snapshotSha256'>; result: T }> {
  if (ref.kind === 'file') {
    const kind = await sniffSnapshotFile(ref.path);
    options.signal?.throwIfAborted();
    const stream = createReadStream(ref.path, { highWaterMark: 1024 * 1024 });
    if (kind === 'snapshot') {
      const result = await consumePlainFile(ref.path, stream, consume, options);
      return { report: { target: ref.path, kind: 'snapshot-file' }, result };
    }
    const read = await readArchive(stream, { where: ref.path, consume: (bytes) => consume(bytes), signal: options.signal, onProgress: options.onProgress }).catch(
      (err: unknown) => {
        throw named(err, ref.path);
      },
    );
    return {
      report: { target: ref.path, kind: 'archive-file', entryManifest: read.entryManifest, archiveBytes: read.archiveBytes, archiveSha256: read.archiveSha256 },
      result: read.result,
    };
  }
  if (!repo) throw new Error('a repository snapshot needs its repository');
  const { manifest } = ref.entry;
  const id = manifest.id;
  const info = await repo.stat(manifest.archiveKey);
  if (!info) {
    throw new IntegrityError(`snapshot ${id}: its archive ${manifest.archiveKey} is missing from ${repo.url}`, MISMATCH_HINT);
  }
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
  return {
    report: { target: id, kind: 'repository', manifest, entryManifest: read.entryManifest, archiveBytes: read.archiveBytes, archiveSha256: read.archiveSha256 },
    result: read.result,
  };
}

/** Feeds a plain snapshot file to the consumer, checking the abort signal between reads. */
async function consumePlainFile<T>(path: string, stream: Readable, consume: (bytes: EntryBytes) => Promise<T>, options: ReadOptions): Promise<T> {
  const { signal } = options;
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
    return await consume(bytes());
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if ((err as NodeJS.ErrnoException).code !== undefined && !(err instanceof IntegrityError)) throw mapFsError(err, `read ${path}`, path);
    throw named(err, path);
  } finally {
    stream.destroy();
  }
}

/** Checks the snapshot's own facts against the manifest that describes it (none for a plain file). */
export function checkAgainst(target: string, expected: EntryManifest | undefined, checked: CheckedSnapshot): void {
  if (!expected) return;
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

/** Verifies one snapshot completely; IntegrityError (exit 13) at the first mismatch. */
export async function verifySnapshotRef(repo: Repository | undefined, ref: SnapshotRef, options: ReadOptions = {}): Promise<VerifyReport> {
  const { report, result } = await readRef(repo, ref, checkSnapshotBytes, options);
  checkAgainst(report.target, report.manifest ?? report.entryManifest, result);
  return { ...report, header: result.summary.header, summary: result.summary, snapshotBytes: result.bytes, snapshotSha256: result.sha256 };
}

/** The outcome of verifying one snapshot of many. */
export interface VerifyOutcome {
  readonly entry: CatalogEntry;
  readonly report?: VerifyReport;
  readonly error?: LifeboatError;
}

/** Everything `verify --all` found. */
export interface VerifyAllResult {
  readonly outcomes: VerifyOutcome[];
  /** Manifests that could not even be read (each one a failure of the repository). */
  readonly problems: string[];
}

/** Verifies every listed snapshot, going on after failures; the caller decides the exit code. */
export async function verifyAll(repo: Repository, options: ReadOptions & { onResult?: (o: VerifyOutcome) => void } = {}): Promise<VerifyAllResult> {
  const { snapshots, problems } = await listSnapshots(repo, { drills: false });
  const outcomes: VerifyOutcome[] = [];
  for (const entry of snapshots) {
    options.signal?.throwIfAborted();
    let outcome: VerifyOutcome;
    try {
      outcome = { entry, report: await verifySnapshotRef(repo, { kind: 'repo', entry }, options) };
    } catch (err) {
      if (!(err instanceof LifeboatError) || options.signal?.aborted) throw err;
      outcome = { entry, error: err };
    }
    outcomes.push(outcome);
    options.onResult?.(outcome);
  }
  return { outcomes, problems: problems.filter((p) => !/archive .* is missing/.test(p)) };
}

/** Inspect: the manifest(s) and the header, after a full verification pass. */
export async function inspectSnapshotRef(repo: Repository | undefined, ref: SnapshotRef, options: ReadOptions = {}): Promise<VerifyReport> {
  return verifySnapshotRef(repo, ref, options);
}

/** One record as `snapshot dump` prints it (etcd's field names; key and value base64). */
export interface DumpLine {
  readonly key: string;
  readonly value: string;
  readonly create_revision: number;
  readonly mod_revision: number;
  readonly version: number;
}

/** Converts a record to its dump line. */
export function dumpLine(r: KeyValueRecord): DumpLine {
  return { key: r.key.toString('base64'), value: r.value.toString('base64'), create_revision: r.createRevision, mod_revision: r.modRevision, version: r.version };
}

/**
 * Dump: hands every record, in key order, to `write` (which may return a promise for
 * backpressure). Records come only from chunks whose CRC held; a problem found later (a bad
 * chunk further on, a trailer or archive hash mismatch) still fails the dump with exit 13.
 */
export async function dumpSnapshotRef(
  repo: Repository | undefined,
  ref: SnapshotRef,
  write: (records: readonly KeyValueRecord[]) => void | Promise<void>,
  options: ReadOptions = {},
): Promise<VerifyReport> {
  const consume = async (bytes: EntryBytes): Promise<CheckedSnapshot> => {
    const c = { bytes: 0, sha: createHash('sha256') };
    async function* tap(): AsyncGenerator<Buffer> {
      for await (const chunk of bytes) {
        c.sha.update(chunk);
        c.bytes += chunk.length;
        yield chunk;
      }
    }
    const decoder = decodeSnapshot(tap());
    for await (const batch of decoder.batches()) await write(batch);
    const summary = await decoder.done;
    return { summary, bytes: c.bytes, sha256: c.sha.digest('hex') };
  };
  const { report, result } = await readRef(repo, ref, consume, options);
  checkAgainst(report.target, report.manifest ?? report.entryManifest, result);
  return { ...report, header: result.summary.header, summary: result.summary, snapshotBytes: result.bytes, snapshotSha256: result.sha256 };
}

/** Adds the snapshot's name to an integrity message that does not carry it yet. */
function named(err: unknown, target: string): unknown {
  if (err instanceof IntegrityError && !err.message.includes(target)) {
    return new IntegrityError(`${target}: ${err.message}`, err.hint, { cause: err });
  }
  return err;
}
