// Restoring a store from snapshot records: the checks that keep a corrupt or foreign stream
// from becoming a silently wrong store. The store copies each value into its arena, so no
// value pins a decoder chunk.

import { IntegrityError } from '../errors.js';
import { indexKey } from './key-range.js';
import type { KeyValueRecord } from './record.js';

/** What a loader fills: implemented by MvccStore. */
export interface RestoreTarget {
  installRestored(k: string, value: Uint8Array, create: number, mod: number, version: number): void;
  setRestoredRevisions(revision: number, compactRevision: number): void;
}

/** Fills a fresh store from snapshot records, refusing what would otherwise corrupt it silently. */
export class RecordLoader {
  private last: string | null = null;
  private readonly revision: number;

  constructor(
    private readonly store: RestoreTarget,
    private readonly options: { readonly revision: number; readonly compactRevision?: number },
  ) {
    const { revision } = options;
    const compactRevision = options.compactRevision ?? 0;
    if (!Number.isSafeInteger(revision) || revision < 1) {
      throw new IntegrityError(`snapshot revision ${revision} is not a positive integer`, 'the snapshot header is corrupt; use another snapshot');
    }
    if (!Number.isSafeInteger(compactRevision) || compactRevision < 0 || compactRevision > revision) {
      throw new IntegrityError(
        `snapshot compact revision ${compactRevision} is outside 0..${revision}`,
        'the snapshot header is corrupt; use another snapshot',
      );
    }
    this.revision = revision;
  }

  /** Checks and installs the next record. */
  add(r: KeyValueRecord): void {
    const k = indexKey(r.key);
    if (k.length === 0) throw this.corrupt(k, 'empty key');
    if (this.last !== null && k <= this.last) throw this.corrupt(k, 'keys are not in ascending order');
    const ok =
      Number.isSafeInteger(r.createRevision) &&
      Number.isSafeInteger(r.modRevision) &&
      Number.isSafeInteger(r.version) &&
      r.createRevision >= 1 &&
      r.modRevision >= r.createRevision &&
      r.modRevision <= this.revision &&
      r.version >= 1;
    if (!ok) {
      throw this.corrupt(
        k,
        `revisions create=${r.createRevision} mod=${r.modRevision} version=${r.version} do not fit snapshot revision ${this.revision}`,
      );
    }
    this.last = k;
    this.store.installRestored(k, r.value, r.createRevision, r.modRevision, r.version);
  }

  private corrupt(k: string, problem: string): IntegrityError {
    return new IntegrityError(
      `snapshot record for key ${JSON.stringify(k.slice(0, 64))}: ${problem}`,
      'the snapshot is corrupt or was written by a broken tool; use another snapshot',
    );
  }

  /** Sets the store's revisions once every record is in. */
  finish(): void {
    this.store.setRestoredRevisions(this.revision, this.options.compactRevision ?? 0);
  }
}
