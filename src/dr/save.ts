// `snapshot save`: stream a snapshot into the repository and prove it is there.
//
// Order of events, each step only after the previous one succeeded:
//   1. receive: the snapshot streams through the verifying pass-through (every chunk CRC, the
//      trailer's SHA-256 and KV hash) and zstd. In a local repository it is compressed straight
//      into the archive's hidden temporary file (.<id>.tar.zst.partial-<hex>) beside its final
//      name; elsewhere (S3) into a local spool (archive/spool.ts);
//   2. store: locally, the head frame goes into the room left for it, the file is fsynced and
//      linked under snapshots/<id>.tar.zst (never over an existing object), and the folder
//      fsynced; on S3, the spool is uploaded (whole or not at all);
//   3. verify: the archive is read back from the repository and decompressed; its snapshot
//      entry must have exactly the size and SHA-256 of the bytes step 1 checked in full, its
//      manifest.json the bytes written, its trailer the counts and KV hash;
//   4. commit: the manifest snapshots/<id>.json is created (never overwritten) and read back.
// The manifest is the commit marker, and it is written only for an archive that was read back
// and verified, so a listed snapshot is always a verified one. Listing reads manifests only,
// so neither the temporary file nor an archive without its manifest is ever listed. Any
// failure removes what this run wrote (the archive, the temporary file, the spool), never
// anything older.
import type { Readable } from 'node:stream';
import { digestArchive } from '../archive/archive-digest.js';
import { headFrame, headReserve, storeArchive, writeHeadInPlace } from '../archive/archive-writer.js';
import { DEFAULT_COMPRESSION_LEVEL, checkCompressionLevel } from '../archive/compression.js';
import { startDeadline } from '../archive/deadline.js';
import { spoolCompressed, type SpooledBody, type SpoolTarget } from '../archive/spool.js';
import { mapFsError } from '../repo/fs-errors.js';
import { ClusterUnavailableError, IntegrityError, LifeboatError, StorageUnavailableError, UnsafeOperationError } from '../errors.js';
import {
  ENTRY_MANIFEST_SCHEMA,
  MANIFEST_SCHEMA,
  encodeManifest,
  parseManifest,
  type Consistency,
  type EntryManifest,
  type Manifest,
} from '../repo/manifest.js';
import type { Repository, StagedObject } from '../repo/repository.js';
import { archiveKey, formatSnapshotId, manifestKey, snapshotEntryName } from '../repo/snapshot-id.js';
import { createVerifyingPassThrough, type SnapshotHeader } from '../snapshot/index.js';
import { VERSION } from '../version.js';

/** Anything that can open a snapshot stream: LifeboatClient (with failover) satisfies it. */
export interface SnapshotSource {
  snapshot(options: { serializable: boolean; signal?: AbortSignal }): Promise<{ stream: Readable; endpoint: string }>;
}

/** Progress of a save: receiving the snapshot, storing the archive, reading it back. */
export interface SaveProgress {
  readonly phase: 'receive' | 'store' | 'verify';
  /** Snapshot bytes received (receive), archive bytes stored or read back (store, verify). */
  readonly bytes: number;
  /** Known for store and verify. */
  readonly total?: number;
}

export interface SaveOptions {
  readonly repo: Repository;
  /** zstd level, 1-19 (default 3). */
  readonly compressionLevel?: number;
  /** SIGINT/SIGTERM: the save stops and commits nothing. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SaveProgress) => void;
  /** Hard limit for the whole save; by default the budget scales with the bytes received. */
  readonly timeoutMs?: number;
  /** Where the compressed spool goes for a repository that cannot stage in place (S3); default os.tmpdir(). */
  readonly spoolDir?: string;
  /** Clock, for tests and reproducible IDs. */
  readonly now?: () => Date;
}

export interface SaveFromStreamOptions extends SaveOptions {
  readonly consistency: Consistency;
  /** Where the bytes come from: a client URL or a data directory (recorded in the manifest). */
  readonly source: string;
}

export interface SaveSnapshotOptions extends SaveOptions {
  readonly client: SnapshotSource;
  /** Take a serializable snapshot from whichever member answers, even without quorum. */
  readonly allowStale?: boolean;
}

