// `snapshot restore`: builds data directories for a NEW cluster from a snapshot. One verifying
// read of the snapshot feeds every member being built (the CLI builds one; a drill builds them
// all), each into a temporary directory beside its target. The record chunks pass through
// untouched (restore-splice.ts): only the header and trailer of each member's file are new.
// Only when the whole snapshot has been checked (every chunk, the trailer, the KV hash, and
// for repository snapshots the archive hash against the manifest) are the directories renamed
// into place. An interrupted or failed restore therefore leaves nothing that could start.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { EntryBytes } from '../archive/archive-reader.js';
import type { CheckedSnapshot } from '../archive/snapshot-check.js';
import type { KeyValueRecord } from '../kv/record.js';
import type { SnapshotMetadata } from '../raft/types.js';
import type { Repository } from '../repo/repository.js';
import { SnapshotParser, type SnapshotHeader, type SnapshotMember, type SnapshotTrailer } from '../snapshot/index.js';
import { writeIdentity } from '../storage/identity.js';
import { MemberStorage } from '../storage/member-storage.js';
import { StorageUnavailableError, UnsafeOperationError, UsageError } from '../errors.js';
import { StorageFailedError } from '../storage/storage-failed-error.js';
import { NodeFileSystem } from '../storage/node-file-system.js';
import type { SnapshotRef } from './catalog.js';
import { RecordChannel, fanOut } from './record-channel.js';
import type { RestorePlan } from './restore-plan.js';
import { BuildFileSystem, syncTree } from './restore-file-system.js';
import { trackScratch } from './restore-scratch.js';
import { readRestoreSource, type SourceReadOptions } from './restore-source.js';
import { ChunkSplice, splicedSnapshot } from './restore-splice.js';

const RESTORED_SEGMENT_BYTES = 1024 * 1024;

/** What a restore established. */
export interface RestoreResult {
  readonly clusterId: string;
  readonly sourceClusterId: string;
  /** The revision the new cluster starts at (the snapshot's, plus any bump). */
  readonly revision: number;
  readonly compactRevision: number;
  readonly sourceRevision: number;
  readonly keyCount: number;
  readonly kvHash: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly dataDirs: readonly string[];
  readonly members: readonly SnapshotMember[];
}

export interface RestoreOptions extends SourceReadOptions {
  readonly repo: Repository | undefined;
  readonly ref: SnapshotRef;
  readonly plan: RestorePlan;
  /** Sees every record batch of the snapshot as it is verified (a drill samples keys); may return a promise. */
  readonly onRecords?: (records: readonly KeyValueRecord[]) => void | Promise<void>;
  /** Called once the snapshot has been read and verified whole (the members' files are then nearly written). */
  readonly onVerified?: () => void;
  readonly now?: () => Date;
}

