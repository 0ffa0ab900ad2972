// `snapshot restore`: builds data directories for a NEW cluster from a snapshot. One verifying
// read of the snapshot feeds every member being built (the CLI builds one; a drill builds them
// all), each into a temporary directory beside its target; only when the whole snapshot has
// been checked (every chunk, the trailer, the KV hash, and for repository snapshots the archive
// hash against the manifest) are the directories renamed into place. An interrupted or failed
// restore therefore leaves nothing that could start.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { SnapshotMetadata } from '../raft/types.js';
import type { Repository } from '../repo/repository.js';
import { encodeSnapshot, type SnapshotHeader, type SnapshotHeaderInput, type SnapshotMember } from '../snapshot/index.js';
import { writeIdentity } from '../storage/identity.js';
import { MemberStorage } from '../storage/member-storage.js';
import { UnsafeOperationError, UsageError } from '../errors.js';
import { NodeFileSystem } from '../storage/node-file-system.js';
import type { SnapshotRef } from './catalog.js';
import { RecordChannel, fanOut } from './record-channel.js';
import type { RestorePlan } from './restore-plan.js';
import { dumpSnapshotRef, verifySnapshotRef, type ReadOptions } from './verify.js';

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

export interface RestoreOptions extends ReadOptions {
  readonly repo: Repository | undefined;
  readonly ref: SnapshotRef;
  readonly plan: RestorePlan;
  /** The snapshot's header when the caller already read it (a drill verifies first); spares a file a second read. */
  readonly source?: SourceFacts;
  readonly now?: () => Date;
}

/** The header facts a restore needs before the records arrive. */
export type SourceFacts = Pick<SnapshotHeader, 'clusterId' | 'raftIndex' | 'raftTerm' | 'revision' | 'compactRevision' | 'keyCount'>;

/** Restores every target of the plan from one verified read of the snapshot. */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { plan, ref, repo } = options;
  const now = options.now ?? (() => new Date());
  // A repository snapshot's manifest says what its header holds, so one read does everything.
  // A plain file has no manifest: read it once to learn and check its header.
  const source: SourceFacts =
    options.source ?? (ref.kind === 'repo' ? ref.entry.manifest : (await verifySnapshotRef(repo, ref, { signal: options.signal })).header);
  const revision = source.revision + plan.bumpRevision;
  const compactRevision = plan.markCompacted ? revision : source.compactRevision;
  // Client URLs are published by each member once it runs; the replicated member table must
  // start the same on every member, so none are recorded here (as a fresh cluster does).
  const members: SnapshotMember[] = plan.members.map((m) => ({ id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [], isLearner: false }));
  const metadata: SnapshotMetadata = {
    index: source.raftIndex,
    term: source.raftTerm,
    confState: { voters: members.map((m) => m.id), learners: [] },
  };

  const suffix = randomBytes(4).toString('hex');
  const builds = plan.targets.map((t) => ({
    target: t,
    temp: join(dirname(t.dataDir), `.${basename(t.dataDir)}.restoring-${suffix}`),
    channel: new RecordChannel(),
  }));
  let committed = false;
  try {
    const writers = builds.map(async (b) => {
      try {
        await mkdir(dirname(b.temp), { recursive: true });
        const fs = new NodeFileSystem();
        writeIdentity(fs, b.temp, { clusterId: plan.clusterId, memberId: b.target.member.id, name: b.target.member.name });
        // The first segment only has to hold the hard state and the snapshot marker: a small one spares
        // writing 64 MiB of preallocated zeros per member (later segments get the member's full size).
        const storage = await MemberStorage.open(fs, b.temp, { log: () => {}, segmentSize: RESTORED_SEGMENT_BYTES });
        try {
          const header: SnapshotHeaderInput = {
            clusterId: plan.clusterId,
            members,
            raftIndex: metadata.index,
            raftTerm: metadata.term,
            revision,
            compactRevision,
            keyCount: source.keyCount,
            createdAt: now().toISOString(),
            sourceMember: b.target.member.id,
            extra: { restoredFrom: { clusterId: source.clusterId, revision: source.revision, snapshot: ref.kind === 'repo' ? ref.entry.id : ref.path } },
          };
          await storage.saveSnapshot(metadata, encodeSnapshot(header, b.channel));
          // The term must not fall below the snapshot's, or a new leader's entries would carry a
          // lower term than the entry before them.
          storage.save({ term: metadata.term, vote: '', commit: metadata.index }, []);
        } finally {
          storage.close();
        }
      } catch (err) {
        b.channel.fail(err);
        throw err;
      }
    });
    const reading = dumpSnapshotRef(repo, ref, fanOut(builds.map((b) => b.channel)), { signal: options.signal, onProgress: options.onProgress }).then(
      (report) => {
        for (const b of builds) b.channel.end();
        return report;
      },
      (err: unknown) => {
        for (const b of builds) b.channel.fail(err);
        throw err;
      },
    );
    const [report] = await Promise.all([reading, ...writers]);
    options.signal?.throwIfAborted();
    const fs = new NodeFileSystem();
    for (const b of builds) {
      await rename(b.temp, b.target.dataDir).catch((err: unknown) => {
        throw intoPlaceError(err, b.target.dataDir);
      });
      fs.fsyncDir(dirname(b.target.dataDir));
    }
    committed = true;
    return {
      clusterId: plan.clusterId,
      sourceClusterId: source.clusterId,
      revision,
      compactRevision,
      sourceRevision: source.revision,
      keyCount: report.summary.trailer.recordCount,
      kvHash: report.summary.kvHash,
      raftIndex: metadata.index,
      raftTerm: metadata.term,
      dataDirs: builds.map((b) => b.target.dataDir),
      members,
    };
  } finally {
    if (!committed) await Promise.all(builds.map((b) => rm(b.temp, { recursive: true, force: true })));
  }
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
  return err;
}
