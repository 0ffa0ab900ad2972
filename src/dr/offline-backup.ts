// `snapshot save --from-data-dir`: back up a stopped member's data directory when no cluster can
// answer. The directory is only read (never repaired), replayed to its last committed entry, and
// streamed in the snapshot format through the same save pipeline as a live backup, so the
// archive is verified, read back and committed exactly the same way; its manifest says "offline".
import { resolve } from 'node:path';
import { checkDataDirFree } from '../server/data-dir-lock.js';
import { loadDataDirReadOnly, type OfflineState } from '../server/offline-state.js';
import { encodeSnapshot, type SnapshotHeaderInput } from '../snapshot/index.js';
import { saveFromStream, type SaveOptions, type SaveResult } from './save.js';

export interface OfflineSaveOptions extends SaveOptions {
  /** The stopped member's --data-dir. */
  readonly dataDir: string;
  /** Apply entries past the recorded commit too (see offline-state.ts); off by default. */
  readonly includeUncommitted?: boolean;
  /** Notes about the directory (a stale lock, a torn tail, entries left out); default: nowhere. */
  readonly log?: (line: string) => void;
}

/** A committed offline backup, with what the replay found. */
export interface OfflineSaveResult extends SaveResult {
  readonly offline: Pick<OfflineState, 'memberId' | 'name' | 'appliedIndex' | 'snapshotIndex' | 'recordedCommit' | 'entriesLeftOut' | 'tornBytes'>;
}

/**
 * Backs up a stopped member's data directory into the repository. Throws UnsafeOperationError
 * (exit 17) while a running member holds the directory, and the storage's CorruptionError for
 * damaged data; nothing is committed in the repository then.
 */
export async function saveFromDataDir(options: OfflineSaveOptions): Promise<OfflineSaveResult> {
  const { dataDir } = options;
  const log = options.log ?? (() => undefined);
  const free = checkDataDirFree(dataDir);
  if (free.why) log(`ignoring a stale member lock in ${dataDir}: ${free.why}`);
  options.signal?.throwIfAborted();
  const state = await loadDataDirReadOnly(dataDir, { includeUncommitted: options.includeUncommitted, log });
  // A member that started while the files were read may have changed them under the reader.
  checkDataDirFree(dataDir);
  options.signal?.throwIfAborted();
  const kv = state.kv;
  const view = kv.openReadView(kv.revision);
  let stream;
  try {
    const header: SnapshotHeaderInput = {
      clusterId: state.clusterId,
      members: state.members,
      raftIndex: state.appliedIndex,
      raftTerm: state.term,
      revision: view.revision,
      compactRevision: kv.compactRevision,
      keyCount: view.count,
      createdAt: new Date().toISOString(),
      sourceMember: state.memberId,
      extra: { consistency: 'offline', removedMembers: state.removedMembers },
    };
    stream = encodeSnapshot(header, view);
  } catch (err) {
    view.close();
    throw err;
  }
  stream.once('close', () => view.close());
  try {
    const result = await saveFromStream(stream, { ...options, consistency: 'offline', source: resolve(dataDir) });
    const { memberId, name, appliedIndex, snapshotIndex, recordedCommit, entriesLeftOut, tornBytes } = state;
    return { ...result, offline: { memberId, name, appliedIndex, snapshotIndex, recordedCommit, entriesLeftOut, tornBytes } };
  } finally {
    stream.destroy();
  }
}