/** A committed, verified snapshot. */
export interface SaveResult {
  readonly manifest: Manifest;
}

/** Saves a snapshot streamed from a live cluster (through the client's failover). */
export async function saveSnapshot(options: SaveSnapshotOptions): Promise<SaveResult> {
  const consistency: Consistency = options.allowStale ? 'serializable' : 'linearizable';
  return runSave(options, consistency, async (signal) => {
    try {
      const { stream, endpoint } = await options.client.snapshot({ serializable: options.allowStale === true, signal });
      return { stream, source: endpoint };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof ClusterUnavailableError && !options.allowStale) {
        // The usual cause is a lost quorum; say how to get a backup anyway.
        throw new ClusterUnavailableError(err.message, 'check that a quorum of members is up, or take a serializable snapshot from any member with --allow-stale', { cause: err });
      }
      if (err instanceof LifeboatError) throw err;
      throw new ClusterUnavailableError(
        `cannot start a snapshot: ${err instanceof Error ? err.message : String(err)}`,
        options.allowStale ? 'check that at least one endpoint is up' : 'check that a quorum of members is up; --allow-stale takes a serializable snapshot from any member',
        { cause: err },
      );
    }
  });
}

/** The core of save: archives, stores, verifies and commits a snapshot byte stream from anywhere. */
export async function saveFromStream(stream: Readable, options: SaveFromStreamOptions): Promise<SaveResult> {
  return runSave(options, options.consistency, async () => ({ stream, source: options.source }));
}

type Opener = (signal: AbortSignal) => Promise<{ stream: Readable; source: string }>;

