// The read side of a restore: the snapshot's bytes from a repository, an archive file or a
// plain snapshot file, handed to one consumer in a single pass, with every check `snapshot
// verify` makes (its readRef and checkAgainst: for repository snapshots the archive's size and
// SHA-256 against the manifest and the archive's manifest.json against the repository's; the
// snapshot's size, SHA-256, KV hash, keys, revision and cluster against the manifest that
// describes it). Every source honours the abort signal, a plain snapshot file included.
import type { EntryBytes } from '../archive/archive-reader.js';
import type { CheckedSnapshot } from '../archive/snapshot-check.js';
import type { Repository } from '../repo/repository.js';
import type { SnapshotRef } from './catalog.js';
import { checkAgainst, readRef, type ReadOptions } from './verify.js';

export type SourceReadOptions = ReadOptions;

/** What the read established besides the consumer's own findings. */
export interface SourceRead {
  /** The snapshot ID, or the file path. */
  readonly target: string;
  readonly checked: CheckedSnapshot;
}

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
  const { report, result } = await readRef(repo, ref, consume, options);
  checkAgainst(report.target, report.manifest ?? report.entryManifest, result);
  return { target: report.target, checked: result };
}