/** A promise with its settle functions, whose rejection is never reported as unhandled. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Restores every target of the plan from one verified read of the snapshot. */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { plan, ref, repo } = options;
  const now = options.now ?? (() => new Date());
  // Client URLs are published by each member once it runs; the replicated member table must
  // start the same on every member, so none are recorded here (as a fresh cluster does).
  const members: SnapshotMember[] = plan.members.map((m) => ({ id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [], isLearner: false }));
  const confState = { voters: members.map((m) => m.id), learners: [] };
  // The source's header arrives with its first bytes; its trailer's counts are used only once
  // the whole snapshot passed the parser's checks.
  const sourceHeader = deferred<SnapshotHeader>();
  const sourceTrailer = deferred<SnapshotTrailer>();

  const suffix = randomBytes(4).toString('hex');
  const builds = plan.targets.map((t) => {
    const temp = join(dirname(t.dataDir), `.${basename(t.dataDir)}.restoring-${suffix}`);
    return { target: t, temp, channel: new RecordChannel<Buffer>(), untrack: trackScratch(temp) };
  });
  // Every member gets the same snapshot file (same header, so the same bytes). When they are all
  // built on one file system (a drill), the first member's file is written and the others are
  // hard links to it: a member never changes a snapshot file, it only writes new ones and
  // unlinks old ones. That writes the state once instead of once per member.
  const createdAt = now().toISOString();
  const shared = builds.length > 1 && (await oneFileSystem(builds.map((b) => dirname(b.temp))));
  const firstFile = deferred<string>();
  let committed = false;
  try {
    const writers = builds.map(async (b, i) => {
      try {
        await mkdir(dirname(b.temp), { recursive: true });
        const fs = new BuildFileSystem();
        writeIdentity(fs, b.temp, { clusterId: plan.clusterId, memberId: b.target.member.id, name: b.target.member.name });
        // The first segment only has to hold the hard state and the snapshot marker: a small one spares
        // writing 64 MiB of preallocated zeros per member (later segments get the member's full size).
        const storage = await MemberStorage.open(fs, b.temp, { log: () => {}, segmentSize: RESTORED_SEGMENT_BYTES });
        try {
          const source = await sourceHeader.promise;
          const metadata: SnapshotMetadata = { index: source.raftIndex, term: source.raftTerm, confState };
          const revision = source.revision + plan.bumpRevision;
          const header = {
            clusterId: plan.clusterId,
            members,
            raftIndex: metadata.index,
            raftTerm: metadata.term,
            revision,
            compactRevision: plan.markCompacted ? revision : source.compactRevision,
            keyCount: source.keyCount,
            createdAt,
            sourceMember: plan.targets[0]!.member.id,
            extra: { restoredFrom: { clusterId: source.clusterId, revision: source.revision, snapshot: ref.kind === 'repo' ? ref.entry.id : ref.path } },
          };
          const path = storage.snapshotPath(metadata);
          if (shared && i > 0) {
            await link(await firstFile.promise, path);
            storage.markSnapshotCurrent(metadata);
          } else {
            await storage.saveSnapshot(metadata, splicedSnapshot(header, b.channel, () => sourceTrailer.promise));
            firstFile.resolve(path);
          }
          // The term must not fall below the snapshot's, or a new leader's entries would carry a
          // lower term than the entry before them.
          storage.save({ term: metadata.term, vote: '', commit: metadata.index }, []);
        } finally {
          storage.close();
        }
        // Durable before it can go live: every file and directory of the member, synced at once.
        await syncTree(b.temp);
      } catch (err) {
        const failure = writeError(err, b.target.dataDir);
        b.channel.fail(failure);
        if (i === 0) firstFile.reject(failure);
        throw failure;
      }
    });
    const send = fanOut((shared ? builds.slice(0, 1) : builds).map((b) => b.channel));
    const consume = async (bytes: EntryBytes): Promise<CheckedSnapshot> => {
      const parser = new SnapshotParser();
      const splice = new ChunkSplice();
      const whole = createHash('sha256');
      let count = 0;
      let headerEnd: number | undefined;
      for await (const chunk of bytes) {
        whole.update(chunk);
        count += chunk.length;
        parser.push(chunk);
        for (let event = parser.next(); event !== undefined; event = parser.next()) {
          if (event.kind === 'header') {
            headerEnd = parser.position;
            sourceHeader.resolve(event.header);
          } else if (event.kind === 'records') {
            await options.onRecords?.(event.records);
          }
        }
        const pieces = splice.push(chunk, headerEnd);
        if (pieces.length > 0) await send(pieces);
      }
      const summary = parser.finish();
      return { summary, bytes: count, sha256: whole.digest('hex') };
    };
    const reading = readRestoreSource(repo, ref, consume, { signal: options.signal, onProgress: options.onProgress }).then(
      (read) => {
        options.onVerified?.();
        sourceTrailer.resolve(read.checked.summary.trailer);
        for (const b of builds) b.channel.end();
        return read;
      },
      (err: unknown) => {
        sourceHeader.reject(err);
        sourceTrailer.reject(err);
        for (const b of builds) b.channel.fail(err);
        throw err;
      },
    );
    const [read] = await Promise.all([reading, ...writers]).catch(async (err: unknown) => {
      // Let every writer stop before the temporary directories are removed: one still creating
      // its directory would otherwise bring it back after the removal.
      await Promise.allSettled([reading, ...writers]);
      throw err;
    });
    options.signal?.throwIfAborted();
    const { summary } = read.checked;
    const source = summary.header;
    const fs = new NodeFileSystem();
    for (const b of builds) {
      await rename(b.temp, b.target.dataDir).catch((err: unknown) => {
        throw intoPlaceError(err, b.target.dataDir);
      });
      fs.fsyncDir(dirname(b.target.dataDir));
    }
    committed = true;
    const revision = source.revision + plan.bumpRevision;
    return {
      clusterId: plan.clusterId,
      sourceClusterId: source.clusterId,
      revision,
      compactRevision: plan.markCompacted ? revision : source.compactRevision,
      sourceRevision: source.revision,
      keyCount: summary.trailer.recordCount,
      kvHash: summary.kvHash,
      raftIndex: source.raftIndex,
      raftTerm: source.raftTerm,
      dataDirs: builds.map((b) => b.target.dataDir),
      members,
    };
  } finally {
    if (!committed) await Promise.all(builds.map((b) => rm(b.temp, { recursive: true, force: true })));
    for (const b of builds) b.untrack();
  }
}

