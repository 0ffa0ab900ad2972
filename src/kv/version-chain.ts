// One key's history: a chain of versions from newest to oldest.
// A chain costs one small object per version and no arrays, which keeps memory per key low
// (most keys have a single version); reads at the current revision look at the head only.
// A version's value is a place in a slab of the store's value arena (value-arena.ts), not a
// Buffer of its own; `value` makes a Buffer view of it on demand.

import { keyBytes } from './key-range.js';
import type { KeyValueRecord } from './record.js';
import type { Slab } from './value-arena.js';

const EMPTY = Buffer.alloc(0);

/** One version of a key. slab null marks a tombstone (the key was deleted at mod). */
export class Version {
  constructor(
    /** Where the value lives; null for a tombstone. Changes only when the arena moves the value. */
    public slab: Slab | null,
    public off: number,
    readonly len: number,
    readonly create: number,
    readonly mod: number,
    readonly version: number,
    /** The next older version, or null where history (or compaction) ends. */
    public prev: Version | null,
  ) {}

  /** The value's bytes (a view into the slab, valid for good: slab bytes are never rewritten); null for a tombstone. */
  get value(): Buffer | null {
    const slab = this.slab;
    return slab === null ? null : slab.buf.subarray(this.off, this.off + this.len);
  }

  /** Whether this version marks a delete. */
  get tombstone(): boolean {
    return this.slab === null;
  }
}

/** The version visible at revision rev (live or tombstone), or null if the chain starts after rev. */
export function versionAt(head: Version, rev: number): Version | null {
  let v: Version | null = head;
  while (v !== null && v.mod > rev) v = v.prev;
  return v;
}

/** The live version at rev, or null if the key did not exist then. */
export function liveAt(head: Version, rev: number): Version | null {
  const v = versionAt(head, rev);
  return v !== null && v.slab !== null ? v : null;
}

/** Approximate bytes one version costs in memory, for the dbSize statistic. */
export function versionBytes(keyLength: number, v: Version): number {
  return 64 + keyLength + (v.slab === null ? 0 : v.len);
}

/** What compacting a chain did: the new head (null if the key is gone) and the bytes freed. */
export interface ChainCompaction {
  readonly head: Version | null;
  readonly freedBytes: number;
  /** True when the chain is now a single live version and needs no further compaction. */
  readonly settled: boolean;
}

/**
 * Drops history below rev: keeps every version newer than rev and the one visible at rev,
 * unless that one is a tombstone, which (with everything older) is no longer needed.
 * `release` is called for every version dropped.
 */
export function compactChain(head: Version, rev: number, keyLength: number, release: (v: Version) => void): ChainCompaction {
  let newer: Version | null = null;
  let v: Version | null = head;
  while (v !== null && v.mod > rev) {
    newer = v;
    v = v.prev;
  }
  let freed = 0;
  let cut: Version | null;
  if (v === null) {
    cut = null;
  } else if (v.slab === null) {
    cut = v;
    if (newer === null) {
      freed = chainBytes(v, keyLength, release);
      return { head: null, freedBytes: freed, settled: true };
    }
    newer.prev = null;
  } else {
    cut = v.prev;
    v.prev = null;
  }
  if (cut !== null) freed = chainBytes(cut, keyLength, release);
  return { head, freedBytes: freed, settled: head.prev === null && head.slab !== null };
}

function chainBytes(from: Version, keyLength: number, release: (v: Version) => void): number {
  let total = 0;
  for (let v: Version | null = from; v !== null; v = v.prev) {
    total += versionBytes(keyLength, v);
    release(v);
  }
  return total;
}

/** The record a live version of index key k presents to readers (keysOnly: with an empty value). */
export function recordOf(k: string, v: Version, keysOnly = false): KeyValueRecord {
  return { key: keyBytes(k), value: keysOnly ? EMPTY : v.value!, createRevision: v.create, modRevision: v.mod, version: v.version };
}