async function runSave(options: SaveOptions, consistency: Consistency, open: Opener): Promise<SaveResult> {
  const level = checkCompressionLevel(options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL);
  const now = options.now ?? (() => new Date());
  const { repo } = options;
  const startedAt = now();
  const t0 = performance.now();
  let moved = 0;
  const deadline = startDeadline({ timeoutMs: options.timeoutMs, what: 'snapshot save' });
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const report = (phase: SaveProgress['phase'], bytes: number, base: number, total?: number) => {
    deadline.progress(base + bytes);
    options.onProgress?.({ phase, bytes, total });
  };

  let body: SpooledBody | undefined;
  // Local repositories: the archive's temporary file, filled in place, and the room left for its head.
  let staged: { object: StagedObject; key: string; reserved: number } | undefined;
  let writtenArchive: string | undefined;
  // Set while our manifest may exist: a create that failed may still have stored it.
  let ourManifest: string | undefined;
  // Which side a timeout blames: the cluster while the snapshot arrives, the storage after.
  let storing = false;
  try {
    await repo.ensureInitialized();
    signal.throwIfAborted();
    const { stream, source } = await open(signal);

    // 1. receive
    let sourceError: unknown;
    stream.once('error', (err) => (sourceError ??= err));
    const verifier = createVerifyingPassThrough();
    const stage = repo.stage?.bind(repo);
    // Called once compressed bytes exist, so the header has passed the verifier: the archive's
    // name and an upper bound for its manifest are known, and so is the room its head needs.
    const target = stage
      ? async (): Promise<SpoolTarget> => {
          const header = await verifier.header;
          const id = formatSnapshotId(startedAt, header.clusterId, header.revision);
          const key = archiveKey(id);
          const largest = entryManifestOf(id, startedAt, source, consistency, level, {
            header,
            dataBytes: Number.MAX_SAFE_INTEGER,
            kvHash: 0xffffffff,
            snapshotBytes: Number.MAX_SAFE_INTEGER,
            snapshotSha256: 'f'.repeat(64),
          });
          const reserved = headReserve(encodeManifest(largest).length);
          const object = await stage(key);
          staged = { object, key, reserved };
          return { path: object.path, offset: reserved, describeFailure: (err) => mapFsError(err, `write ${key}`, repo.url) };
        }
      : undefined;
    try {
      body = await spoolCompressed(stream, {
        compressionLevel: level,
        spoolDir: options.spoolDir,
        target,
        inspect: verifier,
        signal,
        onProgress: (bytes) => report('receive', bytes, 0),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err === sourceError && !(err instanceof LifeboatError)) {
        throw new ClusterUnavailableError(
          `the snapshot stream from ${source} broke: ${err instanceof Error ? err.message : String(err)}`,
          'the member stopped or the connection dropped; run the save again (the client fails over to another endpoint)',
          { cause: err },
        );
      }
      throw err;
    }
    const summary = await verifier.result;
    if (summary.totalBytes !== body.bodyBytes) {
      throw new IntegrityError(`the snapshot verifier saw ${summary.totalBytes} bytes but ${body.bodyBytes} were archived`, 'this is a bug; report it');
    }
    moved = body.bodyBytes;
    const streamMs = performance.now() - t0;

    // 2. store
    const { header } = summary;
    const id = formatSnapshotId(startedAt, header.clusterId, header.revision);
    const key = archiveKey(id);
    if ((await repo.stat(manifestKey(id))) || (await repo.stat(key))) {
      throw new UnsafeOperationError(`snapshot ${id} already exists in ${repo.url}`, 'a snapshot of this revision was saved in the same second; nothing was overwritten');
    }
    const entry = entryManifestOf(id, startedAt, source, consistency, level, {
      header,
      dataBytes: summary.trailer.dataBytes,
      kvHash: summary.kvHash,
      snapshotBytes: body.bodyBytes,
      snapshotSha256: body.bodySha256,
    });
    const entryBytes = encodeManifest(entry);
    const t1 = performance.now();
    storing = true;
    let written: { archiveBytes: number; archiveSha256?: string };
    if (staged) {
      if (staged.key !== key) throw new Error(`the archive was staged as ${staged.key} but belongs under ${key}`);
      const head = headFrame(entryBytes, entry.snapshotName, body.bodyBytes, startedAt, level);
      await writeHeadInPlace(staged.object.path, head, staged.reserved).catch((err: unknown) => {
        throw mapFsError(err, `write ${key}`, repo.url);
      });
      signal.throwIfAborted();
      await staged.object.publish();
      writtenArchive = key;
      written = { archiveBytes: staged.reserved + body.spoolBytes };
      report('store', written.archiveBytes, moved, written.archiveBytes);
    } else {
      written = await storeArchive(repo, key, {
        entryManifest: entryBytes,
        entryName: entry.snapshotName,
        body,
        compressionLevel: level,
        mtime: startedAt,
        signal,
        onProgress: (bytes) => report('store', bytes, moved, undefined),
      });
      writtenArchive = key;
    }
    moved += written.archiveBytes;
    await body.dispose();
    body = undefined;
    const uploadMs = performance.now() - t1;

    // 3. verify
    const t2 = performance.now();
    const stored = await verifyReadBack(repo, key, entryBytes, entry, written, signal, (bytes) => report('verify', bytes, moved, written.archiveBytes));
    const verifyMs = performance.now() - t2;

    // 4. commit
    const manifest: Manifest = {
      ...entry,
      schema: MANIFEST_SCHEMA,
      archiveKey: key,
      archiveBytes: stored.archiveBytes,
      archiveSha256: stored.archiveSha256,
      verifiedAt: now().toISOString(),
      timings: { streamMs: round(streamMs), uploadMs: round(uploadMs), verifyMs: round(verifyMs), totalMs: round(performance.now() - t0) },
    };
    signal.throwIfAborted();
    ourManifest = manifestKey(id);
    if (!(await repo.createExclusive(manifestKey(id), encodeManifest(manifest)))) {
      ourManifest = undefined; // another run's: never ours to remove
      throw new UnsafeOperationError(`the manifest of ${id} appeared while this save ran`, 'another save wrote the same snapshot ID; nothing was overwritten');
    }
    try {
      parseManifest(await repo.readSmall(manifestKey(id)), manifestKey(id), id);
    } catch (err) {
      await repo.delete(manifestKey(id)).catch(() => undefined);
      throw err;
    }
    return { manifest };
  } catch (err) {
    // Uncommit first, so a crash between the two deletes leaves an incomplete upload, never a listed snapshot without its archive.
    if (ourManifest) await repo.delete(ourManifest).catch(() => undefined);
    if (writtenArchive) await repo.delete(writtenArchive).catch(() => undefined);
    const typed = err instanceof LifeboatError && err.exitCode !== 1 && err !== signal.reason;
    if (!signal.aborted || typed) throw err;
    if (storing && signal.reason === deadline.signal.reason) {
      const why = (signal.reason as Error).message.replace(/^snapshot save /, '');
      throw new StorageUnavailableError(
        `snapshot save ${why} while storing the archive in ${repo.url}`,
        'the repository stopped taking or returning data; check the storage endpoint, the network and the disk or bucket, or raise --timeout if the archive is just large',
        { cause: signal.reason },
      );
    }
    throw signal.reason;
  } finally {
    deadline.stop();
    if (body) await body.dispose().catch(() => undefined);
    // After a publish this only removes the (already gone) temporary name; before, the half-written file.
    if (staged) await staged.object.discard();
  }
}

/** What the receive pass established about the snapshot, for its manifest. */
interface Received {
  readonly header: SnapshotHeader;
  readonly dataBytes: number;
  readonly kvHash: number;
  readonly snapshotBytes: number;
  readonly snapshotSha256: string;
}

function entryManifestOf(id: string, startedAt: Date, source: string, requested: Consistency, level: number, received: Received): EntryManifest {
  const h = received.header;
  // A member that could only serve a serializable snapshot says so; trust the weaker claim.
  const consistency: Consistency = h.extra.consistency === 'serializable' && requested === 'linearizable' ? 'serializable' : requested;
  return {
    schema: ENTRY_MANIFEST_SCHEMA,
    id,
    formatVersion: h.formatVersion,
    toolVersion: VERSION,
    createdAt: startedAt.toISOString(),
    clusterId: h.clusterId,
    members: h.members,
    sourceMember: h.sourceMember,
    source,
    raftIndex: h.raftIndex,
    raftTerm: h.raftTerm,
    revision: h.revision,
    compactRevision: h.compactRevision,
    keyCount: h.keyCount,
    dataBytes: received.dataBytes,
    kvHash: received.kvHash,
    consistency,
    snapshotName: snapshotEntryName(id),
    snapshotBytes: received.snapshotBytes,
    snapshotSha256: received.snapshotSha256,
    compression: 'zstd',
    compressionLevel: level,
  };
}

/**
 * Reads the stored archive back and proves it holds what was sent: it decompresses, its
 * manifest.json is the one written, and its snapshot entry has the size and SHA-256 of the bytes
 * the receive pass verified in full (chunk CRCs, order, counts, trailer SHA-256, KV hash), so it
 * is those bytes. Records are not decoded a second time: equal SHA-256 already proves them.
 * Returns the archive's size and SHA-256 as stored (what the manifest records).
 */
async function verifyReadBack(
  repo: Repository,
  key: string,
  entryBytes: Buffer,
  entry: EntryManifest,
  written: { archiveBytes: number; archiveSha256?: string },
  signal: AbortSignal,
  onProgress: (bytes: number) => void,
): Promise<{ archiveBytes: number; archiveSha256: string }> {
  const mismatch = (what: string) =>
    new IntegrityError(`read-back of ${key} does not match what was written: ${what}`, 'the storage damaged the archive; check the disk or bucket, then run the save again');
  const read = await digestArchive(await repo.read(key), { where: key, signal, onProgress });
  if (read.archiveBytes !== written.archiveBytes) throw mismatch(`${read.archiveBytes} bytes, expected ${written.archiveBytes}`);
  if (written.archiveSha256 !== undefined && read.archiveSha256 !== written.archiveSha256) throw mismatch('archive SHA-256 differs');
  if (!read.manifestBytes.equals(entryBytes)) throw mismatch('manifest.json differs');
  if (read.snapshotName !== entry.snapshotName) throw mismatch(`the snapshot entry is named ${JSON.stringify(read.snapshotName)}`);
  const { bytes, sha256, trailer } = read.snapshot;
  if (bytes !== entry.snapshotBytes || sha256 !== entry.snapshotSha256) throw mismatch('snapshot SHA-256 differs');
  if (!trailer || trailer.kvHash !== entry.kvHash) throw mismatch('KV hash differs');
  if (trailer.recordCount !== entry.keyCount) throw mismatch('record count differs');
  if (trailer.dataBytes !== entry.dataBytes) throw mismatch('data byte count differs');
  return { archiveBytes: read.archiveBytes, archiveSha256: read.archiveSha256 };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