/** True when every directory (created if missing) is on the same file system, so hard links between them work. */
async function oneFileSystem(dirs: readonly string[]): Promise<boolean> {
  const devices = new Set<number>();
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true });
    devices.add((await stat(dir)).dev);
  }
  return devices.size === 1;
}

/** Why the finished directory could not be moved onto --data-dir, said so the operator can act. */
function intoPlaceError(err: unknown, dataDir: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
    return new UnsafeOperationError(
      `refusing to restore into --data-dir ${dataDir}: something wrote to it while the restore ran`,
      'nothing was restored into it; find what wrote there (a member still starting?), then restore into a new or empty directory',
      { cause: err },
    );
  }
  if (code === 'EXDEV' || code === 'EBUSY') {
    // The build happens beside the target and is renamed into place; a mount point cannot be replaced.
    return new UsageError(
      `--data-dir ${dataDir} is a mount point or on another file system than its parent, so the restored directory cannot be moved into it`,
      `restore into a new directory inside it, for example --data-dir ${join(dataDir, 'member')}, and start the member with that --data-dir`,
      { cause: err },
    );
  }
  return writeError(err, dataDir);
}

const WRITE_HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free space there or choose another --data-dir, then run the restore again',
  EDQUOT: 'the disk quota is exhausted: free space there or choose another --data-dir, then run the restore again',
  EROFS: 'that file system is mounted read-only: choose a writable --data-dir, then run the restore again',
  EACCES: 'this user may not write there: fix the permissions or choose another --data-dir, then run the restore again',
  EPERM: 'the system refused the write (permissions, an immutable attribute?): fix it or choose another --data-dir, then run the restore again',
  EIO: 'the disk reported an I/O error: check it (dmesg), or restore onto another disk',
};

/**
 * A failure to write the member's files is the target's storage refusing (exit 14), said for a
 * restore: there is no member to restart, and nothing was left at --data-dir.
 */
function writeError(err: unknown, dataDir: string): unknown {
  const cause = err instanceof StorageFailedError ? err.cause : err;
  const code = err instanceof StorageFailedError ? err.code : (cause as NodeJS.ErrnoException | undefined)?.code;
  const hint = code === undefined ? undefined : WRITE_HINTS[code];
  if (hint === undefined) return err;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageUnavailableError(`cannot write the restored member for --data-dir ${dataDir}: ${detail}`, `${hint}; nothing was restored`, { cause: err });
}
